"""Helpers for the browser tests: where screenshots go, and waiting for a script run."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
START_TIMEOUT_S = 180


def wait_idle(page, timeout_ms: int = 180_000) -> None:
    """Wait until the script has finished its run (and nothing is spinning)."""
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_timeout(500)  # let charts lay out after the run ends
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def open_app(page, url: str, timeout_ms: int = 180_000) -> None:
    """Go to ``url`` and wait for a finished run: the idle marker alone is also true
    before the first run starts, so wait for the title and the sidebar too."""
    page.goto(url)
    page.locator("h1").first.wait_for(timeout=timeout_ms)
    page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").wait_for(
        timeout=timeout_ms
    )
    wait_idle(page, timeout_ms)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(log_name: str = "streamlit-test.log") -> Iterator[str]:
    """Start `streamlit run app.py` on a free port; yield its URL; stop it afterwards."""
    port = _free_port()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    with open(ROOT / "artifacts" / log_name, "w") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless=true",
                f"--server.port={port}",
                "--server.address=127.0.0.1",
                # Tests write artifacts under the repo; a watcher would rerun the app.
                "--server.fileWatcherType=none",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(server, url)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(server: subprocess.Popen, url: str) -> None:
    deadline = time.time() + START_TIMEOUT_S
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            pytest.fail(f"streamlit did not start at {url} (see artifacts/*.log)")
        time.sleep(0.5)


MODEL_LABEL = {"中文": "模型", "English": "Model"}  # the picker's label proves the rerun happened


def choose_language(page, label: str) -> None:
    """Click the language option and wait for the rerun that relabels the sidebar.

    A click that lands while the first run is still settling can be dropped by the
    frontend, so the click is retried until the sidebar shows the new language.
    """
    option = page.locator("[data-testid='stSidebar'] [data-testid='stRadio'] label", has_text=label)
    marker = page.locator("[data-testid='stSidebar']").get_by_text(MODEL_LABEL[label], exact=True)
    for _attempt in range(4):
        option.click()
        try:
            marker.wait_for(timeout=15_000)
            break
        except Exception:  # playwright's TimeoutError: click again
            continue
    marker.wait_for(timeout=15_000)
    wait_idle(page)
