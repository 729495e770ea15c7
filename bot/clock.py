"""The one clock of a process: the real time, or a time the operator sets.

Every part that asks "what time is it?" for the content of its work (when a measure was
assigned, when a prompt falls due, how old a status is, whether an issue is due) takes the
``Clock`` that the composition root built from the settings, never ``datetime.now()`` itself. So a
command run with ``ANKOMMEN_NOW`` (or ``ankommen --now``) sees the same moment in the CLI, the
core and the Telegram layer, and a test can put the whole bot on any day.

A set clock starts at the given moment and then runs on with the real time, so a long-running
process still sees time pass. Leases and rate limits measure real elapsed time and keep their
own monotonic clocks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, start: datetime | None = None, *, frozen: bool = False):
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.start = start
        self.frozen = frozen
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        if self.start is None:
            return datetime.now(UTC)
        if self.frozen:
            return self.start
        return self.start + timedelta(seconds=time.monotonic() - self._t0)

    def __repr__(self) -> str:
        return "Clock(system)" if self.start is None else f"Clock({self.start.isoformat()})"


def parse_moment(raw: str) -> datetime:
    """An ISO 8601 time (``2026-12-24T10:00+01:00``); without a zone it is taken as UTC."""
    moment = datetime.fromisoformat(raw.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
