"""Generation speed on the default model: plain Hugging Face ``generate`` beside the
engine's observed generation, in the same process, on the same prompt.

  hf              model.generate(greedy, 64 new tokens): token ids only
  engine          generate(...): per-step probabilities, rank, entropy, top-10 before and
                  after the filters, and every layer's attention row from the cached step
  engine-no-attn  the same without attention capture (for reference)

Both sides ignore EOS so each makes exactly the same 64 tokens (checked). Prints tokens/s
(best of the repeats, the order alternating) and engine/HF; the aim is engine >= 0.9 x HF.

    .venv/bin/python benchmarks/generation_speed.py [--new-tokens 64] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import time

PROMPT = "Once upon a time, there was a little robot who"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    from llm_core.generation.generate import build_prompt_ids, generate
    from llm_core.generation.sampling import GenerationSettings
    from llm_core.models.loading import load_model

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    loaded = load_model("default")
    ids = build_prompt_ids(loaded.tokenizer, PROMPT)
    n = args.new_tokens

    def run_hf() -> list[int]:
        with torch.inference_mode():
            output = loaded.model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False,
                max_new_tokens=n,
                min_new_tokens=0,
                eos_token_id=None,
                pad_token_id=loaded.tokenizer.pad_token_id,
            )
        return output[0, len(ids) :].tolist()

    def engine(capture: bool):
        settings = GenerationSettings(
            max_new_tokens=n, stop_at_eos=False, capture_attention=capture
        )
        return lambda: list(generate(loaded, ids, settings).token_ids)

    cases = {"hf": run_hf, "engine": engine(True), "engine-no-attn": engine(False)}
    outputs = {name: case() for name, case in cases.items()}  # warm-up, and the same tokens
    assert len(outputs["hf"]) == n and all(out == outputs["hf"] for out in outputs.values())
    best = dict.fromkeys(cases, float("inf"))
    for repeat in range(args.repeats):
        order = list(cases) if repeat % 2 == 0 else list(reversed(cases))
        for name in order:
            started = time.perf_counter()
            cases[name]()
            best[name] = min(best[name], time.perf_counter() - started)
    print(
        f"default model, prompt of {len(ids)} tokens, {n} new tokens (greedy), "
        f"{torch.get_num_threads()} torch threads, best of {args.repeats}"
    )
    for name, seconds in best.items():
        print(f"  {name:<15} {n / seconds:7.1f} tokens/s  ({seconds:.2f} s)")
    for name in ("engine", "engine-no-attn"):
        print(f"  {name} / hf: {best['hf'] / best[name]:.2f}  (aim: >= 0.9)")


if __name__ == "__main__":
    main()
