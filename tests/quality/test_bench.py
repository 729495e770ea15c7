"""bench/run_all.py: the report's structure on one cheap benchmark (never its speed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_all_quick_writes_json_and_markdown(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
    }
    proc = subprocess.run(
        [sys.executable, "bench/run_all.py", "--quick", "--only", "updates", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    doc = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert doc["status"] == "ok" and doc["quick"] is True
    for key in ("cpu_model", "cores", "memory_gb", "os", "python", "postgresql", "git_commit"):
        assert key in doc["machine"]
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["python"]
    assert doc["started"] and doc["finished"] and doc["wall_s"] > 0
    [entry] = doc["benchmarks"]
    assert entry["name"] == "updates" and entry["status"] == "ok" and entry["exit_status"] == 0
    assert entry["command"].startswith("python bench/updates.py") and "--burst" in entry["command"]
    assert entry["wall_s"] > 0
    result = entry["result"]
    assert result["benchmark"] == "updates"
    assert {"echo", "ankommen", "throughput_ratio_median", "ankommen_rss_mb", "targets"} <= result.keys()
    heads = {h["measurement"]: h for h in entry["headline"]}
    ratio = next(h for m, h in heads.items() if m.startswith("throughput ratio"))
    assert ratio["target"] == "≥ 0.7" and isinstance(ratio["met"], bool)
    assert any(h["target"] == "≤ 300 MB" for h in heads.values())

    md = (tmp_path / "latest.md").read_text(encoding="utf-8")
    assert md.startswith("# Benchmark results")
    assert "quick sizes" in md and doc["machine"]["git_commit"][:12] in md
    assert "## updates" in md and "| measurement | figure | target | |" in md
    assert "throughput ratio Ankommen / echo bot" in md


def test_run_all_rejects_an_unknown_name(tmp_path):
    proc = subprocess.run(
        [sys.executable, "bench/run_all.py", "--only", "nosuch", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "unknown benchmark nosuch" in proc.stderr
    assert not (tmp_path / "latest.json").exists()
