"""CLI commands past attention: ``attribute``, ``patch`` and ``compare``.

    python -m llm_core attribute --text "我爱吃苹果" --method integrated-gradients --level word --json
    python -m llm_core attribute --text "The capital of France is" --target " Paris" --method occlusion
    python -m llm_core patch --clean "The capital of France is" --corrupt "The capital of Italy is" \\
        --target " Paris" --component residual --json
    python -m llm_core compare --model default --other outputs/finetune/my-run --text "床前明月光" --json

Prompts are read after the model's document start token, as on the pages. ``--target``
is a text whose first token (as the tokenizer encodes it) is explained; without it, the
model's most likely next token.
"""

from __future__ import annotations

import argparse
from typing import Any


def _prompt(loaded: Any, text: str | None, flag: str) -> Any:
    from llm_core.errors import InputError
    from llm_core.generation.perplexity import start_token_of
    from llm_core.interpret.prompts import prepare_prompt

    if text is None:
        raise InputError(f"Give the prompt with {flag}.")
    return prepare_prompt(loaded, text, start_token_of(loaded))


def _attribute_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.interpret.attribution import DEFAULT_STEPS, METHODS

    parser.add_argument("--text", help="the prompt")
    parser.add_argument("--target", help="token text to explain (default: the top next token)")
    parser.add_argument("--method", choices=METHODS, default="integrated-gradients")
    parser.add_argument("--level", choices=("token", "character", "word"), default="token")
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help="integrated gradients' starting steps"
    )


def _attribute_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.interpret.attribution import attribute
    from llm_core.models.loading import load_model

    loaded = load_model(args.model)
    prompt = _prompt(loaded, args.text, "--text")
    return attribute(loaded, prompt, args.target, args.method, args.steps).to_json(args.level)


def _format_attribution(result: dict[str, Any]) -> str:
    target = result["target"]
    lines = [f"{result['method']}: why {target['text']!r} (log p = {target['logp']:.3f})"]
    width = max((len(label) for label in result["labels"]), default=0)
    for label, score in zip(result["labels"], result["scores"], strict=True):
        bar = ("+" if score > 0 else "-") * min(40, round(abs(score) * 4))
        lines.append(f"  {label:<{width}}  {score:+8.3f}  {bar}")
    if "completeness" in result:
        check = result["completeness"]
        lines.append(
            f"completeness: scores sum to {check['sum']:.3f}, expected {check['expected']:.3f} "
            f"({result['steps']} steps)"
        )
    return "\n".join(lines)


def _patch_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.interpret.patching import COMPONENTS

    parser.add_argument("--clean", help="the clean prompt")
    parser.add_argument("--corrupt", help="the corrupted prompt, of the same token length")
    parser.add_argument("--target", help="token text (default: the clean prompt's top token)")
    parser.add_argument("--component", choices=COMPONENTS, default="residual")


def _patch_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.interpret.patching import patch
    from llm_core.models.loading import load_model

    loaded = load_model(args.model)
    clean = _prompt(loaded, args.clean, "--clean")
    corrupt = _prompt(loaded, args.corrupt, "--corrupt")
    return patch(loaded, clean, corrupt, args.target, args.component).to_json()


def _format_patching(result: dict[str, Any]) -> str:
    labels = result["labels"]
    lines = [
        f"{result['component']}: p({result['target']['text']!r}) clean {result['p_clean']:.4f}, "
        f"corrupt {result['p_corrupt']:.4f}; effect per layer (rows) and position (columns)",
        "layer " + " ".join(f"{label[:7]:>7}" for label in labels),
    ]
    for layer, row in enumerate(result["effect"]):
        lines.append(f"{layer:>5} " + " ".join(f"{value:7.2f}" for value in row))
    return "\n".join(lines)


def _compare_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--other", help="the second model's spec (default, a folder, a hub id)")
    parser.add_argument("--text", help="the text both models read")
    parser.add_argument("--layer", type=int, help="with --head: attention difference of this head")
    parser.add_argument("--head", type=int, help="head index (with --layer)")
    parser.add_argument("--continuation-tokens", type=int, default=16, help="default: %(default)s")


def _compare_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.errors import InputError
    from llm_core.interpret.comparison import compare
    from llm_core.models.loading import load_model

    if not args.other:
        raise InputError("Give the second model with --other (e.g. --other default).")
    if args.text is None:
        raise InputError("Give the text both models read with --text.")
    if (args.layer is None) != (args.head is None):
        raise InputError("--layer and --head go together.")
    if not 1 <= args.continuation_tokens <= 256:
        raise InputError("--continuation-tokens takes 1 to 256.")
    a = load_model(args.model)
    b = a if args.other == args.model else load_model(args.other)
    head = None if args.layer is None else (args.layer, args.head)
    names = (args.model, args.other)
    return compare(a, b, args.text, head, names, args.continuation_tokens).to_json()


def _format_comparison(result: dict[str, Any]) -> str:
    a, b = result["models"]
    lines = [f"surprisal per {result['basis'][:-1]} (nats): {a} | {b} | difference"]
    for label, sa, sb, d in zip(
        result["labels"], *result["surprisal"], result["difference"], strict=True
    ):
        lines.append(f"  {label!r:<14} {sa:7.3f} {sb:7.3f} {d:+7.3f}")
    if result["top1_agreement"] is not None:
        lines.append(
            f"top-1 agreement {result['top1_agreement']:.2%}, mean KL {result['mean_kl']:.4f}"
        )
    lines += [f"{a} continues: {result['continuations'][0]!r}"]
    lines += [f"{b} continues: {result['continuations'][1]!r}", *result["notes"]]
    return "\n".join(lines)


COMMANDS = {
    "attribute": (
        "which prompt tokens made the model say a token",
        _attribute_args,
        _attribute_run,
    ),
    "patch": (
        "activation patching: where a fact lives, layer by position",
        _patch_args,
        _patch_run,
    ),
    "compare": ("two models on one text: surprisal, agreement, KL", _compare_args, _compare_run),
}
TEXT_FORMATTERS = {
    "attribute": _format_attribution,
    "patch": _format_patching,
    "compare": _format_comparison,
}
