"""Attention math: toy steps against torch, the matrix parser, and real heads of tiny models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from llm_core.attention.formula import (
    MAX_TOY_TOKENS,
    TOY_EMBEDDINGS,
    TOY_WORDS,
    attention_steps,
    parse_matrix,
    recompute_head,
    softmax_rows,
)
from llm_core.errors import InputError
from llm_core.models.loading import LoadedModel, load_model

# ---------------------------------------------------------------------------- toy mode


def test_toy_defaults_are_causal_rows_summing_to_one():
    steps = attention_steps()
    head = steps.heads[0]
    assert steps.labels == TOY_WORDS
    assert steps.d_k == 3 and steps.n_heads == 1 and steps.causal
    assert head.weights.shape == (4, 4)
    np.testing.assert_allclose(head.weights.sum(axis=1), 1.0)
    assert np.all(head.weights[np.triu_indices(4, k=1)] == 0.0)
    assert np.all(np.isneginf(head.masked[np.triu_indices(4, k=1)]))
    assert np.array_equal(head.mask, np.tril(np.ones((4, 4), dtype=bool)))


def test_identity_weights_give_q_k_v_equal_to_x_and_each_step_follows():
    steps = attention_steps(TOY_EMBEDDINGS)
    head = steps.heads[0]
    for matrix in (head.q, head.k, head.v):
        np.testing.assert_allclose(matrix, TOY_EMBEDDINGS)
    np.testing.assert_allclose(head.scores, TOY_EMBEDDINGS @ TOY_EMBEDDINGS.T)
    np.testing.assert_allclose(head.scaled, head.scores / np.sqrt(3))
    np.testing.assert_allclose(head.output, head.weights @ head.v)
    np.testing.assert_allclose(steps.output, head.output)
    assert head.weights[0, 0] == 1.0  # the first token can only see itself


def test_non_causal_attends_everywhere_and_differs():
    causal, full = attention_steps(causal=True), attention_steps(causal=False)
    weights = full.heads[0].weights
    assert full.heads[0].mask.all() and np.all(weights > 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert not np.allclose(weights, causal.heads[0].weights)
    np.testing.assert_allclose(weights[-1], causal.heads[0].weights[-1])  # last row sees all anyway


def test_multi_head_splits_columns_and_concatenates_outputs():
    rng = np.random.default_rng(0)
    x, w_q, w_k, w_v = (rng.normal(size=shape) for shape in [(5, 4), (4, 4), (4, 4), (4, 4)])
    steps = attention_steps(x, w_q, w_k, w_v, n_heads=2)
    assert (
        steps.d_k == 2 and steps.n_heads == 2 and steps.labels == tuple(f"#{i}" for i in range(5))
    )
    for h, head in enumerate(steps.heads):
        cols = slice(2 * h, 2 * h + 2)
        np.testing.assert_allclose(head.q, (x @ w_q)[:, cols])
        np.testing.assert_allclose(head.k, (x @ w_k)[:, cols])
        np.testing.assert_allclose(head.v, (x @ w_v)[:, cols])
        np.testing.assert_allclose(head.scaled, head.q @ head.k.T / np.sqrt(2))
    np.testing.assert_allclose(steps.output, np.hstack([head.output for head in steps.heads]))


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("n_heads", [1, 2, 3])
def test_matches_torch_scaled_dot_product_attention(causal, n_heads):
    rng = np.random.default_rng(n_heads)
    n_tokens, d_model = 7, 6
    x, w_q, w_k, w_v = (rng.normal(size=s) for s in [(n_tokens, 6), (6, 6), (6, 6), (6, 6)])
    steps = attention_steps(x, w_q, w_k, w_v, n_heads=n_heads, causal=causal)

    def split(matrix):  # [pos, d_model] -> [head, pos, d_k]
        return torch.from_numpy(matrix).view(n_tokens, n_heads, -1).transpose(0, 1)

    expected = torch.nn.functional.scaled_dot_product_attention(
        split(x @ w_q), split(x @ w_k), split(x @ w_v), is_causal=causal
    )  # [head, pos, d_k]
    expected = expected.transpose(0, 1).reshape(n_tokens, d_model).numpy()
    np.testing.assert_allclose(steps.output, expected, atol=1e-10)


def test_softmax_is_stable_for_huge_scores():
    weights = softmax_rows(np.array([[1000.0, 1001.0, -np.inf], [-1e6, 0.0, 1e6]]))
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights[0, 2] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": [0.1, 0.2, 0.3]}, "matrix"),
        ({"x": [[1.0, "a"]]}, "numbers"),
        ({"w_q": np.eye(2)}, "W_Q must have 3 rows of 3"),
        ({"w_v": np.ones((3, 4))}, "W_V"),
        ({"x": [[1.0, np.nan, 0.0]]}, "NaN"),
        ({"w_k": np.full((3, 3), np.inf)}, "infinity"),
        ({"x": np.ones((MAX_TOY_TOKENS + 1, 3))}, f"between 1 and {MAX_TOY_TOKENS} tokens"),
        ({"x": np.ones((0, 3))}, "tokens"),
        ({"n_heads": 2}, "pick a number of heads that divides 3: 1, 3"),
        ({"n_heads": 0}, "at least 1"),
        ({"labels": ["a", "b"]}, "one label per token"),
    ],
)
def test_bad_toy_input_raises_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        attention_steps(**kwargs)


# ---------------------------------------------------------------------------- parser


@pytest.mark.parametrize(
    "text",
    [
        "0.1, 0.2, 0.3\n0.4, 0.5, 0.6",
        "  0.1 0.2 0.3\n\n0.4\t0.5   0.6  \n",
        "0.1，0.2，0.3\n0.4，0.5，0.6",  # full-width commas, as typed with a Chinese IME
        "[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]",
        "[0.1, 0.2, 0.3],\n[0.4, 0.5, 0.6]",
    ],
)
def test_parse_matrix_accepts_rows_and_json(text):
    matrix = parse_matrix(text, shape=(2, 3))
    assert matrix.dtype == np.float64
    np.testing.assert_allclose(matrix, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])


@pytest.mark.parametrize(
    ("text", "shape", "message"),
    [
        ("", None, "empty"),
        ("1, 2\n3, x", None, "Row 2: 'x' is not a number"),
        ("1, 2, 3\n4, 5", None, "Row 2 has 2 numbers but row 1 has 3"),
        ("1, nan", None, "Row 1 contains NaN"),
        ("[[1, 2], [3, 4]", None, "not valid JSON"),
        ("[[1, 2], [3, [4]]]", None, "Row 2"),
        ("1 2\n3 4", (3, 3), "Expected 3 rows of 3 numbers, got 2 rows of 2"),
    ],
)
def test_parse_matrix_errors_name_the_problem(text, shape, message):
    with pytest.raises(InputError, match=message):
        parse_matrix(text, shape)


# ---------------------------------------------------------------------------- real head


@pytest.fixture(params=["llama", "qwen2", "gpt2"])
def sharp_tiny_model(request, tiny_model_dirs) -> LoadedModel:
    """A freshly loaded tiny model whose Q/K weights are scaled up: random init gives almost
    uniform attention, which would hide a wrong RoPE or a wrong head mapping."""
    loaded = load_model(str(tiny_model_dirs[request.param]))
    with torch.no_grad():
        for name, parameter in loaded.model.named_parameters():
            if any(part in name for part in ("q_proj", "k_proj", "c_attn")):
                parameter.mul_(20.0)
    return loaded


def _ids(loaded: LoadedModel) -> list[int]:
    return loaded.tokenizer("我爱吃苹果。The cat sat on the mat.", add_special_tokens=False)[
        "input_ids"
    ]


def test_recomputed_head_equals_reported_for_every_head(sharp_tiny_model):
    loaded, ids = sharp_tiny_model, _ids(sharp_tiny_model)
    description = loaded.description
    n = len(ids)
    group = description.n_heads // description.n_kv_heads
    for layer in (0, description.n_layers - 1):
        for head in range(description.n_heads):
            check = recompute_head(loaded, ids, layer, head)
            assert check.max_abs_diff < 1e-4
            assert check.kv_head == head // group
            assert check.q.shape == check.k.shape == (n, description.d_head)
            assert check.recomputed.shape == check.reported.shape == (n, n)
            np.testing.assert_allclose(check.reported.sum(axis=1), 1.0, atol=1e-5)
            assert np.all(check.recomputed[np.triu_indices(n, k=1)] == 0.0)
            assert np.all(np.isneginf(check.scaled_scores[np.triu_indices(n, k=1)]))
            uniform = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]
            assert np.abs(check.reported - uniform).max() > 0.1  # sharp enough to mean something
            assert check.note == ""
    expected = "RoPE" if description.model_type != "gpt2" else "learned absolute"
    assert check.position_encoding.startswith(expected)


def test_reported_equals_output_attentions_and_hook_is_removed(tiny_llama):
    ids = _ids(tiny_llama)
    check = recompute_head(tiny_llama, ids, layer=1, head=3)
    attn = tiny_llama.model.model.layers[1].self_attn
    assert not attn._forward_hooks
    with torch.inference_mode():
        out = tiny_llama.model(input_ids=torch.tensor([ids]), output_attentions=True)
    np.testing.assert_allclose(check.reported, out.attentions[1][0, 3].numpy(), atol=1e-7)


def test_model_scaling_is_used_and_noted(tiny_model_dirs):
    loaded = load_model(str(tiny_model_dirs["gpt2"]))
    loaded.model.transformer.h[1].attn.scaling /= 2.0  # like scale_attn_by_inverse_layer_idx
    check = recompute_head(loaded, _ids(loaded), layer=1, head=0)
    assert check.max_abs_diff < 1e-4
    assert check.scale == pytest.approx(0.5 / np.sqrt(check.d_head))
    assert "not 1/sqrt(d_head)" in check.note


@pytest.mark.parametrize(
    ("ids", "layer", "head", "message"),
    [
        ([1, 2, 3], 2, 0, "Layer 2 does not exist: pick 0 to 1"),
        ([1, 2, 3], -1, 0, "Layer -1"),
        ([1, 2, 3], 0, 4, "Head 4 does not exist: pick 0 to 3"),
        ([], 0, 0, "between 1 and"),
        (list(range(513)), 0, 0, "between 1 and 512 tokens"),
        ([1, 10**6], 0, 0, "Token ids must be between 0 and"),
    ],
)
def test_real_head_bad_input_raises_input_error(tiny_llama, ids, layer, head, message):
    with pytest.raises(InputError, match=message):
        recompute_head(tiny_llama, ids, layer, head)


def test_unsupported_architecture_says_which_are_supported(tiny_llama):
    other = dataclasses.replace(tiny_llama.description, model_type="mamba")
    loaded = LoadedModel(tiny_llama.model, tiny_llama.tokenizer, other, tiny_llama.source)
    with pytest.raises(InputError, match="llama, qwen2, gpt2"):
        recompute_head(loaded, [1, 2], 0, 0)
