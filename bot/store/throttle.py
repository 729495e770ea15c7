"""A throttle all instances share: at most ``limit`` counted attempts per key in ``window``.

Used against guessing invitation codes (``bot.staff.desk``): a chat that sent ``limit`` wrong
codes within the window is refused, even with a right one, until the oldest attempt is older
than the window. The count lives in the store (table ``throttle_event``), so an attacker gains
nothing by having a load balancer spread the attempts over instances, or by a restart.

Privacy: the key is stored as a SHA-256 digest (no chat id in clear), and rows older than the
window are deleted whenever an attempt is written, so nothing outlives the window by much.
``/delete`` does not reset a throttle: that would let anyone lift it at will.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.models import ThrottleEvent, utcnow
from bot.store import db

T = ThrottleEvent.__table__


@db.retry_transient()
class StoreThrottle:
    def __init__(
        self,
        engine: Engine,
        name: str,
        limit: int,
        window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ):
        if limit < 1 or window <= timedelta(0):
            raise ValueError("limit must be at least 1 and window positive")
        self.engine = engine
        self.name = name
        self.limit = limit
        self.window = window
        self.clock = clock

    def _key(self, subject: int | str) -> str:
        return hashlib.sha256(f"{self.name}:{subject}".encode()).hexdigest()

    def blocked(self, subject: int | str) -> bool:
        """Whether ``subject`` used up its attempts within the window."""
        since = self.clock() - self.window
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).where(T.c.key == self._key(subject), T.c.at > since)
            ).scalar_one()
        return count >= self.limit

    def hit(self, subject: int | str) -> None:
        """Count one attempt of ``subject`` (and forget every attempt older than the window)."""
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(sa.delete(T).where(T.c.at <= now - self.window))
            conn.execute(sa.insert(T).values(key=self._key(subject), at=now))
