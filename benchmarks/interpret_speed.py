"""Attribution and activation patching on the default model: seconds and peak memory.

For prompts of about 8, 32 and 128 tokens ending in "The capital of France is" (the
corrupted prompt says Italy), each case in its own process (so its peak RSS is its own):
  gradient-x-input, integrated-gradients (32 starting steps; the steps it took are
  printed), occlusion                 attribution of the top next token
  patch-residual, patch-attention, patch-mlp   every layer x every text position
Prints seconds (best of the repeats) and the peak RSS above the loaded model. Patching
refuses prompts over ``MAX_PATCH_TOKENS`` (its cost grows as tokens squared), so the
128-token case prints that instead.

    .venv/bin/python benchmarks/interpret_speed.py [--lengths 8 32 128] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time

from attention_capture import _peak_mb, _reset_peak
from isolation import measure_in_subprocess

FACT = "The capital of France is"
FILLER = (
    "On a quiet morning we walked along the river and talked about the old town, its "
    "markets, its bridges and the long history of the region."
)
FILLER_WORDS = FILLER.split()
CASES = (
    "gradient-x-input",
    "integrated-gradients",
    "occlusion",
    "patch-residual",
    "patch-attention",
    "patch-mlp",
)


def prompts(loaded, n_tokens: int) -> tuple[str, str]:
    """A clean and a corrupted prompt of about ``n_tokens`` tokens with the start token
    (filler words, then the fact)."""
    words: list[str] = []
    while True:
        longer = " ".join([*words, FILLER_WORDS[len(words) % len(FILLER_WORDS)], FACT])
        if len(loaded.tokenizer(longer)["input_ids"]) + 1 > n_tokens:
            break
        words.append(FILLER_WORDS[len(words) % len(FILLER_WORDS)])
    text = " ".join([*words, FACT])
    return text, text.replace("France", "Italy")


def run_case(case: str, n_tokens: int, repeats: int) -> dict:
    import psutil
    import torch

    from llm_core.generation.perplexity import start_token_of
    from llm_core.interpret.attribution import attribute
    from llm_core.interpret.patching import MAX_PATCH_TOKENS, patch
    from llm_core.interpret.prompts import prepare_prompt
    from llm_core.models.loading import load_model

    loaded = load_model("default")
    start = start_token_of(loaded)
    clean_text, corrupt_text = prompts(loaded, n_tokens)
    clean = prepare_prompt(loaded, clean_text, start)
    corrupt = prepare_prompt(loaded, corrupt_text, start)
    with torch.inference_mode():  # weights load lazily (mmap): touch them all first
        loaded.model(torch.tensor([clean.ids[:8]]), use_cache=False)
    loaded_mb = psutil.Process().memory_info().rss / 1024**2
    _reset_peak()
    result: dict = {"case": case, "n_tokens": len(clean.ids), "threads": torch.get_num_threads()}
    best = float("inf")
    if case.startswith("patch-") and len(clean.tokenization.ids) > MAX_PATCH_TOKENS:
        result["refused"] = f"over MAX_PATCH_TOKENS = {MAX_PATCH_TOKENS}"
        return result
    for _ in range(repeats):
        began = time.perf_counter()
        if case.startswith("patch-"):
            done = patch(loaded, clean, corrupt, " Paris", case.removeprefix("patch-"))
            result["runs"] = int(done.effect.size)
        else:
            done = attribute(loaded, clean, None, case)
            result["steps"] = done.steps
            if done.completeness is not None:
                result["gap"] = done.completeness.gap
        best = min(best, time.perf_counter() - began)
    result["seconds"] = best
    result["peak_above_model_mb"] = _peak_mb() - loaded_mb
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    for n_tokens in args.lengths:
        for case in CASES:
            r = measure_in_subprocess(
                "interpret_speed:run_case", case=case, n_tokens=n_tokens, repeats=args.repeats
            )
            if "refused" in r:
                print(f"{r['n_tokens']:>4} tokens  {case:<21} refused: {r['refused']}", flush=True)
                continue
            extra = ""
            if r.get("steps"):
                extra = f"  {r['steps']} steps, completeness gap {r['gap']:.1%}"
            if r.get("runs"):
                extra = f"  {r['runs']} patched runs"
            print(
                f"{r['n_tokens']:>4} tokens  {case:<21} {r['seconds']:7.2f} s"
                f"  peak +{r['peak_above_model_mb']:5.0f} MB{extra}",
                flush=True,
            )
        print(flush=True)


if __name__ == "__main__":
    main()
