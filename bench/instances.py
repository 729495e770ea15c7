"""Instances benchmark: one Telegram budget shared by 1 and 3 ``ankommen run`` processes.

The loopback Bot API server from ``tests/botapi.py`` runs in this process and accepts at most
``--limit`` (L) sends in any sliding second and one per second per chat (429 with
``retry_after`` above that). Each round seeds a fresh PostgreSQL database (``--database-url``
names the server; a database is made per round and dropped after), starts the instances with
``ANKOMMEN_NEWSLETTER_RATE`` = L (the total: the instances are not told how many they are) and
sends one issue to ``--subscribers`` subscribers (``tests/support/fleet.py``). Three cases:

* ``one``: a single instance; ``three``: three instances;
* ``three_kill``: three instances, the busiest killed with SIGKILL after 40 % were delivered.

Per round, from what the server saw and what the store says: ``rate_ratio`` (messages accepted
per second between the first and the last, / L; in ``three_kill`` also before the kill and in
the 2 s after it), ``share_429``, ``duplicates``, ``lost`` (got nothing and the store does not
say ``unknown``), ``unknown``; for the kill: the killed instance's rows between their two
writes at the kill (``killed_in_flight_or_marked``, the bound on ``unknown``, at most
``unknown_bound`` = the outbox's concurrency), and ``released_after_seconds`` (until the
survivors had recovered its rows; bound: leader check + lease = 1 + 2 s here).

Targets: three instances >= 0.95 L, one >= 0.97 L, share_429 <= 0.01, 0 duplicates, 0 lost,
unknown <= the in-flight bound. Prints one JSON object with every round and the medians over
``--repeat`` rounds; a copy goes to bench/results/. The machine is shared; this is a
measurement, not a test.

    python bench/instances.py [--limit 30] [--seconds 15] [--repeat 3] [--cases one,three,three_kill]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from broadcast import emit  # noqa: E402

from tests.support import fleet  # noqa: E402
from tests.support.stores import PgDatabases, pg_url_of  # noqa: E402

CASES = {"one": (1, None), "three": (3, None), "three_kill": (3, 0.4)}


def one_round(case: str, args, databases: PgDatabases) -> dict:
    instances, kill = CASES[case]
    name = databases.create()
    try:
        with tempfile.TemporaryDirectory(prefix="ankommen-instances-") as tmp:
            run = fleet.run_fleet(
                pg_url_of(name),
                Path(tmp),
                instances=instances,
                limit=args.limit,
                subscribers=args.limit * args.seconds,
                kill_at_fraction=kill,
            )
    finally:
        databases.drop(name)
    return run.summary()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=30, help="L: the server's sends per second")
    ap.add_argument("--seconds", type=int, default=15, help="subscribers = L x seconds")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default="one,three,three_kill")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    databases = PgDatabases()
    rounds: dict[str, list[dict]] = {c: [] for c in cases}
    try:
        for _ in range(args.repeat):
            for case in cases:  # interleaved, so a noisy minute does not fall on one case
                rounds[case].append(one_round(case, args, databases))
    finally:
        databases.dispose()

    def med(case, key):
        values = [r[key] for r in rounds[case] if r.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    keys = (
        "rate_ratio",
        "achieved_per_second",
        "share_429",
        "duplicates",
        "lost",
        "unknown",
        "busiest_second",
    )
    kill_keys = (
        "rate_ratio_before_kill",
        "rate_ratio_first_2s_after_kill",
        "killed_in_flight_or_marked",
        "released_after_seconds",
        "first_taken_over_seconds",
    )
    medians = {c: {k: med(c, k) for k in keys + (kill_keys if CASES[c][1] else ())} for c in cases}
    met = {}
    if "one" in cases:
        met["one: rate_ratio>=0.97"] = all(r["rate_ratio"] >= 0.97 for r in rounds["one"])
    if "three" in cases:
        met["three: rate_ratio>=0.95"] = all(r["rate_ratio"] >= 0.95 for r in rounds["three"])
    every = [r for c in cases for r in rounds[c]]
    met["share_429<=0.01"] = all(r["share_429"] <= 0.01 for r in every)
    met["duplicates==0"] = all(r["duplicates"] == 0 for r in every)
    met["lost==0"] = all(r["lost"] == 0 for r in every)
    if "three_kill" in cases:
        met["unknown<=in_flight_at_kill<=concurrency"] = all(
            r["unknown"] <= r["killed_in_flight_or_marked"] <= r["unknown_bound"]
            for r in rounds["three_kill"]
        )
        met["released<=leader_check+lease"] = all(
            r["released_after_seconds"] is not None
            and r["released_after_seconds"] <= r["takeover_bound_seconds"]
            for r in rounds["three_kill"]
        )
    result = {
        "benchmark": "instances",
        "limit_per_second": args.limit,
        "newsletter_rate_setting": args.limit,
        "subscribers": args.limit * args.seconds,
        "per_chat_interval_seconds": 1.0,
        "lease_seconds": fleet.LEASE,
        "leader_check_seconds": fleet.LEADER_CHECK,
        "store": "postgresql",
        "repeat": args.repeat,
        "python": platform.python_version(),
        "rounds": rounds,
        "median": medians,
        "targets_met": met,
    }
    emit(result, "instances")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
