"""CLI commands that look at one text: ``tokenize`` and ``attention``."""

from __future__ import annotations

import argparse
from typing import Any


def _tokenize_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", required=True, help="text to tokenize")


def _tokenize_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.models.loading import load_tokenizer
    from llm_core.text.tokens import tokenize

    return tokenize(load_tokenizer(args.model), args.text).to_json()


# --reduce takes the engine's names (mean_heads, ...); the hyphenated spellings of the
# first version of this CLI still work.
OLD_SPELLINGS = {"mean-heads": "mean_heads", "mean-layers": "mean_layers"}


def _attention_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.attention.reductions import REDUCTIONS
    from llm_core.text.tokens import LEVELS

    reductions = [r for r in REDUCTIONS if r != "head"]
    parser.add_argument("--text", required=True, help="text to run the model on")
    parser.add_argument("--level", choices=LEVELS, default="token", help="aggregate to this level")
    parser.add_argument("--layer", type=int, help="layer index (0-based)")
    parser.add_argument("--head", type=int, help="head index (0-based)")
    parser.add_argument(
        "--reduce",
        choices=[*reductions, *OLD_SPELLINGS],
        help="a reduced matrix instead of one head (mean_heads needs --layer)",
    )


def _attention_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.attention.export import matrix_record
    from llm_core.attention.matrices import attention_matrix, check_view
    from llm_core.attention.trace import run_trace
    from llm_core.errors import InputError
    from llm_core.models.loading import load_model
    from llm_core.text.tokens import tokenize_with

    reduction = OLD_SPELLINGS.get(args.reduce, args.reduce) or "head"
    if reduction == "head" and (args.layer is None or args.head is None):
        raise InputError("Give --layer and --head, or --reduce mean_heads|mean_layers|rollout.")
    loaded = load_model(args.model)
    check_view(loaded, reduction, args.layer, args.head)  # before the model runs
    tokens = tokenize_with(loaded, args.text)
    trace = run_trace(loaded, tokens.ids)
    matrix = attention_matrix(loaded, trace, tokens, args.level, reduction, args.layer, args.head)
    return matrix_record(matrix, model=loaded.description.name, text=args.text)


COMMANDS = {
    "tokenize": ("tokens, characters and words of a text", _tokenize_args, _tokenize_run),
    "attention": (
        "attention of one head, or a reduction, as a matrix",
        _attention_args,
        _attention_run,
    ),
}
