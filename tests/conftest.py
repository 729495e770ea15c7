"""Shared fixtures: a real SQLite file and a real PostgreSQL database, never mocks of our code.

Defined here once, for every test module: the content and catalog, the stores (built from a
session template, ``tests/support/stores.py``), the staff parts, the loopback Bot API ``api`` and
the production ``core`` for the Telegram tests, and the staff world on the production wiring.
No test module imports from another; what they share lives here or in ``tests/support/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import paths
from bot.cli.wiring import open_core
from bot.content.catalog import Catalog
from bot.content.load import load_content
from bot.i18n import Translations
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences
from bot.settings import Settings
from bot.store import db
from tests.botapi import FakeBotApi
from tests.support import markers, staff, stores
from tests.support.stores import pg_url_of, require_pg


def pytest_collection_modifyitems(items):
    markers.mark(items)


@pytest.fixture(scope="session")
def content():
    loaded, problems = load_content(paths.DATA_DIR)
    assert not problems, "\n".join(map(str, problems))
    return loaded


# -- stores --------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    """The store's backend: every test that uses ``any_url`` or ``store`` runs on both."""
    return request.param


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'ankommen.db'}"


@pytest.fixture(scope="session")
def pg_databases():
    require_pg()
    dbs = stores.PgDatabases()
    yield dbs
    dbs.dispose()


@pytest.fixture
def pg_url(pg_databases):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = pg_databases.create()
    yield pg_url_of(name)
    pg_databases.drop_later(name)


@pytest.fixture
def any_url(backend, request) -> str:
    """An empty store: runs the test once on a SQLite file and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, content) -> stores.Template:
    """A SQLite file migrated and imported once per session; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "ankommen.db"
    return stores.Template(path, stores.fill(f"sqlite:///{path}", content))


@pytest.fixture(scope="session")
def pg_template(pg_databases, content):
    """A PostgreSQL database migrated and imported once per session, never connected to again
    (``CREATE DATABASE … TEMPLATE`` needs a template without connections)."""
    name = pg_databases.create()
    yield stores.Template(name, stores.fill(pg_url_of(name), content))
    pg_databases.drop(name)


@pytest.fixture
def sqlite_store_url(sqlite_template, tmp_path) -> str:
    """A migrated and imported SQLite file of this test's own (a copy of the template)."""
    path = tmp_path / "ankommen.db"
    stores.copy_sqlite(sqlite_template.where, path)
    return f"sqlite:///{path}"


@pytest.fixture
def store_url(backend, request) -> str:
    """A migrated and imported store of this test's own, on each backend."""
    if backend == "sqlite":
        return request.getfixturevalue("sqlite_store_url")
    dbs, template = request.getfixturevalue("pg_databases"), request.getfixturevalue("pg_template")
    name = dbs.create(template=template.where)
    request.addfinalizer(lambda: dbs.drop_later(name))
    return pg_url_of(name)


@pytest.fixture
def store(store_url, engine_for):
    """A migrated store with the content imported, once on SQLite and once on PostgreSQL."""
    return engine_for(store_url)


@pytest.fixture
def sqlite_store(sqlite_store_url, engine_for):
    """A migrated store with the content imported, on SQLite only."""
    return engine_for(sqlite_store_url)


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
def core_engine(tmp_path_factory, sqlite_template):
    """One migrated, imported SQLite store shared by the read-only tests."""
    path = tmp_path_factory.mktemp("core") / "ankommen.db"
    stores.copy_sqlite(sqlite_template.where, path)
    eng = db.make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def catalog(core_engine, sqlite_template) -> Catalog:
    """``Catalog.load(core_engine)``, from the template's catalog (``stores.rebind``)."""
    return stores.rebind(sqlite_template.catalog, core_engine)


@pytest.fixture(scope="session")
def translations() -> Translations:
    return Translations()


@pytest.fixture
def dialogue(catalog, translations) -> Dialogue:
    return Dialogue(catalog, translations, MemoryPreferences(), default_language="de")


# -- staff ---------------------------------------------------------------------------------------
@pytest.fixture
def catalog_of(request):
    """``catalog_of(engine)``: ``Catalog.load(engine)`` for a store copied from the template, from
    the template's catalog (``stores.rebind``), in microseconds instead of a second."""

    def of(engine) -> Catalog:
        template = "sqlite_template" if engine.dialect.name == "sqlite" else "pg_template"
        return stores.rebind(request.getfixturevalue(template).catalog, engine)

    return of


@pytest.fixture
def parts(store, catalog_of):
    """The staff directory, desk and status loop on ``store``, at ``staff.MONDAY``."""
    return staff.make_parts(store, catalog_of(store))


@pytest.fixture
def staff_world(tmp_path, case):
    """The production wiring against the loopback server at the ``case``'s moment (a module
    defines ``case``); see ``tests.support.staff.world``."""
    with staff.world(tmp_path, case) as world:
        yield world


# -- Telegram: the loopback Bot API and the core behind a polling bot (one per module) -------------
@pytest.fixture(scope="module")
def api(request):
    """The loopback Bot API server for a module; a module sets ``BOTAPI_OPTIONS`` (for example
    ``{"fault_delay": 2.0}``) to configure it."""
    with FakeBotApi(**getattr(request.module, "BOTAPI_OPTIONS", {})) as server:
        yield server


@pytest.fixture(scope="module")
def core_env() -> dict[str, str]:
    """Settings for ``core`` besides its state directory; a module overrides it."""
    return {}


@pytest.fixture(scope="module")
def core(tmp_path_factory, core_env, sqlite_template):
    """The production core (``open_core``) on a state directory of the module's own, its store
    started from the template (``open_core`` then finds it migrated and imported)."""
    state = tmp_path_factory.mktemp("core")
    stores.copy_sqlite(sqlite_template.where, state / "ankommen.db")
    c = open_core(Settings.from_env({"ANKOMMEN_STATE_DIR": str(state), **core_env}))
    yield c
    c.engine.dispose()
