"""Hostile input (issue 7): every entry point of the residents' dialogue, the staff desk, the
newsletter desk and search gets random Unicode, very long texts, right-to-left and zero-width
marks, control characters, HTML and SQL injection, and forged or oversized button data.

Nothing may raise; every reply must be one Telegram accepts (its HTML parse mode, the length
limits, button data of 1-64 bytes, non-empty button labels); and input that is not valid must
change nothing: the store is compared row by row before and after, on a real SQLite file and on
PostgreSQL. The second half sends malformed updates through the real PTB ``Application`` (the
production wiring, ``handlers.app.assemble``) polling the loopback Bot API server.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from bot.chat.buttons import MAX_BYTES as CALLBACK_MAX_BYTES
from bot.chat.markup import TELEGRAM_TEXT_LIMIT, plain_text, split_html, utf16_len
from bot.chat.replies import Reply
from bot.cli.wiring import open_core
from bot.models import NewsletterIssue, StatusDraft
from bot.newsletters.desk import NewsletterDesk
from bot.newsletters.drafts import build_draft
from bot.newsletters.issues import create_issue
from bot.settings import Settings
from bot.staff.codes import STATUS_CODES
from bot.staff.desk import STAFF_COMMANDS
from bot.staff.onboarding import LinkOutcome
from bot.staff.records import MAX_NOTE
from handlers.app import assemble
from tests.botapi import ApiError, FakeBotApi, parse_html
from tests.support.inputs import ANY_TEXT, HOSTILE, MIXED, assert_valid_html
from tests.tgharness import PollingBot

MONDAY = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a working day
STRANGER, ANNA, BERT, CORA, RESIDENT = 7001, 7002, 7003, 7004, 7005
ANNA_MEASURES = ("4.14", "4.3")
BERT_MEASURES = ("1.24",)
# Written by the importer only; compared once per test, not per example (they are large).
CONTENT_TABLES = {
    "field", "goal", "measure", "organisation", "measure_organisation", "offer", "offer_measure",
    "offer_provider", "translation",
}  # fmt: skip


def relaxed(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- hostile strings ---------------------------------------------------------------------------------
INJECTION = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        "<b><i>unclosed",
        "</b></i></a>",
        "<tg-spoiler>",
        "<<>>",
        "&",
        "&amp;&lt;&#0;&#x110000;&bogus;",
        "' OR '1'='1",
        "'; DROP TABLE resident; --",
        '"; DELETE FROM staff_member; --',
        "1); UPDATE status_report SET status='dropped'; --",
        "%s %(x)s {0} {name} {{7*7}} ${jndi:ldap://x}",
        "\\x00 %00 \\u0000",
        "Robert'); DROP TABLE gap;--",
    ]
)
MARKS = st.sampled_from(
    ["\u202e", "\u202b", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",
     "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u0301", "\u064b"]
)  # fmt: skip
CONTROL = st.text(
    alphabet=st.characters(whitelist_categories=("Cc", "Cf", "Zl", "Zp", "Mn"), blacklist_categories=("Cs",)),
    max_size=40,
)
LONG = st.builds(
    lambda n, unit: (unit * n)[:n],
    st.sampled_from([4096, 4097, 10_000, 100_000]),
    st.sampled_from(["a", "wohnung ", "ü\u200f ", "<b>&", "👍", "\u202e", "٤١٤ ", "'; --\n", "\x00"]),
)
HOSTILE_TEXT = st.one_of(
    MIXED,
    INJECTION,
    CONTROL,
    LONG,
    st.lists(st.one_of(MARKS, INJECTION, HOSTILE, CONTROL, ANY_TEXT), max_size=10).map("".join),
)
# Button data: the residents' prefixes (bot/residents/dialogue.py) and the desks' ones, with garbage.
PREFIXES = [*"LMATHFmGgoRONPDVSUKW", "K:s", "K:c", "K:l", "K:r", "K:p", "K:y", "W:n", "W:s", "W:x"]
ODD_ARGS = ["", "0", "-1", "00", "²", "٣", "Ⅻ", "1e3", "9" * 30, "9" * 70, " 1", "1 ", "4,14", "4.14.", ":"]
GARBAGE = st.one_of(
    st.sampled_from(ODD_ARGS), st.text(max_size=12), HOSTILE, INJECTION, MARKS, st.integers().map(str)
)
FORGED = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.builds(lambda p, g: f"{p}:{g}", st.sampled_from(PREFIXES), GARBAGE),
    st.builds(lambda p, g, h: f"{p}:{g}:{h}", st.sampled_from(PREFIXES), GARBAGE, GARBAGE),
    st.builds(lambda p, n: f"{p}:" + "x" * n, st.sampled_from(PREFIXES), st.integers(62, 300)),  # > 64 bytes
    HOSTILE,
)


# -- what Telegram accepts -----------------------------------------------------------------------------
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


def assert_telegram_valid(replies, *, rich: bool = False) -> None:
    """Every reply as the transport sends it (``split_html``) is accepted by Telegram: allowed,
    balanced tags (only <b>/<i> unless ``rich``: newsletter texts have links), every ``&`` an
    entity, 1-4096 UTF-16 units of visible text per message, buttons with a label and 1-64 bytes
    of data. A toast (the button's answer) needs visible text too."""
    assert isinstance(replies, list) and replies, replies
    for reply in replies:
        assert isinstance(reply, Reply)
        if not rich:
            assert_valid_html(reply.html)
        assert "&" not in _ENTITY.sub("", reply.html), reply.html[:300]
        if reply.toast:
            assert plain_text(reply.html).strip()
        for part in split_html(reply.html):
            try:
                visible = parse_html(part)
            except ApiError as exc:  # pragma: no cover - the assertion message
                raise AssertionError(f"{exc.description}: {part[:300]!r}") from None
            assert visible.strip(), part
            assert utf16_len(visible) <= TELEGRAM_TEXT_LIMIT
        for row in reply.buttons:
            assert row
            for b in row:
                assert b.label.strip()
                assert 1 <= len(b.data.encode()) <= CALLBACK_MAX_BYTES


# -- the store, row by row -----------------------------------------------------------------------------
# Written on purpose for invalid input: a wrong invitation code is counted against brute force
# (``bot/store/throttle.py``); ``test_wrong_invitation_codes_link_nothing`` checks that table itself.
COUNTED_TABLES = {"throttle_event"}


def snapshot(engine, *, content: bool = False) -> dict[str, list[tuple]]:
    """Every row of every table (content tables only with ``content``; not the counted attempts
    of ``COUNTED_TABLES``), in a stable order."""
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if (table.name in CONTENT_TABLES and not content) or table.name in COUNTED_TABLES:
                continue
            rows = conn.execute(sa.select(table)).all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


# -- the world: a real store with residents, staff, a coordinator and a draft issue ---------------------
class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """The core entry points on one store, as ``handlers.app.assemble`` wires them."""

    def __init__(self, env: dict[str, str]):
        self.settings = Settings.from_env(env)
        self.core = core = open_core(self.settings)
        self.engine = core.engine
        self.dialogue = core.dialogue()
        self.desk = core.staff_desk(clock=Clock(MONDAY))
        self.newsletters = NewsletterDesk(core.engine, self.dialogue)
        self.search = core.catalog.index
        directory = self.directory = core.staff_directory()
        self.members = {}
        for chat, name, role, measures in (
            (ANNA, "Anna <b>&amp;", "staff", ANNA_MEASURES),
            (BERT, "Bert'; --", "staff", BERT_MEASURES),
            (CORA, "Cora \u202e", "coordinator", ()),
        ):
            member = directory.add(name, "Amt <i>", role=role)
            if measures:
                directory.assign(member.id, list(measures))
            outcome, member, _moved = directory.link(
                chat, directory.invite(member.id, now=MONDAY), now=MONDAY
            )
            assert outcome is LinkOutcome.LINKED
            self.members[chat] = member
        bert = self.members[BERT]
        # Bert's saved report and his answer in progress: other people's ids to forge.
        self.bert_report = directory.record(bert, "1.24", "on_track", progress=50, now=MONDAY).id
        directory.save_draft(StatusDraft(staff_id=bert.id, measure_number="1.24", status="delayed"))
        self.draft_issue = create_issue(self.engine, build_draft("1.24", "Hallo **Welt**", core.newsletters))
        self.dialogue.handle_button(RESIDENT, "L:en")
        self.dialogue.handle_button(RESIDENT, "S:1.24")

    def report_ids(self) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.text("SELECT id FROM status_report")).scalars())

    def issue_ids(self) -> set[int]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(NewsletterIssue.id)).scalars())


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World({"ANKOMMEN_STATE_DIR": str(tmp_path_factory.mktemp("hostile"))})
    before = snapshot(w.engine, content=True)
    yield w
    # The content is never touched by any of the tests below.
    after = snapshot(w.engine, content=True)
    assert {k: after[k] for k in CONTENT_TABLES} == {k: before[k] for k in CONTENT_TABLES}
    w.engine.dispose()


# -- which inputs are valid and may change the store ----------------------------------------------------
def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def resident_button_changes_state(w: World, data: str) -> bool:
    """The residents' buttons that write: language, newsletter toggles, erase, votes."""
    kind, _, arg = data.partition(":")
    newsletters = w.dialogue.subscriptions.newsletters
    if kind == "L":
        return arg in w.dialogue.languages
    if kind in ("S", "U"):
        return arg in newsletters
    if kind == "D":
        return arg == "yes"
    if kind == "V":
        direction, _, target = arg.partition(":")
        entity, _, key = target.partition(":")
        known = {"m": w.core.catalog.measures, "o": w.core.catalog.offers}
        return direction in ("u", "d") and entity in known and key in known[entity]
    return False


def staff_button_changes_state(w: World, chat: int, data: str) -> bool:
    """Staff buttons that write, for ``chat``: a status for a measure they may report on, or a
    correction of a report they may correct (nobody has an answer in progress but Bert)."""
    member = w.members.get(chat)
    parts = data.split(":")
    if member is None or len(parts) < 3 or parts[0] != "K":
        return False
    coordinator = member.role == "coordinator"
    if parts[1] == "s" and len(parts) == 4 and parts[3] in STATUS_CODES:
        return parts[2] in (w.core.catalog.measures if coordinator else ANNA_MEASURES)
    if parts[1] == "c" and len(parts) == 3:
        return coordinator and _int(parts[2]) in w.report_ids()
    return False


def coordinator_button_changes_state(w: World, chat: int, data: str) -> bool:
    """Newsletter-desk buttons that act, for a coordinator: pick a newsletter (starts composing),
    send or discard an existing issue."""
    if chat != CORA:
        return False
    _w, action, arg = (data.split(":", 2) + ["", ""])[:3]
    if _w != "W":
        return False
    if action == "n":
        return arg in w.dialogue.subscriptions.newsletters
    return action in ("s", "x") and _int(arg) in w.issue_ids()


# ===================================================================================================
# 1. The core entry points, directly
# ===================================================================================================
@relaxed(150)
@given(text=HOSTILE_TEXT, chat=st.sampled_from([STRANGER, RESIDENT]))
def test_any_text_gets_a_valid_answer_and_writes_at_most_a_gap(world, text, chat):
    """A question is valid input: it is answered, and an unanswered one is kept as a gap (scrubbed,
    at most 1,000 characters); nothing else changes."""
    before = snapshot(world.engine)
    replies = world.dialogue.handle_text(chat, text, suggested="xx-\u202e")
    assert_telegram_valid(replies)
    after = snapshot(world.engine)
    assert changed_tables(before, after) <= {"gap"}
    new_gaps = len(after["gap"]) - len(before["gap"])
    assert new_gaps in (0, 1)
    assert set(before["gap"]) <= set(after["gap"])


@relaxed(150)
@given(
    command=st.one_of(
        st.sampled_from(["start", "help", "topics", "language", "privacy", "delete", "newsletters", "menu"]),
        st.text(max_size=20),
        INJECTION,
    ),
    suffix=st.one_of(st.just(""), st.builds(lambda t: "@" + t, st.text(max_size=20))),
    args=HOSTILE_TEXT,
    chat=st.sampled_from([STRANGER, RESIDENT]),
)
def test_commands_with_any_arguments_change_nothing(world, command, suffix, args, chat):
    before = snapshot(world.engine)
    replies = world.dialogue.handle_text(chat, f"/{command}{suffix} {args}", suggested="ar")
    assert_telegram_valid(replies)
    assert snapshot(world.engine) == before


@relaxed(150)
@given(data=FORGED, chat=st.sampled_from([STRANGER, RESIDENT]))
def test_forged_resident_buttons_change_nothing(world, data, chat):
    """Any button data but the few that write (language, newsletter toggles, erase, vote): no
    change at all; data of an unknown kind gets the one 'expired' notice."""
    if resident_button_changes_state(world, data):
        return
    before = snapshot(world.engine)
    lang_before = world.dialogue.language_of(chat)
    replies = world.dialogue.handle_button(chat, data)
    assert_telegram_valid(replies)
    assert snapshot(world.engine) == before
    assert world.dialogue.language_of(chat) == lang_before
    if data.partition(":")[0] not in "LMATHFmGgoRONPDVSU" or not data:
        assert [r.html for r in replies] == [world.dialogue.expired(lang_before).html]


def test_newsletter_toggles_are_their_own_inverse(world):
    """S:<newsletter> twice, and U:<newsletter>, on one not subscribed: the store is as before."""
    before = snapshot(world.engine)
    for data in ("S:1.32", "S:1.32", "U:1.32", "U:1.32"):
        assert_telegram_valid(world.dialogue.handle_button(RESIDENT, data))
    assert snapshot(world.engine) == before


@relaxed(150)
@given(
    data=st.one_of(
        FORGED,
        st.builds(
            lambda kind, arg, rest: ":".join(["K", kind, arg, *rest]),
            st.one_of(st.sampled_from(list("lcrspnbyx")), st.text(max_size=3)),
            st.one_of(
                st.sampled_from([*ANNA_MEASURES, *BERT_MEASURES, "7.16", "3.1", "99.9", "<bert-report>"]),
                st.integers(-5, 10).map(str),
                GARBAGE,
            ),
            st.lists(
                st.one_of(st.sampled_from([*STATUS_CODES, "0", "25", "100", "101", "²", "i" * 70]), GARBAGE),
                max_size=2,
            ),
        ),
    ),
    chat=st.sampled_from([STRANGER, ANNA, CORA]),
)
def test_forged_staff_buttons_are_refused_and_change_nothing(world, data, chat):
    """An unlinked chat, a staff member and a coordinator press forged K: buttons: other people's
    measures, reports and drafts, unknown kinds, odd numbers, oversized data."""
    data = data.replace("<bert-report>", str(world.bert_report))
    if staff_button_changes_state(world, chat, data):
        return
    before = snapshot(world.engine)
    replies = world.desk.button(chat, data)
    assert_telegram_valid(replies)
    assert snapshot(world.engine) == before


@pytest.mark.parametrize("chat", [STRANGER, ANNA])
def test_other_peoples_reports_and_drafts_cannot_be_touched(world, chat):
    """Bert's report (correct), Bert's measure (status, and every step of his answer in progress)."""
    m = BERT_MEASURES[0]
    refused = world.core.translations.get("de").gettext("You cannot report on this measure.")
    before = snapshot(world.engine)
    for data in (
        f"K:c:{world.bert_report}", f"K:s:{m}:i", f"K:r:{m}", f"K:p:{m}:50", f"K:n:{m}",
        f"K:b:{m}", f"K:y:{m}", f"K:x:{m}", f"K:s:{m}:i:x",
    ):  # fmt: skip
        [reply] = world.desk.button(chat, data)
        assert reply.toast and reply.html == refused
    assert snapshot(world.engine) == before


ODD_NUMBERS = ["²", "٣", "Ⅻ", "9" * 19, "9" * 30, "9" * 59, "9" * 70]


@pytest.mark.parametrize("number", ODD_NUMBERS)
@pytest.mark.parametrize("chat", [STRANGER, ANNA, CORA])
def test_odd_numbers_in_button_data_are_refused(world, chat, number):
    """Digits that are not ASCII (``"²".isdigit()`` is true, ``int("²")`` fails), and numbers past
    the store's 64-bit integers, in every place a button carries a number."""
    before = snapshot(world.engine)
    for data in (f"K:l:{number}", f"K:c:{number}", f"K:p:4.14:{number}"):
        assert_telegram_valid(world.desk.button(chat, data))
    for data in (f"W:s:{number}", f"W:x:{number}"):
        assert_telegram_valid(world.newsletters.button(chat, data))
    for data in (f"O:{number}", f"F:{number}", f"F:1:{number}", f"G:{number}", f"R:{number}"):
        assert_telegram_valid(world.dialogue.handle_button(chat, data))
    assert snapshot(world.engine) == before


@relaxed(60)
@given(note=HOSTILE_TEXT)
def test_a_note_may_be_anything(world, note):
    """The note of an answer in progress is valid input: it lands in the draft, whitespace
    collapsed, at most 500 characters; only the draft changes."""
    anna = world.members[ANNA]
    world.directory.save_draft(
        StatusDraft(staff_id=anna.id, measure_number="4.14", status="on_track", awaiting_note=True)
    )
    try:
        before = snapshot(world.engine)
        replies = world.desk.text(ANNA, note)
        assert_telegram_valid(replies)
        assert changed_tables(before, snapshot(world.engine)) <= {"status_draft"}
        draft = world.directory.draft(anna.id)
        assert not draft.awaiting_note
        assert draft.note is None or 0 < len(draft.note) <= MAX_NOTE
    finally:
        world.directory.drop_draft(anna.id)


@relaxed(60)
@given(text=HOSTILE_TEXT, chat=st.sampled_from([STRANGER, ANNA, CORA]))
def test_staff_text_without_an_answer_in_progress_is_not_the_desks(world, text, chat):
    before = snapshot(world.engine)
    assert world.desk.text(chat, text) is None
    assert snapshot(world.engine) == before


@relaxed(60)
@given(
    payload=st.one_of(
        HOSTILE_TEXT,
        st.builds(lambda t: "s" + t, st.text(min_size=9, max_size=63)),  # looks like a code
        st.builds(
            lambda t: "s" + t,
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=23, max_size=24),
        ),
    ),
    chat=st.sampled_from([STRANGER, RESIDENT, ANNA]),
)
def test_wrong_invitation_codes_link_nothing(world, payload, chat):
    before = snapshot(world.engine)
    with world.engine.connect() as conn:
        attempts = conn.execute(sa.text("SELECT count(*) FROM throttle_event")).scalar_one()
    replies = world.desk.start(chat, payload, language=world.dialogue.language_of(chat))
    assert_telegram_valid(replies)
    assert snapshot(world.engine) == before
    with world.engine.connect() as conn:  # at most the attempt itself is counted
        assert conn.execute(sa.text("SELECT count(*) FROM throttle_event")).scalar_one() - attempts in (0, 1)


def _valid_away(args: str) -> bool:
    arg = args.strip()
    if arg.lower() in ("off", "aus", "0"):
        return True
    try:
        date.fromisoformat(arg)
    except ValueError:
        return False
    return True


@relaxed(60)
@given(
    command=st.sampled_from(STAFF_COMMANDS),
    args=st.one_of(
        HOSTILE_TEXT, st.sampled_from(["2020-01-01", "9999-12-31", "2026-02-30", "+2027-01-01", "01.12.2026"])
    ),
    chat=st.sampled_from([STRANGER, ANNA, CORA]),
)
def test_staff_commands_with_any_arguments(world, command, args, chat):
    """/mymeasures, /away and /report with anything after them; an /away that is not a date in the
    next year (nor 'off') changes nothing."""
    if command == "away" and _valid_away(args):
        return
    before = snapshot(world.engine)
    replies = world.desk.command(chat, command, args, language="ar")
    if replies or command != "report" or chat != CORA:
        assert_telegram_valid(replies)
    assert snapshot(world.engine) == before


@relaxed(60)
@given(
    data=st.one_of(FORGED, st.builds(lambda a, g: f"W:{a}:{g}", st.sampled_from("nsx"), GARBAGE)),
    chat=st.sampled_from([STRANGER, RESIDENT, ANNA, CORA]),
)
def test_forged_newsletter_desk_buttons_change_nothing(world, data, chat):
    """Anyone but a coordinator: refused, whatever the data; a coordinator: unknown newsletters and
    issues, odd ids."""
    if coordinator_button_changes_state(world, chat, data):
        return
    before = snapshot(world.engine)
    replies = world.newsletters.button(chat, data)
    assert_telegram_valid(replies)
    assert snapshot(world.engine) == before
    assert not world.newsletters.is_composing(chat)


@pytest.mark.parametrize("chat", [STRANGER, RESIDENT, ANNA])
def test_only_coordinators_may_send_or_discard_an_issue(world, chat):
    before = snapshot(world.engine)
    for replies in (
        world.newsletters.command(chat),
        world.newsletters.button(chat, f"W:s:{world.draft_issue}"),
        world.newsletters.button(chat, f"W:x:{world.draft_issue}"),
        world.newsletters.button(chat, "W:n:1.24"),
        world.newsletters.text(chat, "Hallo"),
    ):
        assert_telegram_valid(replies)
    assert snapshot(world.engine) == before
    assert not world.newsletters.is_composing(chat)


@relaxed(60)
@given(text=HOSTILE_TEXT)
def test_a_coordinators_issue_text_may_be_anything(world, text):
    """Composing: any text is refused with a reason or stored as one draft, whose preview Telegram
    accepts (links allowed); nothing but the issue table (and the composing state) changes."""
    assert_telegram_valid(world.newsletters.button(CORA, "W:n:1.32"))
    before = snapshot(world.engine)
    replies = world.newsletters.text(CORA, text)
    assert_telegram_valid(replies, rich=True)
    after = snapshot(world.engine)
    # One draft issue at most; composing ends with it (the state any instance can read).
    assert changed_tables(before, after) <= {"newsletter_issue", "newsletter_compose"}
    assert len(after["newsletter_issue"]) - len(before["newsletter_issue"]) in (0, 1)
    world.newsletters._compose(CORA, None)


@relaxed(60)
@given(text=HOSTILE_TEXT, lang=st.sampled_from([None, "de", "ar", "fa", "uk"]))
def test_search_is_total_and_bounded(world, text, lang):
    hits = world.search.search(text, limit=5, lang=lang)
    assert len(hits) <= 5
    assert all(h.score >= world.search.threshold for h in hits)
    catalog = world.core.catalog
    known = {"measure": catalog.measures, "offer": catalog.offers, "referral": catalog.referrals.topics}
    assert all(h.id in known[h.kind] for h in hits)  # "İI" finds the referral for SGB II, the Jobcenter


NASTY = [
    "\x00",
    "Wohnung\x00 kündigung",
    "a\x00" * 600,
    "\x01\x02\x1b[31m\x7f\x85\u2028\u2029",
    "\ud7ff\ue000\U0010ffff",
    "\u202e<b>&amp;</b>\u2066'; DROP TABLE gap; --",
    "x" * 100_000,
    "9" * 70,
]


def test_hostile_input_on_every_entry_point(any_url, tmp_path):
    """The nastiest inputs through every entry point, on a SQLite file and on PostgreSQL (which
    refuses NUL characters in text and integers past 64 bits)."""
    w = World({"DATABASE_URL": any_url, "ANKOMMEN_STATE_DIR": str(tmp_path)})
    try:
        anna = w.members[ANNA]
        for text in NASTY:
            for chat in (STRANGER, RESIDENT, ANNA, CORA):
                before = snapshot(w.engine)
                assert_telegram_valid(w.dialogue.handle_text(chat, text))
                assert_telegram_valid(w.dialogue.handle_text(chat, "/help " + text))
                assert changed_tables(before, snapshot(w.engine)) <= {"gap"}
                before = snapshot(w.engine)
                for data in (text, f"K:c:{text}", f"K:l:{text}", f"K:s:{text}:i", f"K:s:4.14:{text}"):
                    assert_telegram_valid(w.desk.button(chat, data))
                for data in (text, f"V:u:m:{text}", f"S:{text}", f"L:{text}", f"O:{text}", f"R:{text}"):
                    assert_telegram_valid(w.dialogue.handle_button(chat, data))
                for data in (f"W:s:{text}", f"W:x:{text}", f"W:n:{text}"):
                    assert_telegram_valid(w.newsletters.button(chat, data))
                assert_telegram_valid(w.desk.start(chat, "s" + text[:60]))
                assert_telegram_valid(w.desk.command(chat, "away", text))
                assert w.desk.text(chat, text) is None
                assert snapshot(w.engine) == before
            w.directory.save_draft(
                StatusDraft(staff_id=anna.id, measure_number="4.14", status="on_track", awaiting_note=True)
            )
            assert_telegram_valid(w.desk.text(ANNA, text))
            assert_telegram_valid(w.desk.button(ANNA, "K:y:4.14"))
            assert_telegram_valid(w.newsletters.button(CORA, "W:n:1.24"))
            assert_telegram_valid(w.newsletters.text(CORA, text), rich=True)
            w.newsletters._compose(CORA, None)
            assert_telegram_valid(w.dialogue.handle_text(RESIDENT, "/newsletters"))
    finally:
        w.engine.dispose()


# ===================================================================================================
# 2. Malformed updates through the real PTB Application (the production wiring)
# ===================================================================================================
SENTRY = 7100  # sends a normal /start after the malformed updates
BOT_NAME = "AnkommenTestBot"


DROP = object()  # a field to leave out


def _without_dropped(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if value is not DROP}


def _message(chat_id: int, text: str | None = "Hallo", *, chat_type: str = "private", **extra) -> dict:
    chat = {"id": chat_id, "type": chat_type}
    chat.update({"first_name": "T"} if chat_type == "private" else {"title": "G"})
    sender = {"id": abs(chat_id), "is_bot": False, "first_name": "T", "language_code": "de"}
    msg = {"message_id": 1, "date": int(time.time()), "chat": chat, "from": sender}
    if text is not None:
        msg["text"] = text
    return _without_dropped({**msg, **extra})


def _query(chat_id: int, **extra) -> dict:
    query = {
        "id": "q1",
        "from": {"id": chat_id, "is_bot": False, "first_name": "T", "language_code": "de"},
        "chat_instance": "1",
        "message": _message(chat_id, "Menü"),
        "data": "M",
    }
    return {"callback_query": _without_dropped({**query, **extra})}


def malformed_updates(chat: int) -> list[dict]:
    """What Telegram (or a forger of webhook calls) might send that the handlers do not expect."""
    cmd = {"type": "bot_command", "offset": 0, "length": 5}
    return [
        {"message": _message(chat, "Hallo", **{"from": DROP})},  # no sender
        {"message": _message(chat, "Hallo", chat=DROP)},  # no chat
        {"message": _message(chat, None)},  # no text at all
        {"message": {**_message(chat), "text": None}},  # text: null
        {"message": _message(chat, "Wohnung " * 1000)},  # 8,000 characters
        {"message": _message(chat, "\u202e<b>&" * 25_000)},  # 100,000 characters
        {"message": _message(chat, "\x00\x01\u200f/start\u2066")},
        {"message": _message(chat, "/help", entities=[{"type": "bot_command", "offset": 40, "length": 9}])},
        {"message": _message(chat, "/x", entities=[{"type": "bot_command", "offset": -3, "length": 99}])},
        {"message": _message(chat, "/start " + "s" * 5000, entities=[cmd])},
        {"message": _message(chat, "/start s' OR 1=1 --", entities=[cmd])},
        {"message": _message(chat, None, sticker={"file_id": "x", "file_unique_id": "x", "type": "regular",
                                                  "width": 1, "height": 1, "is_animated": False, "is_video": False})},
        {"message": _message(chat, None, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])},
        {"message": _message(chat, None, location={"latitude": 52.13, "longitude": 11.62})},
        {"message": _message(chat, None, caption="<b>Wohnung</b>")},
        {"edited_message": {**_message(chat, "Wohnung"), "edit_date": int(time.time())}},
        {"channel_post": _message(-1001234567890, "/start", chat_type="channel", **{"from": DROP})},
        {"edited_channel_post": _message(-1001234567890, "x", chat_type="channel", edit_date=1)},
        {"message": _message(-1001234567890, "Wohnung", chat_type="supergroup")},
        {"message": _message(-42, "/delete@" + BOT_NAME, chat_type="group", entities=[{**cmd, "length": 23}])},
        {"message": _message(-42, "/help@SomeOtherBot", chat_type="group")},
        {"message": _message(-42, None, chat_type="group", new_chat_members=[{"id": 5, "is_bot": False, "first_name": "N"}])},
        {"message": _message(2**52, "/start")},  # the largest ids Telegram promises
        {"message": _message(-(2**52), "/start")},
        _query(chat, data=DROP),  # no data (a game button)
        _query(chat, data=None),
        _query(chat, message=DROP),  # no message (an inline message)
        _query(chat, message=None, inline_message_id="abc"),
        _query(chat, data="K:c:" + "9" * 200),  # oversized
        _query(chat, data="W:s:" + "9" * 60),
        _query(chat, data="D:yes" + "x" * 70),
        _query(chat, data="\x00\u202e'; DROP TABLE resident; --"),
        _query(chat, data="T", message={"message_id": 5, "date": 0, "chat": {"id": chat, "type": "private"}}),
        _query(chat, data="V:u:m:4.14x", **{"from": {"id": chat + 1, "is_bot": False, "first_name": "O"}}),
        _query(chat, data="M", **{"from": DROP}),
        {"inline_query": {"id": "1", "from": {"id": chat, "is_bot": False, "first_name": "T"}, "query": "<b>", "offset": ""}},
        {"chosen_inline_result": {"result_id": "1", "from": {"id": chat, "is_bot": False, "first_name": "T"}, "query": ""}},
        {"my_chat_member": {
            "chat": {"id": chat, "type": "private"}, "from": {"id": chat, "is_bot": False, "first_name": "T"},
            "date": 0, "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "B"}},
            "new_chat_member": {"status": "kicked", "until_date": 0, "user": {"id": 1, "is_bot": True, "first_name": "B"}},
        }},  # fmt: skip
        {"something_new": {"chat": {"id": chat}, "text": "Hallo"}},  # a type this PTB does not know
        {},  # nothing but the update id
    ]  # fmt: skip


@pytest.fixture
def live(tmp_path, caplog):
    """The whole bot (``assemble``) polling the loopback server, with a linked coordinator."""
    caplog.set_level(logging.WARNING)
    with FakeBotApi(username=BOT_NAME) as api:
        settings_ = Settings.from_env(
            {
                "ANKOMMEN_STATE_DIR": str(tmp_path),
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "TELEGRAM_BOT_USERNAME": BOT_NAME,
                "TELEGRAM_FLOOD_LIMIT": "0",
                "ANKOMMEN_RATE_LIMIT": "10000",
            }
        )
        core = open_core(settings_)
        directory = core.staff_directory()
        cora = directory.add("Cora", "Amt", role="coordinator")
        directory.link(CORA, directory.invite(cora.id))
        bot = PollingBot(core, api, app=assemble(core, settings_, status_tick=3600)).start()
        stopped = False

        def stop():
            nonlocal stopped
            if not stopped:
                stopped = True
                bot.stop()

        try:
            yield core, api, stop
        finally:
            stop()
            core.engine.dispose()


def assert_still_answers(api: FakeBotApi, chat: int) -> None:
    """A normal /start gets the language picker (so polling and the handlers still run)."""
    before = len(api.calls(chat_id=chat))
    api.message(chat, "/start")
    (picker,) = api.wait_for(before + 1, chat_id=chat, timeout=20)[before:]
    assert "L:de" in [data for _label, data in picker.buttons]


def assert_nothing_failed(api: FakeBotApi, caplog) -> None:
    """No update failed (the error handler logs each one, and would send the apology), nothing
    PTB could not read, and every message the bot sent passed the server's checks again."""
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [(r.name, r.getMessage()) for r in failures]
    for sent in api.calls():
        visible = parse_html(sent.text)
        assert visible.strip() and utf16_len(visible) <= TELEGRAM_TEXT_LIMIT
        for label, data in sent.buttons:
            assert label.strip() and 1 <= len(data.encode()) <= CALLBACK_MAX_BYTES


@pytest.mark.parametrize("chat", [STRANGER, CORA])
def test_malformed_updates_change_nothing_and_the_bot_keeps_answering(live, caplog, chat):
    core, api, stop = live
    before = snapshot(core.engine)
    for update in malformed_updates(chat):
        api.push(update)
    assert_still_answers(api, SENTRY)
    stop()  # waits for every update in hand
    assert_nothing_failed(api, caplog)
    # Questions may leave a gap; nothing else is written (the sentry's /start writes nothing).
    assert changed_tables(before, snapshot(core.engine)) <= {"gap"}
    answered = {s.chat_id for s in api.calls()}
    assert -1001234567890 not in answered  # channels, and groups unless addressed
    assert -42 in answered  # the group command addressed to this bot


def test_an_update_ptb_cannot_read_is_skipped_and_its_text_stays_out_of_the_log(live, caplog):
    """PTB parses a getUpdates batch at once; one unreadable update used to stop polling for good
    and put the raw update, message text included, into a CRITICAL log line."""
    _core, api, stop = live
    caplog.set_level(logging.DEBUG)
    secret = "Mein Vermieter heißt Müller"
    api.message(SENTRY, "/start")
    # A message whose sender misses the fields PTB needs: the whole batch used to fail.
    api.push({"message": {"message_id": 1, "date": 1, "chat": {"id": SENTRY, "type": "private"},
                          "from": {"id": "not-a-number"}, "text": secret}})  # fmt: skip
    (picker,) = api.wait_for(1, chat_id=SENTRY, timeout=20)
    assert "L:de" in [data for _label, data in picker.buttons]
    assert_still_answers(api, SENTRY)  # polling went past it
    stop()
    assert any("could not be read and is skipped" in r.getMessage() for r in caplog.records)
    # PTB's own DEBUG lines show raw updates; `ankommen run` keeps the telegram loggers at INFO.
    assert not any(secret in r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=30), HOSTILE, INJECTION
)
COMMANDS = st.sampled_from(["start", "help", "delete", "newsletter", "newsletters", "mymeasures", "away"])
# Button data that may legitimately write (a language, a newsletter toggle, erasure, a vote).
WRITES = re.compile(r"^(L:.|[SU]:.|D:yes|V:)")


@st.composite
def update_dicts(draw):
    """An update of a known or unknown type around a plausible message or query, with fields
    nulled or replaced by hostile values (PTB itself needs ids, chat, sender and date to read an
    update; dropping those is in ``malformed_updates``)."""
    chat = draw(st.sampled_from([STRANGER, CORA, -42, -(2**52), 2**52]))
    kind = draw(st.sampled_from(["message", "edited_message", "channel_post", "callback_query", "x"]))
    if kind == "callback_query":
        data = draw(st.one_of(FORGED, st.none()).filter(lambda d: d is None or not WRITES.match(d)))
        body = _query(chat, data=data)["callback_query"]
    else:
        text = draw(st.one_of(st.none(), HOSTILE_TEXT.map(lambda t: t[:5000]), COMMANDS.map("/{}".format)))
        body = _message(
            chat, text, chat_type=draw(st.sampled_from(["private", "group", "supergroup", "channel"]))
        )
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2, unique=True)):
        if key not in ("chat", "from", "message_id", "date", "id", "message"):
            body[key] = draw(JSON_LEAF)
    if draw(st.booleans()):
        entity = {
            "type": "bot_command",
            "offset": draw(st.integers(-5, 50)),
            "length": draw(st.integers(0, 50)),
        }
        body["entities"] = [entity]
    return {kind: body}


def test_generated_updates_never_break_the_bot(live, caplog):
    """Hypothesis makes the updates; one bot serves all examples, and a /start after each batch
    must still be answered."""
    core, api, stop = live
    before = snapshot(core.engine)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(batch=st.lists(update_dicts(), min_size=1, max_size=4))
    def run(batch):
        for update in batch:
            api.push(update)
        assert_still_answers(api, SENTRY)

    run()
    stop()
    assert_nothing_failed(api, caplog)
    assert changed_tables(before, snapshot(core.engine)) <= {"gap"}
