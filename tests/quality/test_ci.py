""".ci/lib.sh: one virtual environment for .ci/start and .ci/run, and the one trust rule .ci/run
gives a PostgreSQL it sets up itself (findings 22 and 23).

The functions run in bash as .ci/run and .ci/start run them. pip is replaced by a stub that
records its calls (installing packages is not what is tested here); everything else is real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bot import paths

ROOT = paths.PROJECT_ROOT

PIP_STUB = """#!/usr/bin/env bash
# .venv/bin/python for the test: pip calls are recorded, all else is the real interpreter.
if [[ $1 == -m && $2 == pip ]]; then
  echo "${@:3}" >> "$PIP_LOG"
  [[ " $* " == *" --no-deps -e . "* ]] && touch "$(dirname "$0")/ankommen" && chmod +x "$(dirname "$0")/ankommen"
  exit 0
fi
exec "$REAL_PYTHON" "$@"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what bootstrap_venv reads, with a .venv whose python is the pip stub."""
    (tmp_path / ".ci").mkdir()
    for name in ("lib.sh", "requirements.lock", "requirements-test.lock"):
        shutil.copy(ROOT / ".ci" / name, tmp_path / ".ci" / name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    stub = tmp_path / ".venv" / "bin" / "python"
    stub.parent.mkdir(parents=True)
    stub.write_text(PIP_STUB)
    stub.chmod(0o755)
    return tmp_path


def _bootstrap(checkout: Path, *extras: str) -> list[str]:
    """Run bootstrap_venv once per extra ("" for .ci/start, "test" for .ci/run); the lock files
    pip was asked to install, in order."""
    log = checkout / "pip.log"
    log.write_text("")
    script = "set -euo pipefail; source .ci/lib.sh; " + "; ".join(f"bootstrap_venv {e}" for e in extras)
    env = {**os.environ, "PIP_LOG": str(log), "REAL_PYTHON": sys.executable}
    done = subprocess.run(["bash", "-c", script], cwd=checkout, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [line.split(" -r ")[1].split()[0] for line in log.read_text().splitlines() if " -r " in line]


def test_run_then_start_installs_once_and_start_then_run_adds_only_the_test_lock(checkout):
    assert _bootstrap(checkout, "test", "''", "test", "''") == [".ci/requirements-test.lock"]
    (checkout / ".venv" / ".ankommen-installed").unlink()
    assert _bootstrap(checkout, "''", "test", "''", "test") == [
        ".ci/requirements.lock",
        ".ci/requirements-test.lock",
    ]
    # A changed lock is installed again, once.
    with (checkout / ".ci" / "requirements.lock").open("a") as fh:
        fh.write("# changed\n")
    assert _bootstrap(checkout, "''", "''") == [".ci/requirements.lock"]


DEBIAN_HBA = """\
# Database administrative login by Unix domain socket
local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
"""


def _hba(tmp_path: Path, content: str) -> list[str]:
    hba = tmp_path / "pg_hba.conf"
    hba.write_text(content)
    for _ in range(2):  # idempotent
        subprocess.run(
            ["bash", "-c", 'set -euo pipefail; source .ci/lib.sh; pg_hba_trust_test_role "$0"', str(hba)],
            cwd=ROOT,
            check=True,
        )
    return [line.split() for line in hba.read_text().splitlines() if line and not line.startswith("#")]


def test_the_only_trust_rule_is_for_the_test_role_and_the_old_wide_rule_goes(tmp_path):
    for content in (DEBIAN_HBA, "host all all 127.0.0.1/32 trust\n" + DEBIAN_HBA):
        rules = _hba(tmp_path, content)
        trusted = [r for r in rules if r[-1] == "trust"]
        assert trusted == [["host", "all", "ankommen_test", "127.0.0.1/32", "trust"]]
        assert rules[0] == trusted[0]  # first, so it wins over Debian's password rule
        assert [r for r in rules if r[-1] != "trust"] == [
            line.split() for line in DEBIAN_HBA.splitlines()[1:]
        ]


def _superuser_url() -> str | None:
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
                return url
    except psycopg.Error:
        return None
    return None


def test_ensure_postgres_gives_the_tests_a_role_that_can_make_databases_and_nothing_more():
    admin = _superuser_url()
    if admin is None:
        pytest.skip("no PostgreSQL with a trusted superuser on 127.0.0.1 to set the role up")
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail; source .ci/lib.sh; ensure_postgres; echo $TEST_DATABASE_URL"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip().splitlines()[-1]
    assert url == "postgresql://ankommen_test@127.0.0.1:5432/test"
    with psycopg.connect(url, autocommit=True) as conn:
        flags = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, True)
        conn.execute('CREATE DATABASE "ankommen_test_ci0000000000"')  # what the tests' fixture does
        conn.execute('DROP DATABASE "ankommen_test_ci0000000000" WITH (FORCE)')
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT rolpassword FROM pg_authid")  # a superuser's table
