"""AppTest of the Attention math page: the toy steps, their error messages, both
languages, and one real head of the default model recomputed by hand."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from apptest_pages import APP, TIMEOUT_S, assert_clean, open_page
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.app

PAGE = "views/attention_math.py"


def _figure(at, key: str) -> dict:
    """The plotly figure the page drew with ``key``, as the JSON the browser receives."""
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-" + key)]
    assert len(charts) == 1, f"no single chart {key!r}"
    return json.loads(charts[0].proto.spec)


def _values(figure: dict) -> np.ndarray:
    """The coloured cells of a heatmap; grey (masked) cells are NaN."""
    (trace,) = [trace for trace in figure["data"] if trace.get("name") == "values"]
    z = trace["z"]
    if isinstance(z, dict):  # plotly sends numpy arrays as base64 typed arrays
        shape = [int(n) for n in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.array([[np.nan if v is None else v for v in row] for row in z], dtype=float)


@pytest.fixture(scope="module")
def english():
    at = open_page(PAGE, "en")
    assert_clean(at)
    return at


def test_default_toy_weights_are_causal_and_rows_sum_to_one(english):
    weights = _values(_figure(english, "am_fig_weights_0"))
    assert weights.shape == (4, 4)
    assert np.all(np.isnan(weights[np.triu_indices(4, k=1)]))  # masked: grey
    np.testing.assert_allclose(np.nan_to_num(weights).sum(axis=1), 1.0, atol=1e-5)
    assert weights[0, 0] == pytest.approx(1.0)  # 我 can only see itself
    figure = _figure(english, "am_fig_weights_0")
    assert figure["layout"]["yaxis"]["ticktext"] == ["我", "爱", "吃", "苹果"]
    # Every step is drawn, and the formula is typeset.
    for step in ("q", "k", "v", "scores", "scaled", "masked", "output"):
        _figure(english, f"am_fig_{step}_0")
    assert any("sqrt" in latex.value for latex in english.latex)
    assert any("1.732" in m.value for m in english.markdown)  # ÷ √3, the number shown


def test_real_head_matches_the_model(english):
    metrics = {m.label: m.value for m in english.metric}
    assert float(metrics["Max difference"]) < 1e-4
    assert metrics["Scale 1/√d_k"] == "1/√64 = 0.1250"
    assert any("RoPE" in m.value for m in english.markdown)
    recomputed = _values(_figure(english, "am_real_recomputed"))
    reported = _values(_figure(english, "am_real_reported"))
    assert recomputed.shape == reported.shape == (int(metrics["Tokens"]),) * 2
    np.testing.assert_allclose(recomputed, reported, atol=1e-4)  # NaN (masked) where equal
    assert english.success and not english.error


def test_causal_off_changes_the_weights():
    at = open_page(PAGE, "en")
    causal = _values(_figure(at, "am_fig_weights_0"))
    at.toggle(key="am_causal").set_value(False)
    at.text_input(key="am_words").set_value("I love <b>eating</b> apples").run()
    assert_clean(at)
    full = _values(_figure(at, "am_fig_weights_0"))
    assert not np.isnan(full).any() and (full > 0).all()
    np.testing.assert_allclose(full.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(np.nan_to_num(causal), full)
    assert any("No mask" in m.value for m in at.markdown)
    ticks = _figure(at, "am_fig_weights_0")["layout"]["yaxis"]["ticktext"]
    assert ticks == ["I", "love", "&lt;b&gt;eating&lt;/b&gt;", "apples"]  # escaped for plotly


def test_bad_input_shows_errors_not_exceptions():
    at = open_page(PAGE, "en")
    at.text_area(key="am_wq").set_value("1, 0, 0\n0, one, 0\n0, 0, 1").run()
    assert_clean(at)
    assert any("W_Q" in e.value and "Row 2" in e.value for e in at.error)
    assert not [c for c in at.get("plotly_chart") if "am_fig_" in c.proto.id]

    at.text_area(key="am_wq").set_value("1, 0, 0\n0, 1, 0\n0, 0, 1")
    at.number_input(key="am_heads").set_value(2).run()  # d = 3 does not split into 2 heads
    assert_clean(at)
    assert any("cannot be split evenly into 2 heads" in e.value for e in at.error)

    at.number_input(key="am_heads").set_value(3).run()  # 3 heads of d_k = 1
    assert_clean(at)
    assert not at.error
    assert len(at.tabs) >= 2 + 3
    np.testing.assert_allclose(
        np.nan_to_num(_values(_figure(at, "am_fig_weights_2"))).sum(axis=1), 1.0, atol=1e-5
    )
    _figure(at, "am_fig_output_all")

    at.text_input(key="am_words").set_value("我 爱 吃").run()  # 3 labels for 4 rows
    assert any("one label per token" in e.value for e in at.error)
    at.text_input(key="am_real_text").set_value("").run()
    assert_clean(at)
    assert any("empty" in e.value.lower() for e in at.error)

    at.button(key="am_reset").click().run()  # back to 我 爱 吃 苹果, one head
    assert_clean(at)
    assert at.text_input(key="am_words").value == "我 爱 吃 苹果"
    assert at.number_input(key="am_heads").value == 1
    assert len(at.error) == 1 and "empty" in at.error[0].value.lower()  # the real head's


def test_chinese_page():
    # One run only, straight onto the page: under AppTest any rerun in Chinese trips over
    # the sidebar's translated model picker (its format_func is re-evaluated outside the
    # session, in English), so the English tests are the ones that drive the widgets.
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.session_state["lang"] = "zh"
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.title[0].value == "注意力公式，一步一步算"
    assert any("因果掩码" in m.value for m in at.markdown)
    assert any("RoPE" in m.value and "旋转" in m.value for m in at.markdown)
    assert at.success and "float32" in at.success[0].value
