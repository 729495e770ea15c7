"""bench/soak.py: a 12-second soak runs end to end and says what happened (never how fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_short_soak_answers_every_update_and_reports_every_figure(tmp_path, pg_url):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
    }
    env["TEST_DATABASE_URL"] = pg_url  # the server the soak makes its own database on
    out = tmp_path / "soak.json"
    argv = ["--minutes", "0.2", "--subscribers", "300", "--measures", "300", "--chats", "300"]
    proc = subprocess.Popen(
        [sys.executable, "bench/soak.py", *argv, "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    r = json.loads(stdout)
    assert r == json.loads(out.read_text())

    assert r["benchmark"] == "soak" and r["store"] == "postgresql" and r["minutes"] == 0.2
    assert len(r["machine"]["load_average_at_start"]) == 3
    [row] = r["per_minute"]
    assert row["minute"] == 1
    for key in ("p50_ms", "p99_ms", "rss_mb", "newsletter_delivered", "prompts_sent"):
        assert isinstance(row[key], int | float), key
    # every update queued was answered, each by its own reply, and nothing failed
    t = r["totals"]
    assert t["updates_sent"] == row["updates_sent"] == row["answered"] == t["answered"] > 100
    assert r["errors"] == {
        "unhandled": 0,
        "unanswered_updates": 0,
        "log": {"error_lines": 0, "tracebacks": 0, "first_kinds": {}, "warning_lines": 0},
        "refused_by_server": {},
        "getupdates_conflicts": r["errors"]["getupdates_conflicts"],
    }
    assert r["errors"]["getupdates_conflicts"]["while_running"] == 0
    assert r["targets_met"]["no_unhandled_errors"] is True
    assert isinstance(r["targets_met"]["p99_every_minute"], bool)
    assert isinstance(r["targets_met"]["rss_growth"], bool)
    # the newsletter: what the server got is what the store says was sent, nobody twice
    d = r["delivery"]
    assert d["duplicates"] == 0 and 0 < d["delivered"] <= 300
    after = d["store_after_stop"]["deliveries"]
    assert after.get("sent", 0) + after.get("unknown", 0) >= d["delivered"] >= after.get("sent", 0)
    assert sum(after.values()) == 300
    assert row["newsletter_delivered_total"] <= d["delivered"]
    # the soak's own database is gone
    admin = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.connect() as conn:
        left = conn.execute(
            sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": f"soak_{proc.pid}"}
        ).scalar()
    admin.dispose()
    assert left == 0
