"""Update benchmark: the full Ankommen ``Application`` against a bare PTB echo bot, same run.

Both bots long-poll the loopback Bot API server from ``tests/botapi.py`` over real HTTP. Two
phases per bot and round:

* throughput: a burst of ``--burst`` text updates (real resident questions, one chat each) is
  queued at once; updates per second = burst / time until every chat has its first reply;
* latency: ``--sequential`` updates one at a time; the time from queueing an update to the
  server receiving its reply (p50, p99).

Prints one JSON object: per bot the medians over ``--repeat`` rounds, and the ratio of
Ankommen's throughput to the echo bot's. Both bots run with flood control off (the loopback
server enforces no limits), so the figures measure processing, not Telegram's 30 messages/s.
The server runs in a thread of this process, for both bots alike. The machine is shared and
noisy; this is a measurement, not a test.

    python bench/updates.py [--burst 1000] [--sequential 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, MessageHandler, filters  # noqa: E402

from bot.residents import StorePreferences  # noqa: E402
from bot.services import open_core  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.app import build_application  # noqa: E402
from handlers.frontend import TelegramFrontend  # noqa: E402
from tests.botapi import FakeBotApi  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def questions() -> list[tuple[str, str]]:
    """(language, question) pairs from the evaluation sets."""
    out = []
    for path in sorted((ROOT / "bench").glob("questions*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            out.append((item["lang"], item["q"]))
    return out


def echo_app(api: FakeBotApi):
    async def echo(update: Update, context) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


def ankommen_app(api: FakeBotApi, core):
    frontend = TelegramFrontend(core.dialogue(), rate_limit_per_minute=10_000)
    return build_application(frontend, api.token, base_url=api.base_url, flood_limit=0)


class Runner:
    """The application polling in its own thread and loop, as a separate process would."""

    def __init__(self, app):
        self.app = app
        self.ready = threading.Event()

    def start(self) -> None:
        async def main():
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            await self.app.initialize()
            if self.app.post_init:
                await self.app.post_init(self.app)
            await self.app.updater.start_polling(poll_interval=0.0, timeout=1)
            await self.app.start()
            self.ready.set()
            await self.stop_event.wait()
            await self.app.updater.stop()
            await self.app.stop()
            await self.app.shutdown()

        self.thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self.thread.start()
        self.ready.wait(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


def first_reply_times(api: FakeBotApi, chats: set[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for s in api.calls(methods=("sendMessage",)):
        if s.chat_id in chats and s.chat_id not in out:
            out[s.chat_id] = s.at
    return out


def measure(kind: str, make_app, qs: list[tuple[str, str]], burst: int, sequential: int, prefs=None) -> dict:
    """``prefs``: where Ankommen keeps languages; every chat is a resident who chose one."""
    chats_burst = range(1_000_000, 1_000_000 + burst)
    chats_seq = range(2_000_000, 2_000_000 + sequential)
    if prefs is not None:
        for i, chat in enumerate(chats_burst):
            prefs.set_language(chat, qs[i % len(qs)][0])
        for i, chat in enumerate(chats_seq):
            prefs.set_language(chat, qs[i % len(qs)][0])
    with FakeBotApi() as api:
        runner = Runner(make_app(api))
        runner.start()
        # warm up
        for i in range(20):
            api.message(900_000 + i, qs[i % len(qs)][1])
        api.wait_for(20, methods=("sendMessage",), timeout=60)

        # throughput
        chats = set(chats_burst)
        t0 = time.monotonic()
        for i, chat in enumerate(chats_burst):
            api.message(chat, qs[i % len(qs)][1])
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            got = first_reply_times(api, chats)
            if len(got) == len(chats):
                break
            time.sleep(0.02)
        got = first_reply_times(api, chats)
        elapsed = max(got.values()) - t0
        throughput = len(got) / elapsed

        # latency, one update at a time
        lat = []
        for i, chat in enumerate(chats_seq):
            t = time.monotonic()
            api.message(chat, qs[i % len(qs)][1])
            (reply,) = api.wait_for(1, chat_id=chat, methods=("sendMessage",), timeout=30)[:1]
            lat.append((reply.at - t) * 1000)
        runner.stop()
    return {
        "bot": kind,
        "updates_per_s": round(throughput, 1),
        "answered": len(got),
        "latency_ms": {"p50": round(percentile(lat, 50), 2), "p99": round(percentile(lat, 99), 2)},
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
    with tempfile.TemporaryDirectory() as tmp:
        core = open_core(Settings.from_env({"ANKOMMEN_STATE_DIR": tmp}))
        rounds: dict[str, list[dict]] = {"echo": [], "ankommen": []}
        for _ in range(args.repeat):
            rounds["echo"].append(measure("echo", echo_app, qs, args.burst, args.sequential))
            rounds["ankommen"].append(
                measure(
                    "ankommen",
                    lambda api: ankommen_app(api, core),
                    qs,
                    args.burst,
                    args.sequential,
                    prefs=StorePreferences(core.engine),
                )
            )
        rss = rss_mb()
        core.engine.dispose()

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
        },
        "ankommen": {
            "updates_per_s": med("ankommen", "updates_per_s"),
            "latency_ms_p50": med("ankommen", "latency_ms", "p50"),
            "latency_ms_p99": med("ankommen", "latency_ms", "p99"),
        },
        "throughput_ratio_per_round": [
            round(a["updates_per_s"] / e["updates_per_s"], 3)
            for a, e in zip(rounds["ankommen"], rounds["echo"], strict=True)
        ],
        "rss_mb_after_run": round(rss, 1),
        "targets": {"throughput_ratio_min": 0.7, "latency_ms_p99_max": 50, "rss_mb_max": 300},
    }
    result["throughput_ratio_median"] = round(statistics.median(result["throughput_ratio_per_round"]), 3)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
