"""Several sessions generating at once on one server: each gets what the engine generates
for its prompt alone (their requests share the model's batch), nobody sees an error, and
one click is one script run (the page never reruns itself)."""

from __future__ import annotations

import re

import pytest
from browsing import EXCEPTION, SCREENSHOTS, open_app, wait_idle

from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.sampling import GenerationSettings
from ui.generation_controls import EXAMPLES

pytestmark = pytest.mark.browser

N_SESSIONS = 3
RUN_TIMEOUT_MS = 240_000  # three generations on a CPU shared with other work
SUMMARY = re.compile(r"(\d+) tokens · ")


def count_reruns(page) -> list[str]:
    """The script runs this page asks the server for (one entry per rerun message)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    sent: list[str] = []

    def watch(socket) -> None:
        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                message = BackMsg()
                message.ParseFromString(payload)
                if message.WhichOneof("type") == "rerun_script":
                    sent.append("rerun")

        socket.on("framesent", on_frame)

    page.on("websocket", watch)
    return sent


def test_sessions_generating_at_once_each_get_their_own_text(browser, app_url, default_model):
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1800}) for _ in range(3)]
    pages = [context.new_page() for context in contexts]
    reruns = count_reruns(pages[0])
    try:
        for page, example in zip(pages, EXAMPLES, strict=False):
            open_app(page, f"{app_url}/generation")
            page.get_by_role("button", name=example).click()
            wait_idle(page)
        reruns.clear()
        for page in pages:  # the class presses Generate together
            page.get_by_role("button", name="Generate", exact=True).click()
        for page, example in zip(pages, EXAMPLES, strict=False):
            summary = page.get_by_text(SUMMARY).first
            summary.wait_for(timeout=RUN_TIMEOUT_MS)
            wait_idle(page)
            assert page.locator(EXCEPTION).count() == 0
            settings = GenerationSettings(max_new_tokens=32, capture_attention=True)
            ids = build_prompt_ids(default_model.tokenizer, example)
            alone = generate(default_model, ids, settings)
            assert int(SUMMARY.search(summary.inner_text()).group(1)) == len(alone.token_ids)
            page.get_by_text("Generated text (to copy)").click()
            shown = page.locator("[data-testid='stCode'] code").first.inner_text()
            assert shown.strip() == alone.text.strip()
        assert reruns == ["rerun"], "one click, one script run: the page reran itself"
        pages[0].screenshot(path=str(SCREENSHOTS / "generation-classroom.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
