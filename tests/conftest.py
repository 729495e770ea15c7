"""Shared fixtures: a real SQLite file and a real PostgreSQL database, never mocks of our code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import paths
from bot.content.catalog import Catalog
from bot.content.importer import import_content
from bot.content.load import load_content
from bot.i18n import Translations
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from bot.store import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ANKOMMEN_REQUIRE_POSTGRES") == "1"


def _pg_admin_url() -> str:
    return "postgresql+psycopg:" + PG_URL.split(":", 1)[1]


def _pg_available() -> bool:
    try:
        eng = sa.create_engine(_pg_admin_url())
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def content():
    loaded, problems = load_content(paths.DATA_DIR)
    assert not problems, "\n".join(map(str, problems))
    return loaded


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ankommen.db'}"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (ANKOMMEN_REQUIRE_POSTGRES=1) but {PG_URL} is unreachable")
        pytest.skip(f"no PostgreSQL at {PG_URL}")
    name = f"ankommen_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = _pg_admin_url().rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request) -> str:
    """Runs the test once on a SQLite file and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(any_url, engine_for, content):
    """A migrated store with the content imported, once on SQLite and once on PostgreSQL."""
    eng = engine_for(any_url)
    db.upgrade(eng)
    import_content(eng, content)
    return eng


@pytest.fixture
def engine_for():
    engines = []

    def make(url: str):
        eng = db.make_engine(url)
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        eng.dispose()


@pytest.fixture(scope="session")
def core_engine(tmp_path_factory, content):
    """One migrated, imported SQLite store shared by the read-only tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('core') / 'ankommen.db'}"
    eng = db.make_engine(url)
    db.upgrade(eng)
    import_content(eng, content)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def catalog(core_engine) -> Catalog:
    return Catalog.load(core_engine)


@pytest.fixture(scope="session")
def translations() -> Translations:
    return Translations()


@pytest.fixture
def dialogue(catalog, translations) -> Dialogue:
    return Dialogue(catalog, translations, MemoryPreferences(), default_language="de")
