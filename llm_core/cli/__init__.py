"""The command line: the same engine as the app, scriptable, JSON out.

    python -m llm_core models --json
    python -m llm_core prepare            # convert the default model once
    python -m llm_core <command> --model SPEC ...

Every subcommand takes ``--model SPEC`` (default: ``default``) and ``--json``.
Errors print one line to stderr (and ``{"error": ...}`` with ``--json``), exit code 2.

Each capability keeps its commands in a module of its own here, which defines
``COMMANDS: {name: (help, add_arguments, run)}`` and optionally ``TEXT_FORMATTERS``;
``run(args)`` returns a JSON-serialisable result or raises ``LLMCoreError``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from llm_core.cli import (
    compress_commands,
    finetune_commands,
    generation_commands,
    interpret_commands,
    model_commands,
    text_commands,
)
from llm_core.errors import LLMCoreError
from llm_core.models.default_model import DEFAULT_SPEC

# name -> (help, function adding the command's own arguments, function running it)
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], Any]]

COMMAND_MODULES = (
    model_commands,
    text_commands,
    generation_commands,
    finetune_commands,
    compress_commands,
    interpret_commands,
)
COMMANDS: dict[str, Command] = {}
TEXT_FORMATTERS: dict[str, Callable[[Any], str]] = {}
for _module in COMMAND_MODULES:
    COMMANDS.update(_module.COMMANDS)
    TEXT_FORMATTERS.update(getattr(_module, "TEXT_FORMATTERS", {}))


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
