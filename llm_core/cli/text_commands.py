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


REDUCTIONS = ("mean-heads", "mean-layers", "rollout")


def _attention_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.text.tokens import LEVELS

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
    from llm_core.attention.capture import capture_attention
    from llm_core.attention.reductions import aggregate
    from llm_core.errors import InputError
    from llm_core.models.loading import load_model
    from llm_core.text.tokens import tokenize

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


COMMANDS = {
    "tokenize": ("tokens, characters and words of a text", _tokenize_args, _tokenize_run),
    "attention": (
        "attention of one head, or a reduction, as a matrix",
        _attention_args,
        _attention_run,
    ),
}
