"""A class on one server: N real browser sessions against one `streamlit run`, and the
model worker's batching alone.

Starts `streamlit run app.py` on a free port, warms it (one session loads the model),
then drives N Chromium sessions at once (Playwright contexts on /usr/bin/chromium; real
websockets on loopback), each on its own text, through two phases:

  attention   open /attention?text=<its text> until the heatmap is drawn
  generate    on /generation with its own prompt, press Generate (32 new tokens, the
              page's defaults: greedy, attention recorded) until the summary line shows

and prints per phase: sessions ok, errors (and why), p50 / p95 / max seconds (clients
included), the server's CPU seconds per action, the browsers' (the rest of the
machine's busy CPU over the phase), the server's RSS after the phase (and its peak), and
the script runs each click cost (1 = the page never reruns itself).

Then the scheduler alone, in this process: aggregate tokens/s of 1, 8 and 30 concurrent
32-token requests through ``llm_core.serving`` (page settings), and the ratio to one.

    .venv/bin/python benchmarks/classroom.py --sessions 1 10 30
    .venv/bin/python benchmarks/classroom.py --sessions 3 --scheduler 1 8   # a quick check

Browsers run on the same machine as the server, so their CPU competes with it: the
seconds are what a class on this machine would see, not the server alone (its CPU per
action is printed separately). Figures vary with other load: check `uptime`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
HEATMAP = "[data-testid='stMain'] [data-testid='stPlotlyChart']"
EXCEPTION = "[data-testid='stException']"
SUMMARY = "text=/\\d+ tokens · /"
TIMEOUT_MS = 900_000  # one action may wait behind a whole class on two cores
NEW_TOKENS = 32
TEXTS = (
    "我爱吃苹果",
    "The cat sat on the mat",
    "今天天气真好，我们去公园散步吧",
    "Attention is all you need",
    "床前明月光，疑是地上霜",
    "Once upon a time, there was a little robot",
)


def session_text(number: int) -> str:
    """Each session's own text: no two sessions share a cached result."""
    return f"{TEXTS[number % len(TEXTS)]} {number}"


# ---------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
            f"--server.port={port}", "--server.address=127.0.0.1",
            "--server.fileWatcherType=none", "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.5)
        if server.poll() is not None:
            break
    server.kill()
    raise SystemExit(f"streamlit did not start (see {log_path})")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine (every core; server and browsers alike)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


# ---------------------------------------------------------------------------- sessions


async def wait_idle(page) -> None:
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


def count_reruns(page) -> list[int]:
    """A one-element counter of the script runs this page asks for (rerun messages)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    counter = [0]

    def watch(socket_) -> None:
        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                message = BackMsg()
                message.ParseFromString(payload)
                counter[0] += message.WhichOneof("type") == "rerun_script"

        socket_.on("framesent", on_frame)

    page.on("websocket", watch)
    return counter


async def attention_action(page, url: str, number: int) -> float:
    start = time.perf_counter()
    query = urllib.parse.urlencode({"text": session_text(number)})
    await page.goto(f"{url}/attention?{query}")
    await page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
    await page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_MS)
    await wait_idle(page)
    return time.perf_counter() - start


async def prepare_generation(page, url: str, number: int) -> None:
    await page.goto(f"{url}/generation")
    await page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
    await wait_idle(page)
    box = page.locator("[data-testid='stMain'] textarea").first
    await box.fill(session_text(number))
    await box.press("Control+Enter")
    await wait_idle(page)


async def generate_action(page, reruns: list[int]) -> float:
    before = reruns[0]
    start = time.perf_counter()
    await page.get_by_role("button", name="Generate", exact=True).click()
    await page.locator(SUMMARY).first.wait_for(timeout=TIMEOUT_MS)
    await wait_idle(page)
    elapsed = time.perf_counter() - start
    reruns.append(reruns[0] - before)
    return elapsed


async def run_phase(name: str, pages: list, action, server_pid: int) -> dict:
    cpu_before, machine_before = cpu_seconds(server_pid), machine_cpu_seconds()
    results = await asyncio.gather(*(action(page, n) for n, page in enumerate(pages)),
                                   return_exceptions=True)  # fmt: skip
    cpu = cpu_seconds(server_pid) - cpu_before
    machine = machine_cpu_seconds() - machine_before
    seconds, reasons = [], []
    for page, result in zip(pages, results, strict=True):
        if isinstance(result, BaseException):
            reasons.append(f"{type(result).__name__}: {str(result).splitlines()[0][:160]}")
        elif await page.locator(EXCEPTION).count() > 0:
            shown = await page.locator(EXCEPTION).first.inner_text()
            reasons.append(f"exception on the page: {shown.splitlines()[0][:160]}")
        else:
            seconds.append(result)
    rss, peak = memory_mb(server_pid)
    n = max(len(pages), 1)
    return {"phase": name, "n": len(pages), "ok": len(seconds), "errors": len(reasons),
            "reasons": reasons, "seconds": sorted(seconds), "cpu_per_action": cpu / n,
            "clients_cpu_per_action": (machine - cpu) / n,
            "rss_mb": rss, "peak_rss_mb": peak}  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    rank = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[rank]


def print_phase(result: dict, reruns: list[float] | None = None) -> None:
    s = result["seconds"]
    line = (
        f"  {result['phase']:<10} sessions {result['n']:>3}  ok {result['ok']:>3}  "
        f"errors {result['errors']:>2}  p50 {percentile(s, 0.5):7.1f} s  "
        f"p95 {percentile(s, 0.95):7.1f} s  max {max(s, default=float('nan')):7.1f} s  "
        f"server CPU/action {result['cpu_per_action']:5.2f} s  "
        f"browsers' CPU/action {result['clients_cpu_per_action']:5.2f} s  "
        f"RSS {result['rss_mb']:6.0f} MB (peak {result['peak_rss_mb']:.0f})"
    )
    if reruns:
        line += f"  runs/click {statistics.mean(reruns):.2f}"
    print(line, flush=True)
    for reason, count in Counter(result["reasons"]).most_common(3):
        print(f"    {count} x {reason}", flush=True)


async def drive(url: str, server_pid: int, n_sessions: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        contexts = [
            await browser.new_context(viewport={"width": 1400, "height": 1000})
            for _ in range(n_sessions)
        ]
        pages = [await context.new_page() for context in contexts]
        counters = [count_reruns(page) for page in pages]

        async def attention(page, n):
            return await attention_action(page, url, n)

        print_phase(await run_phase("attention", pages, attention, server_pid))
        await asyncio.gather(*(prepare_generation(p, url, n) for n, p in enumerate(pages)))

        async def generation(page, n):
            return await generate_action(page, counters[n])

        result = await run_phase("generate", pages, generation, server_pid)
        print_phase(result, [counter[1] for counter in counters if len(counter) > 1])
        await browser.close()


async def warm_up(url: str) -> None:
    """One session opens both pages and generates once: the model loads, code warms."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = await browser.new_page()
        await attention_action(page, url, 999)
        await prepare_generation(page, url, 999)
        await generate_action(page, [0])
        await browser.close()


# ---------------------------------------------------------------------------- the scheduler


def scheduler_alone(counts: list[int]) -> None:
    """Aggregate tokens/s of ``count`` concurrent requests through the model's worker."""
    from llm_core.generation.generate import build_prompt_ids
    from llm_core.generation.sampling import GenerationSettings
    from llm_core.models.loading import load_model
    from llm_core.serving.worker import worker_for

    loaded = load_model("default")
    worker = worker_for(loaded)
    settings = GenerationSettings(
        max_new_tokens=NEW_TOKENS, stop_at_eos=False, capture_attention=True, n_alternatives=10
    )
    prompts = [build_prompt_ids(loaded.tokenizer, session_text(n)) for n in range(max(counts))]
    worker.submit_generation(prompts[0], settings).result()  # warm up
    rates = {}
    for count in counts:
        start = time.perf_counter()
        tickets = [worker.submit_generation(prompts[n], settings) for n in range(count)]
        tokens = sum(len(ticket.result().token_ids) for ticket in tickets)
        seconds = time.perf_counter() - start
        rates[count] = tokens / seconds
        ratio = rates[count] / rates[counts[0]]
        print(
            f"  {count:>3} concurrent  {tokens:>5} tokens in {seconds:6.1f} s  "
            f"{rates[count]:7.1f} tokens/s  x{ratio:.1f} of {counts[0]}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[1, 10, 30])
    parser.add_argument("--scheduler", type=int, nargs="*", default=[1, 8, 30])
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min load average; 2 cores)", flush=True)
    if args.sessions:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        server, url = start_server(ROOT / "artifacts" / "classroom-server.log")
        try:
            asyncio.run(warm_up(url))
            for n in args.sessions:
                print(f"{n} session(s) at once:", flush=True)
                asyncio.run(drive(url, server.pid, n))
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.scheduler:
        print(f"scheduler alone ({NEW_TOKENS} new tokens each, attention recorded):", flush=True)
        scheduler_alone(args.scheduler)
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
