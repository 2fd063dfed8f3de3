"""The ``attribute``, ``patch`` and ``compare`` commands print the shapes the README and
the issue promise, and bad input gets one line and exit code 2."""

from __future__ import annotations

import json

import pytest

from llm_core import cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def model(tiny_model_dirs):
    return str(tiny_model_dirs["llama"])


def test_attribute_json_has_labels_scores_target_method_and_completeness(capsys, model):
    code, out, _ = run(capsys, "attribute", "--model", model, "--text", "The cat sat", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"labels", "scores", "target", "method", "completeness"}
    assert set(result["target"]) == {"id", "text", "logp"}
    assert result["method"] == "integrated-gradients"
    assert len(result["labels"]) == len(result["scores"])
    check = result["completeness"]
    assert abs(check["sum"] - check["expected"]) <= 0.02 * abs(check["expected"])


def test_attribute_with_a_target_explains_its_first_token(capsys, model, tiny_models):
    argv = ["attribute", "--model", model, "--text", "The cat sat on the", "--json"]
    code, out, _ = run(capsys, *argv, "--target", " mat", "--method", "occlusion")
    assert code == 0
    result = json.loads(out)
    expected = tiny_models["llama"].tokenizer(" mat", add_special_tokens=False)["input_ids"][0]
    assert result["target"]["id"] == expected
    assert "completeness" not in result and result["neutral_token"]


def test_attribute_text_output_and_levels(capsys, model):
    argv = ["attribute", "--model", model, "--text", "The dog sat", "--method", "gradient-x-input"]
    code, out, _ = run(capsys, *argv, "--level", "word")
    assert code == 0
    assert out.startswith("gradient-x-input: why")
    assert len(out.strip().splitlines()) == 1 + 3  # a line per word


def test_patch_json_has_one_row_per_layer_and_a_value_per_position(capsys, model):
    argv = ["patch", "--model", model, "--clean", "The cat sat", "--corrupt", "The dog sat"]
    code, out, _ = run(capsys, *argv, "--component", "mlp", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"labels", "p_clean", "p_corrupt", "effect"}
    assert len(result["effect"]) == 2  # the tiny Llama's layers
    assert all(len(row) == len(result["labels"]) for row in result["effect"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["patch", "--clean", "The cat sat", "--corrupt", "The cat sat"], "same tokens"),
        (["patch", "--clean", "The cat", "--corrupt", "The dog sat on the mat"], "same length"),
        (["patch", "--clean", "The cat"], "--corrupt"),
        (["attribute"], "--text"),
        (["attribute", "--text", ""], "empty"),
        (["compare", "--text", "hi"], "--other"),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(capsys, model, argv, message):
    code, out, err = run(capsys, *argv, "--model", model, "--json")
    assert code == 2
    assert message in json.loads(out)["error"]
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_compare_with_itself_agrees_everywhere(capsys, model):
    argv = ["compare", "--model", model, "--other", model, "--text", "The cat sat on the mat"]
    code, out, _ = run(capsys, *argv, "--layer", "1", "--head", "0", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["basis"] == "tokens"
    assert result["top1_agreement"] == 1.0
    assert set(result["difference"]) == {0.0}
    assert result["continuations"][0] == result["continuations"][1]
    assert {v for row in result["attention_difference"] for v in row} == {0.0}


def test_compare_of_two_architectures_reports_what_it_compared(capsys, model, tiny_model_dirs):
    other = str(tiny_model_dirs["qwen2"])
    code, out, _ = run(capsys, "compare", "--model", model, "--other", other, "--text", "The cat")
    assert code == 0
    assert "top-1 agreement" in out  # same tokenizer: compared token by token
