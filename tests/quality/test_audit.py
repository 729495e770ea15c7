""".ci/audit offline: a known vulnerability in a pinned version fails it, loudly (no network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def audit(ci_dir: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"ANKOMMEN_AUDIT_DIR": str(ci_dir)}
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "audit.py"), "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def copy_ci(tmp_path: Path) -> Path:
    ci = tmp_path / "ci"
    ci.mkdir()
    for lock in (ROOT / ".ci").glob("requirements*.lock"):
        shutil.copy(lock, ci)
    shutil.copytree(ROOT / ".ci" / "advisories", ci / "advisories")
    return ci


def test_the_committed_snapshot_passes_offline_and_names_its_date(tmp_path):
    proc = audit(copy_ci(tmp_path))
    assert proc.returncode == 0, proc.stderr
    generated = json.loads((ROOT / ".ci/advisories/pypi.json").read_text())["generated"]
    assert f"the snapshot is of {generated}" in proc.stderr


def test_a_vulnerable_pin_fails(tmp_path):
    ci = copy_ci(tmp_path)
    snap = json.loads((ci / "advisories/pypi.json").read_text())
    key = next(k for k in snap["packages"] if k.startswith("pyyaml=="))
    snap["packages"][key]["vulnerabilities"] = [
        {"id": "PYSEC-0000-1", "aliases": ["CVE-0000-1"], "summary": "test advisory", "fixed_in": ["99"]}
    ]
    (ci / "advisories/pypi.json").write_text(json.dumps(snap))
    proc = audit(ci)
    assert proc.returncode == 1
    assert f"VULNERABLE {key}: PYSEC-0000-1" in proc.stderr

    (ci / "advisories/accepted.txt").write_text("CVE-0000-1 reviewed: not reachable from our code\n")
    proc = audit(ci)
    assert proc.returncode == 0 and "accepted" in proc.stderr


def test_a_pin_neither_online_nor_in_the_snapshot_fails(tmp_path):
    ci = copy_ci(tmp_path)
    (ci / "requirements-extra.lock").write_text("somepackage==1.0 \\\n    --hash=sha256:00\n")
    proc = audit(ci)
    assert proc.returncode == 1 and "not audited" in proc.stderr and "somepackage==1.0" in proc.stderr
