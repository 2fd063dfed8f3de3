"""Compression of the real default model: int8 keeps the next token, sizes shrink as stated.

Figures seen on SmolLM2-135M-Instruct, Tang poems' validation split (2,040 positions):
int8 top-1 agreement 0.853, KL 0.026 nats, perplexity 40.6 -> 41.2 (13 of 210 linear
layers kept float32). Torch's plain quantize_dynamic on every layer: top-1 about 0.3.
"""

from __future__ import annotations

import pytest

from llm_core.compression.metrics import EVAL_BLOCK_LENGTH, compare_quality
from llm_core.compression.quantize import (
    copy_for_compression,
    linear_layers,
    quantize_int8,
    to_bfloat16,
)
from llm_core.compression.sizes import measure_size
from llm_core.models.loading import as_loaded
from llm_core.text.corpus import load_corpus
from llm_core.text.packing import pack_corpus

pytestmark = pytest.mark.integration
N_BLOCKS = 4  # 1,020 predicted positions: enough for a stable figure, ~20 s


@pytest.fixture(scope="module")
def packed(default_model):
    return pack_corpus(default_model.tokenizer, load_corpus("tang300"), EVAL_BLOCK_LENGTH)


def test_int8_keeps_top1_agreement_high(default_model, packed):
    model = copy_for_compression(default_model)
    report = quantize_int8(model, packed.train[0].tolist())
    assert len(report.quantized) + len(report.kept_float) == 210  # 30 layers x 7
    assert 0 < len(report.kept_float) <= 20  # the few layers that see massive activations
    candidate = as_loaded(model, default_model.tokenizer, "int8")
    quality = compare_quality(default_model, candidate, packed.validation[:N_BLOCKS])
    assert quality.top1_agreement >= 0.75, quality
    assert quality.kl_divergence < 0.1, quality
    assert quality.perplexity_after < 1.1 * quality.perplexity_before, quality


def test_bf16_halves_and_int8_quarters_the_linear_weights(default_model, packed):
    before = measure_size(default_model.model)
    assert before.n_params == 134_515_008
    assert 0 <= before.tensor_bytes - 4 * before.n_params < 4096  # + RoPE's small buffer
    half = copy_for_compression(default_model)
    to_bfloat16(half)
    assert measure_size(half).linear_weight_bytes * 2 == before.linear_weight_bytes
    del half
    plain = copy_for_compression(default_model)  # every linear layer int8
    quantize_int8(plain, keep_outliers=False)
    after = measure_size(plain)
    ratio = before.linear_weight_bytes / after.linear_weight_bytes
    assert ratio == pytest.approx(3.97, abs=0.01)  # 1 byte a weight + 5 per output channel
    assert after.tensor_bytes < 0.45 * before.tensor_bytes  # embeddings stay float32
    assert len(linear_layers(default_model.model)) == 210
