"""Running pages under Streamlit's AppTest.

AppTest (Streamlit 1.67) drops app.py's sidebar elements on a rerun under st.navigation
(the real server keeps them; the browser tests check that), so a sidebar choice is made
by presetting session state before the first run, and page widgets are driven after it.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "views").glob("*.py"))
TIMEOUT_S = 240  # the first run in a process loads the model
HOME = "views/home.py"
TINY = "tiny-llama"  # the tiny model's name among the outputs (the ``tiny`` fixture)
JOB_WAIT_S = 120  # a background job on the tiny model


def open_page(page: str, lang: str = "en", **state: object) -> AppTest:
    """Run ``page`` (through app.py) once, with ``state`` preset in session state.

    The page is chosen before the first run: a second run would meet the sidebar
    quirk above with the language already switched.
    """
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    if page != HOME:
        at.switch_page(page)
    at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def run_until(at: AppTest, done, timeout_s: float = JOB_WAIT_S) -> AppTest:
    """Rerun (as a page's polling fragment would) until ``done(at)``."""
    deadline = time.monotonic() + timeout_s
    while not done(at):
        assert time.monotonic() < deadline, "the page never showed what was awaited"
        time.sleep(0.3)
        at.run()
        assert_clean(at)
    return at
