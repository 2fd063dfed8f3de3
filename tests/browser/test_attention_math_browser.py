"""The Attention math page in Chromium: it renders with no exception box, the toy words
label the matrices, and a screenshot goes to artifacts/screenshots/attention-math.png."""

from __future__ import annotations

import pytest
from browsing import EXCEPTION, SCREENSHOTS, open_app, wait_idle

pytestmark = pytest.mark.browser


def test_attention_math_page_shows_the_toy_words(page, app_url):
    open_app(page, app_url + "/attention_math")
    assert page.locator(EXCEPTION).count() == 0
    main = page.locator("[data-testid='stMain']")
    assert "softmax" in main.inner_text()
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.first.locator(".ytick text").first.wait_for(timeout=30_000)
    assert charts.count() >= 8  # the toy head's eight steps
    rows = charts.first.locator(".ytick text").all_text_contents()
    assert rows == ["我", "爱", "吃", "苹果"]
    # The softmax weights: the row-sum column reads 1.00 on every row.
    weights = charts.nth(6)
    assert weights.locator(".annotation-text").all_text_contents().count("1.00") == 4
    # The main area scrolls inside the window, so a tall window shows every step at once.
    page.set_viewport_size({"width": 1400, "height": 2100})
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "attention-math.png"), full_page=True)
