"""Test helpers: run the real ``ankommen`` console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot import paths


def ankommen_exe() -> list[str]:
    exe = Path(sys.executable).parent / "ankommen"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.cli"]


def _child_env(env: dict[str, str] | None) -> dict[str, str]:
    """This process's environment without our settings, plus ``env``."""
    full = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
    }
    full.update(env or {})
    return full


def spawn_cli(args, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``ankommen ARGS`` in the background, its stdout and stderr going to ``log_path``."""
    log = log_path.open("wb")
    return subprocess.Popen(
        [*ankommen_exe(), *args], env=_child_env(env), cwd=paths.PROJECT_ROOT, stdout=log, stderr=log
    )


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120):
    return subprocess.run(
        [*ankommen_exe(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=_child_env(env),
        cwd=paths.PROJECT_ROOT,
        timeout=timeout,
    )


def seed_subscribers(engine, chats, langs=("de",), newsletter: str = "1.24") -> list[int]:
    """Residents (languages round-robin from ``langs``) subscribed to ``newsletter``, in bulk."""
    import sqlalchemy as sa

    from bot.models import Resident, Subscription, utcnow

    chats = list(chats)
    now = utcnow()
    lang = [langs[i % len(langs)] for i in range(len(chats))]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Resident.__table__),
            [
                {"chat_id": c, "language": lang[i], "created_at": now, "updated_at": now}
                for i, c in enumerate(chats)
            ],
        )
        conn.execute(
            sa.insert(Subscription.__table__),
            [
                {
                    "chat_id": c,
                    "newsletter": newsletter,
                    "status": "active",
                    "language": lang[i],
                    "created_at": now,
                }
                for i, c in enumerate(chats)
            ],
        )
    return chats


def wait_until(predicate, timeout: float = 30.0) -> bool:
    """Poll ``predicate`` every 50 ms until it is true (True) or ``timeout`` passes (False)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
