"""CLI commands about the next token: ``generate``, ``perplexity`` and ``logit-lens``.

    python -m llm_core generate --prompt "The cat" --max-new-tokens 8 --greedy --json
    python -m llm_core generate --prompt "今天天气真好" --temperature 0.8 --top-p 0.9 --seed 1
    python -m llm_core generate --prompts-file prompts.txt --json   # one batch, one result each
    python -m llm_core perplexity --text "The cat sat on the mat" --json
    python -m llm_core logit-lens --text "The capital of France is" --position -1 --json

``--prompt`` and ``--text`` are checked when the command runs (not by argparse), so a
missing one is reported like every other bad input: one line, and ``{"error": ...}``
with ``--json``.
"""

from __future__ import annotations

import argparse
from typing import Any

SAMPLING_OPTIONS = ("temperature", "top_k", "top_p", "seed")
MAX_PROMPTS_PER_FILE = 256
MAX_PROMPTS_FILE_BYTES = 2 * 2**20


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", help="text for the model to continue")
    parser.add_argument(
        "--prompts-file",
        help="a UTF-8 file of prompts, one per line (blank lines skipped): generated as one "
        "batch, one result per prompt, each the same as the prompt alone",
    )
    parser.add_argument("--max-new-tokens", type=int, default=32, help="default: %(default)s")
    parser.add_argument(
        "--greedy", action="store_true", help="always the most likely token (the default)"
    )
    parser.add_argument("--temperature", type=float, help="sample at this temperature (> 0)")
    parser.add_argument("--top-k", type=int, help="sample from the k most likely tokens")
    parser.add_argument("--top-p", type=float, help="sample from the nucleus holding this mass")
    parser.add_argument("--seed", type=int, help="sampling seed (default 0)")
    parser.add_argument("--num-beams", type=int, default=1, help="beam search with n beams")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, help="1.0 = off")
    parser.add_argument(
        "--num-return-sequences", type=int, default=1, help="samples or best beams to return"
    )
    parser.add_argument(
        "--stop", action="append", default=[], help="stop string (repeat for several)"
    )
    parser.add_argument("--alternatives", type=int, default=10, help="top tokens kept per step")
    parser.add_argument("--chat", action="store_true", help="wrap the prompt in the chat template")
    parser.add_argument("--system", help="system message (with --chat)")


def settings_from_args(args: argparse.Namespace) -> Any:
    """The ``GenerationSettings`` the flags ask for; ``InputError`` for a bad combination."""
    from llm_core.errors import InputError
    from llm_core.generation.sampling import GenerationSettings

    given = [name for name in SAMPLING_OPTIONS if getattr(args, name) is not None]
    if args.greedy and given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise InputError(f"--greedy takes no sampling options; drop {flags} or drop --greedy.")
    if given and args.num_beams > 1:
        raise InputError("Beam search (--num-beams) does not sample: drop the sampling options.")
    if args.system is not None and not args.chat:
        raise InputError("--system needs --chat (a raw prompt has no system message).")
    options: dict[str, Any] = {"do_sample": bool(given)}
    options.update({name: getattr(args, name) for name in given})
    return GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        num_beams=args.num_beams,
        repetition_penalty=args.repetition_penalty,
        num_return_sequences=args.num_return_sequences,
        stop_strings=tuple(args.stop),
        n_alternatives=args.alternatives,
        **options,
    ).validate()


def _generate_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.errors import InputError
    from llm_core.generation.generate import build_prompt_ids, generate
    from llm_core.models.loading import load_model

    if (args.prompt is None) == (args.prompts_file is None):
        raise InputError("Give the text to continue with --prompt, or a file with --prompts-file.")
    settings = settings_from_args(args)
    prompts = read_prompts(args.prompts_file) if args.prompts_file else [args.prompt]
    loaded = load_model(args.model)
    ids = [
        build_prompt_ids(loaded.tokenizer, p, chat=args.chat, system=args.system) for p in prompts
    ]
    if args.prompts_file is None:
        return _result_json(generate(loaded, ids[0], settings))
    from llm_core.serving.worker import generate_many

    results = generate_many(loaded, ids, settings)
    return {
        "results": [
            {"prompt": prompt, **_result_json(result)}
            for prompt, result in zip(prompts, results, strict=True)
        ]
    }


def _result_json(result: Any) -> dict[str, Any]:
    output = result.to_json()
    output["finish_reason"] = result.finish_reason
    if len(result.sequences) > 1:
        output["sequences"] = [
            {**sequence.to_json(), "finish_reason": sequence.finish_reason, "score": sequence.score}
            for sequence in result.sequences
        ]
    return output


def read_prompts(path: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file; ``InputError`` for a missing, binary,
    badly encoded, empty or oversized file."""
    from pathlib import Path

    from llm_core.errors import InputError

    file = Path(path)
    if not file.is_file():
        raise InputError(f"No prompts file at {path}: give a text file, one prompt per line.")
    if file.stat().st_size > MAX_PROMPTS_FILE_BYTES:
        raise InputError(f"{path} is over {MAX_PROMPTS_FILE_BYTES // 2**20} MB; split it.")
    data = file.read_bytes()
    if b"\0" in data:
        raise InputError(f"{path} looks binary: give a UTF-8 text file, one prompt per line.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 ({error.reason}): save it as UTF-8.") from error
    prompts = [line for line in text.splitlines() if line.strip()]
    if not prompts:
        raise InputError(f"{path} has no prompts: write one prompt per line.")
    if len(prompts) > MAX_PROMPTS_PER_FILE:
        raise InputError(
            f"{path} has {len(prompts)} prompts; at most {MAX_PROMPTS_PER_FILE} per run. "
            "Split the file."
        )
    return prompts


def _generate_text(result: dict[str, Any]) -> str:
    if "results" in result:
        return "\n".join(f"[{i + 1}] {r['text']}" for i, r in enumerate(result["results"]))
    sequences = result.get("sequences", [result])
    if len(sequences) == 1:
        return result["text"]
    return "\n".join(f"[{i + 1}] {sequence['text']}" for i, sequence in enumerate(sequences))


def _start_token_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start-token",
        default="auto",
        help="token put before the text, as on the Perplexity page: 'auto' (the model's "
        "document separator, when its tokenizer adds none), 'none', or a token",
    )


def _text_ids(loaded: Any, args: argparse.Namespace) -> list[int]:
    """The text's ids after the start token that ``--start-token`` names."""
    from llm_core.generation.perplexity import start_token_of, text_ids_after

    start = {"auto": start_token_of(loaded), "none": None}.get(args.start_token, args.start_token)
    return text_ids_after(loaded, args.text, start)


def _perplexity_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", help="text to score (required)")
    _start_token_arg(parser)


def _perplexity_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.errors import InputError
    from llm_core.generation.perplexity import perplexity
    from llm_core.models.loading import load_model

    if args.text is None:
        raise InputError("Give the text to score with --text.")
    loaded = load_model(args.model)
    return perplexity(loaded, _text_ids(loaded, args)).to_json()


def _perplexity_text(result: dict[str, Any]) -> str:
    lines = [f"{repr(result['tokens'][0]):>16}  (first token: no prediction)"]
    for token, nll in zip(result["tokens"][1:], result["nll"], strict=True):
        lines.append(f"{repr(token):>16}  {nll:7.3f} nats")
    lines.append(f"perplexity {result['perplexity']:.3f}")
    return "\n".join(lines)


def _lens_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", help="text to read (required)")
    parser.add_argument(
        "--position", type=int, default=-1, help="token position (negative from the end)"
    )
    parser.add_argument("--k", type=int, default=5, help="top tokens per layer (default 5)")
    _start_token_arg(parser)


def _lens_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.errors import InputError
    from llm_core.generation.logit_lens import logit_lens
    from llm_core.models.loading import load_model

    if args.text is None:
        raise InputError("Give the text to read with --text.")
    loaded = load_model(args.model)
    lens = logit_lens(loaded, _text_ids(loaded, args), position=args.position, k=args.k)
    decode = loaded.tokenizer.decode
    return {
        "tokens": [decode([token_id]) for token_id in lens.token_ids],
        "position": lens.position,
        "layers": [
            {
                "layer": layer,  # 0 = embeddings, i = after block i - 1
                "entropy": float(lens.entropy[layer]),
                "top": [
                    {"token_id": int(token_id), "token": token, "prob": float(prob)}
                    for token_id, token, prob in zip(
                        lens.top_ids[layer],
                        lens.top_tokens[layer],
                        lens.top_probs[layer],
                        strict=True,
                    )
                ],
            }
            for layer in range(lens.n_layers + 1)
        ],
    }


def _lens_text(result: dict[str, Any]) -> str:
    lines = [f"position {result['position']}: {result['tokens'][result['position']]!r}"]
    for row in result["layers"]:
        top = "  ".join(f"{c['token']!r} {c['prob']:.2f}" for c in row["top"])
        lines.append(f"layer {row['layer']:>3}  {top}")
    return "\n".join(lines)


COMMANDS = {
    "generate": (
        "generate text with per-step probabilities and alternatives",
        _generate_args,
        _generate_run,
    ),
    "perplexity": (
        "per-token surprisal and the perplexity of a text",
        _perplexity_args,
        _perplexity_run,
    ),
    "logit-lens": (
        "top next-token predictions read from every layer at one position",
        _lens_args,
        _lens_run,
    ),
}
TEXT_FORMATTERS = {
    "generate": _generate_text,
    "perplexity": _perplexity_text,
    "logit-lens": _lens_text,
}
