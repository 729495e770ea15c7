"""Store faults (issue 7): PostgreSQL connections terminated in the middle of work, and SQLite's
"database is locked". Real databases only: the faults are made by the database itself
(``pg_terminate_backend``, a second sqlite3 connection holding the write lock), at a chosen
statement, through SQLAlchemy's own event hooks. ``bot/store/db.py`` retries whole transactions.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot import paths
from bot.cli.wiring import open_core
from bot.content.catalog import Catalog
from bot.content.importer import import_content
from bot.models import Delivery, Resident, StatusReport, Subscription
from bot.newsletters.definitions import load_definitions
from bot.newsletters.drafts import build_draft
from bot.newsletters.issues import create_issue, start_sending
from bot.newsletters.outbox import Outbox, issue_renderer
from bot.newsletters.subscriptions import StoreSubscriptions
from bot.settings import Settings
from bot.staff.directory import StaffDirectory
from bot.store import db
from handlers.app import build_application
from handlers.bots import outbox_bot
from handlers.frontend import TelegramFrontend
from handlers.sender import BotSender
from tests.botapi import FakeBotApi
from tests.helpers import seed_subscribers
from tests.support.botrequest import fast_request
from tests.tgharness import PollingBot

NEWSLETTERS = load_definitions(paths.DATA_DIR)

TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def terminate_all(pg_url: str) -> int:
    """Terminate every other connection to the test database and wait until they are gone."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as admin:
        killed = len(admin.execute(TERMINATE).fetchall())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            if not left:
                break
            time.sleep(0.01)
    return killed


def terminate_at(engine, pg_url: str, prefix: str, *, at: tuple[int, ...] = (1,)) -> list[int]:
    """Terminate the store's connections right before the ``at``-th statements starting with
    ``prefix`` run (so they run on a dead connection). Returns the list of kills made."""
    seen = [0]
    kills: list[int] = []
    counting = threading.Lock()  # statements run in several threads at once (the outbox's writes)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(prefix.upper()):
            with counting:
                seen[0] += 1
                kill = seen[0] in at
            if kill:
                kills.append(terminate_all(pg_url))

    return kills


def test_postgres_terminated_while_a_resident_subscribes_and_a_status_answer_is_saved(
    pg_url, engine_for, content
):
    engine = engine_for(pg_url)
    db.upgrade(engine)
    import_content(engine, content)
    directory = StaffDirectory(engine, Catalog.load(engine).measures)
    member = directory.add("Anna", "Amt")
    directory.assign(member.id, ["4.14"])

    kills = terminate_at(engine, pg_url, "INSERT INTO subscription")
    StoreSubscriptions(engine, NEWSLETTERS).subscribe(101, "1.24", "uk")
    kills2 = terminate_at(engine, pg_url, "INSERT INTO status_report")
    directory.record(member, "4.14", "implemented", progress=100)

    assert kills == [1] and kills2 == [1]  # the connection in use was terminated both times
    with Session(engine) as s:
        assert s.exec(select(Resident.chat_id, Resident.language)).all() == [(101, "uk")]
        assert s.exec(select(Subscription.chat_id, Subscription.newsletter)).all() == [(101, "1.24")]
        reports = s.exec(select(StatusReport.measure_number, StatusReport.status)).all()
    assert reports == [("4.14", "implemented")]  # once: the transaction ran again as a whole


def test_postgres_terminated_while_the_outbox_delivers_loses_and_repeats_nothing(
    pg_url, engine_for, dialogue
):
    engine = engine_for(pg_url)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(40_000, 40_300), ("de", "en"))
    issue = create_issue(engine, build_draft("1.24", "Hallo\n# en\nHello", NEWSLETTERS))
    start_sending(engine, issue)
    # Claims, marks and outcome writes are all UPDATE delivery: kill the connections at several.
    kills = terminate_at(engine, pg_url, "UPDATE delivery", at=(2, 5, 9, 14))
    with FakeBotApi() as api:

        async def deliver():
            async with outbox_bot(api.token, api.base_url) as bot:
                outbox = Outbox(engine, BotSender(bot), issue_renderer(dialogue), rate=1000, lease=3)
                return await outbox.run(issue_ids=[issue], until_done=True)

        counts = asyncio.run(deliver())
        received = api.delivered()
    # How many writes a run takes depends on the machine's pace (a group covers 20 ms of slots):
    # on a loaded machine the run can end before the 14th, so three kills are the least.
    assert len(kills) >= 3 and all(kills)
    assert received == {c: 1 for c in chats}  # nothing lost, nothing twice
    with Session(engine) as s:
        states = s.exec(select(Delivery.state).where(Delivery.issue_id == issue)).all()
    assert set(states) == {"sent"} and counts["sent"] == len(chats)


# --- SQLite ---------------------------------------------------------------------------------------


def _lock(path) -> sqlite3.Connection:
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock until commit or rollback
    return blocker


def test_sqlite_locked_is_retried_and_succeeds_once_the_lock_is_released(tmp_path):
    path = tmp_path / "ankommen.db"
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout=0.05)
    db.upgrade(engine)
    subs = StoreSubscriptions(engine, NEWSLETTERS)
    blocker = _lock(path)
    errors: list[str] = []

    @sa.event.listens_for(engine, "handle_error")
    def on_error(context):
        errors.append(str(context.original_exception))
        if len(errors) == 2:
            blocker.rollback()  # the lock goes after two attempts met it

    subs.subscribe(7, "1.32", "ar")
    blocker.close()
    assert len(errors) == 2 and all("database is locked" in e for e in errors)
    with Session(engine) as s:
        assert s.exec(select(Subscription.chat_id, Subscription.newsletter)).all() == [(7, "1.32")]
        assert s.exec(select(Resident.chat_id)).all() == [7]
    engine.dispose()


def test_sqlite_locked_for_too_long_gets_one_line_in_the_users_language_and_changes_nothing(tmp_path):
    settings = Settings.from_env({"ANKOMMEN_STATE_DIR": str(tmp_path), "ANKOMMEN_DB_BUSY_TIMEOUT": "0.05"})
    core = open_core(settings)
    core.dialogue().prefs.set_language(55, "uk")
    with FakeBotApi() as api:
        frontend = TelegramFrontend(core.dialogue(), rate_limit_per_minute=1000)
        app = build_application(
            frontend, api.token, base_url=api.base_url, flood_limit=0, request=fast_request()
        )
        runner = PollingBot(core, api, app=app).start()
        try:
            menu = api.say(55, "/newsletters", language_code="uk")[0]
            toggle = next(d for _label, d in menu.buttons if d.startswith("S:"))
            blocker = _lock(tmp_path / "ankommen.db")
            try:
                api.press(menu, toggle, language_code="uk")
                (apology,) = api.wait_for(2, chat_id=55)[1:]
            finally:
                blocker.rollback()
                blocker.close()
            assert apology.text.startswith("Вибачте") and "Traceback" not in apology.text
            with Session(core.engine) as s:
                assert not s.exec(select(Subscription)).all()  # nothing half-done
            api.press(menu, toggle, language_code="uk")  # the lock is gone: it works, once
            api.wait_for(3, chat_id=55)
        finally:
            runner.stop()
    with Session(core.engine) as s:
        assert s.exec(select(Subscription.chat_id, Subscription.language)).all() == [(55, "uk")]
    core.engine.dispose()


@pytest.mark.parametrize(
    "message,transient",
    [
        ("database is locked", True),
        ("database is busy", True),
        ("no such table: x", False),
    ],
)
def test_sqlite_errors_are_classified(message, transient):
    exc = sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))
    assert db.is_transient(exc) is transient


def test_a_unit_that_keeps_failing_gives_up_and_nested_units_do_not_multiply(tmp_path):
    path = tmp_path / "a.db"
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout=0.01)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    calls = {"outer": 0, "inner": 0}

    @db.retrying(attempts=3, base_delay=0.001)
    def inner():
        calls["inner"] += 1
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))

    @db.retrying(attempts=3, base_delay=0.001)
    def outer():
        calls["outer"] += 1
        inner()

    blocker = _lock(path)
    with pytest.raises(sa.exc.OperationalError, match="locked"):
        outer()
    blocker.rollback()
    assert calls == {"outer": 3, "inner": 3}
    outer()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    blocker.close()
    engine.dispose()


def test_busy_timeout_is_a_setting():
    assert Settings.from_env({}).db_busy_timeout == 10.0
    assert Settings.from_env({"ANKOMMEN_DB_BUSY_TIMEOUT": "0.5"}).db_busy_timeout == 0.5
    with pytest.raises(ValueError, match="ANKOMMEN_DB_BUSY_TIMEOUT"):
        Settings.from_env({"ANKOMMEN_DB_BUSY_TIMEOUT": "soon"})


def test_an_outbox_run_that_lost_the_store_leaves_no_lease_renewed_for_ever(tmp_path, dialogue):
    """Finding 7: the store went away mid-send, and the last outcomes could not be written. The
    run ends (its error goes up), but its heartbeat stops with it, and the next run of the same
    outbox, as the bot's next tick makes it, has a worker id of its own: the dead run's leases
    expire, ``recover`` takes its rows, and the issue is finished, nothing sent twice."""
    path = tmp_path / "ankommen.db"
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout=0.05)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(60_000, 60_040), ("de",))
    issue = create_issue(engine, build_draft("1.24", "Hallo", NEWSLETTERS))
    start_sending(engine, issue)
    with FakeBotApi(fault_delay=3.0) as api:
        api.fail(chats[0], "timeout")  # delivered, answered after 3 s: in flight when the store goes

        async def main():
            async with outbox_bot(api.token, api.base_url, timeout=10) as bot:
                outbox = Outbox(engine, BotSender(bot), issue_renderer(dialogue), rate=20, lease=1.0)
                blocker = None

                async def outage():
                    nonlocal blocker
                    await asyncio.sleep(0.3)
                    blocker = _lock(path)  # every write fails until it is released
                    await asyncio.sleep(4.5)
                    blocker.rollback()
                    blocker.close()

                down = asyncio.create_task(outage())
                with pytest.raises(sa.exc.OperationalError):
                    await outbox.run(issue_ids=[issue])
                await down
                left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                assert left == []  # heartbeat, flush and log loops all ended with the run
                return await asyncio.wait_for(outbox.run(issue_ids=[issue], until_done=True), 20)

        asyncio.run(main())
        received = api.delivered()
    with Session(engine) as s:
        states = dict(
            s.exec(select(Delivery.chat_id, Delivery.state).where(Delivery.issue_id == issue)).all()
        )
        from bot.models import NewsletterIssue

        assert s.get(NewsletterIssue, issue).state == "sent"
    assert set(states.values()) <= {"sent", "unknown"} and max(received.values()) == 1
    assert all(received[c] == 1 for c, state in states.items() if state == "sent")
    engine.dispose()


def test_never_wait_gives_way_at_once_when_nothing_was_written_and_waits_after_a_write(tmp_path):
    """Answers on SQLite run on the event loop inside ``db.never_wait``: a write that meets another
    connection's lock raises ``WouldBlock`` at once (the caller runs the call again in a thread)
    and changes nothing; once a unit of the call has written, the call waits and retries as any
    thread would, so nothing written is ever done twice. Outside ``never_wait`` nothing changes."""
    path = tmp_path / "ankommen.db"
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout=2.0)
    db.upgrade(engine)
    subs = StoreSubscriptions(engine, NEWSLETTERS)
    blocker = _lock(path)
    started = time.monotonic()
    with pytest.raises(db.WouldBlock), db.never_wait():
        subs.subscribe(7, "1.32", "ar")
    assert time.monotonic() - started < 1.0, "it gave way without waiting the busy timeout"
    blocker.rollback()
    with Session(engine) as s:
        assert s.exec(select(Subscription.chat_id)).all() == []

    with db.never_wait():  # a first unit writes; then the lock comes: the second one waits
        subs.subscribe(8, "1.32", "ar")
        blocker.execute("BEGIN IMMEDIATE")
        threading.Timer(0.3, blocker.rollback).start()
        subs.subscribe(8, "1.24", "ar")
    with Session(engine) as s:
        rows = s.exec(select(Subscription.chat_id, Subscription.newsletter)).all()
    assert sorted(rows) == [(8, "1.24"), (8, "1.32")]

    blocker.execute("BEGIN IMMEDIATE")  # outside never_wait: the busy timeout as before
    threading.Timer(0.3, blocker.rollback).start()
    subs.subscribe(9, "1.32", "ar")
    blocker.close()
    with Session(engine) as s:
        assert (9, "1.32") in s.exec(select(Subscription.chat_id, Subscription.newsletter)).all()
    engine.dispose()
