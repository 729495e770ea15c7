"""``handlers.sender.BotSender`` against the loopback Bot API server: texts, files, and how
Bot API answers map to the core's outcomes."""

from __future__ import annotations

import asyncio

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.chat.outbound import Attachment, Outcome
from bot.chat.replies import Button, Reply
from handlers.sender import BotSender, outcome_of
from tests.botapi import FakeBotApi, Upload


def _run(api: FakeBotApi, coro_fn):
    async def main():
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            return await coro_fn(BotSender(bot))

    return asyncio.run(main())


def test_sends_long_text_in_parts_with_buttons_last():
    with FakeBotApi() as api:
        reply = Reply("<b>x</b>\n" + "Wohnung " * 1000, [[Button("OK", "M")]], "de")
        result = _run(api, lambda s: s.send(42, reply))
        assert result.outcome is Outcome.SENT and result.message_id
        sent = api.calls(chat_id=42)
        assert len(sent) == 2
        assert not sent[0].buttons and sent[1].buttons == [("OK", "M")]


def test_sends_photo_and_document_as_uploads():
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    with FakeBotApi() as api:

        async def both(sender):
            a = await sender.send_file(7, Attachment("photo", png, "chart.png"), "<b>Chart</b>")
            b = await sender.send_file(7, Attachment("document", b"<html></html>", "report.html"))
            c = await sender.send_file(7, Attachment("photo", b"not an image", "x.png"))
            return a, b, c

        a, b, c = _run(api, both)
        assert a.ok and b.ok
        assert c.outcome is Outcome.FAILED  # the server refuses what is not an image
        photo, document = api.calls(chat_id=7, methods=("sendPhoto", "sendDocument"))
        assert isinstance(photo.params["photo"], Upload) and photo.params["photo"].data == png
        assert document.params["document"].filename == "report.html"


def test_unknown_chat_and_other_errors_map_to_outcomes():
    assert outcome_of(RetryAfter(7)).outcome is Outcome.RETRY
    assert outcome_of(RetryAfter(7)).retry_after == 7
    assert outcome_of(Forbidden("Forbidden: bot was blocked by the user")).outcome is Outcome.BLOCKED
    assert outcome_of(BadRequest("Bad Request: chat not found")).outcome is Outcome.GONE
    assert outcome_of(BadRequest("Bad Request: can't parse entities")).outcome is Outcome.FAILED
    assert outcome_of(TimedOut()).outcome is Outcome.UNKNOWN
    assert outcome_of(NetworkError("connection reset")).outcome is Outcome.UNKNOWN
