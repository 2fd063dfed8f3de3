"""The generate / perplexity / logit-lens CLI commands: JSON contracts, the numbers they
print checked against the engine and a direct forward pass, and bad flags as clean errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from llm_core import __main__ as cli
from llm_core.generation.generate import build_prompt_ids, generate
from llm_core.generation.perplexity import SEED_TEXT
from llm_core.generation.sampling import GenerationSettings
from llm_core.models.loading import load_model

PROMPT = "我爱吃苹果。The cat sat on"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def llama(tiny_model_dirs):
    return str(tiny_model_dirs["llama"]), load_model(str(tiny_model_dirs["llama"]))


def run_json(capsys, *argv):
    code = cli.main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_every_generation_command_takes_model_and_json():
    parser = cli.build_parser()
    for name in ("generate", "perplexity", "logit-lens"):
        assert name in cli.COMMANDS
        args = parser.parse_args([name, "--model", "x", "--json"])
        assert (args.model, args.json) == ("x", True)


def test_generate_greedy_json_matches_engine_and_forward_pass(capsys, llama):
    model, loaded = llama
    code, out = run_json(
        capsys,
        "generate",
        "--model",
        model,
        "--prompt",
        PROMPT,
        "--max-new-tokens",
        "6",
        "--greedy",
    )
    assert code == 0
    assert {"text", "steps"} <= set(out)
    ids = build_prompt_ids(loaded.tokenizer, PROMPT)
    expected = generate(loaded, ids, GenerationSettings(max_new_tokens=6))
    assert out["text"] == expected.text
    assert [s["token_id"] for s in out["steps"]] == list(expected.token_ids)
    sequence = ids + list(expected.token_ids)
    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([sequence])).logits[0]
    for index, step in enumerate(out["steps"]):
        assert set(step) == {"token_id", "token", "prob", "top"}
        probs = logits[len(ids) + index - 1].softmax(-1)
        assert step["prob"] == pytest.approx(float(probs[step["token_id"]]), abs=1e-5)
        top = torch.topk(probs, 10)
        assert [c["token_id"] for c in step["top"]] == top.indices.tolist()
        assert step["top"][0]["token_id"] == step["token_id"]  # greedy takes the top one
        assert step["token"] == loaded.tokenizer.decode([step["token_id"]])


def test_generate_sampling_flags_and_seed(capsys, llama):
    model, loaded = llama
    argv = ["generate", "--model", model, "--prompt", PROMPT, "--max-new-tokens", "8"]
    sampled = [
        "--temperature", "0.9", "--top-k", "5", "--top-p", "0.8", "--seed", "4", "--alternatives", "50",
    ]  # fmt: skip
    code, first = run_json(capsys, *argv, *sampled)
    _, again = run_json(capsys, *argv, *sampled)
    assert code == 0 and first == again  # the same seed reproduces
    settings = GenerationSettings(
        do_sample=True, temperature=0.9, top_k=5, top_p=0.8, seed=4, max_new_tokens=8,
        n_alternatives=50,
    )  # fmt: skip
    expected = generate(loaded, build_prompt_ids(loaded.tokenizer, PROMPT), settings)
    assert [s["token_id"] for s in first["steps"]] == list(expected.token_ids)
    for step in first["steps"]:  # "top" lists the tokens that survived the filters
        assert 1 <= len(step["top"]) <= 5
        assert step["token_id"] in {c["token_id"] for c in step["top"]}
        assert sum(c["prob"] for c in step["top"]) == pytest.approx(1.0, abs=1e-4)


def test_generate_chat_several_sequences_and_text_output(capsys, llama):
    model, loaded = llama
    argv = ["generate", "--model", model, "--prompt", "你好", "--max-new-tokens", "4", "--chat"]
    code, out = run_json(capsys, *argv, "--seed", "1", "--num-return-sequences", "3")
    assert code == 0
    assert len(out["sequences"]) == 3 and out["text"] == out["sequences"][0]["text"]
    ids = build_prompt_ids(loaded.tokenizer, "你好", chat=True)
    settings = GenerationSettings(do_sample=True, seed=1, max_new_tokens=4, num_return_sequences=3)
    expected = generate(loaded, ids, settings)
    assert [s["text"] for s in out["sequences"]] == [s.text for s in expected.sequences]
    assert cli.main([*argv, "--num-beams", "2", "--num-return-sequences", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("[1] ") and "\n[2] " in printed


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--greedy", "--temperature", "0.5"], "--greedy"),
        (["--num-beams", "2", "--top-p", "0.9"], "Beam search"),
        (["--temperature", "0"], "temperature"),
        (["--max-new-tokens", "0"], "max_new_tokens"),
        (["--system", "be brief"], "--chat"),
        (["--num-return-sequences", "2"], "Greedy"),
    ],
)
def test_generate_bad_flags_are_clean_errors(capsys, llama, flags, words):
    model, _ = llama
    code = cli.main(["generate", "--json", "--model", model, "--prompt", "hi", *flags])
    captured = capsys.readouterr()
    assert code == 2
    error = json.loads(captured.out)
    assert error["type"] == "InputError" and words in error["error"]
    assert captured.err.startswith("error: ")


def test_prompts_file_runs_one_batch_each_result_as_alone(capsys, llama, tmp_path):
    model, loaded = llama
    prompts = [PROMPT, "Hello world!", "床前明月光，疑是地上霜。举头望明月"]
    file = tmp_path / "prompts.txt"
    file.write_text("\n".join([prompts[0], "", prompts[1], "  ", prompts[2]]), encoding="utf-8")
    flags = ["--max-new-tokens", "7", "--temperature", "0.9", "--seed", "3"]
    code, out = run_json(capsys, "generate", "--model", model, "--prompts-file", str(file), *flags)
    assert code == 0
    assert [r["prompt"] for r in out["results"]] == prompts  # blank lines skipped
    settings = GenerationSettings(do_sample=True, temperature=0.9, seed=3, max_new_tokens=7)
    for prompt, result in zip(prompts, out["results"], strict=True):
        alone = generate(loaded, build_prompt_ids(loaded.tokenizer, prompt), settings)
        assert [s["token_id"] for s in result["steps"]] == list(alone.token_ids)
        assert result["text"] == alone.text and result["finish_reason"] == alone.finish_reason
        np.testing.assert_allclose(
            [s["prob"] for s in result["steps"]], [s.prob_after for s in alone.steps], atol=1e-4
        )


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "No prompts file"),
        (b"\n  \n", "no prompts"),
        (b"\xff\xfe\x00h\x00i", "binary"),
        ("caf\u00e9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_prompts_files_are_clean_errors(capsys, llama, tmp_path, content, words):
    file = tmp_path / "prompts.txt"
    if content is not None:
        file.write_bytes(content)
    code = cli.main(["generate", "--json", "--model", llama[0], "--prompts-file", str(file)])
    assert code == 2
    assert words in json.loads(capsys.readouterr().out)["error"]


def test_prompt_and_prompts_file_together_are_refused(capsys, llama, tmp_path):
    file = tmp_path / "p.txt"
    file.write_text("hi\n", encoding="utf-8")
    argv = ["generate", "--json", "--model", llama[0], "--prompt", "x", "--prompts-file", str(file)]
    assert cli.main(argv) == 2
    assert "--prompts-file" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize("command", ["generate", "perplexity", "logit-lens"])
def test_missing_text_is_a_clean_error(capsys, llama, command):
    code = cli.main([command, "--json", "--model", llama[0]])
    assert code == 2
    assert json.loads(capsys.readouterr().out)["type"] == "InputError"


def test_perplexity_json_equals_direct_nll(capsys, llama):
    model, loaded = llama
    code, out = run_json(capsys, "perplexity", "--model", model, "--text", SEED_TEXT)
    assert code == 0 and set(out) == {"tokens", "nll", "perplexity"}
    # The tokenizer adds no start token, so "auto" puts the document separator first.
    ids = [0, *loaded.tokenizer(SEED_TEXT)["input_ids"]]
    assert out["tokens"] == [loaded.tokenizer.decode([i]) for i in ids]
    assert out["tokens"][0] == "<|endoftext|>"
    with torch.inference_mode():
        log_probs = loaded.model(input_ids=torch.tensor([ids])).logits[0, :-1].double()
    log_probs = log_probs.log_softmax(-1)
    direct = -log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()
    np.testing.assert_allclose(out["nll"], direct, atol=1e-5)
    assert out["perplexity"] == pytest.approx(math.exp(direct.mean()), rel=1e-5)
    assert cli.main(["perplexity", "--model", model, "--text", SEED_TEXT]) == 0
    assert capsys.readouterr().out.strip().endswith(f"perplexity {out['perplexity']:.3f}")
    args = ["--model", model, "--text", SEED_TEXT, "--start-token", "none"]
    code, bare = run_json(capsys, "perplexity", *args)
    assert code == 0 and bare["tokens"] == out["tokens"][1:]
    code, _ = run_json(capsys, "perplexity", *args[:-1], "<nope>")
    assert code == 2


def test_logit_lens_json_last_layer_is_the_model(capsys, llama):
    model, loaded = llama
    argv = ["logit-lens", "--model", model, "--text", SEED_TEXT, "--position", "2", "--k", "4"]
    code, out = run_json(capsys, *argv)
    assert code == 0 and out["position"] == 2
    assert len(out["layers"]) == loaded.description.n_layers + 1
    ids = [0, *loaded.tokenizer(SEED_TEXT)["input_ids"]]  # after the document separator
    assert out["tokens"][0] == "<|endoftext|>"
    with torch.inference_mode():
        probs = loaded.model(input_ids=torch.tensor([ids])).logits[0, 2].softmax(-1)
    top = torch.topk(probs, 4)
    last = out["layers"][-1]["top"]
    assert [c["token_id"] for c in last] == top.indices.tolist()
    np.testing.assert_allclose([c["prob"] for c in last], top.values.numpy(), atol=1e-5)
    for row in out["layers"]:
        probs_row = [c["prob"] for c in row["top"]]
        assert probs_row == sorted(probs_row, reverse=True) and row["entropy"] > 0
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("position 2: ")
    code = cli.main(["logit-lens", "--json", "--model", model, "--text", "hi", "--position", "99"])
    assert code == 2 and "position" in json.loads(capsys.readouterr().out)["error"]
