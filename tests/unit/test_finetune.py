"""Fine-tuning on tiny models: the loss falls, LoRA trains only adapters, the shared model
is untouched, cancel saves nothing, saves are atomic, outputs reload and generate."""

from __future__ import annotations

import json
import math
import threading
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import torch

from llm_core.errors import InputError
from llm_core.jobs import Job, JobCancelledError, JobSlot
from llm_core.models.loading import load_model
from llm_core.models.outputs import (
    delete_output,
    list_outputs,
    output_path,
    save_output,
    validate_output_name,
    zip_output,
)
from llm_core.models.specs import list_saved_outputs
from llm_core.text.corpus import Corpus
from llm_core.text.packing import pack_blocks
from llm_core.training.finetune import run_finetune
from llm_core.training.settings import FinetuneSettings
from llm_core.training.trainer import (
    JobCallback,
    TrainerOptions,
    block_nll,
    block_perplexity,
    build_trainer,
)

SENTENCE = "The cat sat on the mat. "
WAIT_S = 120
# Small and quick: 8-token blocks, few steps, a short sample.
QUICK = {"block_length": 8, "batch_size": 4, "eval_tokens": 32, "sample_tokens": 4}


def cat_corpus(n: int = 30) -> Corpus:
    """Near-identical documents (not exact duplicates, which the reader would drop)."""
    return Corpus("cats", tuple(SENTENCE * 3 + f"({i})" for i in range(n)), "test")


def run(base, settings, target, job=None) -> tuple[Job, object]:
    job = job or Job(
        "finetune", "test", lambda j: run_finetune(j, base, cat_corpus(), settings, target)
    )
    return job, job.run()


def _state(model) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


# ---------------------------------------------------------------------------- training


def test_a_few_steps_on_a_repeated_sentence_lower_the_loss(tiny_llama):
    import copy

    model = copy.deepcopy(tiny_llama.model)
    blocks = pack_blocks(tiny_llama.tokenizer, [SENTENCE * 40], 16)
    before = block_nll(model, blocks)
    trainer = build_trainer(model, blocks, None, TrainerOptions(steps=8, learning_rate=1e-2))
    trainer.train()
    after = block_nll(model, blocks)
    assert after < before - 0.5, (before, after)


def test_block_perplexity_is_exp_of_the_token_mean_nll(tiny_llama):
    blocks = pack_blocks(tiny_llama.tokenizer, ["我爱吃苹果。" * 10, SENTENCE * 10], 12)
    with torch.no_grad():
        logits = tiny_llama.model(torch.from_numpy(blocks)).logits[:, :-1]  # [block, pos, vocab]
        targets = torch.from_numpy(blocks[:, 1:])
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
        )
    assert block_nll(tiny_llama.model, blocks, batch_size=3) == pytest.approx(float(nll), rel=1e-5)
    assert block_perplexity(tiny_llama.model, blocks) == pytest.approx(
        math.exp(float(nll)), rel=1e-5
    )
    with pytest.raises(InputError, match="at least one block"):
        block_nll(tiny_llama.model, np.zeros((0, 8), dtype=np.int64))


def test_the_callback_stops_training_within_one_step(tiny_llama):
    import copy

    model = copy.deepcopy(tiny_llama.model)
    blocks = pack_blocks(tiny_llama.tokenizer, [SENTENCE * 40], 8)

    def work(job):
        trainer = build_trainer(model, blocks, blocks[:2], TrainerOptions(steps=50, eval_every=1))
        callback = JobCallback(job, tokens_per_step=4 * 8)
        trainer.add_callback(callback)

        class CancelAtThree(type(callback).__mro__[1]):  # a plain TrainerCallback
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == 3:
                    job.cancel()

        trainer.callback_handler.callbacks.insert(0, CancelAtThree())
        trainer.train()
        return trainer.state.global_step

    job = Job("k", "d", work)
    with pytest.raises(JobCancelledError):
        job.run()
    steps = [p["step"] for p in job.history() if "train_loss" in p]
    assert max(steps) <= 3  # no step, log or evaluation after the cancelled one
    assert job.progress().step == 2  # the last step reported before the cancel


# ---------------------------------------------------------------------------- methods


def test_lora_trains_only_adapters_and_never_touches_the_shared_model(tiny_llama, isolated_outputs):
    shared = _state(tiny_llama.model)
    settings = FinetuneSettings(
        method="lora", steps=6, learning_rate=5e-2, target_modules=("q_proj", "v_proj"), **QUICK
    )
    job, result = run(tiny_llama, settings, output_path("cats-lora"))
    for name, tensor in tiny_llama.model.state_dict().items():
        assert torch.equal(tensor, shared[name]), f"the shared model's {name} changed"
    # The output is the base with the adapters merged: only q/v projections differ.
    saved = load_model("cats-lora")
    changed = {n for n, t in saved.model.state_dict().items() if not torch.equal(t, shared[n])}
    assert changed and all(n.endswith(("q_proj.weight", "v_proj.weight")) for n in changed), changed
    n_lora = sum(
        p.numel()
        for n, p in saved.model.named_parameters()
        if n.endswith(("q_proj.weight", "v_proj.weight"))
    )
    assert 0 < result.n_trainable_params < n_lora < result.n_params
    adapter = Path(result.output) / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file() and not list(adapter.glob("*.bin"))
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 8


def test_full_finetuning_lowers_validation_loss_and_records_everything(
    tiny_llama, isolated_outputs
):
    settings = FinetuneSettings(method="full", steps=12, learning_rate=1e-2, eval_every=4, **QUICK)
    job, result = run(tiny_llama, settings, output_path("cats-full"))
    assert result.after.perplexity < result.before.perplexity
    assert [step for step, _ in result.eval_losses] == [0, 4, 8, 12]  # before, during, after
    assert result.eval_losses[0][1] == pytest.approx(math.log(result.before.perplexity))
    assert len(result.train_losses) == 12 and result.tokens_per_s > 0
    assert result.n_trainable_params == result.n_params
    assert result.before.attention.n_layers == result.after.attention.n_layers == 2
    record = json.loads((Path(result.output) / "provenance.json").read_text())
    assert (
        record["method"] == "full" and record["steps"] == 12 and record["corpus"]["name"] == "cats"
    )
    assert record["metrics"]["eval_perplexity_after"] == pytest.approx(result.after.perplexity)
    assert record["base_model"] == tiny_llama.source.name
    payload = result.to_json()
    assert set(payload) >= {
        "output",
        "eval_perplexity_before",
        "eval_perplexity_after",
        "train_losses",
        "eval_losses",
        "tokens_per_s",
    }
    json.dumps(payload)  # serialisable as is


def test_scratch_builds_a_small_fresh_model_of_the_same_family(tiny_model_dirs, isolated_outputs):
    for arch in ("llama", "gpt2"):
        base = load_model(str(tiny_model_dirs[arch]))
        settings = FinetuneSettings(
            method="scratch",
            steps=10,
            scratch_layers=1,
            scratch_d_model=16,
            scratch_heads=2,
            **QUICK,
        )
        job, result = run(base, settings, output_path(f"cats-scratch-{arch}"))
        saved = load_model(f"cats-scratch-{arch}")
        assert saved.description.n_layers == 1 and saved.description.d_model == 16
        assert saved.description.vocab_size == base.description.vocab_size
        assert type(saved.model) is type(base.model)
        # Random weights spread probability over the whole vocabulary.
        assert result.before.perplexity > base.description.vocab_size / 4
        assert result.after.perplexity < result.before.perplexity


def test_outputs_reload_and_generate(tiny_llama, isolated_outputs):
    from llm_core.generation.generate import build_prompt_ids, generate
    from llm_core.generation.sampling import GenerationSettings

    settings = FinetuneSettings(method="full", steps=3, **QUICK)
    run(tiny_llama, settings, output_path("reload-me"))
    assert [s.name for s in list_saved_outputs()] == ["reload-me"]
    loaded = load_model("reload-me")
    ids = build_prompt_ids(loaded.tokenizer, "The cat")
    result = generate(loaded, ids, GenerationSettings(max_new_tokens=5, stop_at_eos=False))
    assert len(result.token_ids) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "distil"}, "Unknown method"),
        ({"learning_rate": 0.0}, "learning rate"),
        ({"steps": 0}, "steps must be between"),
        ({"method": "scratch", "scratch_d_model": 30, "scratch_heads": 4}, "divide evenly"),
        ({"method": "lora", "target_modules": ()}, "at least one target module"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(change, message):
    with pytest.raises(InputError, match=message):
        FinetuneSettings(**change).validate()


def test_unknown_lora_targets_list_the_real_ones(tiny_llama, isolated_outputs):
    settings = FinetuneSettings(method="lora", steps=2, target_modules=("c_attn",), **QUICK)
    with pytest.raises(InputError, match="no module named c_attn.*q_proj"):
        run(tiny_llama, settings, output_path("bad-targets"))
    assert not (isolated_outputs / "bad-targets").exists()


def test_an_existing_output_is_never_replaced(tiny_llama, isolated_outputs):
    (isolated_outputs / "taken").mkdir()
    with pytest.raises(InputError, match="already exists"):
        run(tiny_llama, FinetuneSettings(steps=1, **QUICK), output_path("taken"))


# ---------------------------------------------------------------------------- cancel and saving


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_cancel_stops_the_job_and_leaves_no_output(tiny_llama, isolated_outputs):
    slot, target = JobSlot(), output_path("cancelled")
    settings = FinetuneSettings(method="full", steps=100_000, **QUICK)
    job = slot.start(
        "finetune", "long", lambda j: run_finetune(j, tiny_llama, cat_corpus(), settings, target)
    )
    for _ in range(WAIT_S * 10):
        if job.progress().step >= 2 or job.progress().finished:
            break
        threading.Event().wait(0.1)
    assert job.progress().step >= 2, job.progress()
    job.cancel()
    assert job.wait(WAIT_S)
    assert job.state == "cancelled" and job.result is None
    assert job.progress().step < 100_000
    assert not target.exists() and _visible(isolated_outputs) == [] and not list_saved_outputs()
    assert not [p for p in isolated_outputs.iterdir() if ".partial-" in p.name]


def test_cancel_while_saving_leaves_nothing(tiny_llama, tmp_path):
    target = tmp_path / "out" / "model"
    with pytest.raises(JobCancelledError):
        save_output(
            target,
            tiny_llama.model,
            tiny_llama.tokenizer,
            {"kind": "test"},
            should_stop=lambda: True,
        )
    assert not target.exists() and _visible(target.parent) == []
    assert not [p for p in target.parent.iterdir() if ".partial-" in p.name]


class _InterruptedModel:
    """Writes part of a weights file, then the process is 'killed' (KeyboardInterrupt)."""

    def save_pretrained(self, folder, safe_serialization=True):
        (Path(folder) / "config.json").write_text("{}")
        (Path(folder) / "model.safetensors").write_bytes(b"\x00" * 1000)
        raise KeyboardInterrupt


def test_an_interrupted_write_leaves_no_output_that_looks_complete(
    tiny_llama, tmp_path, isolated_outputs
):
    target = output_path("interrupted")
    with pytest.raises(KeyboardInterrupt):
        save_output(target, _InterruptedModel(), tiny_llama.tokenizer, {})
    assert not target.exists() and not list_saved_outputs() and _visible(isolated_outputs) == []
    # A hidden partial left by a real kill is removed by the next write of the name.
    leftover = isolated_outputs / ".interrupted.partial-killed"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    save_output(target, tiny_llama.model, tiny_llama.tokenizer, {"kind": "test"})
    assert not leftover.exists() and [s.name for s in list_saved_outputs()] == ["interrupted"]


# ---------------------------------------------------------------------------- managing outputs


def test_output_names_are_checked():
    assert validate_output_name("  tang-lora_1.0 ") == "tang-lora_1.0"
    for bad in ("", "../escape", "a/b", ".hidden", "default", "x" * 65, "空 格"):
        with pytest.raises(InputError):
            validate_output_name(bad)


def test_outputs_list_zip_and_delete(tiny_llama, isolated_outputs):
    settings = FinetuneSettings(method="lora", steps=2, **QUICK)
    run(tiny_llama, settings, output_path("to-zip"))
    (listed,) = list_outputs()
    assert listed.name == "to-zip" and listed.has_adapter and listed.n_bytes > 0
    assert listed.provenance["method"] == "lora"
    names = zipfile.ZipFile(BytesIO(zip_output("to-zip"))).namelist()
    assert {"to-zip/config.json", "to-zip/model.safetensors", "to-zip/provenance.json"} <= set(
        names
    )
    assert "to-zip/adapter/adapter_model.safetensors" in names
    adapter = zipfile.ZipFile(BytesIO(zip_output("to-zip", adapter_only=True))).namelist()
    assert "to-zip-adapter/adapter_model.safetensors" in adapter and not any(
        n.rsplit("/", 1)[-1] == "model.safetensors" for n in adapter
    )
    delete_output("to-zip")
    assert not list_outputs() and _visible(isolated_outputs) == []
    with pytest.raises(InputError, match="no saved output"):
        delete_output("to-zip")
    with pytest.raises(InputError):
        zip_output("../../etc")


# ---------------------------------------------------------------------------- figures


def test_difference_heatmap_is_centred_on_zero_and_rows_sum_to_zero():
    from llm_core.plots.training import difference_heatmap, loss_chart, loss_points

    before = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    after = np.array([[1.0, 0.0, 0.0], [0.1, 0.9, 0.0], [0.2, 0.2, 0.6]])
    trace = difference_heatmap(before, after, ["我", "爱", "<b>"]).data[0]
    assert trace.zmid == 0 and trace.zmax == pytest.approx(0.4) and trace.zmin == -trace.zmax
    z = np.array(trace.z, dtype=float)
    np.testing.assert_allclose(np.nansum(z, axis=1), 0.0, atol=1e-6)
    assert np.isnan(z[0, 1])  # the causal upper triangle stays empty
    with pytest.raises(ValueError, match="differ in shape"):
        difference_heatmap(before, after[:2, :2], ["a", "b", "c"])
    history = [
        {"step": 0, "eval_loss": 3.0},
        {"step": 1, "train_loss": 2.5},
        {"step": 2, "train_loss": 2.0},
    ]
    assert loss_points(history) == {"train_loss": ([1, 2], [2.5, 2.0]), "eval_loss": ([0], [3.0])}
    chart = loss_chart(history, total_steps=10, train_name="训练损失").to_dict()
    (rows,) = chart["datasets"].values()
    assert [(r["step"], r["train_loss"], r["eval_loss"]) for r in rows] == [
        (0, None, 3.0),
        (1, 2.5, None),
        (2, 2.0, None),
    ]
    train, evaluation = chart["layer"][:2]
    assert train["encoding"]["x"]["scale"]["domain"] == [0, 10]
    assert train["encoding"]["color"]["scale"]["domain"] == ["训练损失", "validation loss"]
    assert evaluation["mark"]["strokeDash"] and evaluation["mark"]["point"]
    (rule,) = [layer for layer in chart["layer"] if layer["mark"]["type"] == "rule"]
    assert rule["transform"][0]["filter"]["param"] == chart["params"][0]["name"]  # hover


def test_an_int8_model_is_refused_for_lora_and_full_but_not_scratch(tiny_llama, isolated_outputs):
    from dataclasses import replace

    from llm_core.compression.quantize import copy_for_compression, quantize_int8

    int8 = replace(tiny_llama, model=copy_for_compression(tiny_llama))
    quantize_int8(int8.model, list(range(1, 40)))
    for method in ("lora", "full"):
        settings = FinetuneSettings(method=method, steps=2, **QUICK)
        with pytest.raises(InputError, match="int8 layers"):
            run(int8, settings, output_path(f"int8-{method}"))
        assert not (isolated_outputs / f"int8-{method}").exists()
    _, result = run(int8, FinetuneSettings(method="scratch", steps=2, **QUICK), output_path("s"))
    assert (isolated_outputs / "s" / "config.json").exists()


def test_cli_out_name_saves_under_outputs_and_a_path_saves_there(
    tiny_model_dirs, isolated_outputs, tmp_path, capsys
):
    from llm_core.cli import main

    corpus = tmp_path / "cats.txt"
    corpus.write_text("\n\n".join(cat_corpus().documents), encoding="utf-8")
    args = ["finetune", "--model", str(tiny_model_dirs["llama"]), "--corpus", str(corpus)]
    args += ["--steps", "2", "--block-length", "8", "--eval-tokens", "32", "--json"]
    assert main([*args, "--out", "cats-lora"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert Path(result["output"]) == isolated_outputs / "cats-lora"
    assert len(result["train_losses"]) == 2 and result["tokens_per_s"] > 0
    assert result["eval_perplexity_before"] == pytest.approx(math.exp(result["eval_losses"][0]))
    assert main(["tokenize", "--model", "cats-lora", "--text", "cat", "--json"]) == 0
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "elsewhere")]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "config.json").exists()
