"""CLI commands about models themselves: ``models`` (list and describe) and ``prepare``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from llm_core.cli.progress import progress_printer
from llm_core.models.default_model import DEFAULT_SPEC


def _models_args(parser: argparse.ArgumentParser) -> None:
    return None


def _models_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.models.default_model import prepare_default_model
    from llm_core.models.description import describe_folder, list_models
    from llm_core.models.loading import load_model
    from llm_core.models.specs import resolve_spec

    prepare_default_model(progress_printer())
    descriptions = list_models()
    if args.model != DEFAULT_SPEC:
        source = resolve_spec(args.model)
        if source.kind == "hub":
            extra = load_model(args.model).description
        else:
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
    from llm_core.models.default_model import prepare_default_model, read_provenance

    folder = prepare_default_model(progress_printer())
    return {"path": str(folder), "provenance": read_provenance(folder)}


COMMANDS = {
    "models": ("list known models with their sizes", _models_args, _models_run),
    "prepare": ("convert the default model to safetensors (once)", _prepare_args, _prepare_run),
}
TEXT_FORMATTERS = {"models": _models_text}
