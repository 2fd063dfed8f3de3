"""The compression table for the default model on the Tang poems' validation split.

int8, bf16 and magnitude pruning at 30 / 50 / 70 % (global), each measured against the
uncompressed model on the same held-out blocks, prompt and seed, in one run:

    .venv/bin/python benchmarks/compression_table.py [--eval-tokens 4096] [--json]

Validation tokens are capped at ``EVAL_TOKENS`` (blocks spread over the whole split, about
5,800 tokens in all): two models read every block, about 1 s per 256 tokens per model on
2 CPU cores. Speeds are generation of ``SAMPLE_TOKENS`` sampled tokens after a short
prompt (prompt processing included), so they are noisy on a shared machine: rerun on a
quiet one before quoting them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "tang300.txt"
EVAL_TOKENS = 4096
SAMPLE_TOKENS = 32
PROMPT = "The cat sat on the mat"  # an English prompt: SmolLM2 writes little Chinese
VARIANTS = (("int8", {}), ("bf16", {}), *(("prune", {"sparsity": s}) for s in (0.3, 0.5, 0.7)))


def _ppl(value: float) -> str:
    """Perplexity in a fixed-width cell: plain up to a million, scientific beyond."""
    return f"{value:,.3f}" if value < 1e6 else f"{value:.3e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval-tokens", type=int, default=EVAL_TOKENS)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from llm_core.compression.run import CompressionRequest, run_compression
    from llm_core.jobs import Job
    from llm_core.models.loading import load_model
    from llm_core.text.corpus import load_corpus

    hf_logging.set_verbosity_error()
    corpus = load_corpus(CORPUS if CORPUS.is_file() else "tang300")
    reference = load_model("default")
    rows = []
    for method, options in VARIANTS:
        request = CompressionRequest(
            method=method,
            eval_tokens=args.eval_tokens,
            sample_prompt=PROMPT,
            sample_tokens=SAMPLE_TOKENS,
            **options,
        )
        started = time.perf_counter()
        result = Job(
            "compress", method, lambda job, r=request: run_compression(job, reference, corpus, r)
        ).run()
        row = result.to_json()
        row["label"] = method if method != "prune" else f"prune {options['sparsity']:.0%}"
        row["sparsity"] = result.size_after.linear_sparsity
        row["seconds"] = time.perf_counter() - started
        rows.append(row)
        result.release()
        print(f"  {row['label']}: done in {row['seconds']:.0f} s", flush=True)
    first = rows[0]
    print(
        f"\nSmolLM2-135M-Instruct, Tang poems validation ({first['n_eval_tokens']:,} predicted "
        f"positions), sampling {SAMPLE_TOKENS} tokens after {PROMPT!r}\n"
    )
    header = (
        f"{'variant':<11}{'size MB':>9}{'linear MB':>11}{'perplexity':>14}{'top-1':>8}"
        f"{'KL nats':>9}{'tokens/s':>10}{'sparsity':>10}"
    )
    print(header)
    print("-" * len(header))
    mb = 2**20
    print(
        f"{'float32':<11}{first['size_bytes_before'] / mb:>9.1f}"
        f"{first['linear_weight_bytes_before'] / mb:>11.1f}{_ppl(first['perplexity_before']):>14}"
        f"{1.0:>8.3f}{0.0:>9.4f}{first['tokens_per_s_before']:>10.1f}{'':>10}"
    )
    for row in rows:
        print(
            f"{row['label']:<11}{row['size_bytes_after'] / mb:>9.1f}"
            f"{row['linear_weight_bytes_after'] / mb:>11.1f}{_ppl(row['perplexity_after']):>14}"
            f"{row['top1_agreement']:>8.3f}{row['kl_divergence']:>9.4f}"
            f"{row['tokens_per_s_after']:>10.1f}{row['sparsity']:>10.2%}"
        )
    print("\ntokens/s of the float32 model in each run (noise check):")
    print("  " + ", ".join(f"{row['tokens_per_s_before']:.1f}" for row in rows))
    if args.json:
        keep = [k for k in rows[0] if k not in ("sample_before", "sample_after", "details")]
        print(json.dumps([{k: row[k] for k in keep} for row in rows], ensure_ascii=False))


if __name__ == "__main__":
    main()
