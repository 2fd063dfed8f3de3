"""A short LoRA run of the real default model on the Tang poems, end to end: the shared
model is untouched, validation loss falls, and the saved folder works as ``--model``."""

from __future__ import annotations

import json

import pytest
import torch

from llm_core.cli import main
from llm_core.jobs import Job
from llm_core.models.loading import load_model
from llm_core.models.outputs import output_path
from llm_core.text.corpus import load_corpus
from llm_core.training.finetune import run_finetune
from llm_core.training.settings import FinetuneSettings

pytestmark = pytest.mark.integration


def test_short_lora_run_on_tang_poems(default_model, isolated_outputs, capsys):
    probe = default_model.model.model.layers[0].self_attn.q_proj.weight
    shared = probe.detach().clone()
    settings = FinetuneSettings(
        steps=6, block_length=64, batch_size=2, eval_tokens=256, sample_tokens=8
    )
    target = output_path("tang-short")
    corpus = load_corpus("tang300")
    job = Job(
        "finetune", "short", lambda j: run_finetune(j, default_model, corpus, settings, target)
    )
    result = job.run()

    assert torch.equal(probe, shared), "training must work on a copy"
    assert result.after.perplexity < result.before.perplexity
    assert result.sample_prompt.startswith("《")  # a held-out poem's title line
    assert result.after.attention.n_layers == 30 and result.after.attention.n_heads == 9
    saved = load_model("tang-short")
    assert saved.description.n_layers == 30
    assert saved.description.provenance["base_model_name"] == "SmolLM2-135M-Instruct"

    assert main(["tokenize", "--model", str(target), "--text", "床前明月光", "--json"]) == 0
    characters = json.loads(capsys.readouterr().out)["characters"]
    assert [c["text"] for c in characters] == list("床前明月光")
