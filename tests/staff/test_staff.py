"""Staff, permissions and the status loop, on a real SQLite file and a real PostgreSQL.

Sending goes through ``BotSender`` to the loopback Bot API server; times come from the test.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from telegram import Bot

from bot.chat.outbound import SENT
from bot.content.catalog import Catalog
from bot.content.importer import import_content
from bot.i18n import Translations
from bot.models import Prompt, Role, StaffInvite, StaffMember, StatusDraft, StatusReport
from bot.staff import permissions
from bot.staff.desk import StaffDesk
from bot.staff.directory import StaffDirectory
from bot.staff.errors import StaffError
from bot.staff.loop import StatusLoop
from bot.staff.onboarding import LinkOutcome
from bot.staff.prompt_store import LoopConfig
from bot.store import db
from handlers.sender import BotSender
from tests.botapi import FakeBotApi
from tests.support.staff import MONDAY, Clock, backdate_assignments, linked, tick


# -- onboarding -------------------------------------------------------------------------------------
def test_invite_works_once_and_expires_and_is_stored_hashed(parts, store):
    directory, desk, _loop, clock = parts
    member = directory.add("Anna", "Amt")
    code = directory.invite(member.id, now=MONDAY, days=14)
    with Session(store) as s:
        row = s.exec(select(StaffInvite)).one()
    assert code not in (row.code_hash,) and len(row.code_hash) == 64
    assert directory.link(1, "s" + "x" * 24, now=MONDAY)[0] is LinkOutcome.INVALID
    late = directory.invite(member.id, now=MONDAY - timedelta(days=15), days=14)
    assert directory.link(1, late, now=MONDAY)[0] is LinkOutcome.EXPIRED
    assert directory.link(1, code, now=MONDAY)[0] is LinkOutcome.LINKED
    assert directory.link(2, code, now=MONDAY)[0] is LinkOutcome.USED
    assert directory.by_chat(2) is None and directory.by_chat(1).id == member.id
    other = directory.add("Bert", "Amt")
    assert directory.link(1, directory.invite(other.id), now=MONDAY)[0] is LinkOutcome.TAKEN
    assert directory.get(other.id).chat_id is None


def test_wrong_codes_are_throttled_per_chat(parts):
    directory, desk, _loop, _clock = parts
    member = directory.add("Anna", "Amt")
    good = directory.invite(member.id)
    for _ in range(5):
        desk.start(9, "s" + "0" * 24)
    (reply,) = desk.start(9, good)
    assert reply.html == desk.translations.get("de").gettext(
        "Too many wrong codes. Please wait an hour and try again."
    )
    assert directory.by_chat(9) is None  # even the right code links nothing while throttled
    desk.start(10, good)  # another chat is not affected
    assert directory.by_chat(10).id == member.id


def test_staff_import_checks_everything_before_writing(parts, tmp_path):
    directory, *_ = parts
    good = tmp_path / "staff.csv"
    good.write_text(
        "name,organisation,role,language,measures\nAnna,Amt,staff,uk,4.14;4.3\nCora,Büro,coordinator,de,\n"
    )
    assert directory.import_csv(good) == (2, 0)
    assert directory.import_csv(good) == (0, 2)  # idempotent by name and organisation
    anna = next(v for v in directory.list() if v.name == "Anna")
    assert anna.measures == ["4.3", "4.14"] and anna.language == "uk"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,organisation,measures\nNeu,Amt,4.14\nKaputt,Amt,99.9\n")
    with pytest.raises(StaffError, match="line 3"):
        directory.import_csv(bad)
    assert all(v.name != "Neu" for v in directory.list())


# -- who may do what ----------------------------------------------------------------------------------
def test_permissions(parts):
    directory, desk, _loop, _clock = parts
    anna = linked(directory, "Anna", 11, ["4.14"])
    bert = linked(directory, "Bert", 12, ["4.3"])
    cora = linked(directory, "Cora", 13, role="coordinator")
    unlinked = directory.add("Udo", "Amt")
    directory.assign(unlinked.id, ["4.14"])
    today = MONDAY.date()
    assert directory.may_report(anna, "4.14", today)
    assert not directory.may_report(anna, "4.3", today)  # not assigned
    assert not directory.may_report(directory.get(unlinked.id), "4.14", today)  # not linked
    assert not directory.may_report(None, "4.14", today)
    assert directory.may_report(cora, "4.3", today) and directory.may_report(cora, "1.24", today)
    assert not directory.may_report(cora, "99.9", today)
    # A deputy answers for the absent person's measures only while they are away.
    directory.set_deputy(bert.id, anna.id)
    assert not directory.may_report(anna, "4.3", today)
    directory.set_away(bert.id, today + timedelta(days=3))
    assert directory.may_report(anna, "4.3", today)
    assert not directory.may_report(anna, "4.3", today + timedelta(days=4))
    with pytest.raises(StaffError):
        directory.set_deputy(anna.id, anna.id)
    # Whoever is asked may answer: the deputy of a colleague without a linked chat is asked
    # (the status loop), so they may answer for the colleague's measures too.
    directory.set_deputy(unlinked.id, bert.id)
    assert directory.may_report(bert, "4.14", today)
    directory.set_deputy(unlinked.id, None)
    assert not directory.may_report(bert, "4.14", today)


@pytest.mark.parametrize("linked_, away, deputy_linked, deputy_away", list(product([False, True], repeat=4)))
def test_the_deputy_rule_is_one_rule_for_asking_and_answering(linked_, away, deputy_linked, deputy_away):
    """``permissions.recipient`` (who is asked) and ``may_report`` (who may answer) apply the same
    rule: whoever the loop asks about a measure may answer for it."""
    today = MONDAY.date()
    away_until = today + timedelta(days=1)
    deputy = StaffMember(
        id=2, name="D", organisation="Amt", chat_id=12 if deputy_linked else None,
        away_until=away_until if deputy_away else None,
    )  # fmt: skip
    member = StaffMember(
        id=1, name="M", organisation="Amt", chat_id=11 if linked_ else None, deputy_id=2,
        away_until=away_until if away else None,
    )  # fmt: skip
    duties = permissions.Duties({"4.14", "4.3"}, {1: {"4.14"}, 2: {"4.3"}}, [member])
    asked = permissions.recipient(member, deputy, today)
    if linked_ and not away:
        assert asked is member
    elif deputy_linked and not deputy_away:
        assert asked is deputy
    else:
        assert asked is None
    if asked is not None:
        assert permissions.may_report(asked, "4.14", today, duties)
    # The deputy may answer exactly while they stand in; their own measure always.
    if deputy_linked:
        assert permissions.may_report(deputy, "4.14", today, duties) == (not linked_ or away)
        assert permissions.may_report(deputy, "4.3", today, duties)
    coordinator = StaffMember(id=3, name="C", organisation="Amt", chat_id=13, role=Role.COORDINATOR)
    assert permissions.is_coordinator(coordinator) and not permissions.is_coordinator(member)
    assert permissions.may_report(coordinator, "4.3", today, duties)
    assert not permissions.may_report(coordinator, "99.9", today, duties)


@pytest.mark.parametrize(
    "chat, data",
    [
        (99, "K:s:4.14:o"),  # a chat that is not linked staff
        (11, "K:s:4.3:o"),  # a measure that is not Anna's
        (11, "K:s:4.14:z"),  # no such status
        (11, "K:y:4.14"),  # save without a draft
        (11, "K:p:4.14:33"),  # a progress step that is not offered
        (11, "K:s:99.9:o"),  # no such measure
        (11, "K:c:999999"),  # correct a report that does not exist
        (11, "K:l:77"),  # a page that does not exist
        (11, "K"),
        (11, "K:::::"),
    ],
)
def test_forged_buttons_change_nothing_and_are_logged(parts, store, caplog, chat, data):
    directory, desk, _loop, _clock = parts
    linked(directory, "Anna", 11, ["4.14"])
    with caplog.at_level(logging.WARNING, logger="bot.staff.desk"):
        (reply,) = desk.button(chat, data)
    assert reply.toast
    assert any("refused a staff button" in r.getMessage() for r in caplog.records)
    assert all(data not in r.getMessage() for r in caplog.records if len(data) > 1)  # data not logged
    with Session(store) as s:
        assert s.exec(select(StatusReport)).all() == []
        assert s.exec(select(StatusDraft)).all() == []


def test_answer_with_progress_and_note_then_correct_within_the_window_only(parts, store):
    directory, desk, _loop, clock = parts
    anna = linked(directory, "Anna", 11, ["4.14"])
    cora = linked(directory, "Cora", 13, role="coordinator")
    assert desk.button(11, "K:s:4.14:d")[0].lang == anna.language
    desk.button(11, "K:p:4.14:50")
    desk.button(11, "K:n:4.14")
    notice, confirm = desk.text(11, "Raum fehlt   noch " + "x" * 600)
    assert "500" in notice.html and "K:y:4.14" in {b.data for row in confirm.buttons for b in row}
    (saved,) = desk.button(11, "K:y:4.14")
    first = directory.latest("4.14")
    assert (first.status, first.progress, len(first.note)) == ("delayed", 50, 500)
    assert first.note.startswith("Raum fehlt noch")
    # Correction: someone else's report cannot be corrected by Bert, but by the coordinator.
    bert = linked(directory, "Bert", 12, ["4.14"])
    assert desk.button(12, f"K:c:{first.id}")[0].toast
    clock.now = MONDAY + timedelta(hours=47)
    desk.button(11, f"K:c:{first.id}")
    desk.button(11, "K:s:4.14:o")
    desk.button(11, "K:y:4.14")
    second = directory.latest("4.14")
    assert (second.status, second.corrects_id) == ("on_track", first.id)
    assert desk.button(11, f"K:c:{first.id}")[0].toast  # superseded: only the latest can be corrected
    clock.now = MONDAY + timedelta(hours=47 + 49)
    (late,) = desk.button(11, f"K:c:{second.id}")
    assert late.toast  # outside the window: refused
    assert desk.button(13, f"K:c:{second.id}")[0].toast  # coordinator, but also outside the window
    clock.now = MONDAY + timedelta(hours=48)
    assert not desk.button(13, f"K:c:{second.id}")[0].toast  # coordinators may correct within it
    assert bert and cora


# -- the loop -------------------------------------------------------------------------------------------
def test_loop_prompts_deputy_while_away_and_waits_without_one(parts, store):
    directory, desk, loop, _clock = parts
    anna = linked(directory, "Anna", 11, ["4.14"])
    bert = linked(directory, "Bert", 12, ["4.3"])
    directory.set_deputy(anna.id, bert.id)
    directory.set_away(anna.id, MONDAY.date() + timedelta(days=7))
    directory.set_away(bert.id, None)
    solo = linked(directory, "Sol", 14, ["1.24"])
    directory.set_away(solo.id, MONDAY.date() + timedelta(days=2))
    backdate_assignments(store, MONDAY - timedelta(days=7))
    with FakeBotApi() as api:
        result = tick(api, loop, MONDAY)
        assert (result.created, result.prompts, result.deferred) == (3, 2, 1)
        to_bert = [c.text for c in api.calls(chat_id=12)]
        assert any("4.14" in t and "Anna" in t for t in to_bert)  # standing in for Anna
        assert api.calls(chat_id=11) == [] and api.calls(chat_id=14) == []
        # Sol is back on Thursday: the waiting prompt goes out then, once.
        thursday = MONDAY + timedelta(days=3)
        assert tick(api, loop, thursday).prompts == 1
        assert tick(api, loop, thursday + timedelta(minutes=1)).prompts == 0
        assert len(api.calls(chat_id=14)) == 1
    # The deputy may answer for Anna's measure while she is away.
    desk.clock.now = MONDAY
    desk.button(12, "K:s:4.14:i")
    desk.button(12, "K:y:4.14")
    assert directory.latest("4.14").staff_id == bert.id


def test_cadence_per_measure_and_globally(parts, store):
    directory, desk, loop, _clock = parts
    linked(directory, "Anna", 11, ["4.14", "4.3"])
    backdate_assignments(store, MONDAY - timedelta(days=1))
    anna = directory.by_chat(11)
    directory.record(anna, "4.14", "on_track", now=MONDAY)
    directory.record(anna, "4.3", "on_track", now=MONDAY)
    directory.set_cadence("4.3", 1)
    assert set(loop.store.due_measures(MONDAY + timedelta(days=20))) == set()
    in_5_weeks = MONDAY + timedelta(days=35)
    assert set(loop.store.due_measures(in_5_weeks)) == {"4.3"}  # monthly
    assert set(loop.store.due_measures(MONDAY + timedelta(days=93))) == {"4.3", "4.14"}  # quarterly
    at, _ = loop.store.due_measures(in_5_weeks)["4.3"]
    assert at.astimezone(loop.tz).hour == 9  # at the configured local time


def test_restart_mid_send_repeats_nothing(parts, store):
    """A prompt claimed (``sending``) when the process died is taken as sent after the grace
    time: never sent twice; the reminder still follows."""
    directory, desk, loop, _clock = parts
    linked(directory, "Anna", 11, ["4.14"])
    backdate_assignments(store, MONDAY - timedelta(days=2))
    loop.store.scan(MONDAY)
    claimed = loop.store.claim(MONDAY, 10)  # the process dies right after claiming
    assert len(claimed) == 1
    with FakeBotApi() as api:
        assert tick(api, loop, MONDAY + timedelta(minutes=1)).prompts == 0  # still in grace
        result = tick(api, loop, MONDAY + timedelta(minutes=11))
        assert (result.recovered, result.prompts) == (1, 0)
        assert api.calls(chat_id=11) == []
        result = tick(api, loop, MONDAY + timedelta(days=7, minutes=11))
        assert result.reminders == 1 and len(api.calls(chat_id=11)) == 1


def test_two_loops_ticking_at_once_send_each_prompt_once(parts, store):
    directory, desk, loop, _clock = parts
    for i in range(6):
        linked(directory, f"P{i}", 100 + i, ["4.14", "4.3", "1.24"])
    backdate_assignments(store, MONDAY - timedelta(days=2))
    other = StatusLoop(store, desk, LoopConfig(batch=5))
    with FakeBotApi() as api:

        async def both():
            async with Bot(api.token, base_url=api.base_url) as bot:
                sender = BotSender(bot)
                return await asyncio.gather(loop.tick(MONDAY, sender), other.tick(MONDAY, sender))

        a, b = asyncio.run(both())
        for _ in range(5):
            tick(api, other, MONDAY + timedelta(minutes=1))
        sent = [(c.chat_id, c.text.split("\n")[0]) for c in api.calls()]
    assert len(sent) == 18 and len(set(sent)) == 18
    with Session(store) as s:
        assert {p.state for p in s.exec(select(Prompt)).all()} == {"sent"}


def test_weekend_and_holiday_nothing_is_sent(parts, store):
    directory, desk, loop, _clock = parts
    linked(directory, "Anna", 11, ["4.14"])
    backdate_assignments(store, datetime(2026, 12, 20, tzinfo=UTC))
    with FakeBotApi() as api:
        for moment in (
            datetime(2026, 12, 24, 19, 0, tzinfo=UTC),  # Thursday evening, after hours
            datetime(2026, 12, 25, 10, 0, tzinfo=UTC),  # Christmas
            datetime(2026, 12, 26, 10, 0, tzinfo=UTC),  # second Christmas day, a Saturday
            datetime(2026, 12, 27, 10, 0, tzinfo=UTC),  # Sunday
        ):
            assert tick(api, loop, moment).prompts == 0
        assert tick(api, loop, datetime(2026, 12, 28, 8, 0, tzinfo=UTC)).prompts == 1  # Monday 09:00
    assert date(2026, 12, 28).weekday() == 0


def test_away_command_and_my_measures(parts):
    directory, desk, _loop, clock = parts
    anna = linked(directory, "Anna", 11, ["4.14", "4.3"])
    bert = linked(directory, "Bert", 12, ["1.24"])
    directory.set_deputy(anna.id, bert.id)
    de = desk.translations.get("de").gettext
    for bad in ("", "tomorrow", "2026-02-30", "2020-01-01", "2099-01-01"):
        (reply,) = desk.command(11, "away", bad)
        assert "/away" in reply.html and directory.get(anna.id).away_until is None
    (reply,) = desk.command(11, "away", "2026-12-11")
    assert directory.get(anna.id).away_until == date(2026, 12, 11)
    assert de("Your deputy gets your status requests meanwhile: {name}.").format(name="Bert") in reply.html
    (mine,) = desk.command(12, "mymeasures", "")  # Bert stands in: Anna's measures are his too
    assert {b.data for row in mine.buttons for b in row} >= {"K:r:1.24", "K:r:4.14", "K:r:4.3"}
    desk.command(11, "away", "off")
    assert directory.get(anna.id).away_until is None
    (mine,) = desk.command(12, "mymeasures", "")
    assert {b.data for row in mine.buttons for b in row} == {"K:r:1.24"}
    (refused,) = desk.command(99, "mymeasures", "")  # not staff
    assert refused.html == de("This command is for staff members who have been invited.")


def test_remove_erases_the_person_but_keeps_the_records(parts, store):
    directory, desk, loop, _clock = parts
    anna = linked(directory, "Anna Beispiel", 11, ["4.14", "4.3"])
    bert = linked(directory, "Bert", 12, ["1.24"])
    directory.set_deputy(bert.id, anna.id)
    directory.record(anna, "4.14", "implemented", now=MONDAY)
    backdate_assignments(store, MONDAY - timedelta(days=3))
    loop.store.scan(MONDAY)
    directory.remove(anna.id)
    gone = directory.get(anna.id)
    assert (gone.name, gone.chat_id) == ("(removed)", None)
    assert directory.by_chat(11) is None and directory.get(bert.id).deputy_id is None
    assert directory.latest("4.14").staff_id == anna.id  # the record stays, without the name
    with Session(store) as s:
        assert s.exec(select(Prompt).where(Prompt.staff_id == anna.id)).all() == []
        assert s.exec(select(StaffInvite).where(StaffInvite.staff_id == anna.id)).all() == []
    assert next(v for v in directory.list() if v.id == anna.id).measures == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.text(max_size=80).map(lambda t: "K:" + t),
        st.lists(
            st.sampled_from(["K", "s", "p", "c", "r", "l", "y", "4.14", "4.3", "-1", "99", "", "o", "💥"]),
            max_size=6,
        ).map(":".join),
    ),
    note=st.text(max_size=700),
)
def test_any_staff_button_or_note_is_answered_and_only_valid_ones_change_state(sqlite_parts, data, note):
    directory, desk, _loop, _clock, store = sqlite_parts
    replies = desk.button(11, data)
    assert replies and all(r.html for r in replies)
    for reply in replies:
        assert all(len(b.data.encode()) <= 64 for row in reply.buttons for b in row)
    answered = desk.text(11, note)  # a note only counts while one is asked for
    with Session(store) as s:
        saved = s.exec(select(StatusReport)).all()
    assert all(r.measure_number == "4.14" and (r.note is None or len(r.note) <= 500) for r in saved)
    assert answered is None or all(r.html for r in answered)


@pytest.fixture(scope="module")
def sqlite_parts(tmp_path_factory, content):
    eng = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('hyp') / 's.db'}")
    db.upgrade(eng)
    import_content(eng, content)
    catalog = Catalog.load(eng)
    directory = StaffDirectory(eng, catalog.measures)
    desk = StaffDesk(directory, catalog, Translations(), clock=Clock(MONDAY))
    linked(directory, "Anna", 11, ["4.14"])
    yield directory, desk, StatusLoop(eng, desk, LoopConfig()), desk.clock, eng
    eng.dispose()


# -- the event loop -------------------------------------------------------------------------------------
class InstantSender:
    """A ``Sender`` that delivers at once, so the test measures only the store's part."""

    def __init__(self):
        self.sent: list[int] = []

    async def send(self, chat_id, reply):
        self.sent.append(chat_id)
        return SENT


def test_the_status_tick_never_blocks_the_event_loop(tmp_path, content):
    """Another connection holds SQLite's write lock for 1.5 s: the tick waits for it (its store
    work runs in threads), and meanwhile the event loop goes on. A 10 ms heartbeat task on the same
    loop never lags by more than 100 ms. (Run on the loop, the tick's first write would stall every
    update of the bot for the whole 1.5 s.)"""
    path = tmp_path / "ankommen.db"
    eng = db.make_engine(f"sqlite:///{path}")
    db.upgrade(eng)
    import_content(eng, content)
    catalog = Catalog.load(eng)
    directory = StaffDirectory(eng, catalog.measures)
    desk = StaffDesk(directory, catalog, Translations(), clock=Clock(MONDAY))
    loop = StatusLoop(eng, desk, LoopConfig())
    linked(directory, "Anna", 11, ["4.14"])
    backdate_assignments(eng, MONDAY - timedelta(days=7))
    sender = InstantSender()

    async def run():
        lags: list[float] = []

        async def heartbeat():
            while True:
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, until the rollback
        # Released from another thread, so that it goes after 1.5 s even if the event loop stalls.
        release = threading.Timer(1.5, blocker.rollback)
        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.05)  # the heartbeat is running
        started = time.perf_counter()
        release.start()
        try:
            result = await loop.tick(MONDAY, sender)
        finally:
            release.join()
            blocker.close()
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)  # a beat that was held up records its lag
        beat.cancel()
        return result, elapsed, lags

    try:
        result, elapsed, lags = asyncio.run(run())
    finally:
        eng.dispose()
    assert elapsed >= 1.4, elapsed  # the tick did wait for the lock …
    assert (result.created, result.prompts, sender.sent) == (1, 1, [11])  # … and then did its work
    assert max(lags) < 0.1, f"the event loop stalled for {max(lags):.3f} s"  # never held up,
    assert len(lags) >= 50  # and the heartbeat ran all along
