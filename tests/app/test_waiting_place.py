"""A session whose request waits in the model's queue is told its place, in its language."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app


def waiting_page() -> None:
    """A page following a request that waits twice before it is served."""
    import streamlit as st

    from llm_core.serving.tickets import QueuePlace
    from ui.serving import follow

    class Waiting:
        polls = 0

        def wait(self, timeout):
            self.polls += 1
            return self.polls > 2

        def place(self):
            return QueuePlace(ahead=st.session_state["ahead"], eta_s=3.2)

        def result(self):
            return "served"

    placeholder = st.empty()
    st.session_state["shown"] = []
    original = placeholder.caption

    def caption(text):
        st.session_state["shown"].append(text)
        return original(text)

    placeholder.caption = caption
    st.write(follow(Waiting(), placeholder))


@pytest.mark.parametrize(
    "lang, ahead, expected",
    [
        ("en", 2, "2 requests ahead of you, about 4 s"),
        ("en", 1, "1 request ahead of you, about 4 s"),
        ("zh", 2, "前面还有 2 个请求，大约 4 秒"),
    ],
)
def test_the_place_is_shown_while_waiting(lang, ahead, expected):
    at = AppTest.from_function(waiting_page)
    at.session_state["lang"] = lang
    at.session_state["ahead"] = ahead
    at.run()
    assert not at.exception
    assert at.session_state["shown"] == [expected, expected]
    assert at.markdown[-1].value == "served"
