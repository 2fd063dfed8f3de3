"""The CLI: JSON contract and error handling (tiny models; the default model is stubbed)."""

from __future__ import annotations

import json
import shutil

import pytest

from llm_core import __main__ as cli

MODEL_FIELDS = {
    "name",
    "source",
    "architecture",
    "n_layers",
    "n_heads",
    "n_kv_heads",
    "d_model",
    "vocab_size",
    "n_params",
}


@pytest.fixture
def default_is_tiny(monkeypatch, tmp_path, tiny_model_dirs):
    """Point the default model at a tiny llama so the CLI runs without the real one."""
    from llm_core.models import default_model

    monkeypatch.setenv("LLM_EXPLORER_CACHE", str(tmp_path / "cache"))
    target = default_model.default_model_dir()
    shutil.copytree(tiny_model_dirs["llama"], target)
    (target / default_model.PROVENANCE_FILE).write_text(json.dumps({"source_wheel": "tiny"}))
    return target


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_models_json_lists_default_and_outputs(
    capsys, default_is_tiny, isolated_outputs, tiny_model_dirs
):
    shutil.copytree(tiny_model_dirs["qwen2"], isolated_outputs / "poems-lora")
    code, out, _ = run_cli(capsys, "models", "--json")
    assert code == 0
    models = json.loads(out)["models"]
    assert [m["name"] for m in models] == ["SmolLM2-135M-Instruct", "poems-lora"]
    for entry in models:
        assert set(entry) >= MODEL_FIELDS
    assert models[1]["architecture"] == "Qwen2ForCausalLM"
    assert models[1]["n_layers"] == 3


def test_models_with_model_flag_adds_that_model(
    capsys, default_is_tiny, isolated_outputs, tiny_model_dirs
):
    code, out, _ = run_cli(capsys, "models", "--json", "--model", str(tiny_model_dirs["gpt2"]))
    assert code == 0
    models = json.loads(out)["models"]
    assert models[-1]["architecture"] == "GPT2LMHeadModel"


def test_models_text_output(capsys, default_is_tiny, isolated_outputs):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    assert "SmolLM2-135M-Instruct: LlamaForCausalLM, 2 layers, 4 heads (2 kv)" in out


def test_unknown_model_is_a_clean_error(capsys, default_is_tiny, isolated_outputs, tmp_path):
    code, out, err = run_cli(capsys, "models", "--json", "--model", str(tmp_path / "missing"))
    assert code == 2
    assert json.loads(out)["type"] == "UnknownModelError"
    assert err.startswith("error: No folder")


def test_every_subcommand_accepts_model_and_json():
    parser = cli.build_parser()
    required = {
        "tokenize": ["--text", "t"],
        "attention": ["--text", "t"],
        "generate": ["--prompt", "t"],
        "perplexity": ["--text", "t"],
        "logit-lens": ["--text", "t"],
        "finetune": ["--corpus", "x"],
        "compress": ["--method", "int8"],
    }
    for name in cli.COMMANDS:
        args = parser.parse_args([name, "--model", "x", "--json", *required.get(name, [])])
        assert (args.model, args.json) == ("x", True)


def test_tokenize_json_contract(capsys, tiny_model_dirs):
    code, out, _ = run_cli(
        capsys,
        "tokenize",
        "--json",
        "--model",
        str(tiny_model_dirs["llama"]),
        "--text",
        "我爱 cats",
    )
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"tokens", "characters", "words"}
    assert set(result["tokens"][0]) == {"id", "piece", "text", "start", "end", "special"}
    covered = sorted(i for group in result["words"] for i in group["tokens"])
    assert covered == list(range(len(result["tokens"])))


@pytest.mark.parametrize("level", ["token", "character", "word"])
def test_attention_json_rows_sum_to_one(capsys, tiny_model_dirs, level):
    model = str(tiny_model_dirs["llama"])
    code, out, _ = run_cli(
        capsys,
        "attention",
        "--json",
        "--model",
        model,
        "--text",
        "我爱吃苹果 and cats",
        "--level",
        level,
        "--layer",
        "1",
        "--head",
        "3",
    )
    assert code == 0
    result = json.loads(out)
    assert (result["layer"], result["head"], result["reduction"]) == (1, 3, "head")
    weights = result["weights"]
    assert len(weights) == len(result["labels"]) == len(weights[0])
    for row in weights:
        assert sum(row) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("reduce", ["mean_heads", "mean-heads", "mean_layers", "rollout"])
def test_attention_reductions(capsys, tiny_model_dirs, reduce):
    extra = ["--layer", "0"] if reduce.startswith("mean") and "heads" in reduce else []
    code, out, _ = run_cli(
        capsys,
        "attention",
        "--json",
        "--model",
        str(tiny_model_dirs["gpt2"]),
        "--text",
        "The cat sat on the mat",
        "--level",
        "word",
        "--reduce",
        reduce,
        *extra,
    )
    assert code == 0
    result = json.loads(out)
    assert result["labels"] == ["The", " cat", " sat", " on", " the", " mat"]
    assert result["reduction"] == reduce.replace("-", "_")
    assert all(sum(row) == pytest.approx(1.0, abs=1e-4) for row in result["weights"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--text", "hi"],  # neither a head nor a reduction
        ["--text", "hi", "--reduce", "rollout", "--layer", "0"],
        ["--text", "hi", "--reduce", "mean-heads"],
        ["--text", "hi", "--reduce", "rollout", "--head", "0"],
        ["--text", "hi", "--layer", "99", "--head", "0"],
        ["--text", "", "--layer", "0", "--head", "0"],
    ],
)
def test_attention_bad_arguments_are_clean_errors(capsys, tiny_model_dirs, argv):
    code, out, err = run_cli(
        capsys, "attention", "--json", "--model", str(tiny_model_dirs["llama"]), *argv
    )
    assert code == 2
    assert json.loads(out)["type"] == "InputError"
    assert err.startswith("error: ")
