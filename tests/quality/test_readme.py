"""The README is true for a newcomer (finding 24): its console session is what the console prints,
its shell examples call commands that exist in a checkout, and its first screen is short."""

from __future__ import annotations

import re

from bot import paths
from tests.helpers import run_cli

README = (paths.PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(r"```" + lang + r"\n(.*?)```", README, flags=re.S)


def test_the_console_session_in_the_readme_is_what_the_console_prints(tmp_path):
    session = next(b for b in _blocks("text") if b.startswith("$ .ci/start --lang en"))
    typed = [line[2:] for line in session.splitlines() if line.startswith("> ") and line[2:]]
    out = run_cli(
        "chat",
        "--lang",
        "en",
        input="\n".join([*typed, "/quit"]) + "\n",
        env={"ANKOMMEN_STATE_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    printed = out.stdout.replace("> ", "\n").splitlines()
    shown = [line for line in session.splitlines()[1:] if line.strip() and not line.startswith("> ")]
    for line in shown:
        if "…" in line:  # shortened in the README: the part before it is printed
            head = line.split("…")[0].strip()
            assert not head or any(p.strip().startswith(head) for p in printed), line
        else:
            assert line.rstrip() in [p.rstrip() for p in printed], line
    # Every button of the answer is in the README, in the same order.
    answer = out.stdout.split("> ")[2]
    buttons = re.findall(r"\[\d+\] (.+)", answer)
    readme_buttons = re.findall(r"\[\d+\] (.+)", session.split("> my landlord")[1])
    assert readme_buttons == buttons


def test_shell_examples_use_the_commands_a_checkout_has():
    for block in _blocks("sh"):
        for line in block.splitlines():
            command = re.sub(r"^(\w+=\S+\s+)+", "", line.strip())  # VAR=value prefixes
            assert not command.startswith("ankommen "), line  # only .venv/bin/ankommen exists
    assert "`staff invite` needs the bot's username for the link: `TELEGRAM_BOT_USERNAME`" in README


def test_the_first_screen_says_what_it_is_the_two_commands_and_where_to_read_on():
    first = "\n".join(README.splitlines()[:40])
    assert ".ci/start" in first and ".ci/run" in first and "**Read on:**" in first
    assert "as root" in first and "apt-get" in first and "PostgreSQL" in first and "Chromium" in first
    assert "10 minutes" in first and ".venv/bin/ankommen" in first
