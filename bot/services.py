"""Composition helpers: open the store, bring it up to date, load the catalog and the dialogue.

Called by the CLI (the composition root) with the ``Settings`` it read at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import db
from bot.catalog import Catalog
from bot.content import ContentError, load_content
from bot.dialogue import Dialogue, Preferences, Recorder
from bot.i18n import Translations
from bot.importer import ImportResult, import_content
from bot.models import Measure
from bot.residents import StorePreferences, StoreRecorder
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    engine: Engine
    catalog: Catalog
    translations: Translations

    def dialogue(self, prefs: Preferences | None = None, recorder: Recorder | None = None) -> Dialogue:
        """A dialogue on this core; by default preferences and records live in the store."""
        return Dialogue(
            self.catalog,
            self.translations,
            prefs if prefs is not None else StorePreferences(self.engine),
            default_language=self.settings.default_language,
            timezone=self.settings.timezone,
            recorder=recorder if recorder is not None else StoreRecorder(self.engine),
        )


def import_dir(engine: Engine, data_dir: Path) -> ImportResult:
    """Validate ``data_dir`` and import it; refuses (ContentError) when anything is wrong."""
    content, problems = load_content(data_dir)
    if problems:
        raise ContentError(problems)
    return import_content(engine, content)


def open_core(settings: Settings, *, sync_content: bool | None = True) -> Core:
    """Migrate the store, import ``data/`` (idempotent, cheap), and load the catalog.

    ``sync_content=None`` imports only into an empty store (for one-shot commands).
    """
    engine = db.make_engine(settings.database_url)
    if not db.is_up_to_date(engine):
        log.info("migrating the store at %s", settings.redacted_database_url())
        db.upgrade(engine)
    if sync_content is None:
        sync_content = not store_has_content(engine)
    if sync_content:
        result = import_dir(engine, settings.data_dir)
        if result.changed:
            log.info("content imported:\n%s", result.summary())
    return Core(settings, engine, Catalog.load(engine), Translations())


def store_has_content(engine: Engine) -> bool:
    with Session(engine) as s:
        return s.exec(select(Measure).limit(1)).first() is not None
