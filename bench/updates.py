"""Update benchmark: the full Ankommen ``Application`` against a bare PTB echo bot, same run.

Both bots long-poll the loopback Bot API server from ``tests/botapi.py`` over real HTTP. Two
phases per bot and round:

* throughput: a burst of ``--burst`` text updates (real resident questions, one chat each) is
  queued at once; updates per second = burst / time until every chat has its first reply;
* latency: ``--sequential`` updates one at a time; the time from queueing an update to the
  server receiving its reply (p50, p99).

Each bot runs in its own process (``ankommen run`` with ``TELEGRAM_API_BASE_URL`` pointing at the
server, and ``bench/echo_bot.py``); the server runs in this process. Prints one JSON object: per
bot the medians over ``--repeat`` rounds, the ratio of Ankommen's throughput to the echo bot's,
and the RSS of the running Ankommen process (all ten languages loaded). Both bots run with
flood control off (the loopback server enforces no limits), so the figures measure processing,
not Telegram's 30 messages/s. The machine is shared and noisy; this is a measurement, not a test.

    python bench/updates.py [--burst 1000] [--sequential 200] [--repeat 3]

Profiling: ``BENCH_PYSPY=/tmp/prof`` records each bot with the sampling profiler py-spy (``pip
install py-spy``; it must be on PATH) as collapsed stacks of the thread holding the interpreter
lock, in ``/tmp/prof.<bot>.txt``; ``BENCH_PROFILE=/tmp/x.prof`` runs each bot under cProfile.
``ANKOMMEN_ANSWER_THREAD=yes`` measures the answers in a worker thread, as on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.cli.wiring import open_core  # noqa: E402
from bot.residents.store import StorePreferences  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.botapi import FakeBotApi  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def questions() -> list[tuple[str, str]]:
    """(language, question) pairs from the evaluation sets."""
    out = []
    for path in sorted((ROOT / "bench").glob("questions*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if item["q"].strip():  # Telegram delivers no empty text message
                out.append((item["lang"], item["q"]))
    return out


class BotProcess:
    """A bot in its own process, long-polling the loopback server: ``ankommen run`` or the echo bot."""

    def __init__(self, kind: str, api: FakeBotApi, state_dir: str, extra_env: dict[str, str] | None = None):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            ANKOMMEN_STATE_DIR=state_dir,
            ANKOMMEN_RATE_LIMIT="10000",
            TELEGRAM_FLOOD_LIMIT="0",
            ANKOMMEN_LOG_LEVEL="WARNING",
        )
        if os.environ.get("ANKOMMEN_ANSWER_THREAD"):  # compare: answers in a thread on SQLite too
            env["ANKOMMEN_ANSWER_THREAD"] = os.environ["ANKOMMEN_ANSWER_THREAD"]
        env.update(extra_env or {})  # e.g. DATABASE_URL, ANKOMMEN_NOW (bench/soak.py)
        if kind == "ankommen":
            cmd = [sys.executable, "-m", "bot.cli", "run"]
            if os.environ.get("BENCH_PROFILE"):  # e.g. BENCH_PROFILE=/tmp/ankommen.prof
                cmd = [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    os.environ["BENCH_PROFILE"],
                    "-m",
                    "bot.cli",
                    "run",
                ]
        else:
            cmd = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
            if os.environ.get("BENCH_PROFILE"):
                cmd[1:1] = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"] + ".echo"]
        # stderr to a file: a pipe nobody reads would block the bot once it fills up
        self.log = Path(state_dir) / f"{kind}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        self.spy = None
        if os.environ.get("BENCH_PYSPY"):  # a sampling profile: BENCH_PYSPY=/tmp/prof, py-spy on PATH
            out = f"{os.environ['BENCH_PYSPY']}.{kind}.txt"
            spy = ["py-spy", "record", "--format", "raw", "--gil", "--rate", "250", "-o", out]
            spy += ["--pid", str(self.proc.pid)]
            self.spy = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu_s(self) -> float:
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the bot's process so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.spy is not None:  # py-spy writes its profile on SIGINT
            self.spy.send_signal(signal.SIGINT)
            self.spy.wait(60)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def first_reply_times(api: FakeBotApi, chats: set[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for s in api.calls(methods=("sendMessage",)):
        if s.chat_id in chats and s.chat_id not in out:
            out[s.chat_id] = s.at
    return out


def measure(kind: str, qs: list[tuple[str, str]], burst: int, sequential: int, state_dir: str) -> dict:
    """One round for one bot. Every Ankommen chat is a resident who chose the question's language."""
    chats_burst = range(1_000_000, 1_000_000 + burst)
    chats_seq = range(2_000_000, 2_000_000 + sequential)
    if kind == "ankommen":
        core = open_core(Settings.from_env({"ANKOMMEN_STATE_DIR": state_dir}))
        prefs = StorePreferences(core.engine)
        for i, chat in enumerate(chats_burst):
            prefs.set_language(chat, qs[i % len(qs)][0])
        for i, chat in enumerate(chats_seq):
            prefs.set_language(chat, qs[i % len(qs)][0])
        core.engine.dispose()
    with FakeBotApi() as api:
        bot = BotProcess(kind, api, state_dir)
        # ready when it polls
        deadline = time.monotonic() + 120
        while not any(s == "getUpdates" for s in api.methods_seen) and time.monotonic() < deadline:
            time.sleep(0.05)
        # warm up
        for i in range(20):
            api.message(900_000 + i, qs[i % len(qs)][1])
        api.wait_for(20, methods=("sendMessage",), timeout=60)

        # throughput
        chats = set(chats_burst)
        cpu_server0, (user0, sys0) = time.process_time(), bot.cpu_split()
        t0 = time.monotonic()
        for i, chat in enumerate(chats_burst):
            api.message(chat, qs[i % len(qs)][1])
        last, progress_at = -1, time.monotonic()
        while time.monotonic() - progress_at < 30:  # give up after 30 s without a new reply
            got = first_reply_times(api, chats)
            if len(got) == len(chats):
                break
            if len(got) != last:
                last, progress_at = len(got), time.monotonic()
            time.sleep(0.02)
        got = first_reply_times(api, chats)
        elapsed = max(got.values()) - t0
        user1, sys1 = bot.cpu_split()
        cpu_server, cpu_bot = time.process_time() - cpu_server0, (user1 - user0) + (sys1 - sys0)
        throughput = len(got) / elapsed

        # latency, one update at a time
        lat = []
        lost_seq = 0
        for i, chat in enumerate(chats_seq):
            t = time.monotonic()
            api.message(chat, qs[i % len(qs)][1])
            try:
                (reply,) = api.wait_for(1, chat_id=chat, methods=("sendMessage",), timeout=30)[:1]
            except TimeoutError:
                lost_seq += 1
                continue
            lat.append((reply.at - t) * 1000)
        rss = bot.rss_mb()
        bot.stop()
        errors = [line for line in bot.log.read_text(errors="replace").splitlines() if " ERROR " in line]
        keep = ROOT / "bench" / "results"
        keep.mkdir(exist_ok=True)
        (keep / f"updates-{kind}-{int(time.time())}.log").write_bytes(bot.log.read_bytes())
    return {
        "bot": kind,
        "updates_per_s": round(throughput, 1),
        "answered": len(got),
        "unanswered": burst - len(got) + lost_seq,
        # CPU time of the bot's process per update in the burst (user + system, all threads)
        "cpu_ms_per_update": round(1000 * cpu_bot / max(1, len(got)), 3),
        "system_cpu_share": round((sys1 - sys0) / cpu_bot, 2) if cpu_bot else None,
        # CPU use during the burst, as a share of one core: who is the bottleneck?
        "burst_cpu_share": {
            "bot": round(cpu_bot / elapsed, 2),
            "server_and_bench": round(cpu_server / elapsed, 2),
        },
        "latency_ms": {"p50": round(percentile(lat, 50), 2), "p99": round(percentile(lat, 99), 2)},
        "rss_mb": round(rss, 1),
        "errors_logged": len(errors),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--sequential", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    qs = questions()
    rounds: dict[str, list[dict]] = {"echo": [], "ankommen": []}
    for _ in range(args.repeat):
        for kind in ("echo", "ankommen"):
            with tempfile.TemporaryDirectory() as tmp:
                rounds[kind].append(measure(kind, qs, args.burst, args.sequential, tmp))

    def med(kind: str, *path: str) -> float:
        vals = []
        for r in rounds[kind]:
            v = r
            for p in path:
                v = v[p]
            vals.append(v)
        return round(statistics.median(vals), 2)

    result = {
        "benchmark": "updates",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "burst": args.burst,
        "sequential": args.sequential,
        "repeat": args.repeat,
        "echo": {
            "updates_per_s": med("echo", "updates_per_s"),
            "latency_ms_p50": med("echo", "latency_ms", "p50"),
            "latency_ms_p99": med("echo", "latency_ms", "p99"),
            "cpu_ms_per_update": med("echo", "cpu_ms_per_update"),
        },
        "ankommen": {
            "updates_per_s": med("ankommen", "updates_per_s"),
            "latency_ms_p50": med("ankommen", "latency_ms", "p50"),
            "latency_ms_p99": med("ankommen", "latency_ms", "p99"),
            "cpu_ms_per_update": med("ankommen", "cpu_ms_per_update"),
        },
        "throughput_ratio_per_round": [
            round(a["updates_per_s"] / e["updates_per_s"], 3)
            for a, e in zip(rounds["ankommen"], rounds["echo"], strict=True)
        ],
        "ankommen_rss_mb": med("ankommen", "rss_mb"),
        "rounds": rounds,
        "targets": {"throughput_ratio_min": 0.7, "latency_ms_p99_max": 50, "rss_mb_max": 300},
    }
    result["throughput_ratio_median"] = round(statistics.median(result["throughput_ratio_per_round"]), 3)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
