"""The decode step written out for Llama-style models gives what transformers' forward
gives: the same logits, attention rows and cached keys and values for left-padded rows of
different lengths; models it does not describe exactly (GPT-2, a swapped or hooked
layer) take transformers' forward."""

from __future__ import annotations

import copy

import pytest

from llm_core.generation.generate import build_prompt_ids
from llm_core.generation.sampling import GenerationSettings
from llm_core.models import decode_layers, decode_step
from llm_core.models.decode_step import can_step_lean, lean_decode_step
from llm_core.serving import batch as batch_module
from llm_core.serving.batch import DecodeBatch, new_row

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPTS = ("我爱吃苹果。The cat sat on", "Hi", "The dog sat on the log. 床前明月光，疑是地上霜。")


def joined_batch(loaded) -> DecodeBatch:
    """Three prompts of different lengths decoding together, two steps in."""
    settings = GenerationSettings(max_new_tokens=20, capture_attention=True, stop_at_eos=False)
    rows = [
        new_row(loaded, k, build_prompt_ids(loaded.tokenizer, text), settings, 0, 0)
        for k, text in enumerate(PROMPTS)
    ]
    batch = DecodeBatch(loaded)
    batch.join(rows[:2])
    batch.step()
    batch.join(rows[2:])  # a longer prompt: the others get padding on the left
    batch.step()
    return batch


def python_loop_only(monkeypatch) -> None:
    """No TorchScript: Python runs the lean step's layers (``decode_layers`` itself)."""
    monkeypatch.setattr(decode_layers, "scripted", lambda: None)


@pytest.fixture
def scripted_calls(monkeypatch) -> list:
    """Each call of the scripted layers (``decode_layers.run``) appends one entry."""
    calls, run = [], decode_layers.run
    monkeypatch.setattr(decode_layers, "run", lambda *a: calls.append(1) or run(*a))
    return calls


@pytest.mark.parametrize("path", ["scripted", "python"])
@pytest.mark.parametrize("arch", ["llama", "qwen2"])  # Qwen2: q, k and v have biases
def test_a_lean_step_equals_the_models_own_forward(
    tiny_models, arch, path, monkeypatch, scripted_calls
):
    import torch

    loaded = tiny_models[arch]
    model = loaded.model
    assert can_step_lean(model)
    if path == "python":
        python_loop_only(monkeypatch)
    with loaded.lock:
        batch = joined_batch(loaded)
        batch_module._give_room(batch.cache)
        ids = torch.tensor([[row.context[-1]] for row in batch.rows])  # [row, 1]
        positions = batch.mask.sum(-1, keepdim=True)  # [row, 1]
        mask = torch.cat([batch.mask, torch.ones(len(batch.rows), 1, dtype=torch.long)], 1)
        assert not bool(mask.all())  # some rows are padded
        theirs = copy.deepcopy(batch.cache)
        scripted_calls.clear()
        with torch.inference_mode():
            expected = model(
                input_ids=ids, attention_mask=mask, position_ids=positions, cache=theirs,
                use_cache=True, output_attentions=True, logits_to_keep=1,
            )  # fmt: skip
            logits, attention = lean_decode_step(
                model, ids[:, 0], positions[:, 0], mask, batch.cache, capture=True
            )
    assert len(scripted_calls) == (1 if path == "scripted" else 0)
    torch.testing.assert_close(logits, expected.logits[:, -1, :], atol=1e-5, rtol=1e-5)
    want = torch.stack([layer[:, :, -1, :] for layer in expected.attentions], dim=1)
    assert attention.shape == want.shape  # [row, layer, head, key_pos]
    torch.testing.assert_close(attention, want, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(attention.sum(-1), torch.ones(want.shape[:-1]))
    padding = (mask == 0)[:, None, None, :].expand_as(attention)
    assert bool((attention[padding] == 0).all())  # padding gets weight exactly 0
    for mine, their in zip(batch.cache.layers, theirs.layers, strict=True):
        torch.testing.assert_close(mine.keys, their.keys, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(mine.values, their.values, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_the_scripted_layers_give_the_python_loops_values_exactly(
    tiny_models, arch, monkeypatch, scripted_calls
):
    """Same operations, same kernels: tokens, probabilities, entropies, attention rows and
    the cache equal bit for bit, step after step, with rows joining and leaving."""
    import numpy as np
    import torch

    loaded = tiny_models[arch]
    assert decode_layers.scripted() is not None  # this torch scripts it
    made = {}
    for path in ("scripted", "python"):
        if path == "python":
            python_loop_only(monkeypatch)
        with loaded.lock:
            batch = joined_batch(loaded)
            steps = [batch.step() for _ in range(3)]
            batch.drop(batch.rows[1:2])  # a row leaves: the cache is copied, room again
            steps += [batch.step() for _ in range(3)]
        made[path] = (steps, [(layer.keys, layer.values) for layer in batch.cache.layers])
    assert len(scripted_calls) == 2 + 6  # joined_batch's two steps and these six
    for mine, theirs in zip(made["scripted"][0], made["python"][0], strict=True):
        for (_, a), (_, b) in zip(mine, theirs, strict=True):
            assert (a.token_id, a.prob, a.entropy, a.rank) == (
                b.token_id,
                b.prob,
                b.entropy,
                b.rank,
            )
            assert np.array_equal(a.attention, b.attention)
    for (k1, v1), (k2, v2) in zip(made["scripted"][1], made["python"][1], strict=True):
        assert torch.equal(k1, k2) and torch.equal(v1, v2)


def test_a_scripted_run_that_raises_hands_over_to_the_python_loop(tiny_models, monkeypatch):
    """A torch whose kernels changed under the script: that step and the later ones run
    the Python loop, with the values it gives."""
    import numpy as np

    loaded = tiny_models["llama"]
    monkeypatch.setattr(decode_layers, "_FAILED", [])
    run, scripted, calls = decode_layers.run, decode_layers.scripted, []

    def broken(*args):
        calls.append(1)
        raise RuntimeError("a schema changed")

    made = {}
    for path in ("python", "broken script"):
        if path == "python":
            monkeypatch.setattr(decode_layers, "scripted", lambda: None)
        else:
            monkeypatch.setattr(decode_layers, "scripted", scripted)
        with loaded.lock:
            batch = joined_batch(loaded)  # two steps (scripted, for the second path)
            monkeypatch.setattr(decode_layers, "run", broken)
            made[path] = [batch.step() for _ in range(3)]
            monkeypatch.setattr(decode_layers, "run", run)
    assert len(calls) == 1 and decode_layers.scripted() is None  # given up at once
    for mine, theirs in zip(made["broken script"], made["python"], strict=True):
        for (_, a), (_, b) in zip(mine, theirs, strict=True):
            assert (a.token_id, a.prob, a.entropy) == (b.token_id, b.prob, b.entropy)
            assert np.array_equal(a.attention, b.attention)


def test_an_activation_other_than_silu_takes_the_models_forward(tiny_models):
    import torch

    model = copy.deepcopy(tiny_models["llama"].model)
    for layer in model.model.layers:
        layer.mlp.act_fn = torch.nn.SiLU()  # torch's own: the same function
    decode_step._SHAPES.pop(model, None)
    assert can_step_lean(model)
    for layer in model.model.layers:
        layer.mlp.act_fn = torch.nn.GELU()  # decode_layers' MLP applies SiLU
    decode_step._SHAPES.pop(model, None)
    assert not can_step_lean(model)


def test_only_models_it_describes_exactly_take_the_lean_step(tiny_models):
    import torch

    assert not can_step_lean(tiny_models["gpt2"].model)
    model = copy.deepcopy(tiny_models["llama"].model)  # changed below: not the shared one
    with torch.inference_mode():  # transformers leaves its idle output recorders on
        model(input_ids=torch.tensor([[1, 2, 3]]), output_attentions=True)
    assert any(layer._forward_hooks for layer in model.model.layers)
    assert can_step_lean(model)
    attention = model.model.layers[0].self_attn
    handle = attention.register_forward_hook(lambda *_: None)
    assert not can_step_lean(model)  # a hook would never run
    handle.remove()
    assert can_step_lean(model)
    mlp = model.model.layers[-1].mlp
    mlp.up_proj.forward = mlp.up_proj.forward  # a forward of its own (accelerate, say)
    assert not can_step_lean(model)
    del mlp.up_proj.forward
    original = attention.v_proj
    attention.v_proj = torch.nn.Linear(original.in_features, original.out_features)
    assert not can_step_lean(model)  # swapped (LoRA, int8): not the layer it knew
    attention.v_proj = original
    assert can_step_lean(model)
    layer = model.model.layers[1]
    wrapped = layer.self_attn
    layer.self_attn = torch.nn.Sequential(wrapped)  # a wrapper above the linear layers
    assert not can_step_lean(model)
    layer.self_attn = wrapped
    norm = model.model.norm
    handle = norm.register_forward_pre_hook(lambda *_: None)  # outside the layers
    assert not can_step_lean(model)
    handle.remove()
    norm.forward = norm.forward
    assert not can_step_lean(model)
    del norm.forward
    model.config._attn_implementation = "flex_attention"
    assert not can_step_lean(model)
    model.config._attn_implementation = "eager"
    assert can_step_lean(model)


def test_a_model_it_cannot_read_takes_the_models_forward():
    import torch

    class NoLayers(torch.nn.Module):  # decoder_layers raises UnsupportedModelError
        base_model = torch.nn.Module()

    assert not can_step_lean(NoLayers())
    assert not can_step_lean(torch.nn.Linear(2, 2))


def test_a_batch_with_a_hooked_layer_runs_the_models_forward(tiny_models, monkeypatch):
    """The hook runs, and the lean step is not called, while a hook is on."""
    loaded = tiny_models["llama"]
    lean_calls = []
    real = decode_step.lean_decode_step
    monkeypatch.setattr(
        batch_module, "lean_decode_step", lambda *a, **k: lean_calls.append(1) or real(*a, **k)
    )
    hooked = []
    attention = loaded.model.model.layers[0].self_attn
    with loaded.lock:
        batch = joined_batch(loaded)
        assert len(lean_calls) == 2
        handle = attention.register_forward_hook(lambda *_: hooked.append(1))
        try:
            batch.step()
        finally:
            handle.remove()
        assert hooked == [1] and len(lean_calls) == 2
        batch.step()
    assert len(lean_calls) == 3 and hooked == [1]


def test_a_model_that_stepped_lean_can_still_be_freed(tiny_model_dirs):
    import gc
    import weakref

    from llm_core.models.loading import load_model

    loaded = load_model(str(tiny_model_dirs["llama"]))
    with loaded.lock:
        joined_batch(loaded)
    model = weakref.ref(loaded.model)
    del loaded
    gc.collect()
    assert model() is None
