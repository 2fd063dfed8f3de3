"""Attention on the default model: the engine's trace beside plain Hugging Face forwards.

For 128, 512 and 2,048 tokens of Tang poems, side by side, each case in its own process
(so its peak RSS is its own):
  hf-sdpa      the model body with sdpa attention: the floor for one forward pass
  hf-eager     model(ids, output_attentions=True): every layer's [head, T, T] at once
  view-L       the engine's first view of layer L (0, 14, 29): run_trace + one head,
               then, from the same trace: another head of L, another layer (all 9 heads,
               what the head grid and the mean over heads read), and the overview
               statistics of every layer (summarize_attention)
Prints seconds (best of the repeats), peak RSS above the loaded model (psutil reads the
RSS once the model is loaded; the kernel's high-water mark, reset there, gives the
peak), and the ratios to the sdpa forward.

    .venv/bin/python benchmarks/attention_capture.py [--lengths 128 512 2048] [--repeats 2]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from isolation import ROOT, measure_in_subprocess

CORPUS = ROOT.parent / "shared" / "data" / "tang300.txt"
FALLBACK_CORPUS = ROOT / "assets" / "corpora" / "tang300.txt"
VIEW_LAYERS = (0, 14, 29)
HEAD = 2


def _token_ids(loaded, n_tokens: int) -> list[int]:
    path = CORPUS if CORPUS.is_file() else FALLBACK_CORPUS
    ids = loaded.tokenizer(Path(path).read_text(encoding="utf-8"))["input_ids"]
    return ids[:n_tokens]


def _reset_peak() -> None:
    """Start the kernel's RSS high-water mark (VmHWM) afresh: loading the model peaks
    higher than it settles, and that is not what the views cost."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _best(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def run_case(mode: str, n_tokens: int, repeats: int) -> dict:
    import psutil
    import torch

    from llm_core.attention.recompute import head_attention, layer_attention
    from llm_core.attention.summary import summarize_attention
    from llm_core.attention.trace import fused_attention, run_trace
    from llm_core.models.loading import load_model

    loaded = load_model("default")
    ids = _token_ids(loaded, n_tokens)
    with torch.inference_mode():  # weights load lazily (mmap): touch them all first
        loaded.model(torch.tensor([ids[:8]]), use_cache=False)
    loaded_mb = psutil.Process().memory_info().rss / 1024**2
    _reset_peak()
    result = {"mode": mode, "n_tokens": len(ids), "threads": torch.get_num_threads()}
    tensor = torch.tensor([ids])
    if mode == "hf-sdpa":

        def forward() -> None:
            with fused_attention(loaded.model), torch.inference_mode():
                loaded.model.base_model(input_ids=tensor, use_cache=False)

        result["seconds"] = _best(forward, repeats)
    elif mode == "hf-eager":

        def forward() -> None:
            with torch.inference_mode():
                out = loaded.model(tensor, output_attentions=True, use_cache=False)
            assert len(out.attentions) == loaded.description.n_layers

        result["seconds"] = _best(forward, repeats)
    else:
        layer = int(mode.split("-")[1])
        trace = None

        def first_view() -> None:
            nonlocal trace
            trace = run_trace(loaded, ids)
            head_attention(loaded, trace, layer, HEAD)

        result["seconds"] = _best(first_view, repeats)
        result["another_head_s"] = _best(
            lambda: head_attention(loaded, trace, layer, HEAD + 1), repeats
        )
        other = (layer + 7) % loaded.description.n_layers
        result["another_layer_s"] = _best(lambda: layer_attention(loaded, trace, other), repeats)
        # trace + one layer's weights, before the summary walks every layer
        result["trace_plus_layer_peak_mb"] = _peak_mb() - loaded_mb
        result["trace_mb"] = trace.nbytes / 1024**2
        if layer == VIEW_LAYERS[0]:  # the same for every layer: measure it once
            result["overview_s"] = _best(lambda: summarize_attention(loaded, trace), 1)
    result["peak_above_model_mb"] = _peak_mb() - loaded_mb
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    modes = ("hf-sdpa", "hf-eager", *(f"view-{layer}" for layer in VIEW_LAYERS))
    for n_tokens in args.lengths:
        rows = {}
        for mode in modes:
            rows[mode] = r = measure_in_subprocess(
                "attention_capture:run_case", mode=mode, n_tokens=n_tokens, repeats=args.repeats
            )
            ratio = r["seconds"] / rows["hf-sdpa"]["seconds"]
            extra = ""
            if mode.startswith("view"):
                extra = (
                    f"  another head {r['another_head_s']:.3f} s"
                    f"  another layer {r['another_layer_s']:.3f} s"
                    f"  trace {r['trace_mb']:.0f} MB, trace + layer peak "
                    f"+{r['trace_plus_layer_peak_mb']:.0f} MB"
                )
                if "overview_s" in r:
                    extra += f"  overview {r['overview_s']:.2f} s"
            print(
                f"{r['n_tokens']:>5} tokens  {mode:<9} {r['seconds']:7.2f} s  x{ratio:5.2f} sdpa"
                f"  peak +{r['peak_above_model_mb']:5.0f} MB{extra}",
                flush=True,
            )
        print(flush=True)


if __name__ == "__main__":
    main()
