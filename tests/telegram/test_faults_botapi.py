"""Bot API faults (issue 7): HTTP 5xx (Telegram's JSON and a proxy's HTML), timeouts and connection
resets, injected by the loopback server (``FakeBotApi.inject``) on every path: the request layer,
the residents' frontend on the real PTB ``Application`` (replies, buttons, ``getUpdates``), the
status loop and the newsletter outbox. The policy is ``handlers/request.py``'s: what certainly did
not reach Telegram is retried and arrives once; a send that may have arrived is never repeated.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from telegram import Bot
from telegram.error import BadRequest, NetworkError
from telegram.request import HTTPXRequest

from bot.chat.outbound import Outcome
from bot.models import Delivery, Prompt
from bot.newsletters.definitions import load_definitions
from bot.newsletters.drafts import build_draft
from bot.newsletters.issues import create_issue, start_sending
from bot.newsletters.outbox import Outbox, issue_renderer
from bot.store import db
from handlers.app import build_application
from handlers.bots import outbox_bot
from handlers.frontend import TelegramFrontend
from handlers.request import Fault, fault_of
from handlers.sender import BotSender, outcome_of
from tests.botapi import FakeBotApi
from tests.helpers import seed_subscribers
from tests.support.botrequest import fast_request
from tests.support.staff import MONDAY, backdate_assignments, linked
from tests.tgharness import PollingBot

BOTAPI_OPTIONS = {"fault_delay": 2.0}  # the module's ``api`` (tests/conftest.py)
NOT_SENT = [("error", 500), ("error", 502), ("error", 503), ("error", 504), ("proxy", 503)]
MAYBE_SENT = [  # kind, status, messages that arrived
    ("proxy", 500, 0),
    ("proxy", 502, 0),
    ("proxy", 504, 0),
    ("reset", 500, 0),
    ("reset_after", 500, 1),
    ("hang", 500, 0),
    ("hang_after", 500, 1),
]
# One of each kind of fault, for the slower paths.
EACH = [
    ("error", 502),
    ("proxy", 502),
    ("reset", 500),
    ("reset_after", 500),
    ("hang", 500),
    ("hang_after", 500),
]


def _with_bot(api, fn, request=None):
    async def main():
        async with Bot(api.token, base_url=api.base_url, request=request or fast_request()) as bot:
            return await fn(bot)

    return asyncio.run(main())


# --- the request layer ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind,status", NOT_SENT)
@pytest.mark.parametrize("scope", ["chat", "method"])
def test_a_send_that_certainly_did_not_arrive_is_retried_and_arrives_once(kind, status, scope):
    with FakeBotApi(fault_delay=1.0) as api:
        where = {"chat_id": 5} if scope == "chat" else {"method": "sendMessage"}
        api.inject(kind, status=status, count=2, **where)
        request = fast_request()
        _with_bot(api, lambda bot: bot.send_message(5, "Hallo"), request)
        assert api.injected[kind] == 2 and request.retries == 2
        assert api.delivered() == {5: 1}


@pytest.mark.parametrize("kind,status,arrived", MAYBE_SENT)
def test_a_send_that_may_have_arrived_is_not_repeated(kind, status, arrived):
    with FakeBotApi(fault_delay=1.0) as api:
        api.inject(kind, status=status, method="sendMessage", count=1)
        request = fast_request()

        async def send_twice(bot):
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(5, "Hallo")
            await bot.send_message(6, "Weiter")  # the bot keeps serving
            return caught.value

        error = _with_bot(api, send_twice, request)
        assert fault_of(error) is Fault.MAYBE_SENT
        assert outcome_of(error).outcome is Outcome.UNKNOWN
        assert request.retries == 0 and api.injected[kind] == 1
        assert api.delivered()[5] == arrived and api.delivered()[6] == 1


def test_a_5xx_left_after_the_retries_says_whether_it_may_have_arrived():
    with FakeBotApi() as api:
        api.inject("error", status=500, method="sendMessage")  # for ever
        error = _with_bot(api, lambda bot: _raises(bot.send_message(5, "x")), fast_request(attempts=3))
        assert api.injected["error"] == 3 and not api.delivered()
        result = outcome_of(error)
        assert result.outcome is Outcome.RETRY and result.retry_after > 0 and "500" in result.detail


async def _raises(coro):
    try:
        await coro
    except NetworkError as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize("kind,status", EACH)
def test_idempotent_calls_are_retried_through_every_fault(kind, status):
    with FakeBotApi(fault_delay=1.0) as api:

        async def calls(bot):
            sent = await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 5, "text": "eins"})
            for method in ("getMe", "setMyCommands", "answerCallbackQuery", "editMessageText"):
                api.inject(kind, status=status, method=method, count=1)
            await bot.get_me()
            await bot.set_my_commands([("start", "Start")])
            await bot.answer_callback_query("1", text="ok")
            try:
                await bot.do_api_request(
                    "editMessageText",
                    api_kwargs={"chat_id": 5, "message_id": sent["message_id"], "text": "zwei"},
                )
            except BadRequest as exc:  # edited by a first attempt whose answer was lost
                assert "not modified" in str(exc)

        _with_bot(api, calls)
        assert api.injected[kind] == 4
        assert len(api.calls(methods=("answerCallbackQuery",))) >= 1
        edits = api.calls(methods=("editMessageText",))
        assert len(edits) == 1 and edits[0].text == "zwei"


# --- the residents' frontend on the real Application ----------------------------------------------


@pytest.fixture(scope="module")
def bot(core, api):
    frontend = TelegramFrontend(core.dialogue(), rate_limit_per_minute=1000)
    app = build_application(
        frontend,
        api.token,
        base_url=api.base_url,
        flood_limit=0,
        request=fast_request(),
        get_updates_request=HTTPXRequest(read_timeout=0.5),
    )
    runner = PollingBot(core, api, app=app).start()
    yield runner
    runner.stop()


@pytest.fixture
def chat():
    chat.n = getattr(chat, "n", 70_000) + 1
    return chat.n


def _texts(api, chat_id):
    return [s.text for s in api.calls(chat_id=chat_id, methods=("sendMessage",))]


@pytest.mark.parametrize("kind,status", NOT_SENT)
def test_replies_to_residents_arrive_once_through_faults_that_did_not_deliver(bot, api, chat, kind, status):
    api.inject(kind, status=status, chat_id=chat, method="sendMessage", count=2)
    api.say(chat, "/start")
    api.say(chat, "/help")  # a later message is answered after the retried one: nothing lost
    api.wait_for(2, chat_id=chat)
    texts = _texts(api, chat)
    assert api.injected[kind] >= 2 and len(texts) == 2 and texts[0] != texts[1]
    assert not any("Sorry" in t or "Entschuldigung" in t for t in texts)


@pytest.mark.parametrize("kind,status,arrived", MAYBE_SENT)
def test_a_reply_that_may_have_arrived_is_neither_repeated_nor_followed_by_an_apology(
    bot, api, chat, kind, status, arrived
):
    """Finding 16: the Bot API may have delivered the answer (and, for ``reset_after`` and
    ``hang_after``, did): an apology after it would be wrong. The alert still goes out."""
    api.say(chat, "/start", language_code="uk")  # the picker
    before = len(_texts(api, chat))
    api.inject(kind, status=status, chat_id=chat, method="sendMessage", count=1)
    api.message(chat, "/help", language_code="uk")
    api.message(chat, "/privacy", language_code="uk")  # in order per chat: after the failed one
    api.wait_for(before + arrived + 1, chat_id=chat)
    time.sleep(0.5)  # an apology would follow the failed update at once
    texts = _texts(api, chat)[before:]
    assert len(texts) == arrived + 1  # the help at most once, then the privacy page
    assert not any(t.startswith("Вибачте") for t in texts)  # and no apology
    assert all("Traceback" not in t and "Error" not in t for t in texts)


@pytest.mark.parametrize("kind,status", EACH)
def test_button_answers_and_edits_are_retried(bot, api, chat, kind, status):
    picker = api.say(chat, "/start")[0]
    data = next(d for _label, d in picker.buttons if d.endswith("en"))
    toasts = len(api.calls(methods=("answerCallbackQuery",)))
    api.inject(kind, status=status, method="answerCallbackQuery", count=1)
    api.inject(kind, status=status, chat_id=chat, method="editMessageText", count=1)
    api.press(picker, data)
    edits = api.wait_for(1, chat_id=chat, methods=("editMessageText",))
    assert len(edits) == 1 and edits[0].text.startswith("Hello!")  # the picker became the welcome
    api.wait_for(toasts + 1, methods=("answerCallbackQuery",))
    assert api.injected[kind] >= 2
    assert len(api.say(chat, "/help")) == 1


@pytest.mark.parametrize("kind,status", EACH)
def test_polling_survives_every_fault_and_loses_no_update(bot, api, chat, kind, status):
    """PTB's polling loop retries getUpdates; Telegram keeps updates until an offset confirms them."""
    seen = api.injected[kind]
    api.inject(kind, status=status, method="getUpdates", count=1)
    api.message(chat, "/start")
    api.wait_for(1, chat_id=chat, timeout=20)
    api.say(chat, "/help")
    assert api.injected[kind] == seen + 1
    assert len(_texts(api, chat)) == 2  # each update answered exactly once


# --- the status loop --------------------------------------------------------------------------------


def _tick(api, loop, now, request=None):
    async def run():
        async with Bot(api.token, base_url=api.base_url, request=request or fast_request()) as bot:
            return await loop.tick(now, BotSender(bot))

    return asyncio.run(run())


def _prompts(engine):
    with Session(engine) as s:
        return s.exec(select(Prompt.state, Prompt.last_error, Prompt.reminded_at)).all()


LOOP_NOT_SENT = [("error", 500), ("proxy", 503)]
LOOP_MAYBE_SENT = [("proxy", 502, 0), ("reset", 500, 0), ("hang_after", 500, 1)]


@pytest.fixture
def store(sqlite_store):
    """The status loop's fault tests run on SQLite only (``parts`` uses ``store``)."""
    return sqlite_store


@pytest.mark.parametrize("kind,status", LOOP_NOT_SENT)
def test_status_prompts_and_reminders_that_did_not_arrive_are_sent_next_tick(parts, store, kind, status):
    directory, _desk, loop, _clock = parts
    linked(directory, "Anna", 501, ["4.14"])
    backdate_assignments(store, MONDAY - timedelta(days=30))
    with FakeBotApi() as api:
        api.inject(kind, status=status, chat_id=501)  # until healed: retries are used up
        result = _tick(api, loop, MONDAY, fast_request(attempts=2))
        assert result.paused and result.prompts == 0 and not api.delivered()
        assert [p[0] for p in _prompts(store)] == ["due"]  # back to due, not failed
        api.heal()
        assert _tick(api, loop, MONDAY + timedelta(minutes=1)).prompts == 1
        assert api.delivered() == {501: 1}
        # The reminder a week later meets the same fault: unclaimed, sent on the next tick.
        api.inject(kind, status=status, chat_id=501)
        later = MONDAY + timedelta(days=7, minutes=2)
        result = _tick(api, loop, later, fast_request(attempts=2))
        assert result.paused and result.reminders == 0 and api.delivered() == {501: 1}
        assert _prompts(store)[0][2] is None
        api.heal()
        assert _tick(api, loop, later + timedelta(minutes=1)).reminders == 1
        assert api.delivered() == {501: 2}
        assert _tick(api, loop, later + timedelta(minutes=2)).reminders == 0


@pytest.mark.parametrize("kind,status,arrived", LOOP_MAYBE_SENT)
def test_a_status_prompt_that_may_have_arrived_is_never_sent_again(parts, store, kind, status, arrived):
    directory, _desk, loop, _clock = parts
    linked(directory, "Anna", 502, ["4.14"])
    backdate_assignments(store, MONDAY - timedelta(days=30))
    with FakeBotApi(fault_delay=1.0) as api:
        api.inject(kind, status=status, chat_id=502, count=1)
        result = _tick(api, loop, MONDAY)
        assert result.outcomes == {"unknown": 1} and api.injected[kind] == 1
        for minutes in (1, 2, 30):
            assert _tick(api, loop, MONDAY + timedelta(minutes=minutes)).prompts == 0
        assert api.delivered()[502] == arrived
    ((state, error, _reminded),) = _prompts(store)
    assert state == "sent" and error == "unknown"  # the reminder follows in a week


# --- the newsletter outbox ------------------------------------------------------------------------


NEWSLETTERS = load_definitions(__import__("bot.paths", fromlist=["DATA_DIR"]).DATA_DIR)


def test_the_outbox_delivers_once_through_every_fault(any_url, engine_for, dialogue):
    """Faults that did not deliver go back to pending and arrive once; faults that may have
    delivered leave the row ``unknown`` and are never resent; everyone else gets it once."""
    engine = engine_for(any_url)
    db.upgrade(engine)
    chats = seed_subscribers(engine, range(30_000, 30_060), ("de", "en"))
    issue = create_issue(engine, build_draft("1.24", "Hallo\n# en\nHello", NEWSLETTERS))
    start_sending(engine, issue)
    not_sent = dict(zip(chats[: len(NOT_SENT)], NOT_SENT, strict=True))
    maybe = dict(zip(chats[len(NOT_SENT) : len(NOT_SENT) + len(MAYBE_SENT)], MAYBE_SENT, strict=True))
    with FakeBotApi(fault_delay=1.5) as api:
        for chat_id, (kind, status) in not_sent.items():
            api.inject(kind, status=status, chat_id=chat_id, count=2)
        for chat_id, (kind, status, _arrived) in maybe.items():
            api.inject(kind, status=status, chat_id=chat_id, count=1)

        async def deliver():
            async with outbox_bot(api.token, api.base_url, timeout=0.5) as bot:
                sender = BotSender(bot, pause_base=0.05, pause_cap=0.2)
                outbox = Outbox(engine, sender, issue_renderer(dialogue), rate=200, lease=3)
                return await outbox.run(issue_ids=[issue], until_done=True)

        asyncio.run(deliver())
        received = api.delivered()
    with Session(engine) as s:
        states = dict(
            s.exec(select(Delivery.chat_id, Delivery.state).where(Delivery.issue_id == issue)).all()
        )
    assert sum(api.injected.values()) == 2 * len(NOT_SENT) + len(MAYBE_SENT)
    for chat_id in not_sent:
        assert states[chat_id] == "sent" and received[chat_id] == 1
    for chat_id, (_kind, _status, arrived) in maybe.items():
        assert states[chat_id] == "unknown" and received[chat_id] == arrived
    others = [c for c in chats if c not in not_sent and c not in maybe]
    assert all(states[c] == "sent" and received[c] == 1 for c in others)
    assert max(received.values()) == 1
