"""Attention capture on the default model: the engine beside a bare Hugging Face forward.

For 128, 512 and 2,048 tokens of Tang poems, three ways, each in its own process:
  hf          model(ids, output_attentions=True): every layer's [head, T, T] at once
  one-layer   capture_attention(..., layers=[L]): one layer in full, the rest summarised
  all-layers  capture_attention(..., layers=all): every layer in full, plus summaries
Prints seconds (best of the repeats) and peak RSS, and the engine/HF ratios.

    .venv/bin/python benchmarks/attention_capture.py [--lengths 128 512 2048] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from isolation import ROOT, measure_in_subprocess

CORPUS = ROOT.parent / "shared" / "data" / "tang300.txt"
FALLBACK_CORPUS = ROOT / "assets" / "corpora" / "tang300.txt"
LAYER = 14


def _token_ids(loaded, n_tokens: int) -> list[int]:
    path = CORPUS if CORPUS.is_file() else FALLBACK_CORPUS
    ids = loaded.tokenizer(Path(path).read_text(encoding="utf-8"))["input_ids"]
    return ids[:n_tokens]


def run_case(mode: str, n_tokens: int, repeats: int) -> dict:
    import torch

    from llm_core.attention.capture import capture_attention
    from llm_core.models.loading import load_model

    torch.manual_seed(0)
    loaded = load_model("default")
    ids = _token_ids(loaded, n_tokens)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        if mode == "hf":
            with torch.inference_mode():
                out = loaded.model(torch.tensor([ids]), output_attentions=True)
            assert len(out.attentions) == loaded.description.n_layers
            del out
        else:
            layers = [LAYER] if mode == "one-layer" else list(range(loaded.description.n_layers))
            capture = capture_attention(loaded, ids, layers=layers)
            assert capture.head(LAYER, 0).shape == (n_tokens, n_tokens)
            del capture
        best = min(best, time.perf_counter() - started)
    return {"mode": mode, "n_tokens": len(ids), "seconds": best, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for n_tokens in args.lengths:
        for mode in ("hf", "one-layer", "all-layers"):
            result = measure_in_subprocess(
                "attention_capture:run_case", mode=mode, n_tokens=n_tokens, repeats=args.repeats
            )
            rows.append(result)
            print(
                f"{result['n_tokens']:>5} tokens  {mode:<11} {result['seconds']:8.2f} s"
                f"  peak RSS {result['peak_rss_mb']:7.0f} MB",
                flush=True,
            )
    print("\nengine / HF (time ratio, peak-RSS ratio):")
    by_key = {(r["n_tokens"], r["mode"]): r for r in rows}
    for n_tokens in sorted({r["n_tokens"] for r in rows}):
        hf = by_key[(n_tokens, "hf")]
        for mode in ("one-layer", "all-layers"):
            r = by_key[(n_tokens, mode)]
            print(
                f"{n_tokens:>5} tokens  {mode:<11} time x{r['seconds'] / hf['seconds']:.2f}"
                f"  memory x{r['peak_rss_mb'] / hf['peak_rss_mb']:.2f}"
            )


if __name__ == "__main__":
    main()
