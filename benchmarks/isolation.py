"""Run one measurement in a fresh Python process, so its peak RSS is its own.

A benchmark script calls ``measure_in_subprocess("module:function", **kwargs)``; the child
imports the function, calls it, and prints one JSON line: the function's result plus
``peak_rss_mb`` (the child's peak resident memory) and ``rss_before_mb`` (after imports).
"""

from __future__ import annotations

import importlib
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_in_subprocess(target: str, **kwargs: object) -> dict:
    """Call ``target`` ("package.module:function") in a child process; return its result."""
    code = (
        "import json, sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/benchmarks'];"
        "from isolation import _child; _child(sys.argv[2], json.loads(sys.argv[3]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), target, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{target}({kwargs}) failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child(target: str, kwargs: dict) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = dict(function(**kwargs))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["rss_now_mb"] = _rss_mb()
    print(json.dumps(result))
