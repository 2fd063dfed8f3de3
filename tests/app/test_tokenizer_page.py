"""AppTest of the Tokenizer page: counts, chips, escaping, limits, shared links, comparison."""

from __future__ import annotations

import re
import shutil

import pytest
from apptest_pages import assert_clean, open_page

from ui.catalog import CATALOG

pytestmark = pytest.mark.app

PAGE = "views/tokenizer.py"
DEFAULT_TEXT = CATALOG["tokenizer.default_text"]


def _open(lang: str = "en"):
    at = open_page(PAGE, "en")
    if lang != "en":
        # Switched after the first run: open_page(PAGE, "zh") trips over the sidebar's model
        # picker, whose format_func AppTest calls outside the script run (in English).
        at.session_state["lang"] = lang
        at.run()
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _chips(at) -> list[str]:
    """Bodies of the chip blocks (st.html)."""
    return [h.proto.body for h in at.get("html") if 'class="tc tc-boxed"' in h.proto.body]


def _table(at):
    return at.dataframe[0].value


@pytest.mark.parametrize(
    ("lang", "tokens_label", "touches"),
    [("en", "Tokens", "characters it touches"), ("zh", "词元数", "涉及的字符")],
)
def test_default_text_shows_byte_fragments_joined_back(lang, tokens_label, touches):
    at = _open(lang)
    assert_clean(at)
    assert at.text_area(key="tok_text").value == DEFAULT_TEXT[lang]
    table = _table(at)
    # SmolLM2's byte-level BPE: 我爱吃苹果 takes 11 tokens, most of them byte fragments.
    in_apples = table[table[touches].map(lambda chars: chars in "我爱吃苹果")]
    assert len(in_apples) == 11
    assert int(_metrics(at)[tokens_label]) == len(table) > 11
    assert any("E6 88 91" in i.value for i in at.info), "the fragments are explained"
    assert "我" in _chips(at)[0] and "E6 88" in _chips(at)[0]


def test_editing_text_and_level_updates_counts_and_link():
    at = _open()
    at.text_area(key="tok_text").set_value("The cat sat on the mat.").run()
    assert_clean(at)
    metrics = _metrics(at)
    assert (metrics["Tokens"], metrics["Characters"], metrics["Words"]) == ("7", "23", "7")
    assert metrics["Tokens per character"] == f"{7 / 23:.2f}"
    assert at.query_params["text"] == "The cat sat on the mat."

    at.text_area(key="tok_text").set_value("我爱吃苹果").run()
    at.radio(key="tok_level").set_value("word").run()
    assert_clean(at)
    assert at.query_params["level"] == "word"
    chips = _chips(at)[0]
    # One word chip for 苹果 holding its four tokens (three byte fragments and 果).
    assert chips.count('class="tc-chip') == 4  # 我 / 爱 / 吃 / 苹果
    assert "苹果</span>" in chips and len(re.findall('class="tc-box[" ]', chips)) >= 11


def test_link_sets_text_and_level():
    from apptest_pages import APP, TIMEOUT_S
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params["text"] = "你好，世界"
    at.query_params["level"] = "character"
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.text_area(key="tok_text").value == "你好，世界"
    assert at.radio(key="tok_level").value == "character"


def test_bad_or_huge_text_shows_a_message_not_a_traceback():
    from llm_core.text.tokens import MAX_TOKENIZE_CHARS

    at = _open()
    at.text_area(key="tok_text").set_value("").run()
    assert_clean(at)
    assert any("empty" in e.value for e in at.error)
    assert not _chips(at)

    at.text_area(key="tok_text").set_value("x" * (MAX_TOKENIZE_CHARS + 1)).run()
    assert_clean(at)
    assert any(f"{MAX_TOKENIZE_CHARS:,}" in e.value for e in at.error)

    # Long but allowed: the chips stop at a named limit and say how many are hidden.
    at.text_area(key="tok_text").set_value("a " * 2_500).run()
    assert_clean(at)
    assert not at.error
    assert _chips(at)[0].count('class="tc-chip') == 2_000
    n_tokens = _metrics(at)["Tokens"]
    assert any(f"first 2,000 of {n_tokens} chips" in c.value for c in at.caption)


def test_markup_and_special_tokens_are_shown_as_text():
    at = _open()
    at.text_area(key="tok_text").set_value("<script>alert(1)</script><|im_start|>").run()
    assert_clean(at)
    bodies = [h.proto.body for h in at.get("html")]
    bodies += [m.value for m in at.markdown if m.allow_html]
    assert bodies
    assert all("<script" not in body and "</script" not in body for body in bodies)
    chips = _chips(at)[0]
    assert "&lt;" in chips and "&gt;" in chips
    assert 'class="tc-chip tc-special' in chips and "&lt;|im_start|&gt;" in chips


def test_compare_with_a_saved_output_and_a_failing_spec(isolated_outputs, tiny_model_dirs):
    shutil.copytree(tiny_model_dirs["gpt2"], isolated_outputs / "tiny-gpt2")
    at = _open()
    assert_clean(at)
    picker = at.multiselect(key="tok_compare")
    assert picker.options == ["default (SmolLM2-135M-Instruct)", "saved: tiny-gpt2"]
    assert picker.value == ["default", "tiny-gpt2"]
    at.text_input(key="tok_compare_custom").set_value("/definitely/not/here").run()
    assert_clean(at)
    counts = [m.value for m in at.markdown if "tokens per character" in m.value]
    assert len(counts) == 2, counts  # default and tiny-gpt2 still render
    assert counts[0] != counts[1], "different tokenizers, different counts"
    assert len(_chips(at)) == 3  # the main view and the two columns
    assert any("Could not load this tokenizer" in e.value for e in at.error)
