"""Attribution and patching on the real default model: integrated gradients are complete
within 2%, 我爱吃苹果 is scored word by word, and the France/Italy fact moves from the
" France" position to the last one as the layers go up."""

from __future__ import annotations

import numpy as np
import pytest

from llm_core.generation.perplexity import start_token_of
from llm_core.interpret.attribution import attribute
from llm_core.interpret.patching import patch
from llm_core.interpret.prompts import prepare_prompt

pytestmark = pytest.mark.integration


def prompt_of(loaded, text):
    return prepare_prompt(loaded, text, start_token_of(loaded))


@pytest.mark.parametrize("text", ["我爱吃苹果", "The capital of France is"])
def test_integrated_gradients_are_complete_within_two_percent(default_model, text):
    result = attribute(default_model, prompt_of(default_model, text))
    check = result.completeness
    assert abs(check.sum - check.expected) <= 0.02 * abs(check.expected), (check, result.steps)


def test_chinese_attribution_is_summed_per_word(default_model):
    result = attribute(default_model, prompt_of(default_model, "我爱吃苹果"), method="occlusion")
    assert result.labels("word") == ["我", "爱", "吃", "苹果"]
    assert float(result.group_scores("word").sum()) == pytest.approx(
        float(result.scores.sum()), abs=1e-4
    )


def test_paris_is_one_token_and_the_fact_moves_from_france_to_the_last_position(default_model):
    clean = prompt_of(default_model, "The capital of France is")
    corrupt = prompt_of(default_model, "The capital of Italy is")
    result = patch(default_model, clean, corrupt, " Paris", "residual")
    assert result.target.text == " Paris"
    assert result.p_clean > 0.5 > 0.01 > result.p_corrupt
    france = result.labels.index(" France")
    assert result.differs == [france]
    effect = result.effect
    assert effect[-1, -1] == pytest.approx(1.0, abs=1e-4)
    assert np.all(effect[:10, france] > 0.8)  # early and middle layers: at " France"
    assert np.all(effect[-3:, -1] > 0.8)  # late layers: at the last position
    assert np.all(np.abs(effect[-3:, france]) < 0.2)
    np.testing.assert_allclose(effect[:, :france], 0.0, atol=1e-5)
