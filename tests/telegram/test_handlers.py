"""Fast unit tests of the Telegram layer: a real PTB ``Bot`` over a recording ``BaseRequest``.

Updates go through ``Application.process_update``; the request object answers the Bot API calls
in the real JSON shape and records them, so no socket is involved.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.chat.markup import plain_text
from bot.chat.replies import Button, Reply
from bot.residents.dialogue import Dialogue
from bot.residents.ports import MemoryPreferences, NullRecorder
from handlers.app import build_application
from handlers.frontend import TelegramFrontend
from handlers.replies import send

TOKEN = "42:UNIT-test"


class RecordingRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self._ids = iter(range(500, 10**6))

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(self, url, method, request_data: RequestData | None = None, **_kw):
        name = url.rsplit("/", 1)[1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((name, params))
        if name == "getMe":
            result = {"id": 42, "is_bot": True, "first_name": "A", "username": "AnkommenUnitBot"}
        elif name in ("sendMessage", "editMessageText"):
            result = {
                "message_id": params.get("message_id") or next(self._ids),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": plain_text(params["text"]),
            }
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self, *methods: str) -> list[dict]:
        methods = methods or ("sendMessage", "editMessageText")
        return [p for n, p in self.calls if n in methods]


@pytest.fixture
def stack(catalog, translations):
    request = RecordingRequest()
    dialogue = Dialogue(catalog, translations, MemoryPreferences(), recorder=NullRecorder())
    frontend = TelegramFrontend(dialogue, rate_limit_per_minute=3)
    app = build_application(
        frontend, TOKEN, base_url="http://127.0.0.1:9/bot", flood_limit=0, request=request
    )
    return app, request, frontend


def _run(app, *updates):
    async def go():
        await app.initialize()
        for u in updates:
            await app.process_update(Update.de_json(u, app.bot))
        await app.shutdown()

    asyncio.run(go())


_ids = iter(range(1, 10**6))


def _message(uid, text, chat_type="private", **extra):
    n = next(_ids)
    msg = {
        "message_id": n,
        "date": 0,
        "chat": {"id": uid, "type": chat_type},
        "from": {"id": uid, "is_bot": False, "first_name": "T", "language_code": "de"},
    }
    if text is not None:
        msg["text"] = text
    msg.update(extra)
    return {"update_id": n, "message": msg}


def test_a_question_is_answered_with_html_and_buttons(stack):
    app, request, _ = stack
    _run(app, _message(7, "Sprachkurs für meine Mutter"))
    (sent,) = request.sent()
    assert sent["parse_mode"] == "HTML" and "<b>" in sent["text"]
    keyboard = sent["reply_markup"]["inline_keyboard"]
    assert all(len(b["callback_data"].encode()) <= 64 for row in keyboard for b in row)


def test_rate_limit_answers_the_first_excess_message_once(stack):
    app, request, _ = stack
    _run(app, *[_message(8, f"Wohnung {i}") for i in range(6)])
    texts = [p["text"] for p in request.sent()]
    assert len(texts) == 4 and "sehr schnell" in texts[-1]


def test_a_forged_button_gets_a_notice_and_nothing_else(stack):
    app, request, _ = stack
    update = {
        "update_id": 900,
        "callback_query": {
            "id": "c1",
            "from": {"id": 9, "is_bot": False, "first_name": "T"},
            "chat_instance": "x",
            "data": "m:<script>",
        },
    }
    _run(app, update)
    assert request.sent() == []
    (answer,) = request.sent("answerCallbackQuery")
    assert "abgelaufen" in answer["text"]


def test_groups_stay_quiet_unless_addressed(stack):
    app, request, _ = stack
    _run(
        app,
        _message(-10, "Wo gibt es Sprachkurse?", chat_type="group"),
        _message(-10, "/help", chat_type="group"),
        _message(-10, "/help@AnkommenUnitBot", chat_type="group"),
    )
    (sent,) = request.sent()
    assert int(sent["chat_id"]) == -10


def test_long_replies_are_split_below_the_limit_with_buttons_on_the_last_part(stack):
    app, request, frontend = stack
    line = "<b>Überschrift</b> " + "Wort &amp; Wort " * 20
    reply = Reply("\n".join([line] * 60), [[Button("Menü", "M")]], "de")

    async def go():
        await app.initialize()
        await send(app.bot, 5, [reply])
        await app.shutdown()

    asyncio.run(go())
    parts = request.sent()
    assert len(parts) > 1
    # Telegram counts the parsed text, in UTF-16 units (tests/botapi.py parses as Telegram does).
    from tests.botapi import parse_html

    assert all(len(parse_html(p["text"]).encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert [("reply_markup" in p) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(plain_text(p["text"]) for p in parts).count("Überschrift") == 60


# -- hostile input through the whole Telegram layer ----------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.botapi import ApiError, parse_html, utf16_len  # noqa: E402
from tests.support.inputs import MIXED  # noqa: E402

DATA = st.one_of(
    MIXED.map(lambda s: s[:64]),
    st.sampled_from(["m:4.14", "F:2:9", "R:1", "V:u:o:housing-counselling", "D:yes", "L:ar", "G:1", "O:2"]),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.one_of(MIXED, st.text(min_size=4000, max_size=4096)), min_size=1, max_size=3), data=DATA
)
def test_no_input_breaks_the_telegram_layer(catalog, translations, texts, data):
    """Random Unicode, huge texts, markup and forged button data: every reply is valid for
    Telegram (parseable HTML, within 4,096 characters, buttons within 64 bytes) and no update
    reaches the error handler."""
    request = RecordingRequest()
    dialogue = Dialogue(catalog, translations, MemoryPreferences(), recorder=NullRecorder())
    frontend = TelegramFrontend(dialogue, rate_limit_per_minute=1000)
    app = build_application(
        frontend, TOKEN, base_url="http://127.0.0.1:9/bot", flood_limit=0, request=request
    )
    errors = []

    async def record(update, context):
        errors.append(context.error)

    app.error_handlers.clear()
    app.add_error_handler(record)
    updates = [_message(11, t) for t in texts]
    updates.append(
        {
            "update_id": 10**6,
            "callback_query": {
                "id": "q",
                "from": {"id": 11, "is_bot": False, "first_name": "T"},
                "chat_instance": "x",
                "data": data,
            },
        }
    )
    _run(app, *updates)
    assert errors == []
    for params in request.sent():
        try:
            plain = parse_html(params["text"])
        except ApiError as exc:  # pragma: no cover - the assertion message is the point
            raise AssertionError(f"{exc.description}: {params['text'][:200]!r}") from None
        assert 0 < utf16_len(plain) <= 4096
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            for b in row:
                assert 1 <= len(b["callback_data"].encode()) <= 64
