"""No personal text in the log on the error path (finding 4).

``ankommen run`` runs as a real process at DEBUG (so every level from DEBUG to ERROR is written)
against the loopback Bot API, on SQLite and on PostgreSQL. The test makes the store refuse two
writes that carry personal text, a resident's unanswered question (a gap) and a staff member's
note, so the error handler logs a traceback for each and apologises, and then greps the whole log:

* SQLite: the gap's INSERT meets "database is locked" until the retries run out (the text is a
  bound parameter); the note's UPDATE is refused by a trigger.
* PostgreSQL: the gap's INSERT breaks a CHECK constraint, whose ``DETAIL`` quotes the failing row;
  the note's UPDATE is refused by a trigger whose message quotes the note, with a transient
  SQLSTATE (40001), so it is retried first.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess

import sqlalchemy as sa

from bot import paths
from bot.content.catalog import Catalog
from bot.staff.directory import StaffDirectory
from bot.store import db
from tests.botapi import FakeBotApi
from tests.helpers import ankommen_exe, wait_until

QUESTION = "Wie wird das Wetter morgen in Quxlimbohausen?"
NOTE = "Vertraulich Zorbelwitz hat Sorgen"
PERSONAL = ("Quxlimbohausen", "Zorbelwitz")
STAFF, RESIDENT = 8101, 8102

PG_TRIGGER = """
CREATE FUNCTION refuse_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION USING MESSAGE = 'refused: ' || NEW.note, ERRCODE = '40001'; END $$;
CREATE TRIGGER refuse_note BEFORE UPDATE ON status_draft FOR EACH ROW EXECUTE FUNCTION refuse_note();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER refuse_note BEFORE UPDATE ON status_draft
BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
"""


def _start(api: FakeBotApi, url: str, tmp_path) -> subprocess.Popen:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ANKOMMEN_", "TELEGRAM_", "DATABASE_URL"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_FLOOD_LIMIT="0",
        DATABASE_URL=url,
        ANKOMMEN_STATE_DIR=str(tmp_path),
        ANKOMMEN_LOG_LEVEL="DEBUG",
        ANKOMMEN_DB_BUSY_TIMEOUT="0.05",
    )
    log = (tmp_path / "bot.log").open("wb")
    return subprocess.Popen(
        [*ankommen_exe(), "run"], env=env, cwd=paths.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )


def _press(api: FakeBotApi, sent, data: str):
    before = len(api.calls(chat_id=sent.chat_id))
    api.press(sent, data)
    return api.wait_for(before + 1, chat_id=sent.chat_id, timeout=20)[before]


def test_store_errors_log_no_personal_text_at_any_level(any_url, tmp_path):
    url = any_url.replace("postgresql+psycopg://", "postgresql://")
    sqlite = url.startswith("sqlite")
    with FakeBotApi() as api:
        proc = _start(api, url, tmp_path)
        engine = None
        try:
            assert wait_until(lambda: "getUpdates" in api.methods_seen, 60), (
                tmp_path / "bot.log"
            ).read_text()
            engine = db.make_engine(any_url)
            directory = StaffDirectory(engine, Catalog.load(engine).measures)
            member = directory.add("Erika Muster", "Amt")
            directory.assign(member.id, ["4.14"])
            code = directory.invite(member.id)
            api.say(STAFF, f"/start {code}")
            (listing,) = api.say(STAFF, "/mymeasures")
            prompt = _press(api, listing, "K:r:4.14")
            _press(api, prompt, "K:s:4.14:o")
            _press(api, prompt, "K:n:4.14")

            # The note: the store refuses to save the draft that holds it.
            with engine.begin() as conn:
                if sqlite:
                    conn.exec_driver_sql(SQLITE_TRIGGER)
                else:
                    conn.exec_driver_sql(PG_TRIGGER)
            (apology,) = api.say(STAFF, NOTE)
            assert apology.text.startswith("Entschuldigung"), apology.text

            # The question: the store refuses the gap that holds it.
            blocker = None
            if sqlite:
                blocker = sqlite3.connect(any_url.split("///", 1)[1], isolation_level=None)
                blocker.execute("BEGIN IMMEDIATE")  # holds the write lock past every retry
            else:
                with engine.begin() as conn:
                    conn.execute(
                        sa.text("ALTER TABLE gap ADD CONSTRAINT refuse CHECK (length(text) < 0) NOT VALID")
                    )
            try:
                (apology,) = api.say(RESIDENT, QUESTION)
            finally:
                if blocker is not None:
                    blocker.rollback()
                    blocker.close()
            assert apology.text.startswith("Entschuldigung"), apology.text
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
            if engine is not None:
                engine.dispose()
    log = (tmp_path / "bot.log").read_text()
    assert code == 0, log
    # Every level was written, and the error path was taken twice, with its tracebacks.
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        assert f" {level} " in log, level
    assert log.count("Traceback (most recent call last)") >= 2
    assert log.count(" ERROR handlers.frontend: update ") == 2
    for word in PERSONAL:
        assert word not in log, word
    assert api.token not in log
    # What stays: the type, the database's error code and the location of each exception.
    if sqlite:
        assert "sqlalchemy.exc.OperationalError" in log and "SQLITE_BUSY" in log
        assert "sqlalchemy.exc.IntegrityError" in log
    else:
        assert "SQLSTATE 40001" in log and "SQLSTATE 23514" in log
        assert "store: SerializationFailure" in log  # retried before it gave up
    assert 'File "' in log and "record_gap" in log and "save_draft" in log  # the location stays


def test_no_exception_message_reaches_a_log_line_whatever_the_exception():
    """Python's own errors quote their input too; neither an argument nor a traceback shows it."""
    import io
    import logging

    from bot.logs import PrivateFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PrivateFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.log_privacy")
    log.addHandler(handler)
    log.propagate = False
    secret = "Fatima " + "Zorbel" + "witz"  # the source lines of a traceback must not show it
    try:
        try:
            int(secret)
        except ValueError as exc:
            log.warning("could not read a number: %s", exc)
            log.exception("failed")
            try:
                raise KeyError(secret) from exc
            except KeyError:
                log.error("chained", exc_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "Zorbelwitz" not in text and "Fatima" not in text
    assert "could not read a number: ValueError (message withheld" in text
    assert text.count("Traceback (most recent call last)") == 3  # one, then a chain of two
    assert "direct cause" in text and "KeyError (message withheld" in text
    assert "test_no_exception_message_reaches_a_log_line" in text  # the location stays
