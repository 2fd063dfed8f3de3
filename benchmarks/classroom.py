"""A class on one server: N sessions at once against one `streamlit run`, and the model
worker's batching alone.

Starts `streamlit run app.py` on a free port, warms it (one session loads the model),
then drives N sessions at once, each on its own text, through two phases:

  attention   open /attention?text=<its text> (a new session, as a fresh tab is) until
              the script has finished, the heatmap drawn
  generate    on /generation with its own prompt, press Generate (32 new tokens, the
              page's defaults: greedy, attention recorded) until the summary line is drawn

and prints per phase: sessions ok, errors (and why), p50 / p95 / max seconds (clients
included), the server's CPU seconds per action (and the shares of its model worker and
its event loop; the rest is the pages' script runs), the clients' (the rest of the
machine's busy CPU over the phase), the server's RSS after the phase (and its peak), and
the script runs each action cost (1 = the page never reruns itself).

Two kinds of client (`--client`), both on real websockets against the real server:

  protocol  (default) each session speaks Streamlit's websocket protocol itself
            (``protocol_session.py``: the browser's handshake and protobuf messages,
            nothing rendered). The seconds are the server's: what a student waits before
            their own browser, on their own laptop, draws what came (~1-3 s more).
  chromium  each session is a Playwright context on /usr/bin/chromium. On one 2-core
            machine the browsers' own CPU (~3 s per fresh tab, ~1 s per first chart)
            competes with the server's, so the seconds are a class sharing the server's
            two cores with its 30 browsers: measured, but not what a class sees.

Then the scheduler alone, in this process: aggregate tokens/s of 1, 8 and 30 concurrent
32-token requests through ``llm_core.serving`` (page settings), and the ratio to one: the
median of ``--repeats`` runs of each, run in turn (one run of one request varies by ~30%
on a shared machine); once with decode steps threaded by their rows (a script's or
notebook's default) and once on one thread (``steps_on_one_thread``, as the app runs them).

    .venv/bin/python benchmarks/classroom.py --sessions 1 10 30
    .venv/bin/python benchmarks/classroom.py --sessions 3 --client chromium --scheduler
    .venv/bin/python benchmarks/classroom.py --sessions --scheduler 1 8 30

Figures vary with other load: check `uptime` (printed before and after).
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
TIMEOUT_S = 900  # one action may wait behind a whole class on two cores
PROMPT_LABEL = "Prompt"  # the Generation page's text area
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


def _stat_ticks(stat: Path, children: bool) -> int:
    """utime + stime (+ cutime + cstime with ``children``) of a /proc stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (name)"
    return sum(int(fields[i]) for i in ((11, 12, 13, 14) if children else (11, 12)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its waited-for children, in seconds."""
    return _stat_ticks(Path(f"/proc/{pid}/stat"), children=True) / os.sysconf("SC_CLK_TCK")


def threads_cpu_seconds(pid: int) -> tuple[float, float]:
    """(model worker, event loop) CPU of the server in seconds: the worker's threads are
    named ``WORKER_THREAD_NAME`` (its own and the intra-op threads it started); the event
    loop (websockets, messages) is the main thread. The rest is the pages' script runs."""
    from llm_core.serving.worker import WORKER_THREAD_NAME

    worker = main = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            ticks = _stat_ticks(task / "stat", children=False)
        except OSError:  # the thread ended meanwhile
            continue
        if name == WORKER_THREAD_NAME:
            worker += ticks
        elif task.name == str(pid):
            main += ticks
    clock = os.sysconf("SC_CLK_TCK")
    return worker / clock, main / clock


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
# Each action returns (seconds, script runs it cost) or raises with the reason it failed.


def _attention_query(number: int) -> str:
    return urllib.parse.urlencode({"text": session_text(number)})


class ProtocolClient:
    """A session over Streamlit's websocket protocol (``protocol_session.py``)."""

    kind = "protocol"

    def __init__(self, url: str) -> None:
        self.url, self.session = url, None

    async def attention(self, number: int) -> tuple[float, int]:
        from protocol_session import ProtocolSession

        start = time.perf_counter()
        if self.session is not None:  # a fresh tab is a new session
            await self.session.close()
        self.session = await ProtocolSession.open(self.url)
        await self.session.run("attention", query=_attention_query(number), timeout=TIMEOUT_S)
        if self.session.first("plotly_chart") is None:
            raise RuntimeError("no heatmap was drawn")
        return time.perf_counter() - start, self.session.drawn.runs

    async def prepare_generation(self, number: int) -> None:
        await self.session.run("generation", timeout=TIMEOUT_S)
        prompt = {PROMPT_LABEL: session_text(number)}
        await self.session.run("generation", widgets=prompt, timeout=TIMEOUT_S)
        self.prompt = prompt

    async def generate(self) -> tuple[float, int]:
        press = {**self.prompt, "Generate": True}
        seconds = await self.session.run("generation", widgets=press, timeout=TIMEOUT_S)
        if self.session.first_text(" tokens · ") is None:
            raise RuntimeError("no summary line after Generate")
        return seconds, self.session.drawn.runs

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


class ChromiumClient:
    """A Playwright page on /usr/bin/chromium, counting the script runs it asks for."""

    kind = "chromium"

    def __init__(self, url: str, page) -> None:
        self.url, self.page, self.reruns = url, page, [0]
        page.on("websocket", self._watch)

    def _watch(self, socket_) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        def on_frame(payload) -> None:
            if isinstance(payload, (bytes, bytearray)):
                message = BackMsg()
                message.ParseFromString(payload)
                self.reruns[0] += message.WhichOneof("type") == "rerun_script"

        socket_.on("framesent", on_frame)

    async def _idle(self) -> None:
        await self.page.wait_for_selector(IDLE, timeout=TIMEOUT_S * 1000)
        await self.page.wait_for_timeout(300)
        await self.page.wait_for_selector(IDLE, timeout=TIMEOUT_S * 1000)
        if await self.page.locator(EXCEPTION).count() > 0:
            shown = await self.page.locator(EXCEPTION).first.inner_text()
            raise RuntimeError(f"exception on the page: {shown.splitlines()[0][:160]}")

    async def attention(self, number: int) -> tuple[float, int]:
        before, start = self.reruns[0], time.perf_counter()
        await self.page.goto(f"{self.url}/attention?{_attention_query(number)}")
        await self.page.locator("h1").first.wait_for(timeout=TIMEOUT_S * 1000)
        await self.page.locator(HEATMAP).first.wait_for(timeout=TIMEOUT_S * 1000)
        await self._idle()
        return time.perf_counter() - start, self.reruns[0] - before

    async def prepare_generation(self, number: int) -> None:
        await self.page.goto(f"{self.url}/generation")
        await self.page.locator("h1").first.wait_for(timeout=TIMEOUT_S * 1000)
        await self._idle()
        box = self.page.locator("[data-testid='stMain'] textarea").first
        await box.fill(session_text(number))
        await box.press("Control+Enter")
        await self._idle()

    async def generate(self) -> tuple[float, int]:
        before, start = self.reruns[0], time.perf_counter()
        await self.page.get_by_role("button", name="Generate", exact=True).click()
        await self.page.locator(SUMMARY).first.wait_for(timeout=TIMEOUT_S * 1000)
        await self._idle()
        return time.perf_counter() - start, self.reruns[0] - before

    async def close(self) -> None:
        await self.page.context.close()


async def run_phase(name: str, actions: list, server_pid: int) -> dict:
    """Run every session's action at once; what it cost and how long each took."""
    cpu_before, machine_before = cpu_seconds(server_pid), machine_cpu_seconds()
    worker_before, loop_before = threads_cpu_seconds(server_pid)
    results = await asyncio.gather(*actions, return_exceptions=True)
    cpu = cpu_seconds(server_pid) - cpu_before
    worker, loop = threads_cpu_seconds(server_pid)
    worker, loop = worker - worker_before, loop - loop_before
    machine = machine_cpu_seconds() - machine_before
    seconds, runs, reasons = [], [], []
    for result in results:
        if isinstance(result, BaseException):
            text = str(result).splitlines()[0][:160] if str(result) else ""
            reasons.append(f"{type(result).__name__}: {text}")
        else:
            seconds.append(result[0])
            runs.append(result[1])
    rss, peak = memory_mb(server_pid)
    n = max(len(actions), 1)
    return {"phase": name, "n": len(actions), "ok": len(seconds), "errors": len(reasons),
            "reasons": reasons, "seconds": sorted(seconds), "runs": runs,
            "cpu_per_action": cpu / n, "worker_cpu_per_action": worker / n,
            "loop_cpu_per_action": loop / n,
            "clients_cpu_per_action": (machine - cpu) / n,
            "rss_mb": rss, "peak_rss_mb": peak}  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    rank = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[rank]


def print_phase(result: dict) -> None:
    s = result["seconds"]
    runs = statistics.mean(result["runs"]) if result["runs"] else float("nan")
    print(
        f"  {result['phase']:<10} sessions {result['n']:>3}  ok {result['ok']:>3}  "
        f"errors {result['errors']:>2}  p50 {percentile(s, 0.5):7.1f} s  "
        f"p95 {percentile(s, 0.95):7.1f} s  max {max(s, default=float('nan')):7.1f} s  "
        f"server CPU/action {result['cpu_per_action']:5.2f} s "
        f"(model worker {result['worker_cpu_per_action']:4.2f}, event loop "
        f"{result['loop_cpu_per_action']:4.2f})  "
        f"clients' CPU/action {result['clients_cpu_per_action']:5.2f} s  "
        f"RSS {result['rss_mb']:6.0f} MB (peak {result['peak_rss_mb']:.0f})  "
        f"runs/action {runs:.2f}",
        flush=True,
    )
    for reason, count in Counter(result["reasons"]).most_common(3):
        print(f"    {count} x {reason}", flush=True)


async def drive(url: str, server_pid: int, n_sessions: int, kind: str) -> None:
    """Both phases with ``n_sessions`` clients of ``kind`` at once."""
    async with clients_of(kind, url, n_sessions) as clients:
        attention = [client.attention(n) for n, client in enumerate(clients)]
        print_phase(await run_phase("attention", attention, server_pid))
        ready = [c.prepare_generation(n) for n, c in enumerate(clients) if c.attention_ok]
        await asyncio.gather(*ready)
        generation = [client.generate() for client in clients if client.attention_ok]
        print_phase(await run_phase("generate", generation, server_pid))


class clients_of:  # noqa: N801 - used as ``async with clients_of(...)``
    """``n`` clients of ``kind`` (and the browser they share, for Chromium)."""

    def __init__(self, kind: str, url: str, n: int) -> None:
        self.kind, self.url, self.n = kind, url, n
        self.clients, self.playwright, self.browser = [], None, None

    async def __aenter__(self) -> list:
        if self.kind == "chromium":
            from playwright.async_api import async_playwright

            self.playwright = await async_playwright().start()
            self.browser = await self.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS
            )
            for _ in range(self.n):
                context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
                self.clients.append(ChromiumClient(self.url, await context.new_page()))
        else:
            self.clients = [ProtocolClient(self.url) for _ in range(self.n)]
        for client in self.clients:
            _mark_attention(client)
        return self.clients

    async def __aexit__(self, *exc) -> None:
        for client in self.clients:
            await client.close()
        if self.browser is not None:
            await self.browser.close()
            await self.playwright.stop()


def _mark_attention(client) -> None:
    """Record on the client whether its attention action worked (the generation phase
    needs the session it opened)."""
    action = client.attention
    client.attention_ok = False

    async def attention(number: int) -> tuple[float, int]:
        result = await action(number)
        client.attention_ok = True
        return result

    client.attention = attention


async def warm_up(url: str, kind: str) -> None:
    """One session opens both pages and generates once: the model loads, code warms."""
    async with clients_of(kind, url, 1) as (client,):
        await client.attention(999)
        await client.prepare_generation(999)
        await client.generate()


# ---------------------------------------------------------------------------- the scheduler


def scheduler_alone(counts: list[int], repeats: int) -> None:
    """Aggregate tokens/s of ``count`` concurrent requests through the model's worker:
    the counts are run in turn ``repeats`` times (a drift of the machine's speed then
    touches each alike) and each count's median run is printed; first with decode steps
    threaded by their rows (a script's default), then on one thread (as the app runs them)."""
    from llm_core.serving.worker import steps_on_one_thread

    for one, mode in ((False, "threads by rows, as a script"), (True, "one thread, as the app")):
        print(f"  decode steps on {mode}:", flush=True)
        steps_on_one_thread(one)
        _scheduler_runs(counts, repeats)


def _scheduler_runs(counts: list[int], repeats: int) -> None:
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
    runs: dict[int, list[tuple[float, int]]] = {count: [] for count in counts}
    for _ in range(repeats):
        for count in counts:
            start = time.perf_counter()
            tickets = [worker.submit_generation(prompts[n], settings) for n in range(count)]
            tokens = sum(len(ticket.result().token_ids) for ticket in tickets)
            runs[count].append((time.perf_counter() - start, tokens))
    rates = {}
    for count in counts:
        seconds, tokens = sorted(runs[count])[len(runs[count]) // 2]  # the median run
        rates[count] = tokens / seconds
        every = " ".join(f"{t / s:.1f}" for s, t in runs[count])
        print(
            f"    {count:>3} concurrent  {tokens:>5} tokens in {seconds:6.1f} s  "
            f"{rates[count]:7.1f} tokens/s  x{rates[count] / rates[counts[0]]:.1f} of "
            f"{counts[0]}  (median of {repeats}: {every})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, nargs="*", default=[1, 10, 30])
    parser.add_argument("--scheduler", type=int, nargs="*", default=[1, 8, 30])
    parser.add_argument("--client", choices=["protocol", "chromium"], default="protocol")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scheduler count")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min load average; 2 cores)", flush=True)
    if args.sessions:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        server, url = start_server(ROOT / "artifacts" / "classroom-server.log")
        try:
            asyncio.run(warm_up(url, args.client))
            for n in args.sessions:
                print(f"{n} session(s) at once ({args.client} clients):", flush=True)
                asyncio.run(drive(url, server.pid, n, args.client))
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.scheduler:
        print(f"scheduler alone ({NEW_TOKENS} new tokens each, attention recorded):", flush=True)
        scheduler_alone(args.scheduler, args.repeats)
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
