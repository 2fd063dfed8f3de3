"""CLI command ``compress``: int8, bf16, pruning or distillation, measured against the
original model on held-out text.

    python -m llm_core compress --method int8 --json
    python -m llm_core compress --method prune --sparsity 0.5 --out smol-pruned-50 --json
    python -m llm_core compress --method prune --sweep 0 0.3 0.5 0.7 0.9 --json
    python -m llm_core compress --method distill --steps 40 --corpus poems.txt --json

``--corpus`` defaults to the bundled Tang poems. ``--out`` saves the compressed model: a
bare name goes to the outputs folder (and then shows in every page's model picker), a
path is used as given. Progress lines go to stderr; the JSON result to stdout.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_CORPUS = "tang300"


def _compress_args(parser: argparse.ArgumentParser) -> None:
    from llm_core.compression.metrics import DEFAULT_EVAL_TOKENS, DEFAULT_SAMPLE_TOKENS
    from llm_core.compression.pruning import SCOPES
    from llm_core.compression.run import METHODS

    parser.add_argument("--method", required=True, choices=METHODS, help="what to do")
    parser.add_argument(
        "--sparsity", type=float, default=0.5, help="prune: share of weights zeroed"
    )
    parser.add_argument(
        "--scope", choices=SCOPES, default="global", help="prune: global or per layer"
    )
    parser.add_argument(
        "--sweep", type=float, nargs="+", help="prune: measure each of these sparsities instead"
    )
    parser.add_argument(
        "--head-fraction", type=float, default=0.2, help="heads: share of attention heads removed"
    )
    parser.add_argument(
        "--plain-int8",
        action="store_true",
        help="int8: torch's quantize_dynamic on every layer, no outlier handling",
    )
    parser.add_argument(
        "--corpus", default=DEFAULT_CORPUS, help="text file, or a bundled sample's name"
    )
    parser.add_argument("--text-field", help="the JSONL field / CSV column holding the text")
    parser.add_argument("--eval-tokens", type=int, default=DEFAULT_EVAL_TOKENS)
    parser.add_argument("--sample-tokens", type=int, default=DEFAULT_SAMPLE_TOKENS)
    parser.add_argument("--prompt", default="", help="sample prompt (default: a held-out line)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=40, help="distill: training steps")
    parser.add_argument("--student-layers", type=int, help="distill: default half the teacher's")
    parser.add_argument("--width-factor", type=float, default=1.0, help="distill: narrower student")
    parser.add_argument(
        "--temperature", type=float, default=2.0, help="distill: softmax temperature"
    )
    parser.add_argument("--alpha", type=float, default=0.5, help="distill: weight of the KL term")
    parser.add_argument("--out", help="save the compressed model: an output name or a folder")


def _compress_run(args: argparse.Namespace) -> dict[str, Any]:
    from llm_core.cli.progress import print_progress
    from llm_core.compression.distillation import DistillSettings
    from llm_core.compression.run import CompressionRequest, run_compression, save_compressed
    from llm_core.errors import InputError
    from llm_core.jobs import Job
    from llm_core.models.loading import load_model
    from llm_core.models.outputs import check_free, resolve_out
    from llm_core.text.corpus import load_corpus

    distill = None
    if args.method == "distill":
        distill = DistillSettings(
            student_layers=args.student_layers,
            width_factor=args.width_factor,
            steps=args.steps,
            temperature=args.temperature,
            alpha=args.alpha,
            seed=args.seed,
        )
    request = CompressionRequest(
        method=args.method,
        sparsity=args.sparsity,
        scope=args.scope,
        head_fraction=args.head_fraction,
        keep_outliers=not args.plain_int8,
        eval_tokens=args.eval_tokens,
        seed=args.seed,
        sample_prompt=args.prompt,
        sample_tokens=args.sample_tokens,
        distill=distill,
    ).validate()
    if args.sweep and (args.method != "prune" or args.out):
        raise InputError("--sweep measures pruning only (--method prune) and saves nothing.")
    target = resolve_out(args.out) if args.out else None
    if target is not None:
        check_free(target)
    corpus = load_corpus(args.corpus, args.text_field)
    reference = load_model(args.model)

    def report(progress: Any) -> None:
        print_progress(progress.fraction, progress.stage_text)

    if args.sweep:
        from llm_core.compression.sweep import run_sweep

        work = lambda job: run_sweep(job, reference, corpus, args.sweep, request)  # noqa: E731
        return Job("compress", "sparsity sweep", work, listener=report).run().to_json()
    work = lambda job: run_compression(job, reference, corpus, request, args.model)  # noqa: E731
    result = Job("compress", args.method, work, listener=report).run()
    if target is not None:
        save_compressed(result, target)
    return result.to_json()


def _format(result: dict[str, Any]) -> str:
    if "points" in result:
        lines = ["sparsity  achieved  perplexity  top-1   tokens/s"]
        for p in result["points"]:
            lines.append(
                f"{p['requested']:8.0%}  {p['achieved']:8.2%}  {p['perplexity']:10.2f}  "
                f"{p['top1_agreement']:5.3f}  {p['tokens_per_s']:8.1f}"
            )
        return "\n".join(lines)
    rows = [
        ("size (bytes)", result["size_bytes_before"], result["size_bytes_after"]),
        ("perplexity", result["perplexity_before"], result["perplexity_after"]),
        ("tokens/s", result["tokens_per_s_before"], result["tokens_per_s_after"]),
    ]
    lines = [f"{'':14}{'before':>14}{'after':>14}"]
    lines += [f"{name:14}{before:14,.2f}{after:14,.2f}" for name, before, after in rows]
    lines.append(f"top-1 agreement {result['top1_agreement']:.3f}")
    lines.append(f"KL divergence   {result['kl_divergence']:.4f} nats")
    if "sparsity" in result:
        lines.append(f"sparsity        {result['sparsity']:.4%}")
    if result.get("output"):
        lines.append(f"saved to        {result['output']}")
    return "\n".join(lines)


COMMANDS = {
    "compress": (
        "int8 / bf16 / pruning / distillation, measured against the original",
        _compress_args,
        _compress_run,
    ),
}
TEXT_FORMATTERS = {"compress": _format}
