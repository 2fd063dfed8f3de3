"""Every page in the navigation renders in Chromium, in English and Chinese, with no
exception box; screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from browsing import EXCEPTION, SCREENSHOTS, open_app, wait_idle

pytestmark = pytest.mark.browser


def _page_paths(page, app_url) -> list[str]:
    open_app(page, app_url)
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    paths = sorted({re.sub(r"^https?://[^/]+", "", h or "/") or "/" for h in hrefs} | {"/"})
    return paths


MODEL_LABEL = {"中文": "模型", "English": "Model"}  # the picker's label proves the rerun happened


def _choose_language(page, label: str) -> None:
    """Click the language option and wait for the rerun that relabels the sidebar.

    A click that lands while the first run is still settling can be dropped by the
    frontend, so the click is retried until the sidebar shows the new language.
    """
    option = page.locator("[data-testid='stSidebar'] [data-testid='stRadio'] label", has_text=label)
    marker = page.locator("[data-testid='stSidebar']").get_by_text(MODEL_LABEL[label], exact=True)
    for _attempt in range(4):
        option.click()
        try:
            marker.wait_for(timeout=15_000)
            break
        except Exception:  # playwright's TimeoutError: click again
            continue
    marker.wait_for(timeout=15_000)
    wait_idle(page)


def test_every_page_renders_in_both_languages(page, app_url):
    paths = _page_paths(page, app_url)
    for path in paths:
        name = path.strip("/") or "home"
        open_app(page, app_url + path)
        assert page.locator(EXCEPTION).count() == 0, f"exception on {path}"
        assert page.locator("h1").count() >= 1, f"no title on {path}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-en.png"), full_page=True)
        _choose_language(page, "中文")
        assert page.locator(EXCEPTION).count() == 0, f"exception on {path} in Chinese"
        # The sidebar (from app.py) must survive a rerun.
        assert page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").count() == 1
        page.screenshot(path=str(SCREENSHOTS / f"{name}-zh.png"), full_page=True)
        _choose_language(page, "English")


def test_home_shows_model_card_with_chinese_labels(page, app_url):
    open_app(page, app_url)
    body = page.locator("[data-testid='stMain']")
    assert "SmolLM2-135M-Instruct" in body.inner_text()
    assert page.locator("[data-testid='stMetric']").count() == 6
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 1
    assert page.locator("[data-testid='stGraphVizChart']").count() == 1
    _choose_language(page, "中文")
    text = body.inner_text()
    assert "看见大语言模型如何工作" in text
    assert "层数" in text and "30" in text
    page.screenshot(path=str(SCREENSHOTS / "home-model-card-zh.png"), full_page=True)
