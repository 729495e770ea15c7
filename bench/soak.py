"""Soak run: one Ankommen instance on PostgreSQL for ``--minutes`` M, under three loads at once.

* **Residents**: a steady, paced stream of ``--rate`` (50) text updates a second, real questions
  from ``bench/questions*.yaml`` over ``--chats`` (2,000) resident chats, each chat with its
  language chosen; update-to-reply is the time from queueing an update to the server receiving
  the first message to its chat (at most one update per chat is waiting at any time).
* **A newsletter** to ``--subscribers`` (10,000), sent as an editor sends it
  (``ankommen newsletter send 1 --no-wait``, then the running bot's outbox delivers it at
  ``ANKOMMEN_NEWSLETTER_RATE``, default 30/s, the one budget it shares with the status prompts).
* **The status loop** with ``--measures`` (10,000) synthetic measures (field 7, numbers from
  7.1000) and 3 staff each, all due at once: the bot's clock starts at a working Monday morning
  (``ANKOMMEN_NOW``), and its tick sends up to 600 prompts a minute.

The bot is the real ``ankommen run`` in its own process (``bench/updates.py``'s ``BotProcess``)
against the loopback Bot API server of ``tests/botapi.py`` running in this process, with its own
flood control off (``TELEGRAM_FLOOD_LIMIT=0``, as in bench/updates.py: 50 answers a second are
more than Telegram's 30 a second that PTB's limiter would keep). The server enforces Telegram's
limits on the newsletter's chats only (30 messages in any sliding second over those chats, one a
second per chat, 429 with ``retry_after`` above that); answers and status prompts are not
limited. Chat id ranges tell the sends apart in the server's call log: staff from 10,000,
subscribers from 1,000,000, residents from 5,000,000, the warm-up from 900,000.

The store is a database made for the run (``soak_<pid>`` on the server of TEST_DATABASE_URL,
default postgresql://postgres@127.0.0.1:5432/test) and dropped at the end.

Prints one JSON object: per minute the updates sent and answered, p50/p99/max of update to reply,
the bot's RSS (at the minute's end and its peak) and CPU share, newsletter messages delivered
(in the minute, in all, and the outbox's pending/unknown rows at the minute's end) and prompts
sent; totals; errors (ERROR lines and tracebacks in the bot's log, unanswered updates, requests
the server refused); the delivery figures; the targets and whether each is met:

* p99 of update to reply at most 100 ms in every minute;
* RSS grows by less than 10 % from the start of minute 2 to the end;
* 0 unhandled errors.

The machine is shared and noisy (the load average is in the output): a measurement, not a test.

    python bench/soak.py [--minutes 10] [--rate 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from broadcast import DRAFT, LANGS  # noqa: E402
from reminders import NOW, fill, pg_database  # noqa: E402
from updates import BotProcess, percentile, questions  # noqa: E402

from bot.cli.wiring import open_core  # noqa: E402
from bot.models import Prompt  # noqa: E402
from bot.newsletters.stats import status as issue_status  # noqa: E402
from bot.residents.store import StorePreferences  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import db  # noqa: E402
from tests.botapi import SEND_METHODS, FakeBotApi  # noqa: E402
from tests.helpers import seed_subscribers  # noqa: E402

STAFF_FIRST = 10_000  # bench/reminders.py's staff chat ids
SUBSCRIBER_FIRST = 1_000_000
RESIDENT_FIRST = 5_000_000
WARMUP_FIRST = 900_000
MEASURE_FIELD, MEASURE_FIRST = 7, 1000  # 7.1000 …: clear of the real 7.x
PER_MEASURE = 3
NEWSLETTER_LIMIT = 30  # Telegram's messages per second, enforced on the newsletter's chats only
ISSUE = 1
TARGETS = {"p99_ms_max_every_minute": 100, "rss_growth_from_minute_2_max": 0.10, "unhandled_errors_max": 0}


class Tracker:
    """What the server saw, classified as it arrives (called on the server's thread)."""

    def __init__(self, residents: range, subscribers: range, staff: range):
        self.residents, self.subscribers, self.staff = residents, subscribers, staff
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.waiting: dict[int, tuple[float, int]] = {}  # chat -> (queued at, minute)
        self.sent = Counter()  # minute -> updates queued
        self.latency_ms: dict[int, list[float]] = defaultdict(list)  # minute queued -> ms
        self.superseded = 0  # a chat's next update came before the answer to its last one
        self.extra_replies = 0  # second and later messages of one answer
        self.news = Counter()  # chat -> newsletter messages received
        self.news_minute = Counter()
        self.prompts = Counter()  # chat -> status messages received
        self.prompts_minute = Counter()
        self.refused = Counter()  # "method status" -> answers >= 400 but the newsletter's 429s
        self.other = Counter()
        self.conflicts: list[float] = []  # getUpdates ended by a newer one (HTTP 409)
        self.news_span = [None, None]  # first and last newsletter message
        self.trace: list[tuple[float, float]] = []  # (queued, seconds into the run; ms to the reply)
        self.prompt_times: list[float] = []  # status messages, seconds into the run

    def minute(self, at: float) -> int:
        return max(0, int((at - self.t0) // 60))

    def queued(self, chat: int, at: float) -> None:
        with self.lock:
            if chat in self.waiting:
                self.superseded += 1
            m = self.minute(at)
            self.waiting[chat] = (at, m)
            self.sent[m] += 1

    def record(self, method: str, chat: int | None, at: float) -> None:
        if method not in SEND_METHODS and method != "editMessageText":
            return
        with self.lock:
            if chat in self.residents:
                got = self.waiting.pop(chat, None)
                if got is None:
                    self.extra_replies += 1
                else:
                    self.latency_ms[got[1]].append((at - got[0]) * 1000)
                    self.trace.append((round(got[0] - self.t0, 3), round((at - got[0]) * 1000, 1)))
            elif chat in self.subscribers:
                self.news[chat] += 1
                self.news_span = [self.news_span[0] or at, at]
                self.news_minute[self.minute(at)] += 1
            elif chat in self.staff:
                self.prompts[chat] += 1
                self.prompts_minute[self.minute(at)] += 1
                self.prompt_times.append(round(at - self.t0, 3))
            else:
                self.other[method] += 1


class SoakApi(FakeBotApi):
    """The loopback server with Telegram's limits on the newsletter's chats only."""

    def __init__(self, tracker: Tracker):
        super().__init__(rate_limit=NEWSLETTER_LIMIT, per_chat_interval=1.0)
        self.tracker = tracker

    def _gate(self, p: dict) -> str | None:
        try:
            chat = int(p.get("chat_id"))
        except (TypeError, ValueError):
            chat = None
        if chat in self.tracker.subscribers or chat is None:
            return super()._gate(p)
        return None

    def _record(self, method: str, params: dict) -> None:
        super()._record(method, params)
        try:
            chat = int(params.get("chat_id"))
        except (TypeError, ValueError):
            chat = None
        self.tracker.record(method, chat, time.monotonic())

    async def _dispatch(self, method, target, headers, body):
        code, payload = await super()._dispatch(method, target, headers, body)
        if code >= 400:
            api_method = self._api_method(target)
            if code == 409 and api_method == "getUpdates":
                self.tracker.conflicts.append(time.monotonic())
            elif not (code == 429 and api_method in SEND_METHODS):  # the newsletter's pacing
                self.tracker.refused[f"{api_method} {code}"] += 1
        return code, payload


def seed(url: str, state_dir: str, args, qs) -> dict[str, list[int]]:
    """Content, residents with their languages, subscribers, synthetic measures and staff."""
    core = open_core(Settings.from_env({"DATABASE_URL": url, "ANKOMMEN_STATE_DIR": state_dir}))
    engine = core.engine
    try:
        langs = sorted({lang for lang, _q in qs})
        share = Counter(lang for lang, _q in qs)
        chats: dict[str, list[int]] = {}
        prefs = StorePreferences(engine)
        nxt = RESIDENT_FIRST
        for lang in langs:
            n = max(5, round(args.chats * share[lang] / len(qs)))
            chats[lang] = list(range(nxt, nxt + n))
            for chat in chats[lang]:
                prefs.set_language(chat, lang)
            nxt += n
        seed_subscribers(engine, range(SUBSCRIBER_FIRST, SUBSCRIBER_FIRST + args.subscribers), LANGS)
        fill(engine, args.measures, PER_MEASURE, field=MEASURE_FIELD, first=MEASURE_FIRST)
    finally:
        engine.dispose()
    return chats


def cli(env: dict, *argv: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *argv], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"ankommen {' '.join(argv)} failed: {proc.stderr[-2000:]}")


def store_figures(engine) -> dict:
    """The outbox's deliveries per state and the prompts per state, from the store."""
    s = issue_status(engine, ISSUE)
    with engine.connect() as conn:
        prompts = dict(conn.execute(sa.select(Prompt.state, sa.func.count()).group_by(Prompt.state)).all())
    return {
        "issue_state": s["state"],
        "deliveries": s["states"],
        "prompts": {str(k): v for k, v in sorted(prompts.items())},
    }


class Monitor(threading.Thread):
    """Every second the bot's RSS; at each minute's end RSS, CPU and the store's figures."""

    def __init__(self, bot: BotProcess, tracker: Tracker, engine, minutes: int):
        super().__init__(name="soak-monitor", daemon=True)
        self.bot, self.tracker, self.engine, self.minutes = bot, tracker, engine, minutes
        self.rss_peak: dict[int, float] = defaultdict(float)
        self.at_end: dict[int, dict] = {}
        self.rss_start = bot.rss_mb()
        self.stop = threading.Event()

    def run(self) -> None:
        cpu = self.bot.cpu_s()
        done = 0
        while not self.stop.is_set():
            now = time.monotonic()
            m = self.tracker.minute(now)
            self.rss_peak[m] = max(self.rss_peak[m], self.bot.rss_mb())
            boundary = self.tracker.t0 + 60 * (done + 1)
            if now >= boundary and done < self.minutes:
                cpu_now = self.bot.cpu_s()
                try:
                    figures = store_figures(self.engine)
                except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                    figures = {"error": type(exc).__name__}
                self.at_end[done] = {"rss_mb": self.bot.rss_mb(), "cpu": (cpu_now - cpu) / 60, **figures}
                cpu, done = cpu_now, done + 1
            self.stop.wait(max(0.05, min(1.0, boundary - time.monotonic())))


def log_errors(text: str) -> dict:
    lines = text.splitlines()
    errors = [ln for ln in lines if " ERROR " in ln or " CRITICAL " in ln]
    tracebacks = [ln for ln in lines if ln.startswith("Traceback")]
    warnings = sum(1 for ln in lines if " WARNING " in ln)  # reported, not counted as errors
    kinds = Counter(ln.split(" ERROR ", 1)[-1].split(" CRITICAL ", 1)[-1][:120] for ln in errors)
    return {
        "error_lines": len(errors),
        "tracebacks": len(tracebacks),
        "first_kinds": dict(kinds.most_common(5)),
        "warning_lines": warnings,
    }


def soak(args, url: str, state_dir: str) -> dict:
    qs = questions()
    by_lang: dict[str, list[str]] = defaultdict(list)
    for lang, q in qs:
        by_lang[lang].append(q)
    t_seed = time.monotonic()
    chats = seed(url, state_dir, args, qs)
    seed_s = time.monotonic() - t_seed
    residents = range(RESIDENT_FIRST, max(c for cs in chats.values() for c in cs) + 1)
    tracker = Tracker(
        residents,
        range(SUBSCRIBER_FIRST, SUBSCRIBER_FIRST + args.subscribers),
        range(STAFF_FIRST, STAFF_FIRST + args.measures * PER_MEASURE),
    )
    draft = Path(state_dir) / "issue.md"
    draft.write_text(DRAFT, encoding="utf-8")
    bot_env = {"DATABASE_URL": url, "ANKOMMEN_NOW": NOW.isoformat()}
    engine = db.make_engine(url)
    with SoakApi(tracker) as api:
        cli_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_"))}
        cli_env.update(
            bot_env,
            ANKOMMEN_STATE_DIR=state_dir,
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            ANKOMMEN_LOG_LEVEL="WARNING",
        )
        cli(cli_env, "newsletter", "draft", str(draft))
        bot = BotProcess("ankommen", api, state_dir, bot_env)
        try:
            deadline = time.monotonic() + 120
            while "getUpdates" not in api.methods_seen and time.monotonic() < deadline:
                if bot.proc.poll() is not None:
                    raise SystemExit(f"the bot exited: {bot.log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.05)
            for i in range(20):  # warm up: every language's first answer
                lang, q = qs[i * len(qs) // 20]
                api.message(WARMUP_FIRST + i, q)
            api.wait_for(20, methods=("sendMessage",), timeout=60)
            cli(cli_env, "newsletter", "send", str(ISSUE), "--no-wait")  # an editor sends the issue

            seconds = args.minutes * 60
            minutes = max(1, int(-(-seconds // 60)))
            tracker.t0 = time.monotonic()
            monitor = Monitor(bot, tracker, engine, minutes)
            monitor.start()
            counters = dict.fromkeys(by_lang, 0)
            n = 0
            while True:
                at = tracker.t0 + n / args.rate
                if at - tracker.t0 >= seconds:
                    break
                delay = at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                lang, _q = qs[n % len(qs)]
                k = counters[lang]
                counters[lang] += 1
                chat = chats[lang][k % len(chats[lang])]
                text = by_lang[lang][k % len(by_lang[lang])]
                tracker.queued(chat, time.monotonic())
                api.message(chat, text, language_code=lang)
                n += 1
            stream_end = time.monotonic()
            drain_deadline = stream_end + args.drain
            while tracker.waiting and time.monotonic() < drain_deadline:
                time.sleep(0.05)
            monitor.stop.set()
            monitor.join(5)
            rss_end = bot.rss_mb()
            final_before_stop = store_figures(engine)
        finally:
            stopping = time.monotonic()
            bot.stop()
        log_text = bot.log.read_text(errors="replace")
        keep = ROOT / "bench" / "results"
        keep.mkdir(exist_ok=True)
        (keep / f"soak-{int(time.time())}.log").write_text(log_text)
        news_requests, news_429 = api.send_requests, api.too_many
    final = store_figures(engine)
    engine.dispose()
    if args.trace:
        args.trace.write_text(json.dumps({"updates": tracker.trace, "prompts": tracker.prompt_times}) + "\n")

    rows = []
    cumulative = 0
    for m in range(minutes):
        lat = tracker.latency_ms.get(m, [])
        cumulative += tracker.news_minute.get(m, 0)
        end = monitor.at_end.get(m, {})
        rows.append(
            {
                "minute": m + 1,
                "updates_sent": tracker.sent.get(m, 0),
                "answered": len(lat),
                "p50_ms": round(percentile(lat, 50), 1) if lat else None,
                "p99_ms": round(percentile(lat, 99), 1) if lat else None,
                "max_ms": round(max(lat), 1) if lat else None,
                "rss_mb": round(end.get("rss_mb", rss_end), 1),
                "rss_peak_mb": round(monitor.rss_peak.get(m, 0.0), 1),
                "bot_cpu_share": round(end["cpu"], 2) if "cpu" in end else None,
                "newsletter_delivered": tracker.news_minute.get(m, 0),
                "newsletter_delivered_total": cumulative,
                "newsletter_outbox": end.get("deliveries"),
                "prompts_sent": tracker.prompts_minute.get(m, 0),
            }
        )
    unanswered = len(tracker.waiting) + tracker.superseded
    logged = log_errors(log_text)
    refused = sum(tracker.refused.values()) + sum(1 for t in tracker.conflicts if t < stopping)
    unhandled = logged["error_lines"] + logged["tracebacks"] + unanswered + refused
    all_lat = [x for v in tracker.latency_ms.values() for x in v]
    # RSS at the start of minute 2 (the end of minute 1), or at the start for a shorter run
    rss_from = (
        monitor.at_end.get(0, {}).get("rss_mb", monitor.rss_start) if minutes >= 2 else monitor.rss_start
    )
    growth = (rss_end - rss_from) / rss_from if rss_from else None
    p99s = [r["p99_ms"] for r in rows if r["p99_ms"] is not None]
    delivered = len(tracker.news)
    first, last = tracker.news_span  # the rate between the first and the last newsletter message
    return {
        "seed_s": round(seed_s, 1),
        "stream_s": round(stream_end - tracker.t0, 1),
        "per_minute": rows,
        "totals": {
            "updates_sent": sum(tracker.sent.values()),
            "answered": len(all_lat),
            "achieved_rate_per_s": round(sum(tracker.sent.values()) / (stream_end - tracker.t0), 1),
            "p50_ms": round(percentile(all_lat, 50), 1) if all_lat else None,
            "p99_ms": round(percentile(all_lat, 99), 1) if all_lat else None,
            "max_ms": round(max(all_lat), 1) if all_lat else None,
            "extra_replies": tracker.extra_replies,
            "rss_mb_start": round(monitor.rss_start, 1),
            "rss_mb_start_of_minute_2": round(rss_from, 1),
            "rss_mb_end": round(rss_end, 1),
            "rss_growth_from_minute_2": round(growth, 4) if growth is not None else None,
            "prompts_sent": sum(tracker.prompts.values()),
            "prompts_duplicates": sum(c - 1 for c in tracker.prompts.values() if c > 1),
            "other_sends": dict(tracker.other),
        },
        "errors": {
            "unhandled": unhandled,
            "unanswered_updates": unanswered,
            "log": logged,
            "refused_by_server": dict(tracker.refused),
            "getupdates_conflicts": {
                "while_running": sum(1 for t in tracker.conflicts if t < stopping),
                "while_stopping": sum(1 for t in tracker.conflicts if t >= stopping),
            },
        },
        "delivery": {
            "subscribers": args.subscribers,
            "delivered": delivered,
            "duplicates": sum(c - 1 for c in tracker.news.values() if c > 1),
            "not_yet": args.subscribers - delivered,
            "sender_rate_per_s": Settings.from_env({}).newsletter_rate,
            "achieved_per_s": round((delivered - 1) / (last - first), 1) if delivered > 1 else None,
            "requests": news_requests,
            "answered_429": news_429,
            "store_at_end": final_before_stop,
            "store_after_stop": final,
        },
        "targets": TARGETS,
        "targets_met": {
            "p99_every_minute": bool(p99s) and len(p99s) == len(rows) and max(p99s) <= TARGETS["p99_ms_max_every_minute"],
            "rss_growth": growth is not None and growth < TARGETS["rss_growth_from_minute_2_max"],
            "no_unhandled_errors": unhandled <= TARGETS["unhandled_errors_max"],
        },
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=50.0, help="resident updates a second")
    ap.add_argument("--chats", type=int, default=2000, help="resident chats the updates come from")
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--measures", type=int, default=10_000)
    ap.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the last answers")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--trace", type=Path, help="write every update's (queued at, ms to its reply) here")
    args = ap.parse_args()
    load_start = os.getloadavg()
    started = datetime.now(UTC)
    url, drop = pg_database(f"soak_{os.getpid()}")
    try:
        with tempfile.TemporaryDirectory(prefix="ankommen-soak-") as tmp:
            body = soak(args, url, tmp)
    finally:
        drop()
    result = {
        "benchmark": "soak",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "resident_chats": args.chats,
        "subscribers": args.subscribers,
        "measures": args.measures,
        "staff": args.measures * PER_MEASURE,
        "store": "postgresql",
        "limits": (
            f"server: {NEWSLETTER_LIMIT}/s and 1/s per chat on the newsletter's chats only; "
            "bot: TELEGRAM_FLOOD_LIMIT=0"
        ),
        **body,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
