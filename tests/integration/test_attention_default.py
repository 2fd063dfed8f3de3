"""Attention capture on the real default model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from llm_core.attention.capture import capture_attention
from llm_core.attention.reductions import aggregate
from llm_core.attention.stats import ROLE_KINDS, describe_head, rank_heads

TEXT = "我爱吃苹果"


@pytest.fixture(scope="module")
def ids_and_capture(default_model):
    ids = default_model.tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    return ids, capture_attention(default_model, ids)


@pytest.mark.integration
def test_smollm2_all_query_heads_all_layers(ids_and_capture):
    ids, capture = ids_and_capture
    assert len(ids) == 11  # the five characters split into byte-level tokens
    full = np.stack([capture.layer(layer) for layer in range(capture.n_layers)])
    assert full.shape == (30, 9, 11, 11)  # 9 query heads, not the 3 key/value heads
    np.testing.assert_allclose(full.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(full, k=1) == 0.0)
    np.testing.assert_allclose(capture.rollout.sum(-1), 1.0, atol=1e-5)
    assert capture.stats.entropy.shape == (30, 9)


@pytest.mark.integration
def test_smollm2_equals_hugging_face_output_attentions(default_model, ids_and_capture):
    ids, capture = ids_and_capture
    with default_model.lock, torch.inference_mode():
        reference = default_model.model(torch.tensor([ids]), output_attentions=True).attentions
    for layer in (0, 29):
        np.testing.assert_allclose(capture.layer(layer), reference[layer][0].numpy(), atol=1e-5)


@pytest.mark.integration
def test_smollm2_heads_are_described_and_aggregated(ids_and_capture):
    ids, capture = ids_and_capture
    roles = [
        describe_head(capture.stats, r.layer, r.head)
        for r in rank_heads(capture.stats, "first_token")
    ]
    assert all(role.kind in ROLE_KINDS and role.sentence.startswith("layer ") for role in roles)
    groups = [list(range(i, min(i + 2, len(ids)))) for i in range(0, len(ids), 2)]
    grouped = aggregate(capture.mean_heads, groups)
    assert grouped.shape == (30, len(groups), len(groups))
    np.testing.assert_allclose(grouped.sum(-1), 1.0, atol=1e-5)


@pytest.mark.integration
def test_smollm2_trace_recomputes_every_layer_of_a_held_out_text_like_eager(default_model):
    """A longer text than any unit test: 30 layers of residual stream, sdpa forward,
    recomputed heads against an independent eager forward with output_attentions."""
    from llm_core.attention.recompute import layer_attention
    from llm_core.attention.trace import run_trace

    text = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。" * 4 + " The cat sat on the mat. " * 8
    ids = default_model.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 200
    trace = run_trace(default_model, ids)
    with default_model.lock, torch.inference_mode():
        reference = default_model.model(torch.tensor([ids]), output_attentions=True).attentions
    for layer in (0, 7, 14, 22, 29):
        weights = layer_attention(default_model, trace, layer)
        assert weights.shape == (9, len(ids), len(ids))
        np.testing.assert_allclose(weights, reference[layer][0].numpy(), atol=1e-4)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(weights, k=1) == 0.0)
    assert default_model.model.config._attn_implementation == "eager"
