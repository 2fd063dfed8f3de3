"""Sampling checked against Hugging Face itself: the distribution each step samples from
equals HF's logits processors applied to a plain forward pass, and with the same seed the
engine draws the same tokens as ``model.generate(do_sample=True)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.sampling import GenerationSettings

PROMPT = "我爱吃苹果。The cat sat on"
OPTIONS = [
    {"temperature": 0.7},
    {"temperature": 1.3, "top_k": 7},
    {"top_p": 0.6},
    {"temperature": 0.8, "top_k": 12, "top_p": 0.9, "repetition_penalty": 1.4},
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return tiny_models


def hf_processors(options: dict) -> LogitsProcessorList:
    """HF's own processors, in the order ``generate`` applies them."""
    processors = LogitsProcessorList()
    if options.get("repetition_penalty", 1.0) != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(options["repetition_penalty"]))
    if options.get("temperature", 1.0) != 1.0:
        processors.append(TemperatureLogitsWarper(options["temperature"]))
    if options.get("top_k", 0):
        processors.append(TopKLogitsWarper(options["top_k"]))
    if options.get("top_p", 1.0) < 1.0:
        processors.append(TopPLogitsWarper(options["top_p"]))
    return processors


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
@pytest.mark.parametrize("options", OPTIONS)
def test_filtered_distribution_equals_hf_processors(models, arch, options):
    loaded = models[arch]
    ids = build_prompt_ids(loaded.tokenizer, PROMPT)
    settings = GenerationSettings(
        do_sample=True, seed=2, max_new_tokens=6, n_alternatives=50, **options
    )
    result = generate(loaded, ids, settings)
    sequence = ids + list(result.token_ids)
    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([sequence])).logits[0].float()
    processors = hf_processors(options)
    penalty = RepetitionPenaltyLogitsProcessor(options.get("repetition_penalty", 1.0))
    for step in result.steps:
        position = len(ids) + step.index - 1
        context = torch.tensor([sequence[: position + 1]])
        expected_after = processors(context, logits[position][None].clone()).softmax(-1)[0]
        expected_before = penalty(context, logits[position][None].clone()).softmax(-1)[0]
        assert step.prob == pytest.approx(float(expected_before[step.token_id]), abs=1e-5)
        assert step.prob_after == pytest.approx(float(expected_after[step.token_id]), abs=1e-5)
        kept = torch.nonzero(expected_after > 0).flatten().tolist()
        assert {c.token_id for c in step.top_after} <= set(kept)
        if len(kept) <= settings.n_alternatives:  # every kept token is listed
            assert {c.token_id for c in step.top_after} == set(kept)
        for candidate in step.top_after:
            assert candidate.prob == pytest.approx(
                float(expected_after[candidate.token_id]), abs=1e-5
            )


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
@pytest.mark.parametrize("options", OPTIONS)
def test_same_seed_draws_the_same_tokens_as_hf_generate(models, arch, options):
    loaded = models[arch]
    ids = build_prompt_ids(loaded.tokenizer, PROMPT)
    settings = GenerationSettings(
        do_sample=True, seed=5, max_new_tokens=12, stop_at_eos=False, **options
    )
    result = generate(loaded, ids, settings)
    torch.manual_seed(5)  # HF draws from the global generator, the engine from its own
    with torch.inference_mode():
        expected = loaded.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=True,
            max_new_tokens=12,
            min_new_tokens=0,
            temperature=options.get("temperature", 1.0),
            top_k=options.get("top_k", 0),
            top_p=options.get("top_p", 1.0),
            repetition_penalty=options.get("repetition_penalty", 1.0),
            pad_token_id=loaded.tokenizer.pad_token_id,
            eos_token_id=None,
        )[0, len(ids) :]
    assert list(result.token_ids) == expected.tolist()
    np.testing.assert_array_less(0.0, [step.prob_after for step in result.steps])
