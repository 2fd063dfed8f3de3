"""The Tokenizer page in Chromium: chips with readable Chinese, markup shown as text."""

from __future__ import annotations

import pytest
from browsing import EXCEPTION, SCREENSHOTS, open_app, wait_idle

pytestmark = pytest.mark.browser

CHIPS = "[data-testid='stMain'] .tc"


def _open_tokenizer(page, app_url) -> None:
    open_app(page, app_url + "/tokenizer")
    page.locator(CHIPS).first.wait_for(timeout=60_000)


def test_chips_show_chinese_words_whole(page, app_url):
    page.set_viewport_size({"width": 1400, "height": 1500})
    _open_tokenizer(page, app_url)
    assert page.locator(EXCEPTION).count() == 0
    main = page.locator("[data-testid='stMain'] [data-testid='stRadio']")
    main.locator("label", has_text="word").click()
    page.wait_for_url("**level=word**", timeout=30_000)
    wait_idle(page)
    chips = page.locator(CHIPS).first
    text = chips.inner_text()
    assert "苹果" in text, text  # one chip for the word, its byte tokens beneath
    assert "E6 88" in text  # 我's first byte token, in hex
    assert "\ufffd" not in text
    assert page.locator(EXCEPTION).count() == 0
    page.screenshot(path=str(SCREENSHOTS / "tokenizer-chips.png"))


def test_markup_in_the_text_shows_as_text(page, app_url):
    _open_tokenizer(page, app_url)
    box = page.locator("[data-testid='stMain'] textarea").first
    box.fill("<b>bold?</b><script>alert(1)</script>")
    box.press("Control+Enter")
    page.wait_for_url("**text=**", timeout=30_000)
    wait_idle(page)
    chips = page.locator(CHIPS).first
    assert "script" in chips.inner_text()
    assert chips.locator("script, b").count() == 0
    assert page.locator(EXCEPTION).count() == 0
