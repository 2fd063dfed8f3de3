"""Attribution, activation patching and model comparison on tiny random models: the
invariants of the computations, not their pictures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from llm_core.attention.capture import capture_attention
from llm_core.errors import InputError
from llm_core.generation.perplexity import start_token_of
from llm_core.interpret.attention_agreement import attention_agreement, last_rows, spearman
from llm_core.interpret.attribution import (
    COMPLETENESS_TOLERANCE,
    attribute,
    neutral_token,
    sum_over_groups,
)
from llm_core.interpret.comparison import compare
from llm_core.interpret.patching import COMPONENTS, patch
from llm_core.interpret.prompts import first_token_id, prepare_prompt

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ARCHS = ("llama", "gpt2", "qwen2")
TEXTS = ("我爱吃苹果", "The cat sat on the mat")


def prompt_of(loaded, text):
    return prepare_prompt(loaded, text, start_token_of(loaded))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("text", TEXTS)
def test_integrated_gradients_are_complete(tiny_models, arch, text):
    loaded = tiny_models[arch]
    result = attribute(loaded, prompt_of(loaded, text), method="integrated-gradients")
    check = result.completeness
    assert check.holds, (check, result.steps)
    assert abs(check.sum - check.expected) <= COMPLETENESS_TOLERANCE * abs(check.expected)
    assert check.sum == pytest.approx(float(result.scores.astype(np.float64).sum()), abs=1e-4)
    assert result.steps >= 32


@pytest.mark.parametrize("arch", ARCHS)
def test_gradient_x_input_equals_a_direct_autograd_computation(tiny_models, arch):
    loaded = tiny_models[arch]
    prompt = prompt_of(loaded, "我爱吃苹果")
    result = attribute(loaded, prompt, method="gradient-x-input")
    assert all(p.grad is None for p in loaded.model.parameters())  # the model is untouched
    embeds = loaded.model.get_input_embeddings().weight.detach()[torch.tensor(prompt.ids)]
    embeds = embeds.clone().requires_grad_(True)
    logits = loaded.model(inputs_embeds=embeds[None], use_cache=False).logits[0, -1]
    logp = logits.log_softmax(-1)[result.target.id]
    (grad,) = torch.autograd.grad(logp, embeds)
    expected = (embeds * grad).sum(-1)[prompt.n_context :].detach().numpy()
    np.testing.assert_allclose(result.scores, expected, rtol=1e-4, atol=1e-6)
    assert result.target.logp == pytest.approx(float(logp.detach()), abs=1e-5)


def test_default_target_is_the_most_likely_next_token_and_text_targets_use_their_first_token(
    tiny_models,
):
    loaded = tiny_models["llama"]
    prompt = prompt_of(loaded, "The cat sat")
    with torch.inference_mode():
        top = int(loaded.model(input_ids=torch.tensor([prompt.ids])).logits[0, -1].argmax())
    assert attribute(loaded, prompt, method="occlusion").target.id == top
    wanted = first_token_id(loaded, " mat")
    assert attribute(loaded, prompt, " mat", method="occlusion").target.id == wanted


def test_occlusion_is_the_drop_when_each_token_is_replaced(tiny_models):
    loaded = tiny_models["gpt2"]
    prompt = prompt_of(loaded, "The dog sat on the log")
    result = attribute(loaded, prompt, method="occlusion")
    neutral_id, text = neutral_token(loaded)
    assert result.neutral_token == text

    def logp(ids):
        with torch.inference_mode():
            logits = loaded.model(input_ids=torch.tensor([ids])).logits[0, -1]
        return float(logits.log_softmax(-1)[result.target.id])

    base = logp(prompt.ids)
    for i in range(len(prompt.tokenization.ids)):
        ids = list(prompt.ids)
        ids[prompt.n_context + i] = neutral_id
        assert result.scores[i] == pytest.approx(base - logp(ids), abs=1e-4)


@pytest.mark.parametrize("method", ["gradient-x-input", "integrated-gradients", "occlusion"])
def test_scores_summed_to_characters_and_words_keep_their_total(tiny_models, method):
    loaded = tiny_models["qwen2"]
    result = attribute(loaded, prompt_of(loaded, "我爱吃苹果。今天天气真好"), method=method)
    total = float(result.scores.sum())
    for level in ("character", "word"):
        grouped = result.group_scores(level)
        assert len(grouped) == len(result.labels(level))
        assert float(grouped.sum()) == pytest.approx(total, abs=1e-4)
    words = result.to_json("word")
    assert "".join(words["labels"]) == "我爱吃苹果。今天天气真好"
    assert len(words["scores"]) == len(words["labels"])


def test_sum_over_groups_refuses_groups_that_do_not_split_the_tokens():
    values = np.arange(4, dtype=np.float32)
    assert sum_over_groups(values, [[0, 1], [2], [3]]).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(InputError):
        sum_over_groups(values, [[0], [2, 3]])


def test_bad_requests_get_clear_messages(tiny_models):
    loaded = tiny_models["llama"]
    prompt = prompt_of(loaded, "The cat")
    with pytest.raises(InputError, match="Unknown method"):
        attribute(loaded, prompt, method="saliency")
    with pytest.raises(InputError, match="steps"):
        attribute(loaded, prompt, method="integrated-gradients", steps=0)
    with pytest.raises(InputError, match="No token id"):
        attribute(loaded, prompt, 10**9, method="occlusion")
    with pytest.raises(InputError, match="empty"):
        attribute(loaded, prompt, "", method="occlusion")
    with pytest.raises(InputError):
        prepare_prompt(loaded, "")
    with pytest.raises(InputError, match="at most"):
        prepare_prompt(loaded, "cat " * 400)


def test_attention_agreement_reads_the_last_row_and_keeps_the_context_apart(tiny_models):
    loaded = tiny_models["llama"]
    prompt = prompt_of(loaded, "Hello world! The dog sat on the log")
    result = attribute(loaded, prompt, method="gradient-x-input")
    capture = capture_attention(loaded, prompt.ids)
    rows = last_rows(capture)
    assert rows.heads.shape == (2, 4, len(prompt.ids))
    agreement = attention_agreement(rows, result, "word", "mean")
    assert len(agreement.labels) == len(agreement.attention) == len(agreement.scores) > 2
    assert agreement.attention.sum() + agreement.context_share == pytest.approx(1.0, abs=1e-5)
    head = attention_agreement(rows, result, "word", "head", layer=1, head=2)
    row = capture.head(1, 2)[-1]
    assert head.context_share == pytest.approx(float(row[: prompt.n_context].sum()), abs=1e-6)
    rollout = attention_agreement(rows, result, "token", "rollout")
    np.testing.assert_allclose(
        rollout.attention, capture.rollout[-1][prompt.n_context :], atol=1e-6
    )


def test_spearman_matches_the_rank_definition():
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])) == pytest.approx(1.0)
    assert spearman(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman(
        np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0])
    ) == pytest.approx(0.8)
    assert spearman(np.array([1.0]), np.array([2.0])) is None
    assert spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])) is None


# ---------------------------------------------------------------------------- patching


def patching_pair(loaded):
    clean = prompt_of(loaded, "The cat sat on the mat")
    corrupt = prompt_of(loaded, "The dog sat on the mat")
    assert len(clean.ids) == len(corrupt.ids)
    return clean, corrupt


@pytest.mark.parametrize("arch", ARCHS)
def test_restoring_the_last_layer_at_the_last_position_gives_one(tiny_models, arch):
    loaded = tiny_models[arch]
    result = patch(loaded, *patching_pair(loaded), component="residual")
    assert result.effect.shape == (loaded.description.n_layers, len(result.labels))
    assert result.effect[-1, -1] == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("component", COMPONENTS)
def test_positions_before_the_first_difference_have_no_effect(tiny_models, component):
    loaded = tiny_models["llama"]
    result = patch(loaded, *patching_pair(loaded), component=component)
    first = result.differs[0]
    assert first > 0
    np.testing.assert_allclose(result.effect[:, :first], 0.0, atol=1e-5)


def test_one_patched_row_equals_a_patched_run_alone(tiny_models):
    """The batched rows are independent: (layer 0, first differing position) by hand."""
    loaded = tiny_models["qwen2"]
    clean, corrupt = patching_pair(loaded)
    result = patch(loaded, clean, corrupt, component="mlp")
    position = clean.n_context + result.differs[0]
    mlp = loaded.model.model.layers[0].mlp
    saved = {}
    handle = mlp.register_forward_hook(lambda m, i, o: saved.__setitem__("x", o.clone()))
    with torch.inference_mode():
        loaded.model(input_ids=torch.tensor([clean.ids]))
    handle.remove()

    def put(module, inputs, output):
        output[0, position] = saved["x"][0, position]

    handle = mlp.register_forward_hook(put)
    with torch.inference_mode():
        p = loaded.model(input_ids=torch.tensor([corrupt.ids])).logits[0, -1].softmax(-1)
    handle.remove()
    expected = (float(p[result.target.id]) - result.p_corrupt) / (result.p_clean - result.p_corrupt)
    assert result.effect[0, result.differs[0]] == pytest.approx(expected, abs=1e-4)


def test_patching_refuses_equal_prompts_and_different_lengths_showing_both(tiny_models):
    loaded = tiny_models["llama"]
    clean = prompt_of(loaded, "The cat sat")
    with pytest.raises(InputError, match="same tokens"):
        patch(loaded, clean, prompt_of(loaded, "The cat sat"))
    with pytest.raises(InputError, match="Clean: .*Corrupted: "):
        patch(loaded, clean, prompt_of(loaded, "The cat sat on the mat"))
    long_clean = prompt_of(loaded, "The cat sat on the mat. " * 8)
    long_corrupt = prompt_of(loaded, "The dog sat on the mat. " * 8)
    with pytest.raises(InputError, match="at most 16"):
        patch(loaded, long_clean, long_corrupt)
    with pytest.raises(InputError, match="Unknown component"):
        patch(loaded, *patching_pair(loaded), component="heads")


# ---------------------------------------------------------------------------- compare


def test_a_model_compared_with_itself_differs_nowhere(tiny_models):
    loaded = tiny_models["llama"]
    result = compare(loaded, loaded, "我爱吃苹果", head=(1, 0), continuation_tokens=4)
    assert result.basis == "tokens"
    np.testing.assert_array_equal(result.difference, 0.0)
    assert result.agreement.tolist() == [1.0] * len(result.labels)
    np.testing.assert_allclose(result.kl, 0.0, atol=1e-6)
    np.testing.assert_array_equal(result.attention_difference, 0.0)
    assert result.a.continuation == result.b.continuation
    assert result.to_json()["top1_agreement"] == 1.0


def test_models_with_different_tokenizers_are_compared_per_word(tiny_models):
    from tests.tiny_models import build_tokenizer

    other = tiny_models["gpt2"]
    small = build_tokenizer(vocab_size=300)  # other merges: other tokens for the same text
    tokenizer = other.tokenizer
    swapped = dataclasses.replace(other, tokenizer=small)
    text = "The cat sat on the mat"
    assert small(text)["input_ids"] != tokenizer(text)["input_ids"]
    result = compare(tiny_models["llama"], swapped, text, head=(0, 0), continuation_tokens=2)
    assert result.basis == "words"
    assert "".join(result.labels).replace("\u2423", " ") == text
    assert result.agreement is None and result.attention_difference is None
    assert "per word" in result.notes[0]
    total_a = float(result.a.surprisal.sum())
    assert float(result.surprisal_a.sum()) == pytest.approx(total_a, abs=1e-4)


def test_surprisal_per_character_and_word_sums_the_tokens(tiny_models):
    loaded = tiny_models["qwen2"]
    result = compare(loaded, loaded, "The cat sat on the mat", continuation_tokens=1)
    assert result.levels() == ("token", "character", "word")
    for level in ("character", "word"):
        labels, a, b = result.surprisal_at(level)
        assert len(labels) == len(a) == len(b)
        assert float(a.sum()) == pytest.approx(float(result.surprisal_a.sum()), abs=1e-4)
    with pytest.raises(InputError):
        result.surprisal_at("sentence")


def test_the_patching_map_is_centred_and_labelled():
    from llm_core.plots.interpret import patching_heatmap, signed_chart

    effect = np.array([[0.0, 0.9], [0.1, 1.0], [-0.2, 1.3]], dtype=np.float32)
    figure = patching_heatmap(effect, [" France", " is"], layer_title="layer")
    (trace,) = [t for t in figure.data if t.name == "values"]
    assert trace.zmin == pytest.approx(-1.3) and trace.zmax == pytest.approx(1.3)
    assert trace.zmid == 0.0
    assert np.asarray(trace.z).shape == (3, 2)
    chart = signed_chart(["的", "的"], [0.5, -0.5], "score").to_dict()
    values = chart["datasets"][next(iter(chart["datasets"]))]
    assert [row["label"] for row in values] == ["的", "的 (2)"]
    assert [row["colour"] for row in values] == ["#d62728", "#2166ac"]
