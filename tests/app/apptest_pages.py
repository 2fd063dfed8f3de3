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
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
TIMEOUT_S = 240  # the first run in a process loads the model


def open_page(page: str, lang: str = "en", **state: object) -> AppTest:
    """Run app.py once with ``state`` preset, then switch to ``page`` and run it."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page != "pages/home.py":
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
