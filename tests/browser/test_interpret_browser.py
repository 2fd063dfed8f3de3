"""The three pages past attention in Chromium, in English and Chinese: the attribution of
我爱吃苹果 as word chips and bars, the France/Italy patching maps, and the model compared
with itself. Screenshots go to artifacts/screenshots/ (attribution-*, patching-*,
compare-*)."""

from __future__ import annotations

import pytest
from browsing import EXCEPTION, SCREENSHOTS, choose_language, open_app, wait_idle

pytestmark = pytest.mark.browser
MAIN = "[data-testid='stMain']"


def chip_texts(page) -> list[str]:
    return page.locator(f"{MAIN} .tc-chip").all_text_contents()


def test_attribution_page_scores_the_words_of_the_classic_sentence(page, app_url):
    open_app(page, app_url + "/attribution")
    assert page.locator(EXCEPTION).count() == 0
    assert chip_texts(page)[:4] == ["我", "爱", "吃", "苹果"]
    main = page.locator(MAIN)
    assert "Completeness holds" in main.inner_text()
    page.locator(f"{MAIN} [data-testid='stVegaLiteChart']").nth(1).wait_for(timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 1900})
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "attribution-en.png"), full_page=True)
    choose_language(page, "中文")
    assert page.locator(EXCEPTION).count() == 0
    text = main.inner_text()
    assert "为什么是这个词元" in text and "完备性成立" in text
    assert chip_texts(page)[:4] == ["我", "爱", "吃", "苹果"]
    page.screenshot(path=str(SCREENSHOTS / "attribution-zh.png"), full_page=True)
    choose_language(page, "English")


def test_patching_page_draws_the_layers_by_positions_map(page, app_url):
    open_app(page, app_url + "/patching")
    assert page.locator(EXCEPTION).count() == 0
    chart = page.locator(f"{MAIN} [data-testid='stPlotlyChart']").first
    chart.locator(".xtick text").first.wait_for(timeout=30_000)
    columns = chart.locator(".xtick text").all_text_contents()
    assert [c.strip() for c in columns] == ["The", "capital", "of", "France", "is"]
    page.set_viewport_size({"width": 1400, "height": 1700})
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "patching-en.png"), full_page=True)
    choose_language(page, "中文")
    assert page.locator(EXCEPTION).count() == 0
    assert "激活修补" in page.locator(MAIN).inner_text()
    page.screenshot(path=str(SCREENSHOTS / "patching-zh.png"), full_page=True)
    choose_language(page, "English")


def test_compare_page_of_the_model_with_itself(page, app_url):
    open_app(page, app_url + "/compare")
    assert page.locator(EXCEPTION).count() == 0
    main = page.locator(MAIN)
    assert "100%" in main.inner_text()  # top-1 agreement with itself
    page.set_viewport_size({"width": 1400, "height": 2000})
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "compare-en.png"), full_page=True)
    choose_language(page, "中文")
    assert page.locator(EXCEPTION).count() == 0
    assert "对比两个模型" in main.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "compare-zh.png"), full_page=True)
    choose_language(page, "English")
