"""The Generation and Perplexity pages in Chromium: tokens stream in as they are produced,
Stop ends a long generation promptly and keeps its tokens, the Chinese page generates
and steps through, and the logit lens draws; screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from browsing import EXCEPTION, SCREENSHOTS, choose_language, open_app, wait_idle

pytestmark = pytest.mark.browser

TALL = {"width": 1400, "height": 2600}  # Streamlit scrolls inside the page: show it all
GENERATED = "[data-testid='stMain'] .tc-chip:not(.tc-prompt):not(.tc-weight)"
RUN_TIMEOUT_MS = 180_000  # a generation on a CPU shared with other work


def count(page, selector: str) -> int:
    return page.locator(selector).count()


def test_tokens_stream_and_stop_keeps_them(page, app_url):
    open_app(page, f"{app_url}/generation")
    page.set_viewport_size(TALL)
    slider = page.locator("[data-testid='stSlider']", has_text="Max new tokens")
    slider.get_by_role("slider").focus()
    page.keyboard.press("End")  # 256 new tokens: far more than the test waits for
    slider.get_by_text("256").first.wait_for(timeout=15_000)
    wait_idle(page)
    page.get_by_role("button", name="Generate", exact=True).click()
    # Streaming: chips appear one step at a time while the script is still running.
    page.wait_for_function(
        f"document.querySelectorAll({GENERATED!r}).length >= 3", timeout=RUN_TIMEOUT_MS
    )
    seen = count(page, GENERATED)
    page.wait_for_function(
        f"document.querySelectorAll({GENERATED!r}).length > {seen}", timeout=RUN_TIMEOUT_MS
    )
    main = page.locator("[data-testid='stMain']")  # not the toolbar's own Stop
    main.get_by_role("button", name="Stop", exact=True).first.click()
    summary = page.get_by_text(re.compile(r"\d+ tokens · stopped"))
    summary.wait_for(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    assert count(page, EXCEPTION) == 0
    n_tokens = int(re.match(r"(\d+)", summary.inner_text()).group(1))
    assert seen < n_tokens < 256
    assert count(page, GENERATED) == n_tokens
    page.screenshot(path=str(SCREENSHOTS / "generation-stopped-en.png"), full_page=True)


def test_chinese_generation_and_step_through(page, app_url):
    open_app(page, f"{app_url}/generation")
    page.set_viewport_size(TALL)
    choose_language(page, "中文")
    page.get_by_text("文本生成：下一个词元是怎么选出来的").wait_for(timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="今天天气真好").click()
    wait_idle(page)
    page.get_by_role("button", name="生成", exact=True).click()
    page.get_by_text(re.compile(r"\d+ 个词元 · ")).wait_for(timeout=RUN_TIMEOUT_MS)
    wait_idle(page)
    assert count(page, EXCEPTION) == 0
    prompt = page.locator("[data-testid='stMain'] .tc-prompt").all_inner_texts()
    assert set("".join(prompt)) == set("今天天气真好")  # byte fragments show their character
    assert count(page, GENERATED) > 0
    page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=RUN_TIMEOUT_MS)
    page.screenshot(path=str(SCREENSHOTS / "generation-zh.png"), full_page=True)
    page.get_by_role("tab", name="逐步生成").click()
    page.get_by_role("button", name="从提示词开始").click()
    wait_idle(page)
    for _ in range(2):
        page.get_by_role("button", name="下一个词元（模型的选择）").click()
        wait_idle(page)
    page.get_by_text("已添加 2 个词元").wait_for(timeout=30_000)
    assert count(page, EXCEPTION) == 0
    page.screenshot(path=str(SCREENSHOTS / "generation-step-through-zh.png"), full_page=True)


def test_perplexity_and_logit_lens(page, app_url):
    open_app(page, f"{app_url}/perplexity")
    page.set_viewport_size(TALL)
    lens = page.locator("[data-testid='stPlotlyChart']").filter(has_text="embeddings")
    lens.wait_for(timeout=RUN_TIMEOUT_MS)
    assert count(page, EXCEPTION) == 0
    chips = page.locator("[data-testid='stMain'] .tc-chip").all_inner_texts()
    assert chips == ["<|endoftext|>", "The", " cat", " sat", " on", " the", " mat"]
    page.screenshot(path=str(SCREENSHOTS / "perplexity-en.png"), full_page=True)
    choose_language(page, "中文")
    page.get_by_role("button", name="我爱吃苹果").click()
    wait_idle(page)
    page.locator("[data-testid='stPlotlyChart']").filter(has_text="嵌入层").wait_for(
        timeout=RUN_TIMEOUT_MS
    )
    assert count(page, EXCEPTION) == 0
    assert "困惑度" in page.locator("[data-testid='stMain']").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "perplexity-zh.png"), full_page=True)
