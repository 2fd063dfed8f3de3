"""Attention capture, aggregation, reductions and head statistics on tiny models."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from llm_core.attention.capture import FULL_CAPTURE_MAX_TOKENS, capture_attention
from llm_core.attention.reductions import (
    aggregate,
    attention_rollout,
    mean_over_heads,
    mean_over_layers,
)
from llm_core.attention.stats import (
    HeadStats,
    describe_head,
    layer_head_stats,
    rank_heads,
    stats_from_layers,
)
from llm_core.attention.trace import MAX_ATTENTION_TOKENS
from llm_core.errors import InputError
from llm_core.models.loading import load_model

ARCHS = ("llama", "gpt2", "qwen2")
TEXT = "我爱吃苹果。The cat sat on the mat."


@pytest.fixture(scope="module")
def models(tiny_model_dirs):
    """{"llama": LoadedModel, ...}, loaded once for this module."""
    return {arch: load_model(str(folder)) for arch, folder in tiny_model_dirs.items()}


@pytest.fixture(scope="module")
def captures(models):
    """{"llama": (ids, AttentionCapture), ...} over TEXT, every layer in full."""
    out = {}
    for arch, loaded in models.items():
        ids = loaded.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
        out[arch] = (ids, capture_attention(loaded, ids))
    return out


def direct_rollout(mean_heads: np.ndarray) -> np.ndarray:
    """Rollout written out plainly, as a reference: R = A_hat[L-1] ... A_hat[0]."""
    n = mean_heads.shape[-1]
    result = np.eye(n)
    for layer in range(mean_heads.shape[0]):
        a_hat = 0.5 * mean_heads[layer].astype(np.float64) + 0.5 * np.eye(n)
        for q in range(n):
            a_hat[q] /= a_hat[q].sum()
        result = a_hat @ result
    return result


def causal_rows(n: int, row) -> np.ndarray:
    """[query_pos, key_pos] built row by row from ``row(q) -> {key_pos: weight}``."""
    weights = np.zeros((n, n), dtype=np.float32)
    for q in range(n):
        for k, w in row(q).items():
            weights[q, k] += w
    return weights


def head_stats(weights: np.ndarray) -> HeadStats:
    """Statistics of every head from full weights [layer, head, query_pos, key_pos]."""
    weights = np.asarray(weights, dtype=np.float32)
    per_layer = [layer_head_stats(torch.from_numpy(layer.copy())) for layer in weights]
    return stats_from_layers(torch.stack(per_layer, dim=1).numpy(), weights.shape[-1], True)


def stats_of(matrix: np.ndarray) -> HeadStats:
    return head_stats(matrix[None, None])  # [layer=1, head=1, q, k]


# ---------------------------------------------------------------------------- capture


@pytest.mark.parametrize("arch", ARCHS)
def test_capture_shapes_rows_and_causal_zeros(arch, models, captures):
    loaded = models[arch]
    ids, capture = captures[arch]
    n_tokens, d = len(ids), loaded.description
    assert capture.token_ids == tuple(ids) and capture.n_tokens == n_tokens
    assert (capture.n_layers, capture.n_heads, capture.causal) == (d.n_layers, d.n_heads, True)
    assert capture.captured_layers == tuple(range(d.n_layers))
    for layer in capture.captured_layers:
        weights = capture.layer(layer)
        assert weights.shape == (d.n_heads, n_tokens, n_tokens) and weights.dtype == np.float32
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(weights, k=1) == 0.0)
    assert capture.mean_heads.shape == (d.n_layers, n_tokens, n_tokens)
    assert capture.mean_heads.dtype == np.float32
    np.testing.assert_allclose(capture.mean_heads.sum(-1), 1.0, atol=1e-5)
    assert capture.rollout.shape == (n_tokens, n_tokens)
    np.testing.assert_allclose(capture.rollout.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(capture.rollout, k=1) == 0.0)
    assert capture.stats.previous_token.shape == (d.n_layers, d.n_heads)


def test_grouped_query_models_report_every_query_head(models, captures):
    for arch in ("llama", "qwen2"):
        d = models[arch].description
        assert d.n_kv_heads < d.n_heads
        assert captures[arch][1].layer(0).shape[0] == d.n_heads


@pytest.mark.parametrize("arch", ARCHS)
def test_hooked_capture_equals_hugging_face_output_attentions(arch, models, captures):
    loaded = models[arch]
    ids, capture = captures[arch]
    with torch.inference_mode():
        reference = loaded.model(torch.tensor([ids]), output_attentions=True).attentions
    assert len(reference) == capture.n_layers
    for layer, expected in enumerate(reference):
        np.testing.assert_allclose(capture.layer(layer), expected[0].numpy(), atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_compact_results_agree_with_full_weights(arch, captures):
    _, capture = captures[arch]
    full = np.stack([capture.layer(layer) for layer in range(capture.n_layers)])
    np.testing.assert_allclose(capture.mean_heads, mean_over_heads(full), atol=1e-6)
    np.testing.assert_allclose(capture.mean_layers(), full.mean(axis=(0, 1)), atol=1e-6)
    np.testing.assert_allclose(capture.mean_layers(), mean_over_layers(capture.mean_heads))
    expected = head_stats(full)
    for name in ("previous_token", "first_token", "current_token", "entropy"):
        np.testing.assert_allclose(capture.stats.stat(name), expected.stat(name), atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_rollout_equals_direct_numpy(arch, captures):
    _, capture = captures[arch]
    reference = direct_rollout(capture.mean_heads)
    np.testing.assert_allclose(capture.rollout, reference, atol=1e-5)
    np.testing.assert_allclose(attention_rollout(capture.mean_heads), reference, atol=1e-6)
    np.testing.assert_allclose(attention_rollout(capture.mean_heads).sum(-1), 1.0, atol=1e-5)


def test_capture_is_read_only_and_lookup_errors_are_clear(captures):
    _, capture = captures["llama"]
    assert not capture.mean_heads.flags.writeable and not capture.layer(0).flags.writeable
    assert capture.head(1, 3).shape == (capture.n_tokens, capture.n_tokens)
    with pytest.raises(InputError, match="heads 0-3"):
        capture.head(0, 4)
    with pytest.raises(InputError, match="layers 0-1"):
        capture.layer(2)


def test_capture_holds_the_lock_and_removes_its_hooks(models):
    loaded = models["llama"]
    seen = []

    class RecordingLock:
        def __init__(self):
            self.inner = threading.RLock()

        def __enter__(self):
            seen.append("enter")
            return self.inner.__enter__()

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    hooks_before = sum(len(m._forward_hooks) for m in loaded.model.modules())
    original, loaded.lock = loaded.lock, RecordingLock()
    try:
        capture_attention(loaded, [5, 6, 7])
    finally:
        loaded.lock = original
    assert seen == ["enter"]
    assert sum(len(m._forward_hooks) for m in loaded.model.modules()) == hooks_before


def test_one_token(models):
    capture = capture_attention(models["gpt2"], [7])
    assert capture.layer(0).shape == (4, 1, 1) and np.all(capture.layer(0) == 1.0)
    assert np.all(capture.stats.previous_token == 0) and np.all(capture.stats.first_token == 0)
    assert np.all(capture.stats.current_token == 1) and np.all(capture.stats.entropy == 0)
    assert describe_head(capture.stats, 0, 0).kind == "self"


def test_long_input_keeps_only_the_layers_asked_for(models):
    loaded = models["llama"]
    ids = [(7 * i) % 300 + 3 for i in range(MAX_ATTENTION_TOKENS)]
    capture = capture_attention(loaded, ids, layers=[0])
    assert set(capture.layers) == {0}
    weights = capture.head(0, 1)
    assert weights.shape == (MAX_ATTENTION_TOKENS, MAX_ATTENTION_TOKENS)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert capture.mean_heads.dtype == np.float16  # documented: half memory beyond 256 tokens
    np.testing.assert_allclose(capture.mean_heads.sum(-1, dtype=np.float32), 1.0, atol=2e-3)
    np.testing.assert_allclose(capture.rollout.sum(-1), 1.0, atol=1e-4)
    with pytest.raises(InputError, match=r"layers=\[1\]"):
        capture.head(1, 0)


def test_layers_none_keeps_every_layer_only_for_short_inputs(models):
    loaded = models["qwen2"]
    short = capture_attention(loaded, [5] * FULL_CAPTURE_MAX_TOKENS)
    assert short.captured_layers == (0, 1, 2)
    long = capture_attention(loaded, [5] * (FULL_CAPTURE_MAX_TOKENS + 1))
    assert long.captured_layers == ()
    assert long.mean_heads.shape[0] == 3 and long.stats.entropy.shape == (3, 4)


@pytest.mark.parametrize(
    ("arch", "ids", "message"),
    [
        ("gpt2", [5] * 257, "context length"),
        ("llama", [5] * (MAX_ATTENTION_TOKENS + 1), "MAX_ATTENTION_TOKENS"),
        ("llama", [], "No tokens"),
        ("llama", [5, 10_000], "vocabulary"),
        ("llama", [5, -1], "vocabulary"),
        ("llama", [5, 1.5], "whole numbers"),
    ],
)
def test_bad_token_ids_raise_input_error(models, arch, ids, message):
    with pytest.raises(InputError, match=message):
        capture_attention(models[arch], ids)


@pytest.mark.parametrize("layers", [[2], [-1], ["0"]])
def test_bad_layers_raise_input_error(models, layers):
    with pytest.raises(InputError):
        capture_attention(models["llama"], [5, 6], layers=layers)


# ---------------------------------------------------------------------------- aggregation


def test_aggregate_matches_hand_computation():
    weights = np.array(
        [[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.2, 0.3, 0.5]], dtype=np.float32
    )  # [query_pos, key_pos]
    groups = [[0], [1, 2]]
    # to group {1,2}: sum over keys; from group {1,2}: mean of rows 1 and 2
    expected = np.array([[1.0, 0.0], [(0.6 + 0.2) / 2, (0.4 + 0.3 + 0.5) / 2]])
    np.testing.assert_allclose(aggregate(weights, groups), expected, atol=1e-7)


def test_aggregate_keeps_rows_summing_to_one_on_any_leading_axes(captures):
    _, capture = captures["qwen2"]
    n = capture.n_tokens
    groups = [list(range(start, min(start + 3, n))) for start in range(0, n, 3)]
    for weights in (capture.head(0, 0), capture.layer(1), capture.mean_heads, capture.rollout):
        grouped = aggregate(weights, groups)
        assert grouped.shape == (*weights.shape[:-2], len(groups), len(groups))
        assert grouped.dtype == np.float32
        np.testing.assert_allclose(grouped.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        aggregate(capture.layer(1), groups)[2], aggregate(capture.head(1, 2), groups)
    )
    identity = [[t] for t in range(n)]
    np.testing.assert_allclose(aggregate(capture.rollout, identity), capture.rollout)


@pytest.mark.parametrize(
    "groups",
    [
        [[0], [2, 3]],  # gap
        [[0, 1], [1, 2, 3]],  # overlap
        [[2, 3], [0, 1]],  # out of order
        [[0], [], [1, 2, 3]],  # empty group
        [[0, 2], [1, 3]],  # not contiguous
        [[0, 1, 2, 3, 4]],  # beyond T
        [],
        [[0, 1], [2.0, 3]],  # not integers
    ],
)
def test_aggregate_rejects_groups_that_are_not_a_partition(groups):
    with pytest.raises(InputError, match="Groups must split"):
        aggregate(np.eye(4, dtype=np.float32), groups)


def test_aggregate_rejects_non_square_weights():
    with pytest.raises(InputError):
        aggregate(np.ones((2, 3), dtype=np.float32), [[0], [1]])


# ---------------------------------------------------------------------------- statistics


def test_identity_matrix_attends_to_itself():
    stats = stats_of(np.eye(6, dtype=np.float32))
    assert stats.current_token[0, 0] == pytest.approx(1.0)
    assert stats.previous_token[0, 0] == 0 and stats.first_token[0, 0] == 0
    assert stats.entropy[0, 0] == pytest.approx(0.0, abs=1e-7)
    role = describe_head(stats, 0, 0)
    assert role.kind == "self" and role.sentence == "layer 0 head 0 mostly attends to itself (100%)"


def test_previous_token_matrix():
    stats = stats_of(causal_rows(6, lambda q: {max(q - 1, 0): 1.0}))
    assert stats.previous_token[0, 0] == pytest.approx(1.0)
    role = describe_head(stats, 0, 0)
    assert role.kind == "previous" and role.share == pytest.approx(1.0)
    assert role.sentence == "layer 0 head 0 mostly attends to the previous token (100%)"


def test_first_token_matrix_is_an_attention_sink():
    stats = stats_of(causal_rows(6, lambda q: {0: 0.88, q: 0.12}))
    assert stats.first_token[0, 0] == pytest.approx(0.88)
    role = describe_head(stats, 0, 0)
    assert role.kind == "first"
    assert role.sentence == "layer 0 head 0 mostly attends to the first token (attention sink, 88%)"


def test_uniform_causal_matrix_is_broad_at_maximum_entropy():
    n = 10
    stats = stats_of(causal_rows(n, lambda q: dict.fromkeys(range(q + 1), 1.0 / (q + 1))))
    expected = np.mean([np.log(q + 1) for q in range(1, n)])
    assert stats.entropy[0, 0] == pytest.approx(expected, rel=1e-5)
    assert stats.max_entropy == pytest.approx(expected)
    role = describe_head(stats, 0, 0)
    assert role.kind == "broad"
    assert (
        role.sentence
        == f"layer 0 head 0 spreads its attention broadly (entropy {expected:.1f} nats)"
    )


def test_mixed_head():
    def row(q: int) -> dict[int, float]:
        return {0: 0.45, max(q - 1, 0): 0.45, q: 0.1} if q else {0: 1.0}

    stats = stats_of(causal_rows(16, row))
    role = describe_head(stats, 0, 0)
    assert role.kind == "mixed" and role.share < 0.5
    assert role.sentence.startswith("layer 0 head 0 mixes patterns: previous token")


def test_rank_heads_orders_by_a_statistic():
    weights = np.stack(
        [
            np.stack([np.eye(5), causal_rows(5, lambda q: {max(q - 1, 0): 1.0})]),
            np.stack(
                [
                    causal_rows(5, lambda q: {0: 1.0}),
                    0.5 * np.eye(5) + 0.5 * causal_rows(5, lambda q: {max(q - 1, 0): 1.0}),
                ]
            ),
        ]
    ).astype(np.float32)  # [layer=2, head=2, q, k]
    stats = head_stats(weights)
    ranked = rank_heads(stats, "previous_token", top=2)
    assert [(r.layer, r.head) for r in ranked] == [(0, 1), (1, 1)]
    assert ranked[0].value == pytest.approx(1.0) and ranked[1].value == pytest.approx(0.5)
    assert len(rank_heads(stats, "entropy", top=None)) == 4
    lowest = rank_heads(stats, "current_token", top=1, descending=False)[0]
    assert lowest.value == pytest.approx(0.0)
    with pytest.raises(InputError, match="previous_token"):
        rank_heads(stats, "sink")
    with pytest.raises(InputError):
        rank_heads(stats, "entropy", top=0)
    with pytest.raises(InputError):
        describe_head(stats, 2, 0)
