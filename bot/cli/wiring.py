"""Composition helpers: open the store, bring it up to date, load the catalog and the dialogue.

Called by the CLI (the composition root) with the ``Settings`` it read at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import Clock
from bot.content.catalog import Catalog
from bot.content.importer import ImportResult, import_content
from bot.content.load import ContentError, load_content
from bot.i18n import Translations
from bot.models import Measure
from bot.newsletters.definitions import Newsletter, load_definitions
from bot.newsletters.subscriptions import MemorySubscriptions, StoreSubscriptions
from bot.residents.dialogue import Dialogue
from bot.residents.ports import Preferences, Recorder
from bot.residents.store import StorePreferences, StoreRecorder
from bot.settings import Settings
from bot.store import db
from bot.store.locks import exclusive

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    engine: Engine
    catalog: Catalog
    translations: Translations
    newsletters: dict[str, Newsletter] = field(default_factory=dict)
    # The process's one clock (bot.clock.Clock): the real time, or ANKOMMEN_NOW / --now running on.
    clock: Clock = field(default_factory=Clock)
    _budget: object | None = field(default=None, init=False, repr=False)

    def budget(self):
        """The Telegram budget of this process (``bot/store/budget.py``): newsletters and status
        prompts draw from it, and it shares its slots with every instance on the store."""
        if self._budget is None:
            from bot.store.budget import store_budget

            self._budget = store_budget(self.engine, self.settings.newsletter_rate)
        return self._budget

    def dialogue(self, prefs: Preferences | None = None, recorder: Recorder | None = None) -> Dialogue:
        """A dialogue on this core; by default preferences, subscriptions, records and the staff
        links (for a staff member's /delete) live in the store (with preferences in memory,
        subscriptions are kept in memory too; the staff side is always the store's)."""
        subscriptions = (
            StoreSubscriptions(self.engine, self.newsletters)
            if prefs is None
            else MemorySubscriptions(self.newsletters)
        )
        return Dialogue(
            self.catalog,
            self.translations,
            prefs if prefs is not None else StorePreferences(self.engine),
            default_language=self.settings.default_language,
            timezone=self.settings.timezone,
            recorder=recorder if recorder is not None else StoreRecorder(self.engine),
            subscriptions=subscriptions,
            clock=self.clock,
            staff=self.staff_directory(),  # /delete by staff (the console can be linked too)
        )

    def staff_directory(self):
        from bot.staff.directory import StaffDirectory

        return StaffDirectory(self.engine, self.catalog.measures, clock=self.clock)

    def staff_desk(self, clock=None):
        from bot.staff.desk import StaffDesk

        directory = self.staff_directory()
        if clock is not None:
            directory.clock = clock
        return StaffDesk(
            directory,
            self.catalog,
            self.translations,
            timezone=self.settings.timezone,
            correction_hours=self.settings.correction_hours,
            clock=clock or self.clock,
        )

    def conversation(self, dialogue: Dialogue | None = None, *, desk=None):
        """The one router on this core: the residents' dialogue, the staff desk, the coordinators'
        newsletter desk and /report. The console and Telegram both drive it."""
        from bot.chat.actor import PreferenceActors, StoreActors
        from bot.chat.router import Conversation
        from bot.newsletters.desk import NewsletterDesk

        dialogue = dialogue or self.dialogue()
        store = StoreActors(self.engine)
        actors = (
            store if isinstance(dialogue.prefs, StorePreferences) else PreferenceActors(dialogue.prefs, store)
        )
        newsletters = NewsletterDesk(
            self.engine,
            dialogue,
            missing_language=self.settings.newsletter_missing_language,
            timezone=self.settings.timezone,
        )
        return Conversation(
            dialogue,
            actors=actors,
            staff=desk or self.staff_desk(),
            newsletters=newsletters,
            report=self.report_files,
        )

    def outbox(self, sender, dialogue: Dialogue | None = None):
        """The outbox worker on this core (the running bot's tick and ``newsletter send`` alike)."""
        from bot.newsletters.outbox import Outbox, issue_renderer

        return Outbox(
            self.engine,
            sender,
            issue_renderer(dialogue or self.dialogue()),
            budget=self.budget(),
            lease=self.settings.newsletter_lease,
            recover_every=self.settings.leader_check_seconds,
        )

    def report_files(self) -> tuple[bytes, bytes]:
        """The HTML report (chart embedded) and the chart alone, for /report."""
        from bot.staff import report, report_formats

        data = report.for_core(self, now=self.clock())
        png = report_formats.chart_png(data, self.translations)
        return report_formats.render_html(data, self.translations, png).encode(), png

    def status_loop(self, desk=None):
        from bot.staff.loop import StatusLoop
        from bot.staff.prompt_store import LoopConfig

        config = LoopConfig.from_settings(self.settings)
        return StatusLoop(self.engine, desk or self.staff_desk(), config, budget=self.budget())


def import_dir(engine: Engine, data_dir: Path) -> ImportResult:
    """Validate ``data_dir`` and import it; refuses (ContentError) when anything is wrong."""
    content, problems = load_content(data_dir)
    if problems:
        raise ContentError(problems)
    return import_content(engine, content)


STARTUP_LOCK = "ankommen-startup"


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    """The store's engine for a command; brought up to date first (``migrate``), under the same
    start-up lock as ``open_core``, so a command never migrates while an instance starts."""
    engine = _engine(settings)
    if migrate:
        with exclusive(engine, STARTUP_LOCK):
            _migrate(engine, settings)
    return engine


def _engine(settings: Settings) -> Engine:
    return db.make_engine(settings.database_url, busy_timeout=settings.db_busy_timeout)


def _migrate(engine: Engine, settings: Settings) -> None:
    if not db.is_up_to_date(engine):
        log.info("migrating the store at %s", settings.redacted_database_url())
        db.upgrade(engine)


def open_core(settings: Settings, *, sync_content: bool | None = True) -> Core:
    """Migrate the store, import ``data/`` (idempotent, cheap), and load the catalog.

    Several instances may start at once: migration and import run under a store-wide lock
    (``bot.store.locks.exclusive``), one instance after the other.

    ``sync_content=None`` imports only into an empty store (for one-shot commands).
    """
    engine = _engine(settings)
    with exclusive(engine, STARTUP_LOCK):  # instances started together take turns
        _migrate(engine, settings)
        if sync_content is None:
            sync_content = not store_has_content(engine)
        if sync_content:
            result = import_dir(engine, settings.data_dir)
            if result.changed:
                log.info("content imported:\n%s", result.summary())
    newsletters = load_definitions(settings.data_dir)
    return Core(
        settings,
        engine,
        Catalog.load(engine, data_dir=settings.data_dir),
        Translations(),
        newsletters,
        settings.clock(),
    )


def store_has_content(engine: Engine) -> bool:
    with Session(engine) as s:
        return s.exec(select(Measure).limit(1)).first() is not None
