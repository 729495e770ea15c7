"""Locks across instances on one store: who polls Telegram, and who migrates at start-up.

:func:`exclusive` makes instances that start together take turns at migration and import.
:class:`Leadership` decides who polls: exactly one instance holds the polling lock; the others
stand by.

Telegram hands updates to one ``getUpdates`` caller at a time (a second one gets HTTP 409), so
with several instances in polling mode one must poll and the rest wait to take over. Every
instance still ticks the scheduled work (status prompts, newsletters): those rows are claimed
with ``FOR UPDATE SKIP LOCKED`` (``bot.store.claims``), so any number can share them.

* **PostgreSQL:** a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own, kept open while the instance polls. When the process dies, PostgreSQL ends its session
  and the lock is free at once; a standby's next try takes it. TCP keepalives on that connection
  let the server notice a vanished host within about half a minute. :meth:`Leadership.held`
  asks the server whether this session still holds the lock: when the connection dropped (and
  with it the lock), the instance stops polling and stands by again, so two instances never
  poll at once for long (and Telegram's 409 covers the seconds in between).
* **SQLite:** an exclusive ``flock`` on a file beside the database, named by the key. Instances sharing a SQLite
  file share one machine; the kernel frees the lock when the process dies.

The lock's key is derived from the bot's numeric id (the part of the token before the colon),
so several bots can share one database, each with its own poller. The key is not secret.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}


def lock_key(token: str) -> int:
    """The polling lock's key for this bot (from its numeric id, never the secret)."""
    return named_key(f"ankommen-poll:{token.split(':', 1)[0]}")


def named_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Run the block while no other process holds ``name`` on this store (waits for it).

    Start-up uses it: instances started together would otherwise migrate and import ``data/``
    at once and trip over each other's rows. PostgreSQL: ``pg_advisory_lock`` on a connection
    of its own; SQLite: a blocking ``flock`` on a file beside the database.
    """
    key = named_key(name)
    if engine.dialect.name == "postgresql":
        conn = _lock_connection(engine)
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            yield
        finally:
            conn.close()  # ends the session, and with it the lock
        return
    path = _lock_path(engine, key)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _lock_engine(engine: Engine) -> Engine:
    # Not the pool: a lock lives as long as its one session, and a pooled connection could be
    # recycled (or pre-pinged into a new session) underneath it.
    return sa.create_engine(
        engine.url, poolclass=sa.pool.NullPool, connect_args=KEEPALIVES, hide_parameters=True
    )


def _lock_connection(engine: Engine) -> Connection:
    return _lock_engine(engine).connect().execution_options(isolation_level="AUTOCOMMIT")


def _lock_path(engine: Engine, key: int) -> Path | None:
    """The lock file beside a SQLite database; None for an in-memory one (one process only)."""
    database = engine.url.database or ""
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.lock-{key & 0xFFFFFFFF:08x}")


class Leadership:
    """The polling lock of one instance: ``acquire`` (without waiting), ``held``, ``release``."""

    def __init__(self, engine: Engine, token: str):
        self.engine = engine
        self.key = lock_key(token)
        self.postgres = engine.dialect.name == "postgresql"
        self._lock_engine = _lock_engine(engine) if self.postgres else None  # one, for every try
        self._conn: Connection | None = None
        self._file: int | None = None

    @property
    def leading(self) -> bool:
        return self._conn is not None or self._file is not None

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this instance now holds it."""
        if self.leading:
            return self.held()
        return self._acquire_pg() if self.postgres else self._acquire_file()

    def held(self) -> bool:
        """Whether this instance still holds the lock (False also when the store is unreachable)."""
        if self._file is not None:
            return True
        if self._conn is None:
            return False
        try:
            # A bigint advisory key shows in pg_locks as (classid, objid) = (high, low) 32 bits.
            unsigned = self.key & 0xFFFFFFFFFFFFFFFF
            still = self._conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND objsubid = 1"
                    " AND classid = CAST(CAST(:high AS bigint) AS oid)"
                    " AND objid = CAST(CAST(:low AS bigint) AS oid)"
                ),
                {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF},
            ).scalar_one()
        except Exception:  # noqa: BLE001 - a dropped connection means the lock is gone with it
            log.warning("the polling lock's connection failed: standing by")
            self._drop()
            return False
        if not still:
            log.warning("the polling lock was lost: standing by")
            self._drop()
        return bool(still)

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()

    # -- PostgreSQL ------------------------------------------------------------------------------
    def _acquire_pg(self) -> bool:
        conn = None
        try:
            conn = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar_one()
        except Exception:  # noqa: BLE001 - the store is away: try again later
            log.warning("could not reach the store to take the polling lock")
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            return False
        if got:
            self._conn = conn
        else:
            conn.close()
        return bool(got)

    # -- SQLite ----------------------------------------------------------------------------------
    def _acquire_file(self) -> bool:
        path = _lock_path(self.engine, self.key)
        if path is None:
            self._file = -1  # an in-memory store belongs to this process alone
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._file = fd
        return True

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                if self._file >= 0:
                    os.close(self._file)  # closing the descriptor frees the flock
            self._file = None
