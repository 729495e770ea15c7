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


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120):
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [*ankommen_exe(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=paths.PROJECT_ROOT,
        timeout=timeout,
    )
