"""Status-loop benchmark: one tick with 10,000 measures and 3 staff per measure, on SQLite and
on PostgreSQL, sending to the loopback Bot API server.

Per backend and round, on a fresh store (synthetic measures in field 1, 30,000 linked staff,
assignments made a week ago, so every measure falls due at once):

* ``due_scan_s``: the due scan of the first tick: reading all assignments, reports, prompts and
  cadences, working out the due time of all 10,000 measures (all are due), and inserting the
  ``due`` prompts of this tick (about 600, the per-tick send cap; the rest follow tick by tick).
  The issue's target is at most 1 s;
* ``tick_s``: the whole first tick: recovery, scan, claiming a batch (600, the per-tick cap) and
  sending it to the loopback server (flood control off), with reminders and escalations checked;
* ``sends_per_s``: prompts sent in that tick divided by the send phase's time;
* ``steady_scan_s``: the scan of the next tick, when every measure has an open prompt and nothing
  new is due (what most ticks cost);
* ``loop_max_stall_s``: the longest the event loop was held up during the first tick (a 10 ms
  heartbeat task's worst lag): the tick's store work runs in threads, so no store wait shows
  here. What does show is a process's first prompt loading Babel's locale data (about 0.2 s in
  one C call that holds the GIL, once per process and language).

Prints one JSON object with the medians over ``--repeat`` rounds. A measurement on a shared,
noisy machine, not a test.

    python bench/reminders.py [--measures 10000] [--staff-per-measure 3] [--repeat 3] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from telegram import Bot  # noqa: E402

from bot.content.catalog import Catalog  # noqa: E402
from bot.i18n import Translations  # noqa: E402
from bot.models import ActionField, Assignment, Measure, StaffMember  # noqa: E402
from bot.staff.desk import StaffDesk  # noqa: E402
from bot.staff.directory import StaffDirectory  # noqa: E402
from bot.staff.loop import StatusLoop  # noqa: E402
from bot.staff.prompt_store import LoopConfig  # noqa: E402
from bot.store import db  # noqa: E402
from handlers.sender import BotSender  # noqa: E402
from tests.botapi import FakeBotApi  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday, 10:30 in Magdeburg
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def fill(engine, measures: int, per_measure: int, *, field: int = 1, first: int = 0) -> None:
    """Measures ``field.first`` … in ``field`` (made here unless it exists: the soak puts them in
    a field of the real content), each assigned to ``per_measure`` staff (chat ids from 10,000)."""
    week_ago = NOW - timedelta(days=7)
    with engine.begin() as conn:
        if conn.execute(sa.select(ActionField.number).where(ActionField.number == field)).first() is None:
            conn.execute(sa.insert(ActionField.__table__), [{"number": field, "title_de": "Bench"}])
        conn.execute(
            sa.insert(Measure.__table__),
            [
                {
                    "number": f"{field}.{first + i}",
                    "field_number": field,
                    "position": first + i,
                    "text_de": f"M {i}",
                    "responsible_de": "Amt",
                }
                for i in range(measures)
            ],
        )
        conn.execute(
            sa.insert(StaffMember.__table__),
            [
                {
                    "id": k + 1,
                    "name": f"P{k}",
                    "organisation": "Amt",
                    "chat_id": 10_000 + k,
                    "language": "de",
                    "role": "staff",
                    "created_at": week_ago,
                }  # fmt: skip
                for k in range(measures * per_measure)
            ],
        )
        conn.execute(
            sa.insert(Assignment.__table__),
            [
                {
                    "staff_id": i * per_measure + j + 1,
                    "measure_number": f"{field}.{first + i}",
                    "created_at": week_ago,
                }
                for i in range(measures)
                for j in range(per_measure)
            ],
        )


def one_round(url: str, measures: int, per_measure: int, api: FakeBotApi) -> dict:
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        fill(engine, measures, per_measure)
        catalog = Catalog.load(engine)
        desk = StaffDesk(StaffDirectory(engine, catalog.measures), catalog, Translations(), clock=lambda: NOW)
        loop = StatusLoop(engine, desk, LoopConfig())

        async def ticks():
            lags = [0.0]

            async def heartbeat():
                while True:
                    started = time.perf_counter()
                    await asyncio.sleep(0.01)
                    lags.append(time.perf_counter() - started - 0.01)

            async with Bot(api.token, base_url=api.base_url) as bot:
                sender = BotSender(bot)
                beat = asyncio.create_task(heartbeat())
                await asyncio.sleep(0.02)  # the heartbeat is running
                started = time.perf_counter()
                first = await loop.tick(NOW, sender)
                tick_s = time.perf_counter() - started
                await asyncio.sleep(0.02)  # a beat that was held up records its lag
                beat.cancel()
                second = await loop.tick(NOW + timedelta(minutes=1), sender)
                return first, tick_s, second, max(lags)

        first, tick_s, second, stall_s = asyncio.run(ticks())
        assert first.created >= min(measures * per_measure, loop.config.batch), first
        return {
            "due_scan_s": first.scan_seconds,
            "prompts_created": first.created,
            "tick_s": tick_s,
            "prompts_sent": first.prompts,
            "sends_per_s": first.prompts / first.send_seconds if first.send_seconds else 0.0,
            "steady_scan_s": second.scan_seconds,
            "loop_max_stall_s": stall_s,
        }
    finally:
        engine.dispose()


def pg_database(name: str | None = None) -> tuple[str, callable]:
    """A fresh database on the server of ``PG_URL`` (``name``, default a random one): its URL and
    a function that drops it."""
    admin = sa.create_engine("postgresql+psycopg:" + PG_URL.split(":", 1)[1], isolation_level="AUTOCOMMIT")
    name = name or f"ankommen_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return "postgresql+psycopg:" + PG_URL.split(":", 1)[1].rsplit("/", 1)[0] + f"/{name}", drop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measures", type=int, default=10_000)
    ap.add_argument("--staff-per-measure", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    out = {
        "measures": args.measures,
        "staff_per_measure": args.staff_per_measure,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "target_due_scan_s": 1.0,
    }
    with FakeBotApi() as api:
        for backend in args.backends.split(","):
            rounds = []
            for _ in range(args.repeat):
                if backend == "sqlite":
                    with tempfile.TemporaryDirectory() as tmp:
                        rounds.append(
                            one_round(f"sqlite:///{tmp}/bench.db", args.measures, args.staff_per_measure, api)
                        )
                else:
                    url, drop = pg_database()
                    try:
                        rounds.append(one_round(url, args.measures, args.staff_per_measure, api))
                    finally:
                        drop()
            out[backend] = {key: round(statistics.median(r[key] for r in rounds), 4) for key in rounds[0]} | {
                "rounds_due_scan_s": [round(r["due_scan_s"], 4) for r in rounds]
            }
            out[backend]["due_scan_within_target"] = out[backend]["due_scan_s"] <= 1.0
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
