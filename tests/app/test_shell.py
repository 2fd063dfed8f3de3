"""AppTest: every page runs in both languages; the sidebar and the Home model card."""

from __future__ import annotations

import pytest
from apptest_pages import PAGES, assert_clean, open_page

pytestmark = pytest.mark.app


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_exception(page, lang):
    at = open_page(page, lang)
    assert_clean(at)
    assert at.title, f"{page} shows no title"


def test_home_shows_the_default_model_card_in_english():
    at = open_page("views/home.py", "en")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Layers"] == "30"
    assert metrics["Attention heads"] == "9 / 3"
    assert metrics["Hidden size"] == "576"
    assert metrics["Parameters"] == "135M"
    assert any("SmolLM2-135M-Instruct" in s.value for s in at.subheader)


def test_home_in_chinese_translates_the_card():
    at = open_page("views/home.py", "zh")
    assert_clean(at)
    assert at.title[0].value == "看见大语言模型如何工作"
    assert {m.label for m in at.metric} >= {"层数", "注意力头", "参数量"}


def test_sidebar_offers_language_and_models():
    at = open_page("views/home.py")
    assert at.sidebar.radio[0].options == ["English", "中文"]
    assert at.sidebar.selectbox[0].value == "default"
    assert at.sidebar.selectbox[0].options[0].startswith("default: SmolLM2")


@pytest.mark.parametrize("spec", ["someone/unreachable-model", "/definitely/not/here", "a b c"])
def test_bad_custom_model_shows_error_and_falls_back(spec):
    at = open_page("views/home.py", model_choice="__custom__", model_custom=spec)
    assert_clean(at)
    assert at.error, "a bad model spec should show an error"
    assert any("default" in i.value.lower() for i in at.info)
    assert any("SmolLM2-135M-Instruct" in s.value for s in at.subheader)


def test_saved_output_appears_in_picker_and_loads(isolated_outputs, tiny_model_dirs):
    import shutil

    shutil.copytree(tiny_model_dirs["gpt2"], isolated_outputs / "tiny-gpt2")
    at = open_page("views/home.py", model_choice="tiny-gpt2")
    assert_clean(at)
    assert "saved: tiny-gpt2" in at.sidebar.selectbox[0].options
    assert any("tiny-gpt2" in s.value for s in at.subheader)
    assert {m.label: m.value for m in at.metric}["Layers"] == "2"


def test_model_in_url_selects_it(isolated_outputs, tiny_model_dirs):
    import shutil

    from apptest_pages import APP, TIMEOUT_S
    from streamlit.testing.v1 import AppTest

    shutil.copytree(tiny_model_dirs["llama"], isolated_outputs / "shared-run")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["model"] = "shared-run"
    at.run()
    assert_clean(at)
    assert at.sidebar.selectbox[0].value == "shared-run"
    assert any("shared-run" in s.value for s in at.subheader)
