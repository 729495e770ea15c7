"""Logging for every command: stderr, one format, and no personal text in any line.

Exception messages can carry what people typed: SQLAlchemy appends a statement's bound
parameters (a resident's question, a staff note) to its message, PostgreSQL's ``DETAIL`` quotes
the failing row, and plain Python errors quote their input (``invalid literal for int() …``).
So no log line ever holds an exception's message:

* the store's engine hides bound parameters (``bot.store.db.make_engine``: ``hide_parameters=True``);
* ``PrivateFormatter`` renders tracebacks with the type and location of every exception in the
  chain (file, line, function) and the database's error code where there is one (SQLSTATE,
  SQLite's error name), but without the message;
* an exception passed as a log argument (``log.warning("… %s", exc)``) is shown by its type only.

Messages that we write ourselves (the format string) are the caller's responsibility: they name
ids, counts and types, never texts.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WITHHELD = "message withheld: it may hold personal data"


def describe(exc: BaseException) -> str:
    """``module.Type (message withheld …; SQLSTATE 23514)``: what an exception is, not what it says."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    codes = []
    for source in (exc, getattr(exc, "orig", None)):
        if source is None:
            continue
        sqlstate = getattr(source, "sqlstate", None) or getattr(source, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.isalnum() and len(sqlstate) == 5:
            codes.append(f"SQLSTATE {sqlstate}")
        errorname = getattr(source, "sqlite_errorname", None)
        if isinstance(errorname, str) and errorname.replace("_", "").isalnum():
            codes.append(errorname)
    return f"{name} ({'; '.join([WITHHELD, *dict.fromkeys(codes)])})"


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes, oldest first, with every message left out."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    link: str | None = None
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = (
                current.__cause__,
                "The above exception was the direct cause of the following exception:",
            )
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = (
                current.__context__,
                "During handling of the above exception, another exception occurred:",
            )
        else:
            current = None
    lines: list[str] = []
    for item, joined_by in reversed(chain):
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(item.__traceback__))
        lines.append(describe(item) + "\n")
        if joined_by:
            lines.append(f"\n{joined_by}\n\n")
    return "".join(lines).rstrip("\n")


def _safe_arg(value):
    return describe(value) if isinstance(value, BaseException) else value


class PrivateFormatter(logging.Formatter):
    """A ``logging.Formatter`` that never prints an exception's message (see the module doc)."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple):
            record.args = tuple(_safe_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _safe_arg(v) for k, v in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None:
            # Formatter.format reuses exc_text; set it here so no handler renders the original.
            record.exc_text = safe_traceback(record.exc_info[1])
        return super().format(record)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""


def configure(level: int | str, stream: TextIO | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) at ``level`` through ``PrivateFormatter``; returns the handler.

    Libraries that log contents or URLs are held above DEBUG: httpx logs request URLs, which
    contain the bot token; alembic logs every migration step.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(PrivateFormatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
