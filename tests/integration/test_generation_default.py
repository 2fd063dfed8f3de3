"""Generation, perplexity and the logit lens on the real default model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.logit_lens import logit_lens
from llm_core.generation.perplexity import SEED_TEXT, perplexity
from llm_core.generation.sampling import GenerationSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: on a machine shared with other work, torch's threads contend and a
    20-token generation takes 30 s instead of 1 s."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_greedy_chat_equals_hf_with_exact_probabilities_and_attention(default_model):
    loaded = default_model
    ids = build_prompt_ids(loaded.tokenizer, "What is the capital of France?", chat=True)
    assert loaded.tokenizer.decode(ids).endswith("<|im_start|>assistant\n")
    settings = GenerationSettings(max_new_tokens=20, capture_attention=True)
    result = generate(loaded, ids, settings)
    assert "Paris" in result.text
    assert_greedy_equals_hf(loaded, ids, result, max_new_tokens=20)


def assert_greedy_equals_hf(loaded, ids, result, max_new_tokens: int) -> None:
    """Hugging Face's greedy tokens, and each step's probability and attention row those
    of one full forward pass over prompt and answer."""
    with torch.inference_mode():
        expected = loaded.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=max_new_tokens,
        )[0, len(ids) :]
        assert list(result.token_ids) == expected.tolist()
        sequence = ids + list(result.token_ids)
        full = loaded.model(input_ids=torch.tensor([sequence]), output_attentions=True)
    for step in result.steps:
        query = len(ids) + step.index - 1  # the position whose logits chose this token
        probs = full.logits[0, query].softmax(-1)
        assert step.prob == pytest.approx(float(probs[step.token_id]), abs=1e-5)
        assert step.rank == 1  # greedy
        for layer, weights in enumerate(full.attentions):  # [1, head, query_pos, key_pos]
            np.testing.assert_allclose(
                step.attention[layer], weights[0, :, query, : query + 1].numpy(), atol=1e-4
            )


def test_sampling_seed_and_stop_string(default_model):
    loaded = default_model
    ids = build_prompt_ids(loaded.tokenizer, "Write one sentence about cats.", chat=True)
    settings = GenerationSettings(
        do_sample=True, temperature=0.8, top_p=0.9, seed=11, max_new_tokens=24, stop_strings=["."]
    )
    first, again = generate(loaded, ids, settings), generate(loaded, ids, settings)
    assert first.token_ids == again.token_ids
    assert first.finish_reason in ("stop_string", "eos", "length")
    if first.finish_reason == "stop_string":
        assert "." in first.text
    assert all(step.prob_after > 0 for step in first.steps)


def test_perplexity_and_logit_lens(default_model):
    loaded = default_model
    result = perplexity(loaded, SEED_TEXT)
    ids = list(result.token_ids)
    with torch.inference_mode():
        output = loaded.model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids]))
    log_probs = output.logits[0, :-1].double().log_softmax(-1)  # float64 reference
    direct = -log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
    assert result.perplexity == pytest.approx(math.exp(float(direct.mean())), rel=1e-6)
    # HF's loss is a float32 mean: it differs from float64 in the 5th digit here
    assert result.perplexity == pytest.approx(math.exp(float(output.loss)), rel=1e-4)
    assert 1 < result.perplexity < 1000  # a real model finds this sentence unsurprising
    lens = logit_lens(loaded, "The capital of France is", k=5)
    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([list(lens.token_ids)])).logits[0, -1]
    top = torch.topk(logits.softmax(-1), 5)
    assert lens.top_ids.shape == (loaded.description.n_layers + 1, 5)
    assert lens.top_ids[-1].tolist() == top.indices.tolist()
    np.testing.assert_allclose(lens.top_probs[-1], top.values.numpy(), atol=1e-5)


def test_batched_generations_take_the_lean_step_and_equal_hf(default_model):
    """Prompts of different lengths decoded together through the model's worker (on the
    decode step written out for Llama-style models) give Hugging Face's greedy tokens,
    and each step's probability and attention row are those of a full forward pass."""
    from llm_core.models.decode_step import can_step_lean
    from llm_core.serving.worker import generate_many

    loaded = default_model
    assert can_step_lean(loaded.model)
    prompts = [
        build_prompt_ids(loaded.tokenizer, text, chat=True)
        for text in ("What is the capital of France?", "我爱吃苹果", "Hi")
    ]
    settings = GenerationSettings(max_new_tokens=12, capture_attention=True)
    results = generate_many(loaded, prompts, settings)
    for ids, result in zip(prompts, results, strict=True):
        assert_greedy_equals_hf(loaded, ids, result, max_new_tokens=12)
