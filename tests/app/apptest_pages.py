"""Running pages under Streamlit's AppTest.

AppTest (Streamlit 1.67) drops app.py's sidebar elements on a rerun under st.navigation
(the real server keeps them; the browser tests check that), so a sidebar choice is made
by presetting session state before the first run, and page widgets are driven after it.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "views").glob("*.py"))
TIMEOUT_S = 240  # the first run in a process loads the model
HOME = "views/home.py"


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
