import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apptest_pages import JOB_WAIT_S, TINY  # noqa: E402


@pytest.fixture
def free_job_slot():
    """The job slot is process-wide: no test may leave a job running for the next one."""
    from llm_core.jobs import JOB_SLOT

    yield
    running = JOB_SLOT.running()
    if running is not None:
        running.cancel()
        assert running.wait(JOB_WAIT_S)


@pytest.fixture
def tiny(isolated_outputs, tiny_model_dirs):
    """The outputs folder, holding a copy of the tiny Llama saved as ``TINY``."""
    shutil.copytree(tiny_model_dirs["llama"], isolated_outputs / TINY)
    return isolated_outputs
