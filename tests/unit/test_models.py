"""Loading and describing models: tiny random models, no network."""

from __future__ import annotations

import json

import pytest
import torch

from llm_core.errors import (
    HubUnreachableError,
    NotAModelFolderError,
    UnknownModelError,
    UnsafeWeightsError,
    UnsupportedModelError,
)
from llm_core.models.description import COMPONENTS, component_of, describe_folder
from llm_core.models.loading import load_model
from llm_core.models.specs import list_saved_outputs, resolve_spec


def test_description_matches_config_and_parameters(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    d = loaded.description
    config = loaded.model.config
    assert d.n_layers == config.num_hidden_layers
    assert d.n_heads == config.num_attention_heads
    assert d.d_model == config.hidden_size
    assert d.vocab_size == config.vocab_size == len(loaded.tokenizer)
    assert d.n_params == sum(p.numel() for p in loaded.model.parameters())
    assert sum(d.params_by_component.values()) == d.n_params
    assert set(d.params_by_component) <= set(COMPONENTS)
    assert d.dtype == "float32"
    assert d.kind == "causal-lm"


def test_loaded_with_eager_attention_and_in_eval_mode(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    assert loaded.model.config._attn_implementation == "eager"
    assert not loaded.model.training
    ids = loaded.tokenizer("我爱吃苹果", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = loaded.model(ids, output_attentions=True)
    assert len(out.attentions) == loaded.description.n_layers


def test_grouped_query_heads_reported(tiny_model_dirs):
    d = load_model(str(tiny_model_dirs["llama"])).description
    assert (d.n_heads, d.n_kv_heads) == (4, 2)
    assert d.tied_embeddings and d.params_by_component["head"] == 0


def test_untied_head_counted_as_head(tiny_model_dirs):
    d = load_model(str(tiny_model_dirs["qwen2"])).description
    assert not d.tied_embeddings
    assert d.params_by_component["head"] == d.vocab_size * d.d_model


def test_describe_folder_without_weights_equals_loaded(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    from_config = describe_folder(tiny_model_dir, loaded.source)
    assert from_config.n_params == loaded.description.n_params
    assert from_config.params_by_component == loaded.description.params_by_component


@pytest.mark.parametrize(
    ("name", "component"),
    [
        ("model.embed_tokens.weight", "embeddings"),
        ("transformer.wte.weight", "embeddings"),
        ("transformer.wpe.weight", "embeddings"),
        ("model.layers.0.self_attn.q_proj.weight", "attention"),
        ("transformer.h.0.attn.c_attn.weight", "attention"),
        ("model.layers.0.post_attention_layernorm.weight", "norms"),
        ("transformer.h.1.ln_2.bias", "norms"),
        ("model.norm.weight", "norms"),
        ("model.layers.3.mlp.down_proj.weight", "mlp"),
        ("lm_head.weight", "head"),
    ],
)
def test_component_of(name, component):
    assert component_of(name) == component


def test_missing_folder_is_unknown(tmp_path):
    with pytest.raises(UnknownModelError, match="No folder"):
        load_model(str(tmp_path / "nothing-here"))


def test_empty_spec_is_unknown():
    with pytest.raises(UnknownModelError):
        load_model("   ")


def test_nonsense_spec_is_unknown():
    with pytest.raises(UnknownModelError, match="not a model"):
        resolve_spec("two words!")


def test_folder_without_config(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(NotAModelFolderError, match="config.json"):
        load_model(str(tmp_path))


def test_pickle_only_weights_refused(tmp_path, tiny_model_dirs):
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text((tiny_model_dirs["llama"] / "config.json").read_text())
    torch.save({"x": torch.zeros(1)}, folder / "pytorch_model.bin")
    with pytest.raises(UnsafeWeightsError, match="safetensors"):
        load_model(str(folder))


def test_encoder_config_is_unsupported_with_clear_message(tmp_path):
    from transformers import BertConfig, BertModel

    folder = tmp_path / "bert"
    BertModel(
        BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
        )
    ).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["architectures"] = ["BertForMaskedLM"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModelError, match="causal"):
        describe_folder(folder, resolve_spec(str(folder)))


def test_hub_id_offline_fails_fast_with_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnreachableError, match="default"):
        load_model("someone/not-cached-model")


def test_hub_id_unreachable_network(monkeypatch):
    """No hub here: the probe fails at once (DNS/connection) and says what to do."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(HubUnreachableError, match="offline"):
        load_model("someone/not-cached-model")


def test_local_paths_can_be_turned_off(tiny_model_dirs):
    with pytest.raises(UnknownModelError, match="turned off"):
        load_model(str(tiny_model_dirs["gpt2"]), allow_local_paths=False)


def test_saved_outputs_listed_and_loadable_by_name(isolated_outputs, tiny_model_dirs):
    import shutil

    shutil.copytree(tiny_model_dirs["gpt2"], isolated_outputs / "my-run")
    shutil.copytree(tiny_model_dirs["gpt2"], isolated_outputs / ".my-run.partial-abc")
    (isolated_outputs / "not-a-model").mkdir()
    assert [s.name for s in list_saved_outputs()] == ["my-run"]
    loaded = load_model("my-run")
    assert loaded.source.kind == "output"
    assert loaded.description.name == "my-run"


def test_hosted_mode_refuses_paths_outside_outputs(isolated_outputs):
    with pytest.raises(UnknownModelError, match="turned off"):
        resolve_spec("../../etc", allow_local_paths=False)
    with pytest.raises(UnknownModelError, match="turned off"):
        resolve_spec("/etc", allow_local_paths=False)
    assert resolve_spec("org/model", allow_local_paths=False).kind == "hub"


def test_load_tokenizer_alone_matches_the_models(tiny_model_dir):
    from llm_core.models.loading import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_model_dir))
    loaded = load_model(str(tiny_model_dir))
    text = "我爱吃苹果 and the cat 🙂"
    assert tokenizer(text)["input_ids"] == loaded.tokenizer(text)["input_ids"]


def test_load_tokenizer_refuses_non_model_folder(tmp_path):
    from llm_core.models.loading import load_tokenizer

    with pytest.raises(NotAModelFolderError):
        load_tokenizer(str(tmp_path))


def test_load_tokenizer_refuses_folder_without_tokenizer(tmp_path, tiny_model_dirs):
    import shutil

    from llm_core.models.loading import load_tokenizer

    folder = tmp_path / "weights-only"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dirs["llama"] / name, folder / name)
    with pytest.raises(NotAModelFolderError, match="tokenizer"):
        load_tokenizer(str(folder))
