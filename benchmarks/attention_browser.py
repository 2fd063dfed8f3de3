"""The Attention page in Chromium: seconds to the first heatmap, and to the heatmap of
another head and another layer of the same text, at ~107 and ~2,000 tokens.

Starts `streamlit run app.py` (as the browser tests do), warms the model with one visit,
then for each text opens /attention?text=... in a fresh tab (a text new to the server's
trace store: a run number is put in front) and times, in the browser, from the
navigation or the click until the heatmap titled for that view is drawn (and, for the
first view, until the script run has finished: a long text's first view comes from a
pass stopped at its layer, and the rest of the pass runs after it is drawn).

    .venv/bin/python benchmarks/attention_browser.py [--runs 2] [--switches 3] [--layers 3 29]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]
CORPUS = ROOT.parent / "shared" / "data" / "tang300.txt"
FALLBACK_CORPUS = ROOT / "assets" / "corpora" / "tang300.txt"
CHROMIUM = "/usr/bin/chromium"
TITLE = "[data-testid='stPlotlyChart'] .gtitle"  # a heatmap's title


TARGET_TOKENS = {"short": 107, "long": 1971}  # the lengths issue 12 measured
LAST_LAYER = 29  # the default model's; the first view is timed at layer 3 and at this one


def texts() -> dict[str, str]:
    """The shortest prefixes of the Tang poems with at least TARGET_TOKENS tokens."""
    from llm_core.models.loading import load_tokenizer

    tokenizer = load_tokenizer("default")
    path = CORPUS if CORPUS.is_file() else FALLBACK_CORPUS
    poems = " ".join(Path(path).read_text(encoding="utf-8").split())
    found = {}
    for name, target in TARGET_TOKENS.items():
        n_chars = 1
        while len(tokenizer(f"0. {poems[:n_chars]}")["input_ids"]) < target:
            n_chars += 1 + (target - len(tokenizer(poems[:n_chars])["input_ids"])) // 3
        found[f"{name} ({n_chars} characters)"] = poems[:n_chars]
    return found


def heatmap_titled(page, title: str, timeout_ms: int = 180_000) -> None:
    page.wait_for_function(
        f"""title => [...document.querySelectorAll("{TITLE}")]
             .some(node => node.textContent.trim() === title)""",
        arg=title,
        timeout=timeout_ms,
    )


def choose_head(page, head: int) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Head").first
    box.click()
    page.get_by_role("option", name=str(head), exact=True).click()


def measure(page, url: str, text: str, run: str, switches: int, layer: int) -> dict[str, object]:
    from browsing import wait_idle

    query = urllib.parse.urlencode({"text": f"{run}. {text}", "level": "token", "layer": layer})
    started = time.perf_counter()
    page.goto(f"{url}/attention?{query}&head=2")
    heatmap_titled(page, f"Layer {layer} · head 2")
    first = time.perf_counter() - started
    wait_idle(page, 300_000)  # a long text's first view came from a partial pass: the rest
    done = time.perf_counter() - started - 0.5  # of it runs before the page is idle
    counts = page.locator("[data-testid='stCaptionContainer']", has_text="tokens ·").first
    n_tokens = int(counts.inner_text().split()[0].replace(",", ""))
    heads = []
    for step in range(switches):
        head = 3 + step
        started = time.perf_counter()
        choose_head(page, head)
        heatmap_titled(page, f"Layer {layer} · head {head}")
        heads.append(time.perf_counter() - started)
        wait_idle(page)
    value = page.locator("[data-testid='stSlider'] [data-testid='stSliderThumbValue']").first
    thumb = value.locator("xpath=..").locator("input")  # the thumb's hidden range input
    thumb.focus()
    started = time.perf_counter()
    step = 1 if layer < LAST_LAYER else -1
    thumb.press("ArrowRight" if step > 0 else "ArrowLeft")
    heatmap_titled(page, f"Layer {layer + step} · head {3 + switches - 1}")
    switch = time.perf_counter() - started
    wait_idle(page)
    return {"n_tokens": n_tokens, "first": first, "done": done, "heads": heads, "layer": switch}


def main() -> None:
    from browsing import open_app, serve_app
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--switches", type=int, default=3)
    parser.add_argument("--layers", type=int, nargs="*", default=[3, LAST_LAYER])
    args = parser.parse_args()
    with serve_app("streamlit-benchmark.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_app(page, f"{url}/attention")  # loads the model once: not what is measured
        cases = [(name, text, layer) for name, text in texts().items() for layer in args.layers]
        for name, text, layer in cases:
            for run in range(args.runs):
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                r = measure(tab, url, text, f"{run}{layer}", args.switches, layer)
                tab.close()
                print(
                    f"{name:<24} {r['n_tokens']:>5} tokens  layer {layer:>2}"
                    f"  first heatmap {r['first']:6.2f} s"
                    f" (page idle {r['done']:6.2f} s)"
                    f"  head switch median {statistics.median(r['heads']):5.2f} s"
                    f" (all: {', '.join(f'{s:.2f}' for s in r['heads'])})"
                    f"  layer switch {r['layer']:5.2f} s",
                    flush=True,
                )
        browser.close()


if __name__ == "__main__":
    main()
