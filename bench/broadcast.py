"""Broadcast benchmark: one newsletter issue to N subscribers against a rate-limited Bot API.

The loopback Bot API server from ``tests/botapi.py`` runs in this process and enforces Telegram's
shape of flood control, scaled down: at most ``--limit`` (L) messages in any sliding second and
one message per second per chat, answering 429 with ``retry_after`` above that. The sender is the
real ``ankommen newsletter send`` in its own process (SQLite store by default, or
``--database-url``), configured with ``ANKOMMEN_NEWSLETTER_RATE`` = ``--rate`` (default L: the
setting is the limit to hold; the shared budget, ``bot/store/budget.py``, keeps its own margin
for jitter below it).

Per round it reports, from what the server saw:

* ``rate_ratio``: messages delivered per second between the first and the last delivery, / L;
* ``duplicates``: messages beyond the first one to a chat; ``lost``: subscribers who got nothing;
* ``share_429``: requests answered 429 / all send requests.

Targets: rate_ratio >= 0.9, 0 duplicates, 0 lost, share_429 <= 0.01. Prints one JSON object with
every round and the medians over ``--repeat`` rounds; a copy goes to bench/results/. The machine
is shared and noisy; this is a measurement, not a test.

    python bench/broadcast.py [--subscribers 3000] [--limit 300] [--rate 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bot.store import db  # noqa: E402
from tests.botapi import FakeBotApi  # noqa: E402
from tests.helpers import seed_subscribers  # noqa: E402
from tests.support.fleet import reset  # noqa: E402

LANGS = ("de", "en", "ar", "uk", "fa")  # fa has no text in the issue: German with a note
DRAFT = """---
newsletter: "1.24"
---
**Seniorencafé** am *Montag* im [Rathaus](https://www.magdeburg.de/).

# en
**Seniors' café** on *Monday* at the [town hall](https://www.magdeburg.de/).

# ar
**مقهى كبار السن** يوم الاثنين في البلدية.

# uk
**Кафе для літніх людей** у понеділок у ратуші.
"""


def seed(url: str, n: int) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    seed_subscribers(engine, range(1_000_000, 1_000_000 + n), LANGS)
    engine.dispose()


def one_round(args, workdir: Path) -> dict:
    url = args.database_url or f"sqlite:///{workdir / 'ankommen.db'}"
    seed(url, args.subscribers)
    draft = workdir / "issue.md"
    draft.write_text(DRAFT, encoding="utf-8")
    with FakeBotApi(rate_limit=args.limit, per_chat_interval=1.0) as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_"))}
        env.update(
            DATABASE_URL=url,
            ANKOMMEN_STATE_DIR=str(workdir),
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            ANKOMMEN_NEWSLETTER_RATE=str(args.rate),
            ANKOMMEN_LOG_LEVEL="WARNING",
        )
        exe = [sys.executable, "-m", "bot.cli"]
        subprocess.run(
            [*exe, "newsletter", "draft", str(draft)], env=env, cwd=ROOT, check=True, capture_output=True
        )
        started = time.monotonic()
        proc = subprocess.run(
            [*exe, "newsletter", "send", "1"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise SystemExit(f"send failed: {proc.stderr[-2000:]}")
        sends = [s for s in list(api.sent) if s.method == "sendMessage"]
        delivered = api.delivered()
        requests, too_many = api.send_requests, api.too_many
    span = max(s.at for s in sends) - min(s.at for s in sends)
    rate = (len(sends) - 1) / span if span > 0 else float("inf")
    return {
        "delivered": len(sends),
        "seconds": round(span, 2),
        "wall_seconds": round(wall, 2),
        "achieved_per_second": round(rate, 1),
        "rate_ratio": round(rate / args.limit, 3),
        "duplicates": sum(c - 1 for c in delivered.values() if c > 1),
        "lost": args.subscribers - len(delivered),
        "requests": requests,
        "answered_429": too_many,
        "share_429": round(too_many / requests, 4) if requests else 0.0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=3000)
    ap.add_argument("--limit", type=int, default=300, help="L: the server's messages per second")
    ap.add_argument("--rate", type=int, default=None, help="ANKOMMEN_NEWSLETTER_RATE (default L)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--database-url", help="e.g. postgresql://postgres@127.0.0.1:5432/bench (emptied first)")
    args = ap.parse_args()
    args.rate = args.rate or args.limit
    rounds = []
    for _ in range(args.repeat):
        if args.database_url:
            reset(args.database_url)
        with tempfile.TemporaryDirectory(prefix="ankommen-broadcast-") as tmp:
            rounds.append(one_round(args, Path(tmp)))

    def med(key):
        return round(statistics.median(r[key] for r in rounds), 4)

    medians = {
        k: med(k) for k in ("rate_ratio", "achieved_per_second", "duplicates", "lost", "share_429", "seconds")
    }
    result = {
        "benchmark": "broadcast",
        "subscribers": args.subscribers,
        "limit_per_second": args.limit,
        "per_chat_interval_seconds": 1.0,
        "sender_rate": args.rate,
        "store": "postgresql" if args.database_url else "sqlite",
        "repeat": args.repeat,
        "python": platform.python_version(),
        "rounds": rounds,
        "median": medians,
        "targets_met": {
            "rate_ratio>=0.9": all(r["rate_ratio"] >= 0.9 for r in rounds),
            "duplicates==0": all(r["duplicates"] == 0 for r in rounds),
            "lost==0": all(r["lost"] == 0 for r in rounds),
            "share_429<=0.01": all(r["share_429"] <= 0.01 for r in rounds),
        },
    }
    emit(result, "broadcast")
    return 0


def emit(result: dict, name: str) -> None:
    """Print a benchmark's JSON and keep a copy as ``bench/results/<name>-<time>.json``."""
    text = json.dumps(result, indent=2)
    print(text)
    keep = ROOT / "bench" / "results"
    keep.mkdir(exist_ok=True)
    (keep / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(text + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
