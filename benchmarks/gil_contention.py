"""What other Python threads cost a decode step: its CPU time and wall time alone and
beside page-like threads, with the layers run by TorchScript (the GIL given up once a
step) and by Python (the "Python loop": the same function, the GIL given up at each of
its ~1,500 torch calls).

    .venv/bin/python benchmarks/gil_contention.py [--rows 10 30] [--rounds 8] [--work-ms 3]

In the app the model worker shares its process with every session's page thread and
Streamlit's own. Two kinds of company here: "pages", one thread per row that waits for
each step, then runs ``--work-ms`` of pure Python (about what a page spends redrawing
its chips and handing Streamlit the delta); "bursty", four threads each running 2 ms of
Python every 10 ms whatever the worker does (~80% of a core together, like a class's
pages and the event loop spread over a step). The rows are the default model's,
``classroom.py``'s texts, attention recorded as the Generation page does. Each round
runs every configuration in turn (the machine's speed drifts); medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class Company:
    """Python threads beside the worker: ``pages`` (one per row, each running ``work_s`` of
    Python after every step, woken by ``wake``) or ``bursty`` (four threads, each running
    2 ms of Python every 10 ms, whatever the worker does); ``kind`` picks which run now
    ("alone": none)."""

    def __init__(self, n_pages: int, work_s: float) -> None:
        self.work_s, self.generation, self.stopped, self.kind = work_s, 0, False, "alone"
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._page, daemon=True) for _ in range(n_pages)]
        self.threads += [threading.Thread(target=self._bursty, daemon=True) for _ in range(4)]
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _python(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:  # a page building its chips' HTML
            "".join(f"<span>{i}</span>" for i in range(50))

    def _page(self) -> None:
        seen = 0
        while True:
            with self.cond:
                while self.generation == seen and not self.stopped:
                    self.cond.wait()
                if self.stopped:
                    return
                seen = self.generation
            self._python(self.work_s)

    def _bursty(self) -> None:
        while not self.stopped:
            if self.kind == "bursty":
                self._python(0.002)
            time.sleep(0.008)

    def wake(self) -> None:
        if self.kind == "pages":
            with self.cond:
                self.generation += 1
                self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        for thread in self.threads:
            thread.join()


CONFIGS = [
    (layers, kind)
    for layers in ("TorchScript", "Python loop")
    for kind in ("alone", "pages", "bursty")
]


def measure(batch, company: Company, rounds: int, scripted) -> dict[tuple[str, str], list]:
    """(CPU ms, wall ms) of the worker thread's decode steps per configuration: each round
    runs every configuration in turn (one step to settle, two measured), so a drift of
    the machine's speed touches each alike."""
    from llm_core.models import decode_layers

    found: dict[tuple[str, str], list] = {config: [] for config in CONFIGS}
    for _ in range(rounds):
        for layers, kind in CONFIGS:
            decode_layers.scripted = (
                (lambda: scripted) if layers == "TorchScript" else (lambda: None)
            )
            company.kind = kind
            for n in range(3):
                start, start_cpu = time.perf_counter(), time.thread_time()
                batch.step()
                if n:
                    found[layers, kind].append(
                        (
                            (time.thread_time() - start_cpu) * 1e3,
                            (time.perf_counter() - start) * 1e3,
                        )
                    )
                company.wake()
            time.sleep(0.05)  # the pages finish before the next configuration
    decode_layers.scripted = lambda: scripted
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[10, 30])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--work-ms", type=float, default=3.0)
    args = parser.parse_args()

    from classroom import session_text

    from llm_core.generation.generate import build_prompt_ids
    from llm_core.generation.sampling import GenerationSettings
    from llm_core.models import decode_layers
    from llm_core.models.loading import load_model
    from llm_core.serving.batch import DecodeBatch, new_row

    loaded = load_model("default")
    scripted = decode_layers.scripted()
    settings = GenerationSettings(
        max_new_tokens=len(CONFIGS) * 3 * args.rounds + 4,
        stop_at_eos=False,
        capture_attention=True,
        n_alternatives=10,
    )
    print(
        f"one thread per step; pages: one thread per row, {args.work_ms:g} ms of Python after "
        "each step; bursty: four threads, 2 ms of Python every 10 ms"
    )
    print(f"TorchScript available: {scripted is not None}")
    for n_rows in args.rows:
        prompts = [build_prompt_ids(loaded.tokenizer, session_text(n)) for n in range(n_rows)]
        batch = DecodeBatch(loaded)
        company = Company(n_rows, args.work_ms / 1e3)
        try:
            with loaded.lock:
                batch.join([new_row(loaded, n, p, settings, 0, 0) for n, p in enumerate(prompts)])
                found = measure(batch, company, args.rounds, scripted)
        finally:
            company.stop()
        print(f"{n_rows} rows: a step's median ms over {2 * args.rounds} steps", flush=True)
        for (layers, kind), runs in found.items():
            cpu = statistics.median(c for c, _ in runs)
            wall = statistics.median(w for _, w in runs)
            print(f"  {layers:<12} {kind:<7} CPU {cpu:6.1f}   wall {wall:6.1f}", flush=True)


if __name__ == "__main__":
    main()
