"""AppTest of the Attention page on the real default model."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from apptest_pages import APP, ROOT, TIMEOUT_S, assert_clean, open_page
from streamlit.testing.v1 import AppTest

import ui.trace_cache as trace_cache
from llm_core.attention import recompute

pytestmark = pytest.mark.app

PAGE = "views/attention.py"


def shown_table(at: AppTest):
    """The numbers tab: the matrix on screen, labels as index and columns."""
    return next(
        df.value
        for df in at.dataframe
        if df.value.index.name is None and df.value.shape[0] == df.value.shape[1]
    )


def test_default_view_is_the_four_word_heatmap():
    at = open_page(PAGE, "en")
    assert_clean(at)
    table = shown_table(at)
    assert list(table.index) == ["我", "爱", "吃", "苹果"] == list(table.columns)
    matrix = table.to_numpy()
    np.testing.assert_allclose(matrix.sum(1), 1.0, atol=1e-3)
    assert np.all(np.triu(matrix, k=1) == 0)  # causal: no word looks ahead
    assert at.radio(key="attn_level").value == "word"
    assert any("Layer 3 head 2" in info.value for info in at.info)
    assert at.query_params["text"] == "我爱吃苹果" and at.query_params["layer"] == "3"


def test_changing_the_view_never_reruns_the_model(monkeypatch):
    calls, eager = [], []
    original = trace_cache.run_trace
    monkeypatch.setattr(
        trace_cache, "run_trace", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    # the only other way attention code runs the model (architectures it cannot recompute)
    monkeypatch.setattr(recompute, "eager_layer_call", lambda *a, **k: eager.append(1))
    at = open_page(PAGE, "en")
    text = f"小猫坐在垫子上 {uuid.uuid4().hex[:6]}"  # new to every cache
    at.text_area(key="attn_text").input(text).run()
    assert_clean(at)
    assert len(calls) == 1
    before = shown_table(at).to_numpy()
    at.select_slider(key="attn_layer").set_value(7).run()
    at.selectbox(key="attn_head").set_value(5).run()
    assert_clean(at)
    assert not np.allclose(shown_table(at).to_numpy(), before)
    for level in ("token", "character", "word"):
        at.radio(key="attn_level").set_value(level).run()
        assert_clean(at)
    for reduction in ("mean_heads", "mean_layers", "rollout", "head"):
        at.selectbox(key="attn_reduction").set_value(reduction).run()
        assert_clean(at)
        np.testing.assert_allclose(shown_table(at).to_numpy().sum(1), 1.0, atol=1e-3)
    at.selectbox(key="attn_stat").set_value("entropy").run()
    at.selectbox(key="attn_focus").set_value(1).run()
    assert_clean(at)
    assert len(calls) == 1, "changing layer, head, level or view ran the model again"
    assert not eager


def open_alone(lang: str, **state: object) -> AppTest:
    """The page without app.py's sidebar (default model). In Chinese, open_page fails in
    AppTest: the sidebar's model picker formats its options with t() called outside the
    script run (English), so the next run cannot find its Chinese option."""
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=TIMEOUT_S)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_chinese_page_describes_the_head_in_chinese():
    at = open_alone("zh")
    assert_clean(at)
    assert at.title[0].value == "注意力：每个注意力头在看什么"
    summary = " ".join(info.value for info in at.info)
    assert "第 3 层第 2 个头" in summary and "attends" not in summary
    assert at.selectbox(key="attn_reduction").options[0] == "单个注意力头"


def test_empty_and_too_long_text_show_errors_not_exceptions():
    at = open_page(PAGE, "en")
    at.text_area(key="attn_text").input("").run()
    assert_clean(at)
    assert "empty" in at.error[0].value
    at.text_area(key="attn_text").input("好" * 2500).run()  # over MAX_ATTENTION_TOKENS
    assert_clean(at)
    assert "2048" in at.error[0].value


def test_long_text_pools_the_heatmap_and_reads_every_layer_only_when_asked():
    at = open_page(PAGE, "en")
    at.radio(key="attn_level").set_value("token").run()
    text = f"{uuid.uuid4().hex[:6]}: " + "The cat sat on the mat. " * 50  # ~350 tokens
    at.text_area(key="attn_text").input(text).run()
    assert_clean(at)
    assert any("pools 2 neighbouring" in caption.value for caption in at.caption)
    assert any("waits for this button" in caption.value for caption in at.caption)
    assert not [chart for chart in at.get("plotly_chart") if "attn_overview" in str(chart.proto)]
    at.button(key="attn_summary").click().run()
    assert_clean(at)
    assert at.dataframe(key="attn_ranked").value.shape[0] == 10
    at.selectbox(key="attn_reduction").set_value("rollout").run()
    assert_clean(at)


def test_long_text_first_view_stops_at_its_layer_then_the_whole_pass_runs(monkeypatch):
    passes = []
    original = trace_cache.run_trace
    monkeypatch.setattr(
        trace_cache,
        "run_trace",
        lambda loaded, ids, *rest: passes.append(rest) or original(loaded, ids, *rest),
    )
    at = open_page(PAGE, "en")
    at.radio(key="attn_level").set_value("token").run()
    passes.clear()
    text = f"{uuid.uuid4().hex[:6]}: " + "The dog ran in the park. " * 50  # ~350 tokens
    at.text_area(key="attn_text").input(text).run()
    assert_clean(at)
    assert passes == [(3,), ()]  # through layer 3 for the first view, then the whole body
    assert trace_cache.trace_store().peek(trace_cache._key("trace", "default", text)) is not None
    shown = shown_figure_z(at)
    at.select_slider(key="attn_layer").set_value(20).run()
    at.select_slider(key="attn_layer").set_value(3).run()
    assert_clean(at)
    assert passes == [(3,), ()]  # every later view reads the whole trace
    np.testing.assert_array_equal(shown_figure_z(at), shown)  # the same from either pass


def shown_figure_z(at: AppTest) -> np.ndarray:
    """The main heatmap's values, as sent to the browser."""
    import json

    chart = next(c for c in at.get("plotly_chart") if "attn_heatmap" in str(c.proto))
    z = json.loads(chart.proto.spec)["data"][0]["z"]
    if isinstance(z, dict):  # plotly's typed-array encoding
        import base64

        shape = [int(side) for side in str(z["shape"]).split(",")]  # "350, 350"
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.array(z, dtype=float)


def test_link_restores_the_view():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.query_params.update(text="今天天气很好", level="character", view="mean_heads", layer="5")
    at.query_params["head"] = "99"  # out of range: clamped to the last head
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.text_area(key="attn_text").value == "今天天气很好"
    assert at.select_slider(key="attn_layer").value == 5
    assert at.selectbox(key="attn_reduction").value == "mean_heads"
    assert at.selectbox(key="attn_head").value == 8
    # 天 comes twice: the table numbers repeated labels to keep its columns apart
    assert list(shown_table(at).index) == [f"{i}:{c}" for i, c in enumerate("今天天气很好")]


def test_another_model_clamps_layer_and_head(isolated_outputs, tiny_model_dirs):
    import shutil

    shutil.copytree(tiny_model_dirs["gpt2"], isolated_outputs / "tiny-gpt2")
    at = open_alone("en", model_spec="tiny-gpt2")  # as the sidebar's picker would set it
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    layer, head = at.select_slider(key="attn_layer"), at.selectbox(key="attn_head")
    assert layer.options == ["0", "1"] and layer.value == 1  # default layer 3, clamped
    assert head.value == 2 and len(head.options) == 4
    assert at.query_params["model"] == "tiny-gpt2"
    np.testing.assert_allclose(shown_table(at).to_numpy().sum(1), 1.0, atol=1e-3)


def test_sessions_opening_short_texts_at_once_share_one_forward_pass():
    """Three sessions' new texts queue while the model is busy: they are traced in one
    batched pass, and each page shows its own text's attention, as traced alone."""
    import threading
    import time

    from llm_core.attention.recompute import layer_attention
    from llm_core.attention.trace import run_trace
    from llm_core.serving.worker import worker_for
    from ui.model_loader import _load_cached

    open_page(PAGE, "en")  # the model is loaded
    loaded = _load_cached("default")
    worker = worker_for(loaded)
    texts = [f"{uuid.uuid4().hex[:6]} the cat sat {n}" for n in range(3)]
    for text in texts:  # tokenizing takes the model's lock, which the blocker holds
        trace_cache.tokens_of("default", text)
    release = threading.Event()
    blocker = worker.submit_call(lambda _loaded: release.wait(120), label="busy")
    while blocker.place().ahead:
        pass
    pages: list[AppTest] = []
    threads = [
        threading.Thread(
            target=lambda text=text: pages.append(open_page(PAGE, "en", attn_text=text))
        )
        for text in texts
    ]
    before = worker.counts["together"]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sum(r.ticket.label == "trace" for r in worker._waiting) < 3:
        assert time.monotonic() < deadline, "the sessions' traces never queued"
        time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(TIMEOUT_S)
    assert worker.counts["together"] == before + 1
    for at in pages:
        assert_clean(at)
        text = at.text_area(key="attn_text").value
        trace = trace_cache.trace_store().peek(trace_cache._key("trace", "default", text))
        alone = run_trace(loaded, trace.token_ids)
        np.testing.assert_allclose(
            layer_attention(loaded, trace, 3), layer_attention(loaded, alone, 3), atol=1e-5
        )
