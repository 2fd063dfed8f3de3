"""The command line: the same engine as the app, scriptable, JSON out.

    python -m llm_core models --json
    python -m llm_core prepare            # convert the default model once
    python -m llm_core <command> --model SPEC ...

Every subcommand takes ``--model SPEC`` (default: ``default``) and ``--json``.
Errors print one line to stderr (and ``{"error": ...}`` with ``--json``), exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from llm_core.default_model import DEFAULT_SPEC
from llm_core.errors import LLMCoreError

# name -> (help, function adding the command's own arguments, function running it)
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], Any]]


def _print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def _progress_printer() -> Callable[[float, str], None]:
    last: list[str] = [""]

    def report(fraction: float, message: str) -> None:
        if message != last[0] or fraction >= 1.0:  # one line per stage, not per chunk
            last[0] = message
            _print_progress(fraction, message)

    return report


# ---------------------------------------------------------------------------- commands


def _models_args(parser: argparse.ArgumentParser) -> None:
    return None


def _models_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.default_model import prepare_default_model
    from llm_core.models import describe_folder, list_models, load_model, resolve_spec

    prepare_default_model(_progress_printer())
    descriptions = list_models()
    if args.model != DEFAULT_SPEC:
        source = resolve_spec(args.model)
        if source.kind == "hub":
            extra = load_model(args.model).description
        else:
            from pathlib import Path

            extra = describe_folder(Path(source.location), source)
        if all(d.source != extra.source for d in descriptions):
            descriptions.append(extra)
    return {"models": [d.to_dict() for d in descriptions]}


def _models_text(result: dict[str, Any]) -> str:
    lines = []
    for m in result["models"]:
        lines.append(
            f"{m['name']}: {m['architecture']}, {m['n_layers']} layers, {m['n_heads']} heads "
            f"({m['n_kv_heads']} kv), d_model {m['d_model']}, vocab {m['vocab_size']}, "
            f"{m['n_params'] / 1e6:.1f}M parameters  [{m['source']}]"
        )
    return "\n".join(lines)


def _prepare_args(parser: argparse.ArgumentParser) -> None:
    return None


def _prepare_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.default_model import prepare_default_model, read_provenance

    folder = prepare_default_model(_progress_printer())
    return {"path": str(folder), "provenance": read_provenance(folder)}


def _tokenize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="text to tokenize")


def _tokenize_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.models import load_tokenizer
    from llm_core.tokens import tokenize

    return tokenize(load_tokenizer(args.model), args.text).to_json()


REDUCTIONS = ("mean-heads", "mean-layers", "rollout")


def _attention_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.tokens import LEVELS

    parser.add_argument("--text", required=True, help="text to run the model on")
    parser.add_argument("--level", choices=LEVELS, default="token", help="aggregate to this level")
    parser.add_argument("--layer", type=int, help="layer index (0-based)")
    parser.add_argument("--head", type=int, help="head index (0-based)")
    parser.add_argument(
        "--reduce",
        choices=REDUCTIONS,
        help="a reduced matrix instead of one head (mean-heads needs --layer)",
    )


def _attention_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.attention import aggregate, capture_attention
    from llm_core.errors import InputError
    from llm_core.models import load_model
    from llm_core.tokens import tokenize

    if args.reduce is None and (args.layer is None or args.head is None):
        raise InputError("Give --layer and --head, or --reduce mean-heads|mean-layers|rollout.")
    if args.reduce in ("mean-layers", "rollout") and args.layer is not None:
        raise InputError(f"--reduce {args.reduce} covers every layer: leave out --layer.")
    if args.reduce is not None and args.head is not None:
        raise InputError("--head selects one head; leave it out when using --reduce.")
    if args.reduce == "mean-heads" and args.layer is None:
        raise InputError("--reduce mean-heads averages the heads of one layer: give --layer.")
    loaded = load_model(args.model)
    tokenization = tokenize(loaded.tokenizer, args.text)
    keep = [args.layer] if args.reduce is None else []
    capture = capture_attention(loaded, tokenization.ids, layers=keep)
    if args.reduce is None:
        weights = capture.head(args.layer, args.head)
    elif args.reduce == "mean-heads":
        weights = capture.mean_heads[args.layer]
    elif args.reduce == "mean-layers":
        weights = capture.mean_layers()
    else:
        weights = capture.rollout
    groups = [group.tokens for group in tokenization.groups(args.level)]
    matrix = aggregate(weights.astype("float32"), groups)  # [query_group, key_group]
    return {
        "labels": [group.text for group in tokenization.groups(args.level)],
        "level": args.level,
        "layer": args.layer,
        "head": args.head,
        "reduce": args.reduce,
        "weights": [[round(float(v), 6) for v in row] for row in matrix],
    }


COMMANDS: dict[str, Command] = {
    "models": ("list known models with their sizes", _models_args, _models_run),
    "prepare": ("convert the default model to safetensors (once)", _prepare_args, _prepare_run),
    "tokenize": ("tokens, characters and words of a text", _tokenize_args, _tokenize_run),
    "attention": (
        "attention of one head, or a reduction, as a matrix",
        _attention_args,
        _attention_run,
    ),
}
TEXT_FORMATTERS: dict[str, Callable[[Any], str]] = {"models": _models_text}


# ---------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default=DEFAULT_SPEC, help="model spec (default: %(default)s)")
    common.add_argument("--json", action="store_true", help="print JSON")
    parser = argparse.ArgumentParser(prog="python -m llm_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_args, _run) in COMMANDS.items():
        add_args(sub.add_parser(name, parents=[common], help=help_text))
    return parser


def _quiet_transformers() -> None:
    """Progress bars and advisory warnings would interleave with our own output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_transformers()
    _help, _add, run = COMMANDS[args.command]
    try:
        result = run(args)
    except LLMCoreError as error:
        if args.json:
            print(json.dumps({"error": str(error), "type": type(error).__name__}))
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        formatter = TEXT_FORMATTERS.get(args.command)
        print(formatter(result) if formatter else json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
