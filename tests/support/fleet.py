"""Several real ``ankommen run`` instances on one store sending one newsletter issue through the
loopback Bot API server, which enforces a sliding-second limit; optionally one is killed.

Used by ``tests/telegram/test_budget.py`` (correctness: duplicates, lost, 429s, the loss bound,
the takeover) and ``bench/instances.py`` (the figures). What the server saw and what the store
says are returned in a ``FleetRun``; nothing here asserts anything.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import Delivery, NewsletterIssue
from bot.store import db
from tests.botapi import FakeBotApi
from tests.helpers import run_cli, seed_subscribers, spawn_cli, wait_until

TOKEN = "123456:budget-test-token"
LANGS = ("de", "en", "ar", "uk", "fa")
DRAFT = """---
newsletter: "1.24"
---
**Seniorencafé** am Montag

# en
**Seniors' café** on Monday

# ar
**مقهى كبار السن** يوم الاثنين

# uk
**Кафе для літніх людей** у понеділок
"""
LEASE = 2  # ANKOMMEN_NEWSLETTER_LEASE in these runs
LEADER_CHECK = 1  # ANKOMMEN_LEADER_CHECK_SECONDS
CONCURRENCY = 16  # bot.newsletters.outbox.CONCURRENCY: the rows a worker holds between its writes


@dataclass
class FleetRun:
    instances: int
    limit: int
    subscribers: int
    chats: list[int]
    sends: list[tuple[float, int]]  # (server time, chat) of every delivered message
    requests: int  # send requests the server received (any answer)
    too_many: int  # of them answered 429
    delivered: Counter
    states: dict[int, str]  # chat -> the row's final state
    logs: list[str]
    kill_at: float | None = None  # server clock (time.monotonic of this process)
    killed: int | None = None  # index of the killed instance
    held_at_kill: dict[str, set[int]] = field(default_factory=dict)  # state -> chats of its rows
    released_after: float | None = None  # seconds from the kill until it held no row
    first_taken_over: float | None = None  # seconds until the first of its claimed rows arrived

    # -- figures ----------------------------------------------------------------------------------
    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.delivered.values() if n > 1)

    @property
    def lost(self) -> set[int]:
        """Subscribers who got nothing."""
        return set(self.chats) - set(self.delivered)

    @property
    def unknown(self) -> set[int]:
        return {c for c, s in self.states.items() if s == "unknown"}

    @property
    def open_rows(self) -> set[int]:
        """Rows that ended neither sent nor unknown (left pending, claimed, sending or failed)."""
        return {c for c, s in self.states.items() if s not in ("sent", "unknown")}

    def rate(self, start: float | None = None, end: float | None = None) -> float:
        """Messages per second the server accepted between the first and the last in the span."""
        times = sorted(t for t, _ in self.sends if (start is None or t >= start) and (end is None or t < end))
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def busiest_second(self) -> int:
        """The most messages the server accepted in any sliding second."""
        times = sorted(t for t, _ in self.sends)
        most, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= 1.0:
                lo += 1
            most = max(most, hi - lo + 1)
        return most

    def summary(self) -> dict:
        out = {
            "instances": self.instances,
            "limit_per_second": self.limit,
            "subscribers": self.subscribers,
            "delivered": len(self.sends),
            "achieved_per_second": round(self.rate(), 2),
            "rate_ratio": round(self.rate() / self.limit, 3),
            "busiest_second": self.busiest_second(),
            "requests": self.requests,
            "answered_429": self.too_many,
            "share_429": round(self.too_many / self.requests, 4) if self.requests else 0.0,
            "duplicates": self.duplicates,
            "lost": len(self.lost - self.unknown),
            "unknown": len(self.unknown),
            "open_rows": len(self.open_rows),
        }
        if self.kill_at is not None:
            before = self.rate(end=self.kill_at)
            out.update(
                rate_ratio_before_kill=round(before / self.limit, 3),
                rate_ratio_first_2s_after_kill=round(
                    self.rate(self.kill_at, self.kill_at + 2.0) / self.limit, 3
                ),
                killed_in_flight_or_marked=len(self.held_at_kill.get("sending", ())),
                killed_claimed=len(self.held_at_kill.get("claimed", ())),
                unknown_bound=CONCURRENCY,
                unknown_that_arrived=len(self.unknown & set(self.delivered)),
                released_after_seconds=_round(self.released_after),
                first_taken_over_seconds=_round(self.first_taken_over),
                takeover_bound_seconds=LEADER_CHECK + LEASE,
            )
        return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def env_for(api: FakeBotApi, url: str, state_dir: Path, rate: int) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "ANKOMMEN_STATE_DIR": str(state_dir),
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "ANKOMMEN_LEADER_CHECK_SECONDS": str(LEADER_CHECK),
        "ANKOMMEN_NEWSLETTER_LEASE": str(LEASE),
        "ANKOMMEN_NEWSLETTER_RATE": str(rate),  # the total for all instances
        "ANKOMMEN_LOG_LEVEL": "INFO",
    }


def _held(engine, pid: int) -> dict[str, set[int]]:
    """The rows a process's workers hold (worker ids are host:pid:random), by state."""
    with Session(engine) as s:
        rows = s.exec(
            select(Delivery.state, Delivery.chat_id).where(Delivery.worker.like(f"%:{pid}:%"))
        ).all()
    held: dict[str, set[int]] = {}
    for state, chat in rows:
        held.setdefault(state, set()).add(chat)
    return held


def _holders(engine) -> Counter:
    with Session(engine) as s:
        workers = s.exec(
            select(Delivery.worker).where(Delivery.state == "sending", Delivery.worker.is_not(None))
        ).all()
    return Counter(int(w.split(":")[-2]) for w in workers)


def run_fleet(
    url: str,
    workdir: Path,
    *,
    instances: int = 3,
    limit: int = 30,
    subscribers: int = 450,
    rate: int | None = None,
    kill_at_fraction: float | None = None,
    first_chat: int = 800_000,
    timeout: float = 120.0,
) -> FleetRun:
    """One issue to ``subscribers`` by ``instances`` processes (``ANKOMMEN_NEWSLETTER_RATE`` =
    ``rate``, default ``limit``) against a server accepting ``limit`` sends in any second; with
    ``kill_at_fraction``, the instance sending most at that share delivered gets SIGKILL."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(first_chat, first_chat + subscribers), LANGS)
    draft = workdir / "issue.md"
    draft.write_text(DRAFT, encoding="utf-8")
    logs = [workdir / f"instance{i}.log" for i in range(instances)]
    run = None
    with FakeBotApi(TOKEN, rate_limit=limit, per_chat_interval=1.0) as api:
        env = env_for(api, url, workdir, rate or limit)
        made = run_cli("newsletter", "draft", str(draft), env=env)
        if made.returncode != 0:
            raise RuntimeError(f"draft failed: {made.stderr[-2000:]}")
        procs = [spawn_cli(["run"], env, log) for log in logs]
        kill_at, killed, held, released_after = None, None, {}, None
        try:
            polling = lambda: any("holds the polling lock" in p.read_text(errors="replace") for p in logs)  # noqa: E731
            if not wait_until(polling, 60):
                raise RuntimeError(
                    "no instance started polling: " + logs[0].read_text(errors="replace")[-2000:]
                )
            # Every instance is up (one getMe each as its Application starts), and past its
            # start-up work, before the issue goes out.
            if not wait_until(lambda: api.method_calls["getMe"] >= instances, 60):
                raise RuntimeError("not every instance started")
            time.sleep(1.5)
            sent = run_cli("newsletter", "send", "1", "--no-wait", env=env)
            if sent.returncode != 0:
                raise RuntimeError(f"send failed: {sent.stderr[-2000:]}")
            if kill_at_fraction is not None:
                wait_until(lambda: len(api.delivered()) >= subscribers * kill_at_fraction, timeout)
                pids = {p.pid: i for i, p in enumerate(procs)}
                busiest = [pid for pid, _ in _holders(engine).most_common() if pid in pids]
                killed = pids[busiest[0]] if busiest else 0
                procs[killed].send_signal(signal.SIGKILL)
                kill_at = time.monotonic()
                procs[killed].wait(30)
                held = _held(engine, procs[killed].pid)
                while time.monotonic() - kill_at < timeout and _held(engine, procs[killed].pid):
                    time.sleep(0.05)
                released_after = time.monotonic() - kill_at

            def finished() -> bool:
                with Session(engine) as s:
                    return s.get(NewsletterIssue, 1).state == "sent"

            wait_until(finished, timeout)
        finally:
            stop_all(procs)
        sends = [(s.at, s.chat_id) for s in list(api.sent) if s.method == "sendMessage"]
        run = FleetRun(
            instances=instances,
            limit=limit,
            subscribers=subscribers,
            chats=chats,
            sends=sends,
            requests=api.send_requests,
            too_many=api.too_many,
            delivered=api.delivered(),
            states={},
            logs=[p.read_text(errors="replace") for p in logs],
            kill_at=kill_at,
            killed=killed,
            held_at_kill=held,
            released_after=released_after,
        )
    with Session(engine) as s:
        run.states = dict(s.exec(select(Delivery.chat_id, Delivery.state)).all())
    if kill_at is not None:
        claimed = held.get("claimed", set())
        arrivals = [t for t, c in sends if c in claimed and t > kill_at]
        run.first_taken_over = min(arrivals) - kill_at if arrivals else None
    engine.dispose()
    return run


def stop_all(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to every process still running, then wait for each (30 s, then SIGKILL)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def reset(url: str) -> None:
    """Drop every table of a PostgreSQL database made for one run (only the one given)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
