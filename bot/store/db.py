"""Engine, sessions and schema migrations for the store; retries of transient store errors.

**Transient errors are retried, whole transactions at a time** (``retrying``, ``retry_transient``).
A unit of work is a function or method that runs one transaction (``with Session(engine)`` …
``commit``, or ``engine.begin()``): on a transient error it is rolled back by SQLAlchemy and run
again from its start, at most ``ATTEMPTS`` times in all, after capped exponential backoff with
jitter (``bot/store/backoff.py``: ``BASE_DELAY`` doubling up to ``MAX_DELAY``); never half-applied.
Nested units run plain inside the outermost one, so retries do not multiply. After the last
attempt the error goes up: the Telegram layer's error handler answers the user with one line in
their language ("Sorry, something went wrong …") and the transaction changed nothing; ticks try
again on their next run. Transient (``is_transient``):

* PostgreSQL: a connection that dropped or was terminated (SQLAlchemy's ``connection_invalidated``,
  SQLSTATE class 08, 57P01-57P03, or psycopg's ``OperationalError`` without a SQLSTATE: "server
  closed the connection"), serialization failures (40001) and deadlocks (40P01). The pool's
  pre-ping replaces dead connections at checkout; a retry gets a fresh one.
* SQLite: "database is locked" / "database is busy", after the busy timeout
  (``ANKOMMEN_DB_BUSY_TIMEOUT``) ran out while another connection held the write lock.

The backoff sleeps (``time.sleep``) in the thread that runs the unit. The status loop and the
outbox run their stores in worker threads, and so do the answers on PostgreSQL, so a retry waits
for one chat, never for all.

**Answers on the event loop, SQLite only** (``never_wait``, used by ``handlers/frontend.py``). A
local file read costs tens of microseconds, less than handing the call to a thread and back, so
on SQLite an update's answer is computed on the event loop. Inside ``never_wait`` the connection's
busy timeout is 0: a unit that meets another connection's write lock fails at once, and if no
unit of the call has written yet, ``WouldBlock`` goes up and the caller runs the whole call again
in a worker thread, where it waits for the lock like any other (reads never wait: WAL). Running
it again is safe because nothing was written; what it keeps in memory (a chat's last result
list) is recomputed the same. Should the lock appear after a unit of the call has written, the
call waits where it is, on the event loop (one statement's window; never seen in the tests).

Everything else (integrity errors, programming errors) is not retried. One limit, which no
client can close: a connection lost during ``COMMIT`` itself leaves it unknown whether the commit
happened; the retry then runs the unit again. The units are written so that running one twice
is harmless where it matters (claims and outcome writes check the row's state first).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot import paths
from bot.store import backoff

log = logging.getLogger(__name__)

ATTEMPTS = 4
BASE_DELAY = 0.05  # seconds
MAX_DELAY = 1.0
BUSY_TIMEOUT = 10.0  # seconds SQLite waits for another connection's write lock, per attempt
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")

F = TypeVar("F", bound=Callable)
_depth = threading.local()
_loop = threading.local()  # inside never_wait: .active, and .wrote once a unit has written


class WouldBlock(Exception):
    """A unit inside ``never_wait`` met SQLite's write lock before any unit of the call wrote."""


@contextlib.contextmanager
def never_wait():
    """Store calls in this block never wait for SQLite's write lock (see the module docstring)."""
    _loop.active, _loop.wrote = True, False
    try:
        yield
    finally:
        _loop.active = False


def is_transient(exc: BaseException) -> bool:
    """Whether running the transaction again may succeed (see the module docstring)."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate:
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08")
    if isinstance(exc, sa.exc.OperationalError):
        if type(orig).__module__.startswith("psycopg"):
            return True  # a connection-level failure: psycopg gives those no SQLSTATE
        return any(marker in str(orig).lower() for marker in SQLITE_BUSY)
    return False


def retrying(
    fn: F | None = None,
    *,
    attempts: int = ATTEMPTS,
    base_delay: float = BASE_DELAY,
    max_delay: float = MAX_DELAY,
):
    """Run ``fn`` (one transaction) again on transient errors; a decorator, with or without
    arguments: ``@retrying`` or ``retrying(fn, attempts=3)``."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*args, **kwargs):
            if getattr(_depth, "n", 0):  # inside another unit: the outermost one retries
                return func(*args, **kwargs)
            _depth.n = 1
            try:
                attempt = 1
                while True:
                    try:
                        return func(*args, **kwargs)
                    except sa.exc.DBAPIError as exc:
                        if attempt >= attempts or not is_transient(exc):
                            raise
                        if getattr(_loop, "active", False):
                            if not _loop.wrote:
                                raise WouldBlock(func.__qualname__) from None
                            _loop.active = False  # part of the call is written: wait here
                        wait = backoff.delay(attempt, base=base_delay, cap=max_delay)
                        log.warning(
                            "store: %s in %s, retry %d of %d in %.2f s",
                            type(exc.orig).__name__, func.__qualname__, attempt, attempts - 1, wait,
                        )  # fmt: skip
                        attempt += 1
                        time.sleep(wait)
            finally:
                _depth.n = 0

        run.__wrapped_unit__ = True
        return run  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap


def retry_transient(*extra: str):
    """Class decorator: every public method defined in the class (and the private ones named in
    ``extra``) becomes a retried unit of work. Each of them must run one transaction."""

    def decorate(cls):
        for name, value in list(vars(cls).items()):
            plain = inspect.isfunction(value) and not inspect.iscoroutinefunction(value)
            if plain and (not name.startswith("_") or name in extra):
                if not getattr(value, "__wrapped_unit__", False):
                    setattr(cls, name, retrying(value))
        return cls

    return decorate


def make_engine(database_url: str, *, echo: bool = False, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """Create the engine. SQLite gets a data directory, foreign keys, WAL and a busy timeout
    (``busy_timeout`` seconds, ``ANKOMMEN_DB_BUSY_TIMEOUT``).

    ``hide_parameters``: SQLAlchemy leaves a statement's bound values (a resident's question, a
    staff note) out of its error messages and echo lines, so no traceback carries them
    (``bot/logs.py`` leaves out the rest of every exception message)."""
    if database_url.startswith("sqlite"):
        db_path = database_url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            database_url, echo=echo, hide_parameters=True, connect_args={"timeout": busy_timeout}
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        waits_ms = int(busy_timeout * 1000)

        @sa.event.listens_for(engine, "checkout")
        def _busy_timeout(dbapi_conn, record, _proxy):
            """0 inside ``never_wait``, else the busy timeout; set only when it changes."""
            want = 0 if getattr(_loop, "active", False) else waits_ms
            if record.info.get("busy_ms", waits_ms) != want:
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout={want}")
                cur.close()
                record.info["busy_ms"] = want

        @sa.event.listens_for(engine, "commit")
        def _note_write(conn):
            """Inside ``never_wait``: a commit after a write (sqlite3 opens a transaction at the
            first write statement) makes the call unsafe to run again."""
            if getattr(_loop, "active", False) and conn.connection.dbapi_connection.in_transaction:
                _loop.wrote = True

        return engine
    return sa.create_engine(database_url, echo=echo, hide_parameters=True, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(paths.MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
