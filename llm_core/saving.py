"""Atomic folder writes: a model folder is either complete or absent, never half-written.

Writers fill a hidden temporary sibling (``.NAME.partial-XXXX``) and rename it into place
at the end. A crash or cancel leaves only the hidden folder, which no listing shows and
the next writer of the same name removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

PARTIAL_MARK = ".partial-"


def _partial_prefix(target: Path) -> str:
    return f".{target.name}{PARTIAL_MARK}"


def remove_stale_partials(target: Path) -> None:
    """Delete hidden leftovers of earlier, interrupted writes of ``target``.

    Call only while holding ``folder_lock(target)``, so no live writer is removed.
    """
    if not target.parent.is_dir():
        return
    for leftover in target.parent.glob(_partial_prefix(target) + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(target: Path) -> Iterator[None]:
    """An exclusive inter-process lock for writing ``target`` (blocks until free)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_folder_atomically(target: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp_dir)`` and move ``tmp_dir`` to ``target`` only if it returns.

    An existing ``target`` is replaced only after the new folder is complete. Any
    exception (KeyboardInterrupt included) removes the temporary folder and re-raises.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_partial_prefix(target), dir=target.parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model folder is meant to be read
        if target.exists():
            # Two renames, so a reader sees the old folder or the new one, never a mix.
            old = Path(tempfile.mkdtemp(prefix=_partial_prefix(target), dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
