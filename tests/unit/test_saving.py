"""Atomic folder writes: complete or absent, never half-written."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from llm_core.saving import folder_lock, remove_stale_partials, write_folder_atomically


def _write_files(folder: Path, text: str = "new") -> None:
    (folder / "a.txt").write_text(text)
    (folder / "b.txt").write_text(text)


def test_complete_write_lands(tmp_path):
    target = tmp_path / "model"
    write_folder_atomically(target, _write_files)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "model"

    def crash(folder: Path) -> None:
        (folder / "a.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder_atomically(target, crash)
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_old_folder_intact(tmp_path):
    target = tmp_path / "model"
    write_folder_atomically(target, lambda f: _write_files(f, "old"))

    def crash(folder: Path) -> None:
        _write_files(folder, "new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_folder_atomically(target, crash)
    assert (target / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_rewrite_replaces_whole_folder(tmp_path):
    target = tmp_path / "model"
    write_folder_atomically(target, lambda f: (f / "old-only.txt").write_text("x"))
    write_folder_atomically(target, _write_files)
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt"]


def _killed_writer(target: str) -> None:
    def slow(folder: Path) -> None:
        (folder / "a.txt").write_text("partial")
        time.sleep(60)

    write_folder_atomically(Path(target), slow)


def test_killed_process_leaves_only_a_hidden_partial(tmp_path):
    target = tmp_path / "model"
    process = multiprocessing.get_context("fork").Process(
        target=_killed_writer, args=(str(target),)
    )
    process.start()
    deadline = time.time() + 30
    while not any(tmp_path.glob(".model.partial-*/a.txt")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, 9)
    process.join()
    assert not target.exists()
    leftovers = list(tmp_path.glob(".model.partial-*"))
    assert leftovers, "the killed writer's temporary folder should be hidden, not removed"
    with folder_lock(target):
        remove_stale_partials(target)
    assert not list(tmp_path.glob(".model.partial-*"))
