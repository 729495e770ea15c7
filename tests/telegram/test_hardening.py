"""Hardening of the Telegram layer, on the production wiring (``handlers.app.assemble``: the
residents' dialogue, the staff desk and the coordinators' newsletter desk on one real PTB
``Application``), long-polling the loopback Bot API server over HTTP.

* the per-user limit applies to every update before any handler, ``/newsletter`` and ``W:``
  buttons included, and a button's refusal is a toast (finding 2);
* a 429 for one chat delays that chat only; a 429 not tied to a chat pauses everyone (finding 3);
* in a group, newsletters and /delete are refused with a hint, and a button acts for whoever
  pressed it, never for another chat (finding 15);
* while the store is down, one update gets one apology (finding 20);
* chat ids beyond 64 bits and lone surrogates (only a forged Bot API sends them) are dropped
  cleanly: no error, nothing stored, nothing sent (finding 21).
"""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.cli.wiring import open_core
from bot.models import Gap, Resident, StaffMember, Subscription
from bot.settings import Settings
from handlers.app import assemble
from tests.botapi import FakeBotApi
from tests.tgharness import PollingBot

COORDINATOR = 7301


def _settings(tmp_path, api, **env) -> Settings:
    return Settings.from_env(
        {
            "ANKOMMEN_STATE_DIR": str(tmp_path),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            **env,
        }
    )


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """One store for the module (content imported once), with a coordinator."""
    path = tmp_path_factory.mktemp("hardening")
    core = open_core(Settings.from_env({"ANKOMMEN_STATE_DIR": str(path)}))
    with Session(core.engine) as s:
        s.add(StaffMember(name="K", organisation="Stadt", chat_id=COORDINATOR, role="coordinator"))
        s.commit()
    core.engine.dispose()
    return path


def _running(state, api, **env):
    core = open_core(_settings(state, api, **env))
    runner = PollingBot(core, api, app=assemble(core, core.settings)).start()
    return core, runner


def _toasts(api):
    return [s.params.get("text") for s in api.calls(methods=("answerCallbackQuery",))]


# --- finding 2: the per-user limit comes first ----------------------------------------------------


def test_the_per_user_limit_applies_before_every_handler_and_refuses_buttons_with_toasts(state):
    with FakeBotApi() as api:
        core, runner = _running(state, api, ANKOMMEN_RATE_LIMIT="5")
        try:
            resident = 7401
            for _ in range(12):  # the coordinators' desk (handler group -1) answers these
                api.message(resident, "/newsletter")
            api.wait_for(6, chat_id=resident)
            time.sleep(1.0)
            texts = [s.text for s in api.calls(chat_id=resident)]
            assert len(texts) == 6  # five refusals, one notice, then nothing
            assert sum("Nur Koordinator" in t for t in texts) == 5 and "sehr schnell" in texts[-1]

            other = 7402
            (picker,) = api.say(other, "/start")
            for _ in range(12):  # forged coordinator buttons
                api.press(picker, "W:s:1")
            api.wait_for(12, methods=("answerCallbackQuery",))
            time.sleep(0.5)
            toasts = _toasts(api)
            assert len(api.calls(chat_id=other)) == 1  # no message: every refusal is a toast
            assert sum(bool(t) and "Koordinator" in t for t in toasts) == 4  # picker took one slot
            assert sum(bool(t) and "schnell" in t for t in toasts) == 1
        finally:
            runner.stop()
            core.engine.dispose()


# --- finding 3: whom a 429 pauses -----------------------------------------------------------------


def test_a_429_for_one_chat_delays_that_chat_only(state):
    with FakeBotApi() as api:
        core, runner = _running(state, api, TELEGRAM_FLOOD_LIMIT="30")
        try:
            slow, other = 7501, 7502
            api.say(slow, "/start")
            api.say(other, "/start")
            api.inject("flood", retry_after=3, chat_id=slow, method="sendMessage", count=1)
            asked = time.monotonic()
            api.message(slow, "/help")
            time.sleep(0.2)  # the 429 has been answered
            api.message(other, "/help")
            (fast,) = api.wait_for(2, chat_id=other)[1:]
            (late,) = api.wait_for(2, chat_id=slow, timeout=15)[1:]
            assert fast.at - asked < 2.0  # another resident is not held up …
            assert late.at - asked >= 3.0  # … while the flooded chat waits its retry_after
            assert api.too_many == 1
        finally:
            runner.stop()
            core.engine.dispose()


def test_a_429_not_tied_to_a_chat_pauses_everyone(state):
    with FakeBotApi() as api:
        core, runner = _running(state, api, TELEGRAM_FLOOD_LIMIT="30")
        try:
            presser, other = 7601, 7602
            (picker,) = api.say(presser, "/start")
            api.say(other, "/start")
            api.inject("flood", retry_after=3, method="answerCallbackQuery", count=1)
            asked = time.monotonic()
            api.press(picker, "H")  # its answerCallbackQuery names no chat: Telegram's bot-wide limit
            time.sleep(0.3)
            api.message(other, "/help")
            (reply,) = api.wait_for(2, chat_id=other, timeout=15)[1:]
            assert reply.at - asked >= 3.0
            assert api.too_many == 1
        finally:
            runner.stop()
            core.engine.dispose()


# --- finding 15: groups -------------------------------------------------------------------------


def _group(api, group, text, user):
    sent = ("sendMessage",)
    before = len(api.calls(chat_id=group, methods=sent))
    api.message(group, f"{text}@{api.username}", chat_type="supergroup", user_id=user)
    return api.wait_for(before + 1, chat_id=group, methods=sent)[before]


def _press_as(api, sent, data, user, *, answered=True):
    """A button press by ``user`` (in a group, anyone can press a message's buttons); the text of
    the bot's answer (its toast)."""
    message = api._messages[(sent.chat_id, sent.params["_message_id"])]
    before = len(api.calls(methods=("answerCallbackQuery",)))
    api.push(
        {
            "callback_query": {
                "id": f"q{time.monotonic_ns()}",
                "from": api.user(user, "de"),
                "message": message,
                "chat_instance": str(sent.chat_id),
                "data": data,
            }
        }
    )
    if not answered:
        return ""
    return api.wait_for(before + 1, methods=("answerCallbackQuery",))[before].params.get("text") or ""


def test_in_a_group_newsletters_and_delete_are_for_private_chats(state):
    with FakeBotApi() as api:
        core, runner = _running(state, api)
        try:
            group, alice, bob = -1007700, 7701, 7702
            picker = _group(api, group, "/start", alice)
            _press_as(api, picker, "L:de", alice)  # the group's language: it is the group's
            hint = _group(api, group, "/newsletters", alice)
            assert "privaten Chat" in hint.text and not hint.buttons
            hint = _group(api, group, "/delete", bob)
            assert "privaten Chat" in hint.text and not hint.buttons
            for data in ("S:1.24", "D:yes", "N", "D:", "U:1.24"):  # forged or from an old menu
                assert "privaten Chat" in _press_as(api, picker, data, bob)
            with Session(core.engine) as s:
                assert s.exec(select(Subscription).where(Subscription.chat_id == group)).all() == []
                assert s.get(Resident, group) is not None  # not erased by a member's press

            # In a private chat the presser is the chat: anyone else's press is forged.
            (private,) = api.say(alice, "/newsletters")
            toast = _press_as(api, private, "S:1.24", bob)
            assert "abgelaufen" in toast
            with Session(core.engine) as s:
                assert s.exec(select(Subscription)).all() == []
        finally:
            runner.stop()
            core.engine.dispose()


# --- finding 20: one apology per update ---------------------------------------------------------


def test_while_the_store_is_down_an_update_gets_one_apology(tmp_path):
    with FakeBotApi() as api:
        core = open_core(_settings(tmp_path, api))
        with Session(core.engine) as s:
            s.add(StaffMember(name="K", organisation="Stadt", chat_id=COORDINATOR, role="coordinator"))
            s.commit()
        runner = PollingBot(core, api, app=assemble(core, core.settings)).start()
        try:
            api.say(COORDINATOR, "/help")  # the staff chats are cached now
            with core.engine.begin() as conn:  # the store breaks under both handler groups
                conn.execute(sa.text("DROP TABLE newsletter_compose"))
                conn.execute(sa.text("DROP TABLE subscription"))
                conn.execute(sa.text("DROP TABLE resident"))
            before = len(api.calls(chat_id=COORDINATOR))
            api.message(COORDINATOR, "Sprachkurs")
            api.wait_for(before + 1, chat_id=COORDINATOR)
            time.sleep(1.0)
            replies = api.calls(chat_id=COORDINATOR)[before:]
            assert len(replies) == 1 and replies[0].text.startswith("Entschuldigung")
        finally:
            runner.stop()
            core.engine.dispose()


# --- finding 21: what only a forged Bot API sends -----------------------------------------------


def test_ids_beyond_64_bits_and_lone_surrogates_are_dropped_cleanly(state, caplog):
    caplog.set_level(logging.WARNING)
    with FakeBotApi() as api:
        core, runner = _running(state, api, ANKOMMEN_ALERT_CHAT_ID="-100999")
        try:
            huge = 2**63
            api.message(huge, "Wohnung")  # a private chat with an id no store can hold
            api.message(7801, "Wohnung \ud800 Miete")  # a lone surrogate: not valid Unicode
            api.message(7802, "/start", user_id=huge)
            (picker,) = api.say(7803, "/start")
            _press_as(api, picker, "L:de", huge, answered=False)
            (answer,) = api.say(7804, "Wohnung")  # the bot goes on serving
            assert answer.text
            time.sleep(0.5)
            assert api.calls(chat_id=huge) == [] and api.calls(chat_id=7801) == []
            assert api.calls(chat_id=7802) == [] and api.calls(chat_id=-100999) == []  # no alert
            with Session(core.engine) as s:
                assert s.get(Resident, 7801) is None and s.get(Resident, 7803) is None
                assert not any("\ud800" in g.text for g in s.exec(select(Gap)).all())
            failures = [
                r for r in caplog.records if "failed" in r.getMessage() and r.levelno >= logging.ERROR
            ]
            assert failures == []
            assert sum("Telegram never sends; dropped" in r.getMessage() for r in caplog.records) == 4
            assert not any("Wohnung" in r.getMessage() for r in caplog.records)
        finally:
            runner.stop()
            core.engine.dispose()


@pytest.mark.parametrize("flooded", ["chat", "bot"])
def test_the_flood_limiter_pauses_whom_telegram_limited(flooded):
    """The same rule on the bot's own flood limiter, two requests over HTTP: a 429 on a request
    for chat A delays A only; a 429 on a request for no chat delays B too."""
    import asyncio

    from telegram.ext import ExtBot

    from handlers.floodcontrol import ChatFloodLimiter
    from handlers.request import RetryingRequest

    with FakeBotApi() as api:
        if flooded == "chat":
            api.inject("flood", retry_after=2, chat_id=7901, method="sendMessage", count=1)
        else:
            api.inject("flood", retry_after=2, method="setMyCommands", count=1)

        async def main():
            limiter = ChatFloodLimiter(overall_max_rate=30, max_retries=3)
            async with ExtBot(
                api.token, base_url=api.base_url, rate_limiter=limiter, request=RetryingRequest()
            ) as bot:
                t0 = time.monotonic()
                if flooded == "chat":
                    first = asyncio.create_task(bot.send_message(7901, "A"))
                else:
                    first = asyncio.create_task(bot.set_my_commands([("start", "Start")]))
                await asyncio.sleep(0.3)
                await bot.send_message(7902, "B")
                b = time.monotonic() - t0
                await first
                return b, time.monotonic() - t0

        b, a = asyncio.run(main())
    assert a >= 2.0 and api.too_many == 1
    assert (b < 1.0) if flooded == "chat" else (b >= 2.0)
