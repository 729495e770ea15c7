"""Newsletters: drafts, subscriptions, the issue life cycle and the outbox, on a real SQLite file
and a real PostgreSQL, delivering over HTTP to the loopback Bot API server with its flood control
and injected faults (429, 403, 400 chat not found, timeouts, dropped connections)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot import paths
from bot.content.load import load_content
from bot.models import Delivery, NewsletterIssue, Subscription, utcnow
from bot.newsletters.definitions import load_definitions
from bot.newsletters.drafts import DraftError, build_draft, markdown_to_html, parse_draft
from bot.newsletters.issues import (
    IssueError,
    cancel,
    create_issue,
    promote_due,
    resend_unknown,
    schedule,
    start_sending,
)
from bot.newsletters.outbox import Outbox, issue_renderer
from bot.newsletters.outbox_store import OutboxStore
from bot.newsletters.stats import status
from bot.newsletters.subscriptions import StoreSubscriptions
from bot.residents.store import StorePreferences
from bot.store import db
from handlers.bots import outbox_bot
from handlers.sender import BotSender
from tests.botapi import FakeBotApi, parse_html
from tests.helpers import seed_subscribers

NEWSLETTERS = load_definitions(paths.DATA_DIR)
FOUR = "Hallo **Welt**\n\n# en\nHello **world**\n\n# ar\nمرحبا\n\n# uk\nПривіт"


def _store(url, engine_for):
    engine = engine_for(url)
    db.upgrade(engine)
    return engine


def _seed(engine, n, *, newsletter="1.24", langs=("de", "en", "ar", "uk"), start=10_000):
    return seed_subscribers(engine, range(start, start + n), langs, newsletter)


def _issue(engine, body=FOUR, newsletter="1.24") -> int:
    return create_issue(engine, build_draft(newsletter, body, NEWSLETTERS))


def _deliver(engine, api, dialogue, *, rate=200.0, timeout=5.0, lease=3.0, issue_ids=None, workers=1):
    async def one():
        bot = outbox_bot(api.token, api.base_url, timeout=timeout)
        async with bot:
            outbox = Outbox(engine, BotSender(bot), issue_renderer(dialogue), rate=rate, lease=lease)
            return await outbox.run(issue_ids=issue_ids, until_done=True)

    async def main():
        return await asyncio.gather(*(one() for _ in range(workers)))

    return asyncio.run(main())


def _states(engine, issue_id) -> dict[int, str]:
    with Session(engine) as s:
        return dict(
            s.exec(select(Delivery.chat_id, Delivery.state).where(Delivery.issue_id == issue_id)).all()
        )


# --- drafts -----------------------------------------------------------------------------------


def test_markdown_subset_becomes_valid_telegram_html():
    html = markdown_to_html(
        "# Treffen\n**Wann:** *Montag* _um 10_\n\n\n\n[Stadt](https://www.magdeburg.de/?a=1&b=2) <script>x</script>"
    )
    assert html.startswith("<b>Treffen</b>\n<b>Wann:</b> <i>Montag</i> <i>um 10</i>\n\n")
    assert '<a href="https://www.magdeburg.de/?a=1&amp;b=2">Stadt</a>' in html
    assert "&lt;script&gt;" in html
    parse_html(html)  # Telegram's parser accepts it


@pytest.mark.parametrize(
    "body, reason",
    [
        ("", "no text"),
        ("# en\nonly English", "German text is required"),
        ("Hallo\n# xx\nfoo", "unknown language mark"),
        ("Hallo\n# en\na\n# en\nb", "appears twice"),
        ("Hallo " * 3000, "needs 5 messages"),
        ("[" + "Rathaus " * 600 + "](https://www.magdeburg.de/)", "cannot be split"),
    ],
)
def test_bad_drafts_are_refused_with_a_reason(body, reason):
    with pytest.raises(DraftError, match=reason):
        build_draft("1.24", body, NEWSLETTERS)


def test_draft_files_front_matter_and_image(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    (tmp_path / "bild.png").write_bytes(png)
    draft = parse_draft(
        '---\nnewsletter: "1.32"\nimage: bild.png\n---\n' + FOUR, NEWSLETTERS, base_dir=tmp_path
    )
    assert draft.newsletter == "1.32" and set(draft.texts) == {"de", "en", "ar", "uk"}
    assert draft.image == png and draft.image_name == "bild.png"
    for bad, reason in [
        ("no front matter", "must start with front matter"),
        ("---\nnewsletter: 9.99\n---\nHallo", "unknown newsletter"),
        ("---\nnewsletter: '1.24'\ncolour: red\n---\nHallo", "unknown front matter"),
        ("---\nnewsletter: '1.24'\nimage: missing.png\n---\nHallo", "cannot read the image"),
        ("---\nnewsletter: [\n---\nHallo", "not valid YAML"),
    ]:
        with pytest.raises(DraftError, match=reason):
            parse_draft(bad, NEWSLETTERS, base_dir=tmp_path)
    # an image caption allows far less text than a message
    with pytest.raises(DraftError, match="image caption"):
        build_draft("1.24", "Wort " * 250, NEWSLETTERS, image=png)


def test_newsletters_are_data_in_every_language():
    content, problems = load_content(paths.DATA_DIR)
    assert not problems
    assert list(NEWSLETTERS) == ["1.24", "1.32"]
    for n in NEWSLETTERS.values():
        assert set(n.texts) == set(content.languages)
    broken = content
    broken.newsletters = [{"id": "1.24", "offer": "newsletter-women", "texts": {"de": {"title": "x"}}}]
    from bot.content.load import validate_newsletters

    found = "\n".join(map(str, validate_newsletters(broken)))
    assert "offer must be a newsletter offer of measure 1.24" in found and "missing title" in found


# --- subscriptions and the issue life cycle -------------------------------------------------------


def test_subscriptions_toggle_and_delete_erases_outbox_rows(any_url, engine_for):
    engine = _store(any_url, engine_for)
    subs = StoreSubscriptions(engine, NEWSLETTERS)
    subs.subscribe(501, "1.24", "ar")  # creates the resident too
    subs.subscribe(501, "1.24", "ar")  # twice is once
    subs.subscribe(501, "1.32", "ar")
    assert subs.active(501) == {"1.24", "1.32"}
    assert subs.unsubscribe(501, "1.32") and not subs.unsubscribe(501, "1.32")
    issue = _issue(engine)
    assert start_sending(engine, issue) == 1
    assert StorePreferences(engine).forget(501)
    with Session(engine) as s:
        assert s.exec(select(Subscription)).all() == []
        assert s.exec(select(Delivery)).all() == []  # outbox rows are personal data too


def test_outbox_is_made_once_with_the_language_policy(any_url, engine_for):
    engine = _store(any_url, engine_for)
    _seed(engine, 10, langs=("de", "en", "fa", "vi", "ar"))
    _seed(engine, 3, newsletter="1.32", start=20_000)
    issue = _issue(engine, "Hallo\n# en\nHello\n# ar\nمرحبا")
    assert start_sending(engine, issue) == 10
    assert start_sending(engine, issue) == 0  # idempotent
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:  # the unique constraint is the last guard
            conn.execute(
                sa.insert(Delivery.__table__), {"issue_id": issue, "chat_id": 10_000, "language": "de"}
            )
    s = status(engine, issue)
    assert (
        s["total"] == 10
        and s["states"] == {"pending": 10}
        and set(s["languages"]) == {"de", "en", "fa", "vi", "ar"}
    )

    skip = _issue(engine, "Hallo\n# en\nHello")
    start_sending(engine, skip, missing_language="skip")
    assert status(engine, skip)["states"] == {"pending": 4, "skipped": 6}


def test_schedule_hold_cancel_and_bad_input_change_nothing(any_url, engine_for):
    engine = _store(any_url, engine_for)
    _seed(engine, 3)
    now = utcnow()
    soon, late, later = _issue(engine), _issue(engine), _issue(engine)
    with pytest.raises(IssueError, match="future"):
        schedule(engine, soon, now - timedelta(minutes=1))
    schedule(engine, soon, now + timedelta(minutes=5))
    schedule(engine, late, now + timedelta(minutes=5))
    schedule(engine, later, now + timedelta(hours=5))
    # Ten minutes later both are due and not overdue by more than two hours: they start.
    res = promote_due(engine, hold_hours=2, now=now + timedelta(minutes=10))
    assert res.started == [soon, late] and res.held == []
    # The bot was down: "later" is found three hours overdue, so it is held.
    res = promote_due(engine, hold_hours=2, now=now + timedelta(hours=8))
    assert res.held == [later] and res.started == []
    assert status(engine, later)["state"] == "held" and status(engine, later)["total"] == 0
    assert start_sending(engine, later) == 3  # someone confirmed it
    assert cancel(engine, later) == 3
    assert status(engine, later)["states"] == {"cancelled": 3}
    for op in (
        lambda: start_sending(engine, later),
        lambda: cancel(engine, later),
        lambda: status(engine, 999),
    ):
        with pytest.raises(IssueError):
            op()
    assert status(engine, later)["state"] == "cancelled"


# --- delivery ----------------------------------------------------------------------------------


def test_delivers_each_subscriber_once_in_their_language_with_an_unsubscribe_button(
    any_url, engine_for, dialogue
):
    engine = _store(any_url, engine_for)
    chats = _seed(engine, 40, langs=("de", "en", "ar", "uk", "fa"))
    issue = _issue(engine)
    start_sending(engine, issue)
    with FakeBotApi(rate_limit=100, per_chat_interval=1.0) as api:
        _deliver(engine, api, dialogue, rate=90)
        got = api.delivered()
        assert got == {c: 1 for c in chats}
        assert api.too_many == 0
        by_chat = {s.chat_id: s for s in api.calls()}
    assert set(_states(engine, issue).values()) == {"sent"}
    assert status(engine, issue)["state"] == "sent"
    assert "Hello" in by_chat[chats[1]].text and "مرحبا" in by_chat[chats[2]].text
    fa = by_chat[chats[4]].text  # no Persian text: German with a one-line note in Persian
    assert "Hallo" in fa and "آلمانی" in fa
    assert by_chat[chats[0]].buttons == [("Abbestellen", "U:1.24")]


def test_errors_block_deactivate_and_never_resend_unknown_outcomes(any_url, engine_for, dialogue):
    engine = _store(any_url, engine_for)
    chats = _seed(engine, 30)
    blocked, gone, timeout, drop = chats[:4]
    issue = _issue(engine)
    start_sending(engine, issue)
    with FakeBotApi(rate_limit=200, per_chat_interval=1.0, fault_delay=2.5) as api:
        api.fail(blocked, "blocked")
        api.fail(gone, "gone")
        api.fail(timeout, "timeout")
        api.fail(drop, "drop")
        api.throttle(3, retry_after=1)  # three 429s: a pause, then those rows again
        _deliver(engine, api, dialogue, timeout=1.0)
        received = api.delivered()
    assert api.too_many == 3
    states = _states(engine, issue)
    assert states[blocked] == "blocked" and states[gone] == "gone"
    assert states[timeout] == "unknown" and states[drop] == "unknown"
    assert {states[c] for c in chats[4:]} == {"sent"}
    # The timed-out and dropped messages did arrive, once: never resent.
    assert max(received.values()) == 1 and received[timeout] == 1 and received[drop] == 1
    with Session(engine) as s:
        subs = dict(s.exec(select(Subscription.chat_id, Subscription.status)).all())
    assert subs[blocked] == "blocked" and subs[gone] == "inactive" and subs[timeout] == "active"
    assert status(engine, issue)["state"] == "sent"
    # A new issue goes to active subscribers only.
    second = _issue(engine)
    assert start_sending(engine, second) == 28


def test_paced_below_the_servers_limit_and_one_per_second_per_chat(any_url, engine_for, dialogue):
    engine = _store(any_url, engine_for)
    chats = _seed(engine, 5)
    first, second = _issue(engine), _issue(engine)  # two issues to the same five chats
    start_sending(engine, first)
    start_sending(engine, second)
    with FakeBotApi(rate_limit=50, per_chat_interval=1.0) as api:
        _deliver(engine, api, dialogue, rate=45)
        sends = sorted((s for s in api.calls()), key=lambda s: s.at)
    assert api.too_many == 0
    for chat in chats:
        times = [s.at for s in sends if s.chat_id == chat]
        assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_two_workers_share_the_outbox_without_duplicates(any_url, engine_for, dialogue):
    engine = _store(any_url, engine_for)
    chats = _seed(engine, 120)
    issue = _issue(engine)
    start_sending(engine, issue)
    with FakeBotApi(rate_limit=400, per_chat_interval=1.0) as api:
        counts = _deliver(engine, api, dialogue, rate=40, workers=2)  # batches of 80
        assert api.delivered() == {c: 1 for c in chats}
    assert all(c["sent"] > 0 for c in counts), counts  # both took part
    assert set(_states(engine, issue).values()) == {"sent"}


def test_a_dead_workers_rows_are_recovered_by_the_policy(any_url, engine_for):
    """Claimed (not yet sent) rows go back to pending; rows in flight become unknown, never resent."""
    engine = _store(any_url, engine_for)
    _seed(engine, 6)
    issue = _issue(engine)
    start_sending(engine, issue)
    dead = OutboxStore(engine, "dead-worker", lease=0.0)
    jobs = dead.claim(6)
    assert len(jobs) == 6
    assert dead.mark_sending([j.id for j in jobs[:2]]) == {jobs[0].id, jobs[1].id}
    alive = OutboxStore(engine, "alive", lease=10)
    assert alive.claim(10) == []  # nothing pending: the dead worker's leases hold them
    assert alive.recover() == (4, 2)
    assert len(alive.claim(10)) == 4
    assert status(engine, issue)["states"] == {"claimed": 4, "unknown": 2}


def test_cancel_while_sending_stops_what_has_not_started(any_url, engine_for, dialogue):
    engine = _store(any_url, engine_for)
    _seed(engine, 30)
    issue = _issue(engine)
    start_sending(engine, issue)
    with FakeBotApi() as api:
        stop_after = threading.Event()

        async def main():
            bot = outbox_bot(api.token, api.base_url)
            async with bot:
                outbox = Outbox(engine, BotSender(bot), issue_renderer(dialogue), rate=10)
                task = asyncio.create_task(outbox.run(until_done=True))
                while len(api.delivered()) < 5:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(cancel, engine, issue)
                stop_after.set()
                await asyncio.wait_for(task, 20)

        asyncio.run(main())
        sent = sum(api.delivered().values())
    states = _states(engine, issue)
    assert 5 <= sent < 30
    assert sum(1 for v in states.values() if v == "sent") == sent
    assert set(states.values()) == {"sent", "cancelled"}
    with Session(engine) as s:
        assert s.get(NewsletterIssue, issue).state == "cancelled"


def test_newsletter_settings_are_validated():
    from bot.settings import Settings, SettingsError

    s = Settings.from_env({})
    assert (s.newsletter_rate, s.newsletter_missing_language, s.newsletter_hold_hours) == (30, "german", 6)
    for name, value in [
        ("ANKOMMEN_NEWSLETTER_RATE", "0"),
        ("ANKOMMEN_NEWSLETTER_MISSING_LANGUAGE", "english"),
        ("ANKOMMEN_NEWSLETTER_HOLD_HOURS", "-1"),
        ("ANKOMMEN_NEWSLETTER_LEASE", "1"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_dialogue_toggles_and_rejects_forged_buttons(dialogue):
    dialogue.prefs.set_language(77, "ar")
    [screen] = dialogue.handle_button(77, "N")
    assert [b.data for row in screen.buttons for b in row][:2] == ["S:1.24", "S:1.32"]
    toast, screen = dialogue.handle_button(77, "S:1.32")
    assert toast.toast and "نشرة إخبارية للنساء" in toast.html
    assert screen.buttons[1][0].label.startswith("✅")
    assert dialogue.subscriptions.active(77) == {"1.32"}
    [left] = dialogue.handle_button(77, "U:1.32")
    assert left.toast and dialogue.subscriptions.active(77) == set()
    for forged in ("S:9.99", "U:", "S:1.24:x", "U:<b>"):
        [reply] = dialogue.handle_button(77, forged)
        assert reply.toast and dialogue.subscriptions.active(77) == set()
    # An issue in Arabic: the title is isolated for right to left, the editor's text is untouched.
    reply = dialogue.newsletter_issue("1.24", {"de": "Hallo <b>Welt</b> 2026"}, "ar")
    assert reply.html.endswith("Hallo <b>Welt</b> 2026") and "\u2068" not in reply.html.split("</i>")[-1]
    assert reply.buttons[0][0].data == "U:1.24"


def test_the_loopback_server_enforces_its_limits():
    """The server answers 429 with retry_after above L per second and within 1 s per chat."""
    from bot.chat.outbound import Outcome
    from bot.chat.replies import Reply

    with FakeBotApi(rate_limit=5, per_chat_interval=1.0) as api:

        async def main():
            bot = outbox_bot(api.token, api.base_url)
            async with bot:
                sender = BotSender(bot)
                burst = await asyncio.gather(*(sender.send(900 + i, Reply("x")) for i in range(8)))
                await asyncio.sleep(1.1)
                again = [await sender.send(42, Reply("x")) for _ in range(2)]
                return burst, again

        burst, again = asyncio.run(main())
    outcomes = [r.outcome for r in burst]
    assert outcomes.count(Outcome.SENT) == 5 and outcomes.count(Outcome.RETRY) == 3
    assert all(r.retry_after >= 1 for r in burst if r.outcome is Outcome.RETRY)
    assert [r.outcome for r in again] == [Outcome.SENT, Outcome.RETRY]
    assert api.too_many == 4 and sum(api.delivered().values()) == 6


def test_an_issue_with_an_image_goes_out_as_a_photo_with_caption_and_button(sqlite_url, engine_for, dialogue):
    engine = _store(sqlite_url, engine_for)
    chats = _seed(engine, 3, newsletter="1.32", langs=("de", "en", "vi"))
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    draft = build_draft(
        "1.32",
        "**Treffen** am Montag\n# en\n**Meeting** on Monday",
        NEWSLETTERS,
        image=png,
        image_name="x.png",
    )
    issue = create_issue(engine, draft)
    start_sending(engine, issue, missing_language="skip")
    with FakeBotApi(rate_limit=50, per_chat_interval=1.0) as api:
        _deliver(engine, api, dialogue)
        photos = api.calls(methods=("sendPhoto",))
    assert sorted(p.chat_id for p in photos) == chats[:2], status(engine, issue)  # vi is skipped
    by_chat = {p.chat_id: p for p in photos}
    assert by_chat[chats[1]].params["photo"].data == png
    assert "<b>Meeting</b> on Monday" in by_chat[chats[1]].params["caption"]
    assert by_chat[chats[0]].buttons == [("Abbestellen", "U:1.32")]
    assert status(engine, issue)["states"] == {"sent": 2, "skipped": 1}


def test_an_editor_can_resend_unknown_deliveries_on_purpose(any_url, engine_for, dialogue):
    engine = _store(any_url, engine_for)
    chats = _seed(engine, 6)
    issue = _issue(engine)
    start_sending(engine, issue)
    with FakeBotApi(rate_limit=200, fault_delay=2.5) as api:
        api.fail(chats[0], "drop")  # arrives, but the answer is lost: unknown
        _deliver(engine, api, dialogue, timeout=1.0)
        assert _states(engine, issue)[chats[0]] == "unknown" and status(engine, issue)["state"] == "sent"
        with pytest.raises(IssueError):
            resend_unknown(engine, _issue(engine))  # a draft has nothing unknown
        api.fail(chats[0], None)
        assert resend_unknown(engine, issue) == 1
        assert status(engine, issue)["state"] == "sending"
        _deliver(engine, api, dialogue)
        received = api.delivered()
    assert set(_states(engine, issue).values()) == {"sent"} and status(engine, issue)["state"] == "sent"
    assert received[chats[0]] == 2 and all(received[c] == 1 for c in chats[1:])  # the price, as said
    assert resend_unknown(engine, issue) == 0
