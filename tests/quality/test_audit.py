""".ci/audit offline: a known vulnerability in a pinned version fails it, loudly (no network)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def audit(ci_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"ANKOMMEN_AUDIT_DIR": str(ci_dir)} | (env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "audit.py"), *(args or ["--offline"])],
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


def _pins(ci: Path) -> dict[str, str]:
    found = {}
    for lock in ci.glob("requirements*.lock"):
        for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock.read_text(), flags=re.M):
            found[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return found


def test_refresh_keeps_a_pin_it_cannot_check_now_with_the_day_it_was_checked(tmp_path):
    """PyPI's project JSON speaks for the latest release only: a pin overtaken by a new release
    keeps its previous snapshot entry and date instead of going unaudited (a local stand-in for
    PyPI; OSV unreachable)."""
    ci = copy_ci(tmp_path)
    old = json.loads((ci / "advisories/pypi.json").read_text())
    old["generated"], day = "2026-01-02T03:04:05+00:00", "2026-01-02"
    for entry in old["packages"].values():
        entry["checked"] = day
    (ci / "advisories/pypi.json").write_text(json.dumps(old))
    pins = _pins(ci)

    class PyPI(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.strip("/").split("/")  # pypi/NAME/json or pypi/NAME/VERSION/json
            if len(parts) != 3:
                self.send_error(404)
                return
            latest = "99.0" if parts[1] == "pyyaml" else pins.get(parts[1], "0")
            body = json.dumps({"info": {"version": latest}, "vulnerabilities": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), PyPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        urls = {
            "ANKOMMEN_AUDIT_PYPI_URL": f"http://127.0.0.1:{server.server_port}/pypi",
            "ANKOMMEN_AUDIT_OSV_URL": "http://127.0.0.1:9/v1",  # nothing listens: unreachable
        }
        proc = audit(ci, "--refresh", env=urls)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    assert f"kept pyyaml=={pins['pyyaml']} as checked on {day}" in proc.stderr
    new = json.loads((ci / "advisories/pypi.json").read_text())
    assert new["packages"][f"pyyaml=={pins['pyyaml']}"]["checked"] == day
    assert new["packages"][f"pytest=={pins['pytest']}"]["checked"] != day
    assert audit(ci).returncode == 0
