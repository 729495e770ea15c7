"""``ankommen``: the command line, and the composition root.

It is the one place that reads the settings and wires the store, the core and (for ``run``) the
Telegram layer.

Each command group is a module of this package with one function, ``register(sub)``: it adds its
commands to ``sub`` (the sub-parsers of ``ankommen``) and returns them as ``{command: handler}``.
A handler takes ``(args, settings)`` and returns the exit code. It imports what it needs inside
itself, so that parsing the command line loads neither the store nor the Telegram layer. ``main``
parses, reads the settings once, sets up logging and calls the handler.

Adding a command group, say ``ankommen link``, is one module ``bot/cli/link.py`` with
``register`` and one line: its name in ``GROUPS`` (whose order is the order of ``--help``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from bot.cli.staff import _iso_time

GROUPS = (
    "run",  # run, chat
    "ask",  # ask, measures
    "content",  # import, data check|stamp
    "feedback",  # gaps, feedback
    "maintenance",  # db, texts
    "staff",  # staff, reminders, report
    "newsletter",  # newsletter
    "link",  # link: a resident's deep link and its QR code
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[..., int]]]:
    """The parser of ``ankommen`` and the handler of each command."""
    p = argparse.ArgumentParser(
        prog="ankommen",
        description="Ankommen: the integration concept of the City of Magdeburg as a multilingual chat.",
    )
    p.add_argument(
        "--now",
        dest="clock_now",
        type=_iso_time,
        metavar="TIME",
        help="run as if it were this moment (ISO 8601), for every part of the command; "
        "overrides ANKOMMEN_NOW (default: the real time)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, Callable[..., int]] = {}
    for group in GROUPS:
        commands.update(importlib.import_module(f"bot.cli.{group}").register(sub))
    return p, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    from bot.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"ankommen: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.clock_now is not None:
        settings = settings.model_copy(update={"now": args.clock_now})
    from bot import logs

    # No exception message, token or message text in any line (bot/logs.py).
    logs.configure(settings.log_level, sys.stderr)
    handler = commands[args.command]
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
