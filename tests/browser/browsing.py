"""Helpers for the browser tests: where screenshots go, and waiting for a script run."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"


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
