"""The Fine-tuning studio in Chromium: a short real LoRA run of the default model on the
Tang poems, from the Train button to the before/after results, in English and Chinese.

The server gets its own outputs folder, so the run never lands in the user's models.
"""

from __future__ import annotations

import re

import pytest
from browsing import EXCEPTION, SCREENSHOTS, choose_language, open_app, serve_app, wait_idle

pytestmark = pytest.mark.browser

MAIN = "[data-testid='stMain']"
TRAIN_TIMEOUT_MS = 600_000  # two steps, plus measuring before and after, on a busy CPU


def _set_number(page, label: str, value: int) -> None:
    box = page.locator(MAIN).get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


@pytest.mark.timeout(1500)  # two waits of up to TRAIN_TIMEOUT_MS on a shared CPU
def test_train_from_the_page_and_compare_before_after(page, tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_EXPLORER_OUTPUTS", str(tmp_path / "outputs"))
    page.set_viewport_size({"width": 1400, "height": 1200})
    with serve_app("streamlit-finetune.log") as url:
        open_app(page, url + "/finetune")
        main = page.locator(MAIN)
        assert page.locator(EXCEPTION).count() == 0
        assert "Tang poems" in main.inner_html()  # a select box keeps its value in an attribute
        page.screenshot(path=str(SCREENSHOTS / "finetune-start-en.png"), full_page=True)

        _set_number(page, "Steps", 2)
        _set_number(page, "Batch size (blocks per step)", 1)
        page.locator(MAIN).get_by_label("Save as", exact=True).fill("tang-browser")
        page.locator(MAIN).get_by_label("Save as", exact=True).press("Enter")
        wait_idle(page)
        main.get_by_role("button", name="Train", exact=True).click()

        bar = page.locator("[data-testid='stProgress']")
        bar.first.wait_for(timeout=60_000)
        main.get_by_text(re.compile(r"^Training · step [1-9]")).first.wait_for(
            timeout=TRAIN_TIMEOUT_MS
        )
        assert main.get_by_role("button", name="Cancel").count() == 1
        page.screenshot(path=str(SCREENSHOTS / "finetune-progress-en.png"), full_page=True)

        main.get_by_text("Validation perplexity after").wait_for(timeout=TRAIN_TIMEOUT_MS)
        wait_idle(page)
        page.locator(f"{MAIN} [data-testid='stVegaLiteChart']").first.wait_for(timeout=60_000)
        page.locator(f"{MAIN} [data-testid='stPlotlyChart']").nth(2).wait_for(timeout=60_000)
        text = main.inner_text()
        assert "Validation perplexity after" in text and "After − before" in text
        assert "tang-browser" in text  # in the table of saved models
        assert page.locator(EXCEPTION).count() == 0
        page.screenshot(path=str(SCREENSHOTS / "finetune-results-en.png"), full_page=True)

        picker = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")
        picker.click()
        assert page.get_by_role("option", name="saved: tang-browser").count() == 1
        page.keyboard.press("Escape")

        choose_language(page, "中文")
        page.locator(f"{MAIN} [data-testid='stPlotlyChart']").nth(2).wait_for(timeout=60_000)
        text = main.inner_text()
        assert "训练后验证困惑度" in text and "训练后 − 训练前" in text
        assert page.locator(EXCEPTION).count() == 0
        page.screenshot(path=str(SCREENSHOTS / "finetune-results-zh.png"), full_page=True)
