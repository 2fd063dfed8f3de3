"""Generation on tiny models: greedy equals Hugging Face, probabilities equal a full forward
pass, sampling filters hold, attention from the KV cache equals a full pass, stopping."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from llm_core.errors import InputError
from llm_core.generation.generate import (
    build_prompt_ids,
    generate,
    iter_generate,
    next_token_distribution,
    sequence_seed,
)
from llm_core.generation.sampling import (
    MAX_NEW_TOKENS,
    GenerationSettings,
    filter_logits,
    penalise_repetition,
)
from llm_core.models.loading import load_model

ARCHS = ("llama", "gpt2", "qwen2")
PROMPT = "我爱吃苹果。The cat sat on"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return tiny_models


def prompt_ids(loaded, text: str = PROMPT) -> list[int]:
    return build_prompt_ids(loaded.tokenizer, text, chat=False)


def full_logits(loaded, ids: list[int]) -> torch.Tensor:
    """[len(ids), d_vocab] logits of one plain forward pass, no cache."""
    with torch.inference_mode():
        return loaded.model(input_ids=torch.tensor([ids]), use_cache=False).logits[0].float()


def hf_generate(loaded, ids: list[int], **options) -> torch.Tensor:
    with torch.inference_mode():
        return loaded.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            pad_token_id=loaded.tokenizer.pad_token_id,
            **options,
        )


# ---------------------------------------------------------------------------- equals HF


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("text", [PROMPT, "Attention is all"])
def test_greedy_equals_hf_generate(models, arch, text):
    loaded = models[arch]
    ids = prompt_ids(loaded, text)
    result = generate(loaded, ids, GenerationSettings(max_new_tokens=20))
    expected = hf_generate(loaded, ids, do_sample=False, max_new_tokens=20)[0, len(ids) :]
    assert list(result.token_ids) == expected.tolist()
    assert result.finish_reason in ("length", "eos")


@pytest.mark.parametrize("arch", ("llama", "gpt2"))
def test_greedy_with_repetition_penalty_equals_hf(models, arch):
    loaded = models[arch]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(max_new_tokens=15, repetition_penalty=1.3)
    result = generate(loaded, ids, settings)
    expected = hf_generate(loaded, ids, do_sample=False, max_new_tokens=15, repetition_penalty=1.3)
    assert list(result.token_ids) == expected[0, len(ids) :].tolist()


def test_repetition_penalty_equals_hf_processor():
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 50, generator=generator)
    context = torch.randint(0, 50, (3, 12), generator=generator)
    expected = RepetitionPenaltyLogitsProcessor(1.7)(context, logits.clone())
    torch.testing.assert_close(penalise_repetition(logits, context, 1.7), expected)


@pytest.mark.parametrize("arch", ("llama", "gpt2"))
def test_beam_search_equals_hf(models, arch):
    loaded = models[arch]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(num_beams=3, num_return_sequences=2, max_new_tokens=8)
    result = generate(loaded, ids, settings)
    expected = hf_generate(
        loaded,
        ids,
        do_sample=False,
        num_beams=3,
        num_return_sequences=2,
        max_new_tokens=8,
        early_stopping=True,
        output_scores=True,
        return_dict_in_generate=True,
    )
    got = [list(sequence.token_ids) for sequence in result.sequences]
    assert got == expected.sequences[:, len(ids) :].tolist()
    scores = [sequence.score for sequence in result.sequences]
    np.testing.assert_allclose(scores, expected.sequences_scores.numpy(), rtol=1e-4)
    for sequence in result.sequences:  # each returned beam has its own step records
        assert [step.token_id for step in sequence.steps] == list(sequence.token_ids)
        assert np.mean(np.log([s.prob for s in sequence.steps])) == pytest.approx(
            sequence.score, rel=1e-4
        )


# ---------------------------------------------------------------------------- step records


@pytest.mark.parametrize("arch", ARCHS)
def test_step_probabilities_equal_softmax_of_full_forward(models, arch):
    loaded = models[arch]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(do_sample=True, seed=3, max_new_tokens=8, n_alternatives=5)
    result = generate(loaded, ids, settings)
    sequence = ids + list(result.token_ids)
    logits = full_logits(loaded, sequence)  # [T, d_vocab]
    for step in result.steps:
        probs = logits[len(ids) + step.index - 1].softmax(-1)  # predicts this step's token
        assert step.prob == pytest.approx(float(probs[step.token_id]), abs=1e-5)
        assert step.rank == int((probs > probs[step.token_id]).sum()) + 1
        top = torch.topk(probs, 5)
        assert [c.token_id for c in step.top_before] == top.indices.tolist()
        np.testing.assert_allclose([c.prob for c in step.top_before], top.values, atol=1e-5)
        expected_entropy = float(-(probs * probs.clamp_min(1e-30).log()).sum())
        assert step.entropy == pytest.approx(expected_entropy, abs=1e-4)
        # no filters: the sampled distribution is the model's own
        assert step.prob_after == pytest.approx(step.prob, abs=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_attention_rows_equal_full_forward(models, arch):
    loaded = models[arch]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(do_sample=True, seed=1, max_new_tokens=6, capture_attention=True)
    result = generate(loaded, ids, settings)
    sequence = ids + list(result.token_ids)
    with torch.inference_mode():
        full = loaded.model(input_ids=torch.tensor([sequence]), output_attentions=True).attentions
    n_layers, n_heads = loaded.description.n_layers, loaded.description.n_heads
    for step in result.steps:
        query, n_keys = len(ids) + step.index - 1, len(ids) + step.index
        assert step.attention.shape == (n_layers, n_heads, n_keys)  # [layer, head, key_pos]
        assert step.attention.dtype == np.float32
        np.testing.assert_allclose(step.attention.sum(-1), 1.0, atol=1e-5)
        for layer in range(n_layers):
            expected = full[layer][0, :, query, :n_keys].numpy()  # [head, key_pos]
            np.testing.assert_allclose(step.attention[layer], expected, atol=1e-4)


def test_attention_off_by_default(models):
    result = generate(
        models["llama"], prompt_ids(models["llama"]), GenerationSettings(max_new_tokens=3)
    )
    assert all(step.attention is None for step in result.steps)


def test_next_token_distribution_matches_first_step(models):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(do_sample=True, top_k=4, temperature=0.7, max_new_tokens=1)
    dist = next_token_distribution(loaded, ids, settings)
    step = generate(loaded, ids, settings).steps[0]
    assert [c.token_id for c in dist.top_before] == [c.token_id for c in step.top_before]
    assert [c.token_id for c in dist.top_after] == [c.token_id for c in step.top_after]
    assert dist.entropy == pytest.approx(step.entropy, abs=1e-5)
    assert dist.n_kept == 4 and dist.probs_after.sum() == pytest.approx(1.0, abs=1e-5)
    before, after = dist.prob_of(step.token_id)
    assert before == pytest.approx(step.prob, abs=1e-6) and after == pytest.approx(
        step.prob_after, abs=1e-6
    )
    with pytest.raises(InputError):
        dist.prob_of(10**9)


def test_step_through_choice_and_rank_come_from_the_distribution(models):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    greedy = next_token_distribution(loaded, ids, GenerationSettings(max_new_tokens=1))
    assert greedy.model_choice(GenerationSettings(), 0) == int(np.argmax(greedy.probs_before))
    assert greedy.rank_of(greedy.top_before[3].token_id) == 4
    settings = GenerationSettings(do_sample=True, top_k=3, seed=9, max_new_tokens=1)
    dist = next_token_distribution(loaded, ids, settings)
    draws = [dist.model_choice(settings, index) for index in range(40)]
    assert draws == [dist.model_choice(settings, index) for index in range(40)]  # seeded
    assert set(draws) <= {c.token_id for c in dist.top_after} and len(set(draws)) > 1
    with pytest.raises(InputError):
        dist.rank_of(10**9)


def test_choice_of_rows_with_ties_zeros_and_draws_equals_the_plain_computation(models):
    """choose_tokens reads the greedy token from the top-k and ranks only drawn rows:
    the same as argmax (first of equal tokens), 1 + tokens more likely, and entr."""
    from llm_core.generation.choosing import Chooser, choose_tokens
    from llm_core.generation.sampling import entropy
    from llm_core.text.pieces import PieceDecoder

    tokenizer = models["llama"].tokenizer
    d_vocab = len(tokenizer)
    logits = torch.randn(7, d_vocab, generator=torch.Generator().manual_seed(0))
    logits[0, [7, 3, 11]] = 20.0  # a three-way tie at the top: argmax takes 3
    logits[1, 5] = 30.0
    logits[1, 6:] = -200.0  # probabilities exactly 0: 0 log 0 counts as 0
    logits[2, [4, 9]] = 12.0  # a tie at the top, sampled
    logits[5, [300, 5, 20]] = 25.0  # a three-way tie again, one alternative listed
    logits[6, 8] = float("nan")  # a broken row: all NaN after the softmax
    settings = [
        GenerationSettings(n_alternatives=3),
        GenerationSettings(n_alternatives=0),
        GenerationSettings(do_sample=True, seed=1, temperature=1.5, n_alternatives=1),
        GenerationSettings(do_sample=True, seed=2, top_k=40),
        GenerationSettings(repetition_penalty=1.3),
        GenerationSettings(n_alternatives=1),
        GenerationSettings(n_alternatives=2),
    ]
    choosers = [
        Chooser([1, 2, 3], s, torch.Generator().manual_seed(n), 0, 0, PieceDecoder(tokenizer))
        for n, s in enumerate(settings)
    ]
    with torch.inference_mode():
        steps = choose_tokens(tokenizer, logits, choosers)
    before = logits.clone()
    before[4] = penalise_repetition(logits[4:5], torch.tensor([[1, 2, 3]]), 1.3)[0]
    before = before.softmax(-1)
    assert before[1].eq(0).any()
    assert steps[0].token_id == 3 and steps[1].token_id == 5
    assert steps[4].token_id == int(before[4].argmax())
    assert steps[5].token_id == 5 and steps[5].top_before[0].token_id in (300, 5, 20)
    assert steps[6].token_id == int(before[6].argmax()) and steps[6].rank == 1  # as argmax
    assert np.isnan(steps[6].entropy)
    for row, step in enumerate(steps[:6]):
        probs = before[row]
        assert step.rank == int((probs > probs[step.token_id]).sum()) + 1
        assert step.prob == pytest.approx(float(probs[step.token_id]), abs=1e-7)
        assert step.entropy == pytest.approx(float(torch.special.entr(probs).sum()), abs=1e-5)
    assert steps[2].token_id == 9 and steps[2].rank == 1  # drew the later of two tied tokens
    assert steps[3].rank > 1  # a draw below the top is ranked
    assert [len(step.top_before) for step in steps] == [3, 0, 1, 10, 10, 1, 2]
    nan = entropy(torch.tensor([[0.5, 0.5, 0.0], [float("nan"), 0.5, 0.5], [1.0, 0.0, 0.0]]))
    assert nan[0] == pytest.approx(np.log(2)) and torch.isnan(nan[1])
    assert str(float(nan[2])) == "0.0"  # not -0.0 (shown as "-0.00")


# ---------------------------------------------------------------------------- sampling


def test_same_seed_reproduces_different_seeds_differ(models):
    loaded = models["gpt2"]
    ids = prompt_ids(loaded)

    def sample(seed: int) -> tuple[int, ...]:
        settings = GenerationSettings(
            do_sample=True, seed=seed, max_new_tokens=12, stop_at_eos=False
        )
        return generate(loaded, ids, settings).token_ids

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in range(4)}) == 4


def test_return_sequences_have_own_seeds_and_steps(models):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    settings = GenerationSettings(do_sample=True, seed=5, max_new_tokens=6, num_return_sequences=3)
    result = generate(loaded, ids, settings)
    assert [s.seed for s in result.sequences] == [sequence_seed(5, i) for i in range(3)]
    assert len({s.token_ids for s in result.sequences}) == 3
    for number, sequence in enumerate(result.sequences):
        assert all(step.sequence == number for step in sequence.steps)
    single = generate(loaded, ids, GenerationSettings(do_sample=True, seed=5, max_new_tokens=6))
    assert single.token_ids == result.sequences[0].token_ids  # more sequences keep the first


@pytest.mark.parametrize(
    "options",
    [
        {"top_k": 3},
        {"top_p": 0.5, "temperature": 0.05},
        {"top_k": 5, "top_p": 0.6, "temperature": 0.1},
    ],
)
def test_filters_never_let_a_filtered_token_be_chosen(models, options):
    loaded = models["qwen2"]
    ids = prompt_ids(loaded)
    for seed in range(6):
        settings = GenerationSettings(
            do_sample=True, seed=seed, max_new_tokens=10, n_alternatives=50, **options
        )
        for step in generate(loaded, ids, settings).steps:
            kept = {c.token_id for c in step.top_after}
            assert step.token_id in kept and step.prob_after > 0
            assert len(kept) <= options.get("top_k", 50)
            if "top_k" in options:
                assert step.rank <= options["top_k"]  # temperature keeps the order
            assert sum(c.prob for c in step.top_after) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("top_k, top_p", [(5, 1.0), (0, 0.7), (8, 0.5), (0, 0.05)])
def test_filter_logits_keeps_exactly_the_defined_set(top_k, top_p):
    generator = torch.Generator().manual_seed(top_k)
    logits = torch.randn(4, 100, generator=generator) * 3
    settings = GenerationSettings(do_sample=True, temperature=0.8, top_k=top_k, top_p=top_p)
    probs = filter_logits(logits, settings).softmax(-1)  # [batch, d_vocab]
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))
    for row, logit_row in zip(probs, logits, strict=True):
        tempered = (logit_row / 0.8).softmax(-1)
        order = torch.argsort(tempered, descending=True)
        kept = order[: top_k or 100]
        mass = tempered[kept] / tempered[kept].sum()
        n = int((torch.cumsum(mass, 0) - mass < top_p).sum())  # smallest prefix reaching top_p
        expected = set(kept[:n].tolist())
        assert set(torch.nonzero(row).flatten().tolist()) == expected
        assert float(row[list(set(range(100)) - expected)].sum()) == 0.0


def test_temperature_flattens(models):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    entropies, befores = [], []
    for temperature in (0.02, 0.05, 0.2, 1.0, 3.0):
        settings = GenerationSettings(do_sample=True, temperature=temperature)
        dist = next_token_distribution(loaded, ids, settings)
        entropies.append(dist.entropy_after)
        befores.append(dist.entropy)
    assert all(a < b for a, b in zip(entropies, entropies[1:], strict=False))
    assert max(befores) - min(befores) < 1e-6  # "before" is temperature 1 always


# ---------------------------------------------------------------------------- stopping


def test_stop_strings_stop(models):
    loaded = models["gpt2"]
    ids = prompt_ids(loaded)
    free = generate(loaded, ids, GenerationSettings(max_new_tokens=20, stop_at_eos=False))
    stop = free.text[len(free.text) // 2 :][:2]
    stopped = generate(
        loaded, ids, GenerationSettings(max_new_tokens=20, stop_strings=[stop], stop_at_eos=False)
    )
    assert stopped.finish_reason == "stop_string"
    assert stop in stopped.text and len(stopped.steps) < 20
    assert stopped.steps[-1].finish_reason == "stop_string"
    shorter = loaded.tokenizer.decode(list(stopped.token_ids[:-1]), skip_special_tokens=True)
    assert stop not in shorter  # stopped at the first token that completed it


def test_max_new_tokens_and_eos(models, monkeypatch):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    result = generate(loaded, ids, GenerationSettings(max_new_tokens=5, stop_at_eos=False))
    assert len(result.steps) == 5 and result.finish_reason == "length"
    first = result.token_ids[0]
    monkeypatch.setattr(loaded.model.generation_config, "eos_token_id", first)
    ended = generate(loaded, ids, GenerationSettings(max_new_tokens=5))
    assert ended.token_ids == (first,) and ended.finish_reason == "eos"
    assert ended.text == loaded.tokenizer.decode([first], skip_special_tokens=True)


def test_cancel_stops(models):
    loaded = models["llama"]
    ids = prompt_ids(loaded)
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    settings = GenerationSettings(do_sample=True, max_new_tokens=30, num_return_sequences=2)
    result = generate(loaded, ids, settings, should_stop=should_stop)
    assert len(result.steps) == 3 and result.finish_reason == "cancelled" and result.cancelled
    assert len(result.sequences) == 1
    beam = generate(loaded, ids, GenerationSettings(num_beams=2, max_new_tokens=30), lambda: True)
    assert beam.finish_reason == "cancelled" and beam.steps == ()
    steps = list(iter_generate(loaded, ids, GenerationSettings(max_new_tokens=30), lambda: True))
    assert steps == []


def test_lock_is_free_between_steps(models):
    loaded = models["llama"]
    steps = iter_generate(loaded, prompt_ids(loaded), GenerationSettings(max_new_tokens=5))
    next(steps)
    acquired = []

    def other_session() -> None:
        if loaded.lock.acquire(timeout=2):
            acquired.append(True)
            loaded.lock.release()

    thread = threading.Thread(target=other_session)
    thread.start()
    thread.join()
    assert acquired == [True]  # the paused generation does not hold the lock
    assert len(list(steps)) == 4


# ---------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    "options, words",
    [
        ({"do_sample": True, "temperature": 0.0}, "temperature"),
        ({"do_sample": True, "temperature": -1.0}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": MAX_NEW_TOKENS + 1}, "max_new_tokens"),
        ({"max_new_tokens": 2.5}, "max_new_tokens"),
        ({"num_beams": 3, "do_sample": True}, "Beam search with sampling"),
        ({"num_beams": 3, "capture_attention": True}, "capture_attention"),
        ({"num_return_sequences": 2}, "Greedy"),
        ({"num_beams": 2, "num_return_sequences": 3}, "num_beams"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"temperature": float("nan")}, "finite"),
        ({"stop_strings": [""]}, "stop_strings"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_raise_input_error(models, options, words):
    with pytest.raises(InputError, match=words):
        GenerationSettings(**options).validate()
    with pytest.raises(InputError):  # and before any step is taken
        iter_generate(models["llama"], [1, 2, 3], GenerationSettings(**options))


def test_bad_prompts_raise_input_error(models, monkeypatch):
    loaded = models["gpt2"]  # context 256 tokens
    with pytest.raises(InputError, match="no tokens"):
        generate(loaded, [])
    with pytest.raises(InputError, match="vocabulary"):
        generate(loaded, [10**6])
    with pytest.raises(InputError, match="context"):
        generate(loaded, [5] * 250, GenerationSettings(max_new_tokens=10))
    monkeypatch.setattr("llm_core.generation.generate.MAX_ATTENTION_CAPTURE_BYTES", 10_000)
    with pytest.raises(InputError, match="capture_attention"):  # 2 x 4 x 4 bytes x 100 x 200
        generate(
            models["llama"],
            [5] * 100,
            GenerationSettings(max_new_tokens=200, capture_attention=True),
        )
    with pytest.raises(InputError, match="empty"):
        build_prompt_ids(loaded.tokenizer, "   ")


def test_chat_mode_uses_the_template(models):
    tokenizer = models["llama"].tokenizer
    ids = build_prompt_ids(tokenizer, "你好", chat=True, system="Be brief.")
    text = tokenizer.decode(ids)
    assert (
        text
        == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n"
    )
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    no_system = tokenizer.decode(build_prompt_ids(tokenizer, "hi", chat=True))
    assert no_system == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert build_prompt_ids(tokenizer, "hi", chat=False) == tokenizer("hi")["input_ids"]


def test_chat_mode_without_template_says_use_raw(tiny_model_dirs):
    loaded = load_model(str(tiny_model_dirs["gpt2"]))
    loaded.tokenizer.chat_template = None  # this loaded copy only
    with pytest.raises(InputError, match="raw"):
        build_prompt_ids(loaded.tokenizer, "hi", chat=True)


def test_to_json_shape(models):
    loaded = models["llama"]
    result = generate(
        loaded, prompt_ids(loaded), GenerationSettings(max_new_tokens=3, n_alternatives=2)
    )
    data = result.to_json()
    assert set(data) == {"text", "steps"} and data["text"] == result.text
    assert len(data["steps"]) == 3
    for step in data["steps"]:
        assert set(step) == {"token_id", "token", "prob", "top"}
        assert len(step["top"]) == 2 and set(step["top"][0]) == {"token_id", "token", "prob"}
    import json

    json.dumps(data)  # plain JSON types only
