"""Every page in the navigation renders in Chromium, in English and Chinese, with no
exception box; screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from browsing import EXCEPTION, SCREENSHOTS, choose_language, open_app, serve_app

pytestmark = pytest.mark.browser


def _page_paths(page, app_url) -> list[str]:
    open_app(page, app_url)
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    paths = sorted({re.sub(r"^https?://[^/]+", "", h or "/") or "/" for h in hrefs} | {"/"})
    return paths


def test_every_page_renders_in_both_languages(page, app_url):
    paths = _page_paths(page, app_url)
    for path in paths:
        name = path.strip("/") or "home"
        open_app(page, app_url + path)
        assert page.locator(EXCEPTION).count() == 0, f"exception on {path}"
        assert page.locator("h1").count() >= 1, f"no title on {path}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-en.png"), full_page=True)
        choose_language(page, "中文")
        assert page.locator(EXCEPTION).count() == 0, f"exception on {path} in Chinese"
        # The sidebar (from app.py) must survive a rerun, relabelled in Chinese.
        picker = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")
        assert picker.count() == 1
        assert "默认" in picker.inner_html()  # the shown value lives in an attribute
        page.screenshot(path=str(SCREENSHOTS / f"{name}-zh.png"), full_page=True)
        choose_language(page, "English")


def test_home_shows_model_card_with_chinese_labels(page, app_url):
    open_app(page, app_url)
    body = page.locator("[data-testid='stMain']")
    assert "SmolLM2-135M-Instruct" in body.inner_text()
    assert page.locator("[data-testid='stMetric']").count() == 6
    # Chart components mount after the run ends (they load lazily): wait, do not count.
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)  # params
    page.locator("[data-testid='stGraphVizChart']").first.wait_for(timeout=60_000)
    choose_language(page, "中文")
    text = body.inner_text()
    assert "看见大语言模型如何工作" in text
    assert "层数" in text and "30" in text
    page.screenshot(path=str(SCREENSHOTS / "home-model-card-zh.png"), full_page=True)


def test_deep_link_is_first_visit_of_a_fresh_server(page):
    """A shared link opened before anyone visited / still gets app.py's navigation and
    sidebar (a pages/ folder would make Streamlit serve the bare page script)."""
    with serve_app("streamlit-deep-link.log") as url:
        open_app(page, url + "/attention?level=word")
        assert page.locator(EXCEPTION).count() == 0
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Tokenizer" in nav and "Attention math" in nav
        assert "app" not in nav.split()
