"""Run once, ask anything: a trace of one sdpa forward, attention of any layer recomputed
from it equal to Hugging Face's eager attention, everything across layers folded layer by
layer, the one view function, and a memory-bounded store of traces."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch

from llm_core.attention.capture import capture_attention
from llm_core.attention.export import matrix_record
from llm_core.attention.matrices import (
    attention_matrix,
    attention_to_tokens,
    check_view,
    role_of_head,
    token_matrix,
)
from llm_core.attention.recompute import head_attention, layer_attention, query_attention
from llm_core.attention.reductions import REDUCTIONS, aggregate, attention_rollout
from llm_core.attention.stats import describe_head
from llm_core.attention.summary import summarize_attention
from llm_core.attention.trace import run_trace, run_traces, trace_batch_tokens
from llm_core.attention.trace_store import TraceStore
from llm_core.errors import InputError
from llm_core.generation.generate import generate
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import LoadedModel
from llm_core.text.tokens import tokenize_with

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCHS = ("llama", "gpt2", "qwen2")
TEXT = "我爱吃苹果。The cat sat on the mat."


def sharpened(loaded: LoadedModel) -> LoadedModel:
    """Q/K weights scaled up: random init gives almost uniform attention, which would
    hide a wrong RoPE, mask or head mapping. Mutates a model loaded for this module."""
    with torch.no_grad():
        for name, parameter in loaded.model.named_parameters():
            if any(part in name for part in ("q_proj", "k_proj", "c_attn")):
                parameter.mul_(20.0)
    return loaded


@pytest.fixture(scope="module")
def sharp_models(tiny_model_dirs):
    from llm_core.models.loading import load_model

    return {arch: sharpened(load_model(str(tiny_model_dirs[arch]))) for arch in ARCHS}


@pytest.fixture(scope="module")
def traced(sharp_models):
    """{arch: (tokens, trace, HF eager output with attentions and hidden states)}."""
    out = {}
    for arch, loaded in sharp_models.items():
        tokens = tokenize_with(loaded, TEXT)
        with torch.inference_mode():
            reference = loaded.model(
                torch.tensor([tokens.ids]), output_attentions=True, output_hidden_states=True
            )
        out[arch] = (tokens, run_trace(loaded, tokens.ids), reference)
    return out


# ---------------------------------------------------------------------------- the trace


@pytest.mark.parametrize("arch", ARCHS)
def test_trace_keeps_each_layer_input_as_the_eager_forward_does(arch, sharp_models, traced):
    loaded = sharp_models[arch]
    tokens, trace, reference = traced[arch]
    d = loaded.description
    assert trace.residual.shape == (d.n_layers, len(tokens.ids), d.d_model)
    assert not trace.residual.flags.writeable and not trace.final.flags.writeable
    for layer in range(d.n_layers):  # hidden_states[i] is the input of layer i
        np.testing.assert_allclose(
            trace.residual[layer], reference.hidden_states[layer][0].numpy(), atol=1e-5
        )
    np.testing.assert_allclose(trace.final, reference.hidden_states[-1][0].numpy(), atol=1e-5)
    assert (trace.rotary is None) == (arch == "gpt2")
    assert trace.nbytes >= trace.residual.nbytes


@pytest.mark.parametrize("arch", ARCHS)
def test_recomputed_layers_equal_hugging_face_eager_attention(arch, sharp_models, traced):
    loaded = sharp_models[arch]
    tokens, trace, reference = traced[arch]
    n, d = len(tokens.ids), loaded.description
    for layer in range(d.n_layers):
        weights = layer_attention(loaded, trace, layer)
        assert weights.shape == (d.n_heads, n, n)  # every query head, not the kv heads
        np.testing.assert_allclose(weights, reference.attentions[layer][0].numpy(), atol=1e-5)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(weights, k=1) == 0.0)  # exactly 0, not merely small
        uniform = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]
        assert np.abs(weights - uniform).max() > 0.1  # sharp enough to mean something
        head = d.n_heads - 1
        np.testing.assert_array_equal(head_attention(loaded, trace, layer, head), weights[head])
        for position in (0, n // 2, -1):
            np.testing.assert_allclose(
                query_attention(loaded, trace, layer, position), weights[:, position], atol=1e-6
            )


def test_long_texts_compute_heads_one_at_a_time_to_the_same_weights(
    sharp_models, traced, monkeypatch
):
    """A short text's heads come from one batched product; a long one's, one head at a
    time (bounded memory): the two give the same weights."""
    from llm_core.attention import recompute

    loaded = sharp_models["llama"]
    _tokens, trace, reference = traced["llama"]
    together = [layer_attention(loaded, trace, layer) for layer in range(2)]
    monkeypatch.setattr(recompute, "ALL_HEADS_AT_ONCE", 0)
    for layer, weights in enumerate(together):
        alone = layer_attention(loaded, trace, layer)
        np.testing.assert_allclose(alone, weights, atol=1e-6)
        np.testing.assert_allclose(alone, reference.attentions[layer][0].numpy(), atol=1e-5)
        assert np.all(np.triu(alone, k=1) == 0.0)


@pytest.mark.parametrize("arch", ARCHS)
def test_a_partial_trace_holds_the_layers_it_ran_as_the_whole_trace_does(
    arch, sharp_models, traced
):
    loaded = sharp_models[arch]
    tokens, trace, _reference = traced[arch]
    last = loaded.description.n_layers - 1
    assert last >= 1  # at least one layer to leave out
    for through in range(last):
        partial = run_trace(loaded, tokens.ids, through_layer=through)
        assert not partial.complete and partial.final is None
        assert partial.n_layers == through + 1
        np.testing.assert_array_equal(partial.residual, trace.residual[: through + 1])
        np.testing.assert_array_equal(
            layer_attention(loaded, partial, through), layer_attention(loaded, trace, through)
        )
        with pytest.raises(InputError, match="layer"):
            layer_attention(loaded, partial, through + 1)  # not run: never zeros
        with pytest.raises(ValueError, match="complete trace"):
            summarize_attention(loaded, partial)
        with pytest.raises(ValueError, match="complete trace"):
            partial.final_stream()
    whole = run_trace(loaded, tokens.ids, through_layer=last)  # the last layer: the whole pass
    assert whole.complete
    np.testing.assert_array_equal(whole.final, trace.final)
    with pytest.raises(InputError, match="layer"):
        run_trace(loaded, tokens.ids, through_layer=last + 1)


@pytest.mark.parametrize("arch", ARCHS)
def test_traces_run_together_equal_each_alone(arch, sharp_models):
    """Texts of different lengths in one padded pass: each trace is its text's alone (to
    float32 rounding) and no padding is kept; bad ids fail only their own entry."""
    loaded = sharp_models[arch]
    texts = (TEXT, "Hi", "床前明月光，疑是地上霜。The dog sat on the log.")
    ids = [tokenize_with(loaded, text).ids for text in texts]
    together = run_traces(loaded, [ids[0], [10**9], ids[1], ids[2]])
    assert isinstance(together[1], InputError)
    for token_ids, got in zip(ids, [together[0], *together[2:]], strict=True):
        alone = run_trace(loaded, token_ids)
        assert got.complete and got.token_ids == alone.token_ids
        assert got.residual.shape == alone.residual.shape
        scale = np.abs(alone.residual).max()
        np.testing.assert_allclose(got.residual, alone.residual, atol=1e-5 * scale)
        np.testing.assert_allclose(got.final, alone.final, atol=1e-5 * np.abs(alone.final).max())
        if alone.rotary is None:
            assert got.rotary is None
        else:
            np.testing.assert_allclose(got.rotary, alone.rotary, atol=1e-6)
        for layer in range(loaded.description.n_layers):  # and so is every attention map
            np.testing.assert_allclose(
                layer_attention(loaded, got, layer),
                layer_attention(loaded, alone, layer),
                atol=1e-5,
            )
    assert isinstance(run_traces(loaded, [[]])[0], InputError)
    assert trace_batch_tokens(ids[0]) == len(ids[0])
    assert trace_batch_tokens(ids[0], 1) is None  # a partial trace runs alone


def test_the_forward_runs_sdpa_only_inside_the_lock(sharp_models):
    loaded = sharp_models["llama"]
    seen: list[tuple[str, object]] = []

    class RecordingLock:
        def __init__(self):
            self.inner = threading.RLock()

        def __enter__(self):
            seen.append(("enter", loaded.model.config._attn_implementation))
            return self.inner.__enter__()

        def __exit__(self, *exc):
            seen.append(("exit", loaded.model.config._attn_implementation))
            return self.inner.__exit__(*exc)

    attn = loaded.model.model.layers[0].self_attn
    probe = attn.register_forward_hook(lambda _m, _a, out: seen.append(("weights", out[1])))
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in loaded.model.modules())
    original, loaded.lock = loaded.lock, RecordingLock()
    try:
        run_trace(loaded, [5, 6, 7])
    finally:
        loaded.lock = original
        probe.remove()
    # eager on entering and leaving the lock; inside, sdpa (which returns no weights)
    assert seen == [("enter", "eager"), ("weights", None), ("exit", "eager")]
    after = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in loaded.model.modules())
    assert after == hooks - 1  # the trace's hooks are gone (only the probe was removed)


def test_a_failing_forward_restores_eager_attention(sharp_models):
    loaded = sharp_models["qwen2"]

    def boom(*_args, **_kwargs):
        raise RuntimeError("boom")

    handle = loaded.model.model.layers[1].register_forward_pre_hook(boom)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            run_trace(loaded, [5, 6, 7])
    finally:
        handle.remove()
    assert loaded.model.config._attn_implementation == "eager"
    assert not any(m._forward_pre_hooks for m in loaded.model.model.layers)


def test_generation_attention_is_unchanged_by_traces_running_beside_it(tiny_model_dirs):
    """The generation engine reads eager weights from the same shared model: traces in
    another thread (switching to sdpa under the lock) must not change a single step."""
    from llm_core.models.loading import load_model

    loaded = load_model(str(tiny_model_dirs["llama"]))
    settings = GenerationSettings(max_new_tokens=12, capture_attention=True)
    prompt = tokenize_with(loaded, "我爱吃").ids
    alone = generate(loaded, prompt, settings)
    stop = threading.Event()
    errors: list[BaseException] = []

    def trace_forever() -> None:
        try:
            while not stop.is_set():
                run_trace(loaded, tokenize_with(loaded, TEXT).ids)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    worker = threading.Thread(target=trace_forever)
    worker.start()
    try:
        beside = generate(loaded, prompt, settings)
    finally:
        stop.set()
        worker.join()
    assert not errors
    assert beside.token_ids == alone.token_ids
    for a, b in zip(alone.steps, beside.steps, strict=True):
        np.testing.assert_array_equal(a.attention, b.attention)


def test_other_architectures_fall_back_to_the_models_own_eager_attention(sharp_models, traced):
    loaded = sharp_models["llama"]
    tokens, trace, reference = traced["llama"]
    other = LoadedModel(
        loaded.model,
        loaded.tokenizer,
        dataclasses.replace(loaded.description, model_type="mamba"),
        loaded.source,
    )
    np.testing.assert_allclose(
        layer_attention(other, trace, 1), reference.attentions[1][0].numpy(), atol=1e-6
    )


# ---------------------------------------------------------------------------- across layers


@pytest.mark.parametrize("arch", ARCHS)
def test_summary_folds_every_layer_like_the_full_weights(arch, sharp_models, traced):
    loaded = sharp_models[arch]
    _tokens, trace, reference = traced[arch]
    calls = []
    summary = summarize_attention(loaded, trace, progress=lambda done, n: calls.append((done, n)))
    n_layers = loaded.description.n_layers
    assert calls == [(i + 1, n_layers) for i in range(n_layers)]
    full = np.stack([a[0].numpy() for a in reference.attentions])  # [layer, head, q, k]
    np.testing.assert_allclose(summary.mean_layers, full.mean(axis=(0, 1)), atol=1e-5)
    np.testing.assert_allclose(summary.rollout, attention_rollout(full.mean(1)), atol=1e-5)
    np.testing.assert_allclose(summary.rollout.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(summary.rollout, k=1) == 0.0)
    captured = capture_attention(loaded, trace.token_ids)  # the same statistics either way
    np.testing.assert_allclose(summary.stats.entropy, captured.stats.entropy, atol=1e-6)
    previous = np.stack([np.diagonal(a, -1, -2, -1).mean(-1) for a in full])  # [layer, head]
    np.testing.assert_allclose(summary.stats.previous_token, previous, atol=1e-5)
    role = role_of_head(loaded, trace, 1, 2)
    assert role == describe_head(summary.stats, 1, 2)


# ---------------------------------------------------------------------------- the one view


def test_every_view_is_the_reduction_of_the_recomputed_heads(sharp_models, traced):
    loaded = sharp_models["qwen2"]
    tokens, trace, reference = traced["qwen2"]
    summary = summarize_attention(loaded, trace)
    layer1 = reference.attentions[1][0].numpy()  # [head, q, k]
    expected = {
        ("head", 1, 3): layer1[3],
        ("mean_heads", 1, None): layer1.mean(0),
        ("mean_layers", None, None): summary.mean_layers,
        ("rollout", None, None): summary.rollout,
    }
    assert {key[0] for key in expected} == set(REDUCTIONS)
    groups = [group.tokens for group in tokens.groups("word")]
    for (reduction, layer, head), token_level in expected.items():
        view = attention_matrix(loaded, trace, tokens, "word", reduction, layer, head, summary)
        np.testing.assert_allclose(view.weights, aggregate(token_level, groups), atol=1e-5)
        np.testing.assert_allclose(view.weights.sum(-1), 1.0, atol=1e-5)
        assert view.labels == tuple(tokens.labels("word"))
        record = matrix_record(view, model="m")
        assert (record["reduction"], record["layer"], record["head"]) == (reduction, layer, head)
        last = attention_to_tokens(loaded, trace, reduction, layer, head, summary=summary)
        np.testing.assert_allclose(last, token_level[-1], atol=1e-5)
        np.testing.assert_allclose(last.sum(), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        token_matrix(loaded, trace, "rollout"), summary.rollout, atol=1e-6
    )  # without a summary it computes one


@pytest.mark.parametrize(
    ("reduction", "layer", "head", "message"),
    [
        ("head", 1, None, "needs a layer and a head"),
        ("mean_heads", None, None, "give a layer"),
        ("rollout", 0, None, "every layer"),
        ("mean_layers", None, 2, "every head"),
        ("head", 9, 0, "layers 0-1"),
        ("head", 0, 9, "heads 0-3"),
        ("max", None, None, "Unknown view"),
    ],
)
def test_views_that_make_no_sense_are_input_errors(sharp_models, reduction, layer, head, message):
    with pytest.raises(InputError, match=message):
        check_view(sharp_models["llama"], reduction, layer, head)


def test_bad_text_and_ids_are_input_errors(sharp_models):
    loaded = sharp_models["llama"]
    for ids, message in (([], "No tokens"), ([5, 10_000], "vocabulary"), ([1.5], "whole")):
        with pytest.raises(InputError, match=message):
            run_trace(loaded, ids)
    with pytest.raises(InputError):
        tokenize_with(loaded, "")


# ---------------------------------------------------------------------------- the store


class Sized:
    def __init__(self, nbytes: int):
        self.nbytes = nbytes


def test_store_evicts_the_least_recently_used_to_stay_under_its_budget():
    store = TraceStore(max_bytes=100)
    for key in "abc":
        store.get(key, lambda: Sized(40))  # a, b fit; c evicts a
    assert "a" not in store and {"b", "c"} <= set(store._entries) and store.nbytes == 80
    store.get("b", lambda: pytest.fail("b is kept"))  # b is now the most recent
    store.get("d", lambda: Sized(40))  # evicts c, the least recently used
    assert set(store._entries) == {"b", "d"} and store.nbytes == 80
    huge = store.get("e", lambda: Sized(1_000))  # bigger than the budget: returned, not kept
    assert huge.nbytes == 1_000 and "e" not in store and store.nbytes == 80
    assert store.peek("zzz") is None and store.peek("d").nbytes == 40


def test_store_computes_a_missing_value_once_for_callers_at_the_same_moment():
    store = TraceStore(max_bytes=1_000)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append(1)
        started.set()
        release.wait(5)
        return Sized(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get("k", slow)))]
    threads[0].start()
    started.wait(5)
    threads += [threading.Thread(target=lambda: results.append(store.get("k", slow)))]
    threads[1].start()
    release.set()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1 and len(results) == 2 and results[0] is results[1]


def test_store_keeps_nothing_when_the_computation_fails():
    store = TraceStore(max_bytes=1_000)
    with pytest.raises(InputError):
        store.get("k", lambda: (_ for _ in ()).throw(InputError("bad text")))
    assert "k" not in store and not store._computing


def test_a_bfloat16_model_is_traced_and_recomputed_in_its_own_dtype(tiny_model_dirs):
    from llm_core.models.loading import load_model

    loaded = load_model(str(tiny_model_dirs["qwen2"]))
    loaded.model.to(torch.bfloat16)  # a model loaded for this test alone
    ids = tokenize_with(loaded, TEXT).ids
    trace = run_trace(loaded, ids)
    assert trace.residual.dtype == np.float32
    with torch.inference_mode():
        reference = loaded.model(torch.tensor([ids]), output_attentions=True).attentions
    np.testing.assert_allclose(
        layer_attention(loaded, trace, 1), reference[1][0].float().numpy(), atol=2e-2
    )
