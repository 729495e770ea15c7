"""One Telegram budget for every instance on a store: time slots for sends, taken in slices.

Telegram lets a bot send about 30 messages a second in all, however many processes send them.
``ANKOMMEN_NEWSLETTER_RATE`` is that total; instances never need to know how many they are.
Newsletter deliveries (``bot/newsletters/outbox.py``) and status prompts, reminders and digests
(``bot/staff/loop.py``) draw from this one budget. Replies to residents and staff are answers to
their own updates, not broadcasts: they stay outside it (PTB's ``AIORateLimiter``,
``TELEGRAM_FLOOD_LIMIT``), so a newsletter never delays an answer.

* **Slots.** The budget is a line of time slots ``spacing`` seconds apart on the store's clock.
  One row (table ``send_budget``) holds ``next_at``, the first slot nobody took. A worker takes
  a slice of the next ``n`` slots in one statement::

      UPDATE send_budget SET next_at = max(next_at, now) + n * spacing WHERE name = :name
      RETURNING next_at - n * spacing, now

  (PostgreSQL: ``GREATEST`` and ``statement_timestamp()``; SQLite: ``max`` and
  ``julianday('now')``). The row lock makes concurrent takers queue for a few microseconds, each
  getting slots no other worker has; nobody waits for a lease or counts instances. A slice is
  ``SLICE_SECONDS`` (0.1 s) of the total rate, fetched in the background while the previous
  one is used, so a worker makes a few store round trips a second whatever its share.
* **Clocks.** Slot times are the store's; a worker turns them into its own monotonic clock by
  the offset it measured at the middle of its quickest recent round trip (an error of half that
  round trip, well under a millisecond on a LAN), so hosts need not agree on the time, and the
  slices of one worker join without a seam.
* **Jitter.** Telegram (and the loopback server in ``tests/botapi.py``) counts arrivals in a
  sliding second. Requests sent exactly ``1/rate`` apart would earn a 429 whenever one arrives a
  little later than the one a second after it. So slots are spaced for ``(1 - MARGIN)`` of the
  rate: any second holds at most 0.98 × rate slots, which leaves 20 ms a second for the
  arrivals' jitter. A slot its worker reaches more than ``LATE`` (10 ms) after its time is
  dropped, not used late: a late request would eat into that margin. A dropped slot is a
  message a little later, never a 429.
* **A killed worker** leaves at most the slots it had taken and not used: about two slices
  (0.2 s of sending) stay empty; the others' next slices follow at once. There is nothing to
  take over: the survivors simply get every slot from then on.

Without a store (the outbox in tests, or code that passes none) ``MemorySlots`` keeps the same
line in the process, behind the same interface.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store import db

log = logging.getLogger(__name__)

MARGIN = 0.02  # slots are spaced for (1 - MARGIN) of the rate: room for arrival jitter
LATE = 0.010  # seconds after its time a slot is still used; later ones are dropped
SLICE_SECONDS = 0.1  # slots taken per store round trip, as seconds of the total rate
DEFAULT_NAME = "telegram"

_NOW = {
    "postgresql": "CAST(EXTRACT(EPOCH FROM statement_timestamp()) AS double precision)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}
_MAX = {"postgresql": "GREATEST", "sqlite": "max"}


class Slots(Protocol):
    """Where slots come from: ``take(n, spacing)`` -> (the first slot, now), in its own clock."""

    def take(self, n: int, spacing: float) -> tuple[float, float]: ...


@db.retry_transient()
class StoreSlots:
    """The budget's line in the store: one row of ``send_budget``, shared by every instance."""

    def __init__(self, engine: Engine, name: str = DEFAULT_NAME):
        self.engine = engine
        self.name = name
        dialect = engine.dialect.name if engine.dialect.name in _NOW else "sqlite"
        now = _NOW[dialect]
        self._take = sa.text(
            f"UPDATE send_budget SET next_at = {_MAX[dialect]}(next_at, {now}) + :span "
            f"WHERE name = :name RETURNING next_at - :span, {now}"
        )
        self._create = sa.text(
            f"INSERT INTO send_budget (name, next_at) VALUES (:name, {now}) ON CONFLICT (name) DO NOTHING"
        )

    def take(self, n: int, spacing: float) -> tuple[float, float]:
        """Take the next ``n`` slots (one statement): the first one's time and the store's now."""
        params = {"name": self.name, "span": n * spacing}
        with self.engine.begin() as conn:
            row = conn.execute(self._take, params).first()
            if row is None:  # the first take on this store (or the row was deleted)
                conn.execute(self._create, {"name": self.name})
                row = conn.execute(self._take, params).first()
        return float(row[0]), float(row[1])


class MemorySlots:
    """The same line in this process only (``time.time`` as its clock)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._next = 0.0

    def take(self, n: int, spacing: float) -> tuple[float, float]:
        now = self.clock()
        start = max(self._next, now)
        self._next = start + n * spacing
        return start, now


class Budget:
    """The slots of one process, taken from ``slots`` a slice at a time and used in order.

    ``await wait(n)`` returns at the time of this caller's slot (``n`` consecutive slots for a
    message sent in ``n`` parts). Callers in one process (the outbox, the status loop) share one
    ``Budget``; processes share the ``slots`` row.
    """

    def __init__(
        self,
        slots: Slots,
        rate: float,
        *,
        slice_seconds: float = SLICE_SECONDS,
        in_thread: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.source = slots
        self.rate = rate
        self.spacing = 1.0 / (rate * (1.0 - MARGIN))
        self.slice = max(1, math.ceil(rate * slice_seconds))
        self.in_thread = in_thread
        self.clock = clock
        self.taken = 0  # slots taken from the source
        self.used = 0
        self.dropped = 0  # slots reached too late (or never used)
        self.fetches = 0
        self._local: deque[float] = deque()  # slot times on this process's clock
        self._fetch: asyncio.Task | None = None
        self._offset: float | None = None  # this process's clock minus the source's
        self._best_rtt = math.inf

    async def wait(self, n: int = 1) -> None:
        """Wait for the next free slot of this process (and ``n - 1`` more after it)."""
        at = await self.reserve(n)
        delay = at - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)

    async def reserve(self, n: int = 1) -> float:
        """The time of the next usable slot (and ``n - 1`` more), on this process's clock."""
        n = max(1, n)
        while True:
            now = self.clock()
            while self._local and self._local[0] < now - LATE:
                self._local.popleft()
                self.dropped += 1
            if len(self._local) >= n:
                at = self._local.popleft()
                for _ in range(n - 1):
                    self._local.popleft()
                self.used += n
                if len(self._local) < self.slice:
                    self._prefetch(n)
                return at
            await self._prefetch(n)

    def within(self, seconds: float, skip: int = 0) -> int:
        """How many of the slots this process holds lie within ``seconds`` of the first one
        after ``skip`` (at least 1): how many requests to prepare for together."""
        now = self.clock()
        usable = [t for t in self._local if t >= now - LATE][skip:]
        if not usable:
            return 1
        return max(1, sum(1 for t in usable if t <= usable[0] + seconds))

    def _prefetch(self, n: int) -> asyncio.Task:
        """The slice being fetched (one at a time), started if none is."""
        task = self._fetch
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._fetch = asyncio.get_running_loop().create_task(self._get(max(n, self.slice)))
        return task

    async def _get(self, n: int) -> None:
        started = self.clock()
        if self.in_thread:
            first, now = await asyncio.to_thread(self.source.take, n, self.spacing)
        else:
            first, now = self.source.take(n, self.spacing)
        ended = self.clock()
        # The store's ``now`` was read about halfway through the round trip: the offset between
        # the two clocks, known to half the round trip. The estimate of the quickest round trip
        # is kept (a slow one, e.g. a thread that started late, would shift this slice against
        # the last one and squeeze two slots together); the bar rises slowly, so a lasting
        # change (a clock stepped, a slower network) is taken up within a few dozen slices.
        rtt = ended - started
        self._best_rtt *= 1.02
        if rtt <= self._best_rtt or self._offset is None:
            self._best_rtt = rtt
            self._offset = (started + ended) / 2 - now
        local = first + self._offset
        self._local.extend(local + i * self.spacing for i in range(n))
        self.taken += n
        self.fetches += 1

    def stats(self) -> dict[str, int]:
        return {"taken": self.taken, "used": self.used, "dropped": self.dropped, "fetches": self.fetches}


def memory_budget(rate: float) -> Budget:
    """A budget of this process alone."""
    return Budget(MemorySlots(), rate, in_thread=False)


def store_budget(engine: Engine, rate: float, name: str = DEFAULT_NAME) -> Budget:
    """The budget every instance on ``engine``'s store shares."""
    return Budget(StoreSlots(engine, name), rate)
