"""Compression on a tiny Llama: exact sparsity, zeros that stay zero, byte ratios, head
pruning, the comparison's invariants, saving and reloading, the job and the CLI."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch

from llm_core.compression.head_pruning import choose_heads, head_importance, prune_heads
from llm_core.compression.metrics import attention_drift, compare_quality
from llm_core.compression.pruning import prune_linear
from llm_core.compression.quantize import (
    copy_for_compression,
    grouped_dynamic_linear,
    linear_layers,
    quantize_int8,
    to_bfloat16,
)
from llm_core.compression.run import CompressionRequest, run_compression, save_compressed
from llm_core.compression.sizes import int8_weight_bytes, measure_size
from llm_core.errors import InputError
from llm_core.jobs import Job, JobCancelledError
from llm_core.models.loading import as_loaded, load_model
from llm_core.text.corpus import Corpus, load_corpus

FAST = {"eval_tokens": 512, "sample_tokens": 4}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus("tang300")


def _ids(n: int = 24) -> torch.Tensor:
    return torch.arange(1, n + 1)[None] % 300


def _zeros(model) -> dict[str, torch.Tensor]:
    return {name: module.weight == 0 for name, module in linear_layers(model)}


# ---------------------------------------------------------------------------- pruning


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9, 0.99])
def test_global_pruning_zeroes_exactly_the_requested_share(tiny_llama, sparsity):
    model = copy_for_compression(tiny_llama)
    report = prune_linear(model, sparsity, scope="global")
    n_weights = sum(m.weight.numel() for _, m in linear_layers(model))
    n_zero = sum(int(z.sum()) for z in _zeros(model).values())
    assert report.n_weights == n_weights
    assert n_zero == report.n_pruned == round(sparsity * n_weights)
    assert measure_size(model).n_zero_linear == n_zero


def test_global_pruning_removes_the_smallest_weights(tiny_llama):
    model = copy_for_compression(tiny_llama)
    before = torch.cat([m.weight.detach().abs().flatten() for _, m in linear_layers(model)])
    prune_linear(model, 0.4)
    zero = torch.cat([m.weight.detach().flatten() == 0 for _, m in linear_layers(model)])
    assert before[zero].max() <= before[~zero].min()


def test_per_layer_pruning_is_exact_in_every_layer(tiny_llama):
    model = copy_for_compression(tiny_llama)
    report = prune_linear(model, 0.3, scope="layer")
    for name, zeros in _zeros(model).items():
        assert int(zeros.sum()) == round(0.3 * zeros.numel()), name
        assert report.per_layer[name] == int(zeros.sum()) / zeros.numel()


def test_pruning_further_keeps_every_zero(tiny_llama):
    model = copy_for_compression(tiny_llama)
    prune_linear(model, 0.5)
    zeros = _zeros(model)
    report = prune_linear(model, 0.7)  # on top of the first: the zeros are the smallest
    for name, module in linear_layers(model):
        assert bool((module.weight[zeros[name]] == 0).all()), name
    assert report.n_pruned == round(0.7 * report.n_weights)


def test_the_shared_model_is_never_modified(tiny_llama, corpus):
    original = {k: v.clone() for k, v in tiny_llama.model.state_dict().items()}
    request = CompressionRequest(method="prune", sparsity=0.9, **FAST)
    Job("compress", "t", lambda job: run_compression(job, tiny_llama, corpus, request)).run()
    for name, tensor in tiny_llama.model.state_dict().items():
        assert torch.equal(tensor, original[name]), name


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), "half", True])
def test_bad_sparsity_is_refused_clearly(tiny_llama, bad):
    with pytest.raises(InputError, match="sparsity"):
        prune_linear(copy_for_compression(tiny_llama), bad)


def test_bad_requests_are_refused_clearly():
    with pytest.raises(InputError, match="Unknown method"):
        CompressionRequest(method="zip").validate()
    with pytest.raises(InputError, match="scope"):
        CompressionRequest(method="prune", scope="row").validate()
    with pytest.raises(InputError, match="tokens"):
        CompressionRequest(eval_tokens=10).validate()


def test_an_empty_corpus_is_refused(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        load_corpus(empty)


def test_a_corpus_too_short_to_measure_is_refused(tiny_llama):
    short = Corpus("short", ("床前明月光", "疑是地上霜"), "test")
    request = CompressionRequest(method="int8", **FAST)
    with pytest.raises(InputError):
        Job("compress", "t", lambda job: run_compression(job, tiny_llama, short, request)).run()


# ---------------------------------------------------------------------------- sizes


def test_bf16_halves_and_int8_quarters_the_linear_weight_bytes(tiny_llama, corpus):
    before = measure_size(tiny_llama.model)
    half = copy_for_compression(tiny_llama)
    to_bfloat16(half)
    assert measure_size(half).linear_weight_bytes * 2 == before.linear_weight_bytes
    int8 = copy_for_compression(tiny_llama)
    quantize_int8(int8, list(range(1, 40)))
    shapes = [m.weight.shape for _, m in linear_layers(tiny_llama.model)]
    after = measure_size(int8)
    assert after.linear_weight_bytes == sum(int8_weight_bytes(o, i) for o, i in shapes)
    # 4 bytes -> 1 byte per weight, plus a scale and a zero point per output channel:
    # 3.46x for this 32-wide model, 3.97x for SmolLM2 (576 wide)
    assert 3.4 < before.linear_weight_bytes / after.linear_weight_bytes < 4.0
    assert after.n_params == before.n_params


def test_int8_plain_and_grouped_agree_with_float_on_a_tiny_model(tiny_llama):
    ids = _ids(40)
    with torch.inference_mode():
        reference = tiny_llama.model(ids).logits
    for keep in (True, False):
        model = copy_for_compression(tiny_llama)
        report = quantize_int8(model, ids[0].tolist(), keep_outliers=keep)
        assert len(report.quantized) == len(linear_layers(tiny_llama.model))
        with torch.inference_mode():
            logits = model(ids).logits
        assert (logits.argmax(-1) == reference.argmax(-1)).float().mean() > 0.9
        grouped = any(isinstance(m, grouped_dynamic_linear()) for m in model.modules())
        assert grouped == keep


# ---------------------------------------------------------------------------- heads


def test_head_pruning_removes_the_least_important_heads(tiny_llama):
    model = copy_for_compression(tiny_llama)
    importance = head_importance(model, _ids(30)[0].tolist())
    assert importance.shape == (2, 4) and (importance > 0).all()
    report = prune_heads(model, importance, n_remove=3)
    assert report.n_removed == 3 and sum(report.removed_per_layer()) == 3
    chosen = sorted(
        importance[layer, head] for layer, heads in report.removed.items() for head in heads
    )
    assert chosen == sorted(importance.flatten())[:3]
    attention = model.model.layers[0].self_attn
    for head in report.removed.get(0, ()):
        columns = slice(head * 8, (head + 1) * 8)
        assert bool((attention.o_proj.weight[:, columns] == 0).all())
        assert bool((attention.q_proj.weight[columns] == 0).all())


def test_head_pruning_keeps_a_head_in_every_layer():
    removed = choose_heads(np.arange(8.0).reshape(2, 4), n_remove=100)
    assert [len(heads) for heads in removed.values()] == [3, 3]


# ---------------------------------------------------------------------------- measuring


def test_a_model_compared_with_itself_agrees_perfectly(tiny_llama, corpus):
    from llm_core.text.packing import pack_blocks
    from llm_core.training.trainer import block_perplexity

    same = as_loaded(copy.deepcopy(tiny_llama.model), tiny_llama.tokenizer, "copy")
    blocks = pack_blocks(tiny_llama.tokenizer, corpus.documents[:20], 64)[:3]
    quality = compare_quality(tiny_llama, same, blocks)
    assert quality.top1_agreement == 1.0
    assert quality.kl_divergence < 1e-6
    assert quality.perplexity_before == pytest.approx(quality.perplexity_after)
    assert quality.perplexity_before == pytest.approx(
        block_perplexity(tiny_llama.model, blocks), rel=1e-4
    )
    assert quality.n_predicted == 3 * 63
    drift = attention_drift(tiny_llama, same, list(range(1, 12)), layer=1, head=2)
    assert drift.difference.shape == (11, 11) and drift.max_abs == 0.0
    assert np.allclose(drift.reference.sum(-1), 1.0, atol=1e-5)


def test_pruning_more_moves_the_model_further(tiny_llama, corpus):
    from llm_core.text.packing import pack_blocks

    blocks = pack_blocks(tiny_llama.tokenizer, corpus.documents[:20], 64)[:3]
    kls = []
    for sparsity in (0.3, 0.9):
        model = copy_for_compression(tiny_llama)
        prune_linear(model, sparsity)
        candidate = as_loaded(model, tiny_llama.tokenizer, "pruned")
        kls.append(compare_quality(tiny_llama, candidate, blocks).kl_divergence)
    assert 0 < kls[0] < kls[1]


# ---------------------------------------------------------------------------- the job, saving


@pytest.mark.parametrize("method", ["int8", "bf16", "prune", "heads"])
def test_saved_variants_reload_as_the_same_model(tiny_llama, corpus, isolated_outputs, method):
    request = CompressionRequest(method=method, **FAST)
    result = Job("c", "t", lambda job: run_compression(job, tiny_llama, corpus, request)).run()
    path = save_compressed(result, isolated_outputs / f"v-{method}")
    assert json.loads((path / "provenance.json").read_text())["compression"]["method"] == method
    back = load_model(f"v-{method}")
    ids = _ids()
    with torch.inference_mode():
        expected = result.candidate.model(ids).logits.float()
        got = back.model(ids).logits
    if method == "bf16":  # stored as bfloat16, loaded (and computed) as float32
        for name, tensor in back.model.state_dict().items():
            original = result.candidate.model.state_dict()[name]
            assert torch.equal(tensor, original.float()), name
        assert torch.allclose(got, expected, atol=0.05)
    else:
        assert torch.equal(got, expected)
    if method == "int8":
        assert sum(isinstance(m, grouped_dynamic_linear()) for m in back.model.modules()) == 14
        assert result.size_after.linear_weight_bytes == measure_size(back.model).linear_weight_bytes
        # packed int8 weights are not parameters, yet the description counts them
        assert back.description.n_params == tiny_llama.description.n_params
        assert back.description.dtype == "float32 + int8"
    if method == "prune":
        assert measure_size(back.model).n_zero_linear == result.details["n_pruned"]
    assert not [p.name for p in isolated_outputs.iterdir() if ".partial-" in p.name]


def test_a_cancelled_job_raises_and_leaves_nothing(tiny_llama, corpus, isolated_outputs):
    request = CompressionRequest(method="prune", **FAST)
    job = Job("c", "t", lambda job: run_compression(job, tiny_llama, corpus, request))
    job.cancel()
    with pytest.raises(JobCancelledError):
        job.run()
    assert job.state == "cancelled" and job.result is None
    assert list(isolated_outputs.iterdir()) == []


def test_an_int8_model_is_not_compressed_twice(tiny_llama):
    model = copy_for_compression(tiny_llama)
    quantize_int8(model, list(range(1, 30)))
    with pytest.raises(InputError, match="already int8"):
        copy_for_compression(as_loaded(model, tiny_llama.tokenizer, "q"))


def test_sweep_reports_exact_sparsities(tiny_llama, corpus):
    from llm_core.compression.sweep import run_sweep

    request = CompressionRequest(method="prune", **FAST)
    sweep = Job(
        "c", "s", lambda job: run_sweep(job, tiny_llama, corpus, (0.5, 0.0, 0.8), request)
    ).run()
    n = sum(m.weight.numel() for _, m in linear_layers(tiny_llama.model))
    assert [p.requested for p in sweep.points] == [0.0, 0.5, 0.8]
    assert [p.achieved for p in sweep.points] == [round(s * n) / n for s in (0.0, 0.5, 0.8)]
    assert sweep.points[0].top1_agreement == 1.0
    assert all(math.isfinite(p.perplexity) and p.tokens_per_s > 0 for p in sweep.points)


# ---------------------------------------------------------------------------- CLI


def test_cli_compress_prints_the_measurements(tiny_model_dirs, isolated_outputs, capsys):
    from llm_core.cli import main

    args = ["compress", "--model", str(tiny_model_dirs["llama"]), "--method", "prune"]
    args += ["--sparsity", "0.5", "--eval-tokens", "512", "--sample-tokens", "3"]
    assert main([*args, "--out", "cli-pruned", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "size_bytes_before",
        "size_bytes_after",
        "perplexity_before",
        "perplexity_after",
        "top1_agreement",
        "kl_divergence",
        "tokens_per_s_before",
        "tokens_per_s_after",
        "sparsity",
    ):
        assert isinstance(result[key], float | int), key
    assert abs(result["sparsity"] - 0.5) < 1e-4
    assert (isolated_outputs / "cli-pruned" / "model.safetensors").is_file()


def test_cli_errors_are_one_clear_line(tiny_model_dirs, tmp_path, capsys):
    from llm_core.cli import main

    model = ["--model", str(tiny_model_dirs["llama"])]
    assert main(["compress", *model, "--method", "prune", "--sparsity", "2", "--json"]) == 2
    assert "sparsity" in json.loads(capsys.readouterr().out)["error"]
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["compress", *model, "--method", "int8", "--corpus", str(empty), "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["type"] == "InputError"


def test_figures_centre_the_drift_on_zero_and_chart_the_sweep():
    from llm_core.plots.compression import drift_figure, sweep_chart

    difference = np.tril(np.array([[0.0, 0.0], [-0.02, 0.005]]))
    heatmap = drift_figure(difference, ["我", "爱"]).data[0]
    assert (heatmap.zmin, heatmap.zmax, heatmap.zmid) == (-0.02, 0.02, 0.0)
    assert heatmap.texttemplate == "%{z:+.3f}"
    sweep = sweep_chart(
        [0, 0.5], [10.0, 20.0], [14.0, 13.5], x_title="s", perplexity_title="p", speed_title="v"
    ).to_dict()
    (rows,) = sweep["datasets"].values()
    assert rows == [
        {"sparsity": 0.0, "perplexity": 10.0, "tokens_per_s": 14.0},
        {"sparsity": 50.0, "perplexity": 20.0, "tokens_per_s": 13.5},
    ]
    perplexity, speed = (layer["encoding"]["y"] for layer in sweep["layer"][:2])
    assert perplexity["scale"]["type"] == "log" and perplexity["axis"]["orient"] == "left"
    assert speed["field"] == "tokens_per_s" and speed["axis"]["orient"] == "right"
    assert sweep["resolve"]["scale"]["y"] == "independent"
    (selectors,) = [layer for layer in sweep["layer"] if "tooltip" in layer["encoding"]]
    assert [tip["title"] for tip in selectors["encoding"]["tooltip"]] == ["s (%)", "p", "v"]
