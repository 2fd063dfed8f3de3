"""Perplexity and the logit lens on tiny models, checked against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from llm_core.errors import InputError
from llm_core.generation.logit_lens import MAX_LENS_K, logit_lens
from llm_core.generation.perplexity import MAX_PERPLEXITY_TOKENS, SEED_TEXT, perplexity
from llm_core.models.anatomy import final_norm

ARCHS = ("llama", "gpt2", "qwen2")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return tiny_models


# ---------------------------------------------------------------------------- perplexity


@pytest.mark.parametrize("arch", ARCHS)
def test_perplexity_equals_direct_nll_and_hf_loss(models, arch):
    loaded = models[arch]
    result = perplexity(loaded, SEED_TEXT)
    ids = list(result.token_ids)
    assert ids == loaded.tokenizer(SEED_TEXT)["input_ids"]
    with torch.inference_mode():
        output = loaded.model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids]))
    log_probs = output.logits[0, :-1].double().log_softmax(-1)  # [T - 1, d_vocab]
    direct = -log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()
    assert result.nll.shape == (len(ids) - 1,)
    np.testing.assert_allclose(result.nll, direct, atol=1e-5)
    assert result.perplexity == pytest.approx(math.exp(direct.mean()), rel=1e-5)
    assert result.perplexity == pytest.approx(math.exp(result.mean_nll), rel=1e-9)
    assert result.perplexity == pytest.approx(math.exp(float(output.loss)), rel=1e-4)  # HF: float32


def test_perplexity_of_ids_equals_text_and_json_shape(models):
    loaded = models["llama"]
    by_text = perplexity(loaded, SEED_TEXT)
    by_ids = perplexity(loaded, by_text.token_ids)
    np.testing.assert_array_equal(by_text.nll, by_ids.nll)
    data = by_text.to_json()
    assert set(data) == {"tokens", "nll", "perplexity"}
    assert "".join(data["tokens"]) == SEED_TEXT
    assert len(data["nll"]) == len(data["tokens"]) - 1
    assert data["perplexity"] == by_text.perplexity


def test_perplexity_bad_input(models):
    loaded = models["llama"]
    with pytest.raises(InputError, match="empty"):
        perplexity(loaded, "  ")
    with pytest.raises(InputError, match="at least 2 tokens"):
        perplexity(loaded, [5])
    with pytest.raises(InputError, match="at most"):
        perplexity(loaded, [5] * (MAX_PERPLEXITY_TOKENS + 1))
    with pytest.raises(InputError, match="vocabulary"):
        perplexity(loaded, [5, 10**6])


# ---------------------------------------------------------------------------- logit lens


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("position", [-1, 2])
def test_lens_last_layer_equals_model_distribution(models, arch, position):
    loaded = models[arch]
    lens = logit_lens(loaded, SEED_TEXT, position=position, k=5)
    ids = list(lens.token_ids)
    with torch.inference_mode():
        probs = loaded.model(input_ids=torch.tensor([ids])).logits[0, position].softmax(-1)
    top = torch.topk(probs, 5)
    n_layers = loaded.description.n_layers
    assert lens.top_ids.shape == lens.top_probs.shape == (n_layers + 1, 5)  # [layer, rank]
    assert lens.n_layers == n_layers and lens.position == position % len(ids)
    assert lens.top_ids[-1].tolist() == top.indices.tolist()
    np.testing.assert_allclose(lens.top_probs[-1], top.values.numpy(), atol=1e-5)
    assert lens.final_token_probs[-1] == pytest.approx(float(top.values[0]), abs=1e-5)
    assert lens.top_tokens[-1][0] == loaded.tokenizer.decode([int(top.indices[0])])


@pytest.mark.parametrize("arch", ARCHS)
def test_lens_middle_layers_read_the_residual_stream(models, arch):
    loaded = models[arch]
    lens = logit_lens(loaded, SEED_TEXT, position=-1, k=3)
    ids = list(lens.token_ids)
    with torch.inference_mode():
        output = loaded.model(input_ids=torch.tensor([ids]), output_hidden_states=True)
        hidden = output.hidden_states  # n_layers + 1 entries, [1, T, d_model]
        unembed = loaded.model.get_output_embeddings()
        # transformers applies the final norm to the last entry already: do not norm twice
        torch.testing.assert_close(unembed(hidden[-1]), output.logits)
        for layer in range(len(hidden) - 1):
            probs = unembed(final_norm(loaded.model)(hidden[layer][0, -1])).softmax(-1)
            top = torch.topk(probs, 3)
            assert lens.top_ids[layer].tolist() == top.indices.tolist()
            np.testing.assert_allclose(lens.top_probs[layer], top.values.numpy(), atol=1e-5)
    assert np.all(lens.entropy > 0) and lens.entropy.shape == (len(hidden),)


def test_lens_bad_input(models):
    loaded = models["gpt2"]
    with pytest.raises(InputError, match="position"):
        logit_lens(loaded, SEED_TEXT, position=100)
    with pytest.raises(InputError, match="k must"):
        logit_lens(loaded, SEED_TEXT, k=MAX_LENS_K + 1)
    with pytest.raises(InputError, match="empty"):
        logit_lens(loaded, "")
