"""Real heads of the default model (SmolLM2-135M: Llama, RoPE, 9 heads over 3 kv heads)."""

from __future__ import annotations

import numpy as np
import pytest

from llm_core.attention.formula import recompute_head

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("layer", [0, 14, 29])
@pytest.mark.parametrize("head", [0, 4, 8])
def test_recomputed_head_matches_smollm2(default_model, layer, head):
    ids = default_model.tokenizer("我爱吃苹果", add_special_tokens=False)["input_ids"]
    check = recompute_head(default_model, ids, layer, head)
    assert check.max_abs_diff < 1e-4
    assert check.kv_head == head // 3 and check.d_head == 64
    assert check.position_encoding == "RoPE" and check.note == ""
    np.testing.assert_allclose(check.recomputed.sum(axis=1), 1.0)
