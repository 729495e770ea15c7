"""Stores for the tests: a real SQLite file or a real PostgreSQL database, never mocks of our code.

Migrating and importing ``data/`` costs about 1.3 s on PostgreSQL and 0.65 s on SQLite, so a
session builds one migrated and imported store per backend, once, and each test gets its own copy:
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL (the template must have no open connection, so its
engine is disposed before any copy), SQLite's backup API on a file (safe with WAL). Every test
still owns its store: nothing a test writes is seen by another.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from bot.content.catalog import Catalog
from bot.content.importer import import_content
from bot.store import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ANKOMMEN_REQUIRE_POSTGRES") == "1"


def pg_admin_url() -> str:
    return "postgresql+psycopg:" + PG_URL.split(":", 1)[1]


def pg_url_of(name: str) -> str:
    return f"{pg_admin_url().rsplit('/', 1)[0]}/{name}"


def pg_available() -> bool:
    try:
        eng = sa.create_engine(pg_admin_url())
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


def require_pg() -> None:
    """Skip the test without PostgreSQL, or fail it when CI requires one."""
    if not pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (ANKOMMEN_REQUIRE_POSTGRES=1) but {PG_URL} is unreachable")
        pytest.skip(f"no PostgreSQL at {PG_URL}")


class PgDatabases:
    """Creates and drops uniquely named databases through one AUTOCOMMIT admin engine.

    A drop makes PostgreSQL (15) wait for a checkpoint: a second or more on a busy machine, and
    nothing waits for it. So ``drop_later`` runs drops on background threads, several at once
    (drops that wait at the same time share one checkpoint); ``dispose`` waits for every drop
    and fails on an error."""

    def __init__(self) -> None:
        self.admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
        self._dropper = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pg-drop")
        self._drops: list[Future] = []

    def create(self, *, template: str | None = None) -> str:
        name = f"ankommen_test_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_later(self, name: str) -> None:
        self._drops.append(self._dropper.submit(self.drop, name))

    def dispose(self) -> None:
        self._dropper.shutdown(wait=True)
        for drop in self._drops:
            drop.result()
        self.admin.dispose()


class Template(NamedTuple):
    """A store migrated and imported once: a SQLite file's path or a PostgreSQL database's name,
    and its catalog."""

    where: Path | str
    catalog: Catalog


def fill(url: str, content) -> Catalog:
    """Migrate the store at ``url``, import ``content`` and load its catalog; leave no connection
    open (the catalog's engine is disposed: ``rebind`` a copy to the store it is used with)."""
    eng = db.make_engine(url)
    try:
        db.upgrade(eng)
        import_content(eng, content)
        return Catalog.load(eng)
    finally:
        eng.dispose()


def rebind(catalog: Catalog, engine) -> Catalog:
    """``Catalog.load(engine)`` for a copy of the template, in microseconds instead of a second:
    the template's catalog (its content and search index are the same, and nothing changes them
    after loading), reading the statuses, which tests write, from ``engine``."""
    bound = copy.copy(catalog)
    bound.engine = engine
    bound.invalidate_statuses()
    return bound


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (WAL included), through SQLite's backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
