"""The Attention page in Chromium: the default heatmap's Chinese labels, and a click on the
layers x heads overview opening that head."""

from __future__ import annotations

import pytest
from browsing import EXCEPTION, SCREENSHOTS, choose_language, open_app, wait_idle

pytestmark = pytest.mark.browser

WORDS = ["我", "爱", "吃", "苹果"]


def _open_attention(page, app_url: str, query: str = "") -> None:
    open_app(page, f"{app_url}/attention{query}")


def _heatmap(page):
    return page.locator("[data-testid='stPlotlyChart']").first


def test_default_heatmap_shows_the_four_words(page, app_url):
    _open_attention(page, app_url)
    assert page.locator(EXCEPTION).count() == 0
    heatmap = _heatmap(page)
    heatmap.locator(".xtick text").first.wait_for(timeout=60_000)
    x_labels = heatmap.locator(".xtick text").all_text_contents()
    y_labels = heatmap.locator(".ytick text").all_text_contents()
    assert x_labels == WORDS and y_labels == WORDS
    values = heatmap.locator("text.heatmap-label, .heatmaplayer text").all_text_contents()
    assert "1.00" in values  # the first word can only look at itself
    heatmap.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "attention-heatmap.png"), full_page=True)


def test_chinese_page_and_overview_click_opens_a_head(page, app_url):
    _open_attention(page, app_url, "?layer=0&head=0")
    choose_language(page, "中文")
    page.get_by_text("注意力：每个注意力头在看什么").wait_for(timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    page.get_by_text("所有层 × 头").scroll_into_view_if_needed()
    overview = page.locator("[data-testid='stPlotlyChart']").filter(
        has=page.locator(".xtitle", has_text="头")
    )
    overview.first.wait_for(timeout=30_000)
    # Click the cell of layer 16, head 0: find its marker among the scatter points.
    cells = overview.first.locator(".nsewdrag").first
    cells.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = cells.bounding_box()  # in the viewport, where the mouse clicks
    n_layers, n_heads = 30, 9
    x = box["x"] + box["width"] * (0 + 0.5) / n_heads
    y = box["y"] + box["height"] * (16 + 0.5) / n_layers
    page.mouse.click(x, y)
    summary = page.locator("[data-testid='stAlert']", has_text="第 16 层第 0 个头")
    summary.wait_for(timeout=30_000)
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert "layer=16" in page.url and "head=0" in page.url
    page.screenshot(path=str(SCREENSHOTS / "attention-overview-zh.png"), full_page=True)
