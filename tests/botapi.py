"""A Bot API server on loopback for tests and benchmarks: the real wire format over HTTP.

It speaks HTTP/1.1 (keep-alive) on 127.0.0.1 and answers ``/bot<token>/<method>`` like
api.telegram.org: JSON ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …,
"description": …}``. Parameters arrive as JSON, as a form (what python-telegram-bot sends, with
complex values JSON-encoded) or in the query string.

Implemented: getMe, getUpdates (offset, limit, long polling with ``timeout``), sendMessage,
sendPhoto and sendDocument (multipart uploads), editMessageText, answerCallbackQuery, setMyCommands, getMyCommands,
deleteMyCommands, deleteWebhook, setWebhook,
getWebhookInfo, close, logOut. Messages are checked as Telegram checks them: HTML parse mode read
by the rules of tdlib's parser (``parse_entities``: the supported tags only, properly nested,
attributes, character entities resolved as Telegram resolves them); 1-4096 characters of text
after parsing, counted in UTF-16 code units (1,024 for a caption); ``callback_data`` of 1-64
bytes; a known chat for edits; "message is not modified". A sent message is stored with its
plain ``text`` and ``entities``, as Telegram returns it.

Flood control and faults, for the newsletter outbox (off unless asked for): ``rate_limit`` sends
per second over any sliding one-second window and ``per_chat_interval`` seconds between two sends
to one chat, both answered with HTTP 429 and ``parameters.retry_after`` like Telegram;
``throttle()`` injects 429s; ``fail(chat_id, kind)`` makes one chat answer 403 (``blocked``), 400
chat not found (``gone``), deliver but answer after ``fault_delay`` seconds (``timeout``: past the
client's timeout), or deliver and drop the connection without an answer (``drop``).
``delivered()`` counts what each chat really received; ``too_many`` counts 429 answers. As on
Telegram, a getUpdates arriving while another waits ends the waiting one with HTTP 409 Conflict
(``conflicts`` counts them): two pollers of one bot cannot go unnoticed.

Network and server faults, for any method: ``inject(kind, chat_id=…, method=…, count=…)`` makes
matching requests (all of them, or the next ``count``) meet one of ``NET_FAULTS``:

* ``error``: HTTP ``status`` (500, 502, 503, 504) with Telegram's JSON error body;
* ``proxy``: HTTP ``status`` with an HTML page, as nginx in front of the Bot API answers;
* ``reset``: close the socket with a TCP reset without answering, before reading the request
  (right after its head when the fault names no chat, else before handling it);
* ``reset_after``: handle the request (a message is delivered), then reset without answering;
* ``hang``: hold the request ``fault_delay`` seconds (past the client's timeout) without handling
  it, then close; ``hang_after``: handle it, then hold and close;
* ``flood``: HTTP 429 with ``parameters.retry_after`` (``retry_after`` seconds), as Telegram's
  flood control answers, without handling the request;
* ``refuse``: HTTP 400 with ``description`` (a request Telegram refuses).

``params={…}`` narrows a fault to requests with those parameter values (``language_code``).

``error`` and ``proxy`` answer before handling, or after it with ``deliver=True`` (a proxy that
timed out while the Bot API went on). ``injected`` counts the faults met per kind; ``heal()``
removes every injected fault.

The server runs its own event loop in a thread (``start()``/``stop()``), so the bot under test
talks to it over a real socket as it would to Telegram. Tests push updates with ``message()``,
``press()`` and ``push()`` and read what the bot sent from ``sent`` or ``wait_for()``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from email import policy as email_policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class _DropConnection(Exception):
    """Close the connection without an answer (the request was handled)."""


class _ResetConnection(Exception):
    """Close the connection with a TCP reset, without an answer."""


SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
FAULTS = ("blocked", "gone", "timeout", "drop")
NET_FAULTS = ("error", "proxy", "reset", "reset_after", "hang", "hang_after", "flood", "refuse")
STATUS_TEXT = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """An injected fault: ``kind`` for requests matching ``chat_id`` and ``method`` (None: any),
    the next ``count`` of them (None: until healed)."""

    kind: str
    status: int = 500
    chat_id: int | None = None
    method: str | None = None
    count: int | None = None
    deliver: bool = False
    retry_after: int = 1
    description: str = "Bad Request"
    params: dict | None = None

    def matches(self, api_method: str, params: dict | None) -> bool:
        if self.method is not None and self.method != api_method:
            return False
        if self.params is not None:
            if params is None or any(str(params.get(k)) != str(v) for k, v in self.params.items()):
                return False
        if self.chat_id is None:
            return True
        if params is None:
            return False
        try:
            return int(params.get("chat_id")) == self.chat_id
        except (TypeError, ValueError):
            return False


ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_SPACE = " \t\r\n\f\v"
_PLAIN_RUN = re.compile(r"[^<&]*")


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {description}")


def _decode_entity(text: str, pos: int) -> tuple[int, int]:
    """tdlib's ``decode_html_entity``: (code point, position after it), or (0, pos) when the '&'
    at ``pos`` starts no entity Telegram knows (it is then an ordinary character)."""
    end, res = pos + 1, 0
    if text.startswith("#", end):
        end += 1
        base, digits = (16, "0123456789abcdefABCDEF") if text.startswith("x", end) else (10, "0123456789")
        if base == 16:
            end += 1
        while end < len(text) and text[end] in digits:
            res = res * base + int(text[end], 16)
            end += 1
            if res >= 0x10FFFF:
                return 0, pos
        if res == 0 or 0xD800 <= res <= 0xDFFF:
            return 0, pos
    else:
        start = end
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        res = {"lt": 60, "gt": 62, "amp": 38, "quot": 34}.get(text[start:end], 0)
        if not res:
            return 0, pos
    return res, end + 1 if text.startswith(";", end) else end


def parse_entities(text: str) -> tuple[str, list[dict]]:
    """Telegram's HTML parse mode, after tdlib's ``parse_html``: the plain text and its entities
    (offsets and lengths in UTF-16 code units), or ``ApiError`` 400 "can't parse entities".

    Only the supported tags, properly nested; attributes as ``name="value"``, ``name='value'`` or
    ``name=token``; an ``<a>`` needs no valid URL (Telegram drops the link, not the message);
    character entities ``&lt; &gt; &amp; &quot;`` and numeric ones, the ``;`` optional; any other
    ``&`` is an ordinary character, any other ``<`` an error."""
    out: list[str] = []
    offset = 0  # UTF-16 units of ``out``
    stack: list[tuple[str, str, int]] = []  # tag, argument, offset
    entities: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            code, after = _decode_entity(text, i)
            if code:
                out.append(chr(code))
                offset += 2 if code > 0xFFFF else 1
                i = after
                continue
        if c != "<":
            run = _PLAIN_RUN.match(text, i + 1)
            end = run.end() if run else i + 1
            out.append(text[i:end])
            offset += utf16_len(text[i:end])
            i = end
            continue
        begin = i
        i += 1
        if i < n and text[i] != "/":
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            if i >= n:
                raise _bad(f"unclosed start tag at byte offset {begin}")
            tag = text[begin + 1 : i].lower()
            if tag not in ENTITY_TYPES:
                raise _bad(f'unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while i < n and text[i] != ">":
                while i < n and text[i] in _SPACE:
                    i += 1
                if i < n and text[i] == ">":
                    break
                name_start = i
                while i < n and text[i] not in _SPACE and text[i] != "=":
                    i += 1
                name = text[name_start:i]
                if not name:
                    raise _bad(f'empty attribute name in the tag "{tag}" at byte offset {begin}')
                while i < n and text[i] in _SPACE:
                    i += 1
                if tag == "blockquote" and name == "expandable" and (i >= n or text[i] != "="):
                    continue
                if i >= n or text[i] != "=":
                    raise _bad(f'expected equal sign in declaration of an attribute of the tag "{tag}"')
                i += 1
                while i < n and text[i] in _SPACE:
                    i += 1
                if i >= n:
                    raise _bad(f"unclosed start tag at byte offset {begin}")
                if text[i] not in "'\"":
                    value_start = i
                    while i < n and (text[i].isascii() and text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[value_start:i].lower()
                    if i < n and text[i] not in _SPACE and text[i] != ">":
                        raise _bad(f"unexpected end of name token at byte offset {i}")
                else:
                    quote = text[i]
                    i += 1
                    chars = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            code, after = _decode_entity(text, i)
                            if code:
                                chars.append(chr(code))
                                i = after
                                continue
                        chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise _bad(f"unclosed start tag at byte offset {begin}")
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise _bad(f'tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append((tag, argument, offset))
            i += 1
        else:
            if not stack:
                raise _bad(f"unexpected end tag at byte offset {begin}")
            i += 1
            while i < n and text[i] not in _SPACE and text[i] != ">":
                i += 1
            end_name = text[begin + 2 : i].lower()
            while i < n and text[i] in _SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise _bad(f"unclosed end tag at byte offset {begin}")
            tag, argument, start = stack.pop()
            if end_name and end_name != tag:
                raise _bad(
                    f'unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_name}>"'
                )
            i += 1
            if offset > start:
                entity = {"type": ENTITY_TYPES[tag], "offset": start, "length": offset - start}
                if tag == "a":
                    entity["url"] = argument
                entities.append(entity)
    if stack:
        raise _bad(f'can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_html(text: str) -> str:
    """Check ``text`` as Telegram's HTML parse mode does; return the plain text."""
    return parse_entities(text)[0]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        v = self.params.get("chat_id")
        return int(v) if v is not None else None

    @property
    def text(self) -> str:
        return self.params.get("text") or ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        markup = self.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row
        ]


class FakeBotApi:
    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        username: str = "AnkommenTestBot",
        rate_limit: float | None = None,
        per_chat_interval: float | None = None,
        fault_delay: float = 3.0,
    ):
        self.rate_limit = rate_limit
        self.per_chat_interval = per_chat_interval
        self.fault_delay = fault_delay
        self.faults: dict[int, str] = {}
        self.too_many = 0  # requests answered 429
        self.conflicts = 0  # long polls ended by a newer getUpdates (HTTP 409), as Telegram does
        self._poll_generation = 0
        self.send_requests = 0  # send requests received (any answer)
        self._window: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._throttle: list[int] = []
        self.net_faults: list[Fault] = []
        self.injected: Counter[str] = Counter()  # kind -> requests that met it
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.sent: list[Sent] = []
        self.commands: dict[str, list[dict]] = {}
        self.scoped_commands: dict[tuple, list[dict]] = {}  # (chat id or scope type, language)
        self.requests = 0
        self.methods_seen: set[str] = set()
        self.method_calls: Counter[str] = Counter()  # method -> requests (e.g. one getMe per instance)
        self.webhook_url = ""
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], dict] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._new_update: asyncio.Condition | None = None
        self._lock = threading.Lock()
        self._sent_cond = threading.Condition(self._lock)
        self.port = 0

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The value for PTB's ``base_url`` / TELEGRAM_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotApi:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._new_update = asyncio.Condition()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._server.close()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot API server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- pushing updates (thread-safe) ---------------------------------------------------------
    def push(self, update: dict) -> int:
        """Queue an update (``update_id`` is added); returns its id."""
        update = dict(update)
        update["update_id"] = next(self._update_ids)

        async def add() -> None:
            async with self._new_update:
                self._updates.append(update)
                self._new_update.notify_all()

        asyncio.run_coroutine_threadsafe(add(), self._loop).result(5)
        return update["update_id"]

    def user(self, chat_id: int, language_code: str | None = None) -> dict:
        u = {"id": chat_id, "is_bot": False, "first_name": "Test"}
        if language_code:
            u["language_code"] = language_code
        return u

    def message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        language_code: str | None = "de",
        chat_type: str = "private",
        user_id: int | None = None,
        extra: dict | None = None,
        edited: bool = False,
    ) -> int:
        user_id = chat_id if user_id is None else user_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Test"
        else:
            chat["title"] = "A group"
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id, language_code),
        }
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                head = text.split(maxsplit=1)[0]
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(head)}]
        if extra:
            msg.update(extra)
        if edited:
            msg["edit_date"] = int(time.time())
            return self.push({"edited_message": msg})
        return self.push({"message": msg})

    def press(self, sent: Sent, data: str, *, language_code: str | None = "de") -> int:
        """Press a button of a message the bot sent (``data`` need not be one of its buttons)."""
        chat_id = sent.chat_id
        message = self._messages.get((chat_id, sent.params.get("_message_id")))
        if message is None:
            raise KeyError("that message is unknown to the server")
        return self.push(
            {
                "callback_query": {
                    "id": str(next(self._callback_ids)),
                    "from": self.user(chat_id, language_code),
                    "message": message,
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )

    # -- flood control and faults ------------------------------------------------------------
    def fail(self, chat_id: int, kind: str | None) -> None:
        """Make sends to ``chat_id`` fail with ``kind`` (one of FAULTS); None heals the chat."""
        if kind is None:
            self.faults.pop(chat_id, None)
            return
        if kind not in FAULTS:
            raise ValueError(f"kind must be one of {FAULTS}")
        self.faults[chat_id] = kind

    def inject(
        self,
        kind: str,
        *,
        status: int = 500,
        chat_id: int | None = None,
        method: str | None = None,
        count: int | None = None,
        deliver: bool = False,
        retry_after: int = 1,
        description: str = "Bad Request",
        params: dict | None = None,
    ) -> Fault:
        """Make matching requests meet ``kind`` (one of NET_FAULTS); see the module docstring."""
        if kind not in NET_FAULTS:
            raise ValueError(f"kind must be one of {NET_FAULTS}")
        if kind in ("error", "proxy") and not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        fault = Fault(kind, status, chat_id, method, count, deliver, retry_after, description, params)
        with self._lock:
            self.net_faults.append(fault)
        return fault

    def heal(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self.net_faults.clear()

    def _take_fault(self, api_method: str, params: dict | None, kinds=NET_FAULTS) -> Fault | None:
        """The first injected fault matching this request (its count is used up by one)."""
        with self._lock:
            for fault in self.net_faults:
                if fault.kind in kinds and fault.matches(api_method, params):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.net_faults.remove(fault)
                    self.injected[fault.kind] += 1
                    return fault
        return None

    def throttle(self, count: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``count`` sends with 429 and ``retry_after``."""
        self._throttle.extend([retry_after] * count)

    def delivered(self) -> Counter[int]:
        """chat id -> messages it received (texts, photos, documents)."""
        return Counter(s.chat_id for s in list(self.sent) if s.method in SEND_METHODS)

    def _gate(self, p: dict) -> str | None:
        """Faults and flood control for one send; returns a fault to apply after handling it."""
        chat_id = self._chat_id(p)
        self.send_requests += 1
        kind = self.faults.get(chat_id)
        if kind == "blocked":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if kind == "gone":
            raise ApiError(400, "Bad Request: chat not found")
        now = time.monotonic()
        if self._throttle:
            self._too_many(self._throttle.pop(0))
        if self.rate_limit:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                self._too_many(max(1, math.ceil(self._window[0] + 1.0 - now)))
        if self.per_chat_interval:
            last = self._chat_last.get(chat_id)
            if last is not None and now - last < self.per_chat_interval:
                self._too_many(max(1, math.ceil(last + self.per_chat_interval - now)))
            self._chat_last[chat_id] = now
        if self.rate_limit:
            self._window.append(now)
        return kind

    def _too_many(self, retry_after: int) -> None:
        self.too_many += 1
        raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    # -- reading what the bot did ------------------------------------------------------------
    def say(self, chat_id: int, text: str, n: int = 1, **kw) -> list[Sent]:
        """Send a message as the user and wait for the ``n`` messages the bot sends back."""
        before = len(self.calls(chat_id=chat_id))
        self.message(chat_id, text, **kw)
        return self.wait_for(before + n, chat_id=chat_id)[before:]

    def wait_for(
        self, count: int, *, chat_id: int | None = None, methods=None, timeout: float = 10.0
    ) -> list[Sent]:
        """Wait until at least ``count`` calls (of ``methods``, to ``chat_id``) were made; return them."""
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while True:
                got = self.calls(chat_id=chat_id, methods=methods)
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected {count} calls, got {len(got)}: {[(s.method, s.text[:60]) for s in got]}"
                    )
                self._sent_cond.wait(left)

    def calls(self, *, chat_id: int | None = None, methods=None) -> list[Sent]:
        methods = methods or ("sendMessage", "editMessageText")
        return [
            s for s in list(self.sent) if s.method in methods and (chat_id is None or s.chat_id == chat_id)
        ]

    # -- HTTP ---------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                early = [f for f in self.net_faults if f.kind == "reset" and f.chat_id is None]
                if early and self._take_fault(self._api_method(target), None, ("reset",)):
                    raise _ResetConnection  # before reading the body
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                status, payload = await self._dispatch(method, target, headers, body)
                if isinstance(payload, bytes):  # a proxy's HTML page
                    data, ctype = payload, "text/html"
                else:
                    try:
                        data = json.dumps(payload, ensure_ascii=False).encode()
                    except UnicodeEncodeError:  # a forged lone surrogate: sent as a \u escape
                        data = json.dumps(payload).encode()
                    ctype = "application/json"
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except _ResetConnection:
            sock = writer.get_extra_info("socket")
            if sock is not None:  # SO_LINGER 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
            _DropConnection,
        ):
            pass
        finally:
            writer.close()

    def _api_method(self, target: str) -> str:
        path = urlsplit(target).path
        prefix = f"/bot{self.token}/"
        return path[len(prefix) :] if path.startswith(prefix) else ""

    def _fault_answer(self, fault: Fault) -> tuple[int, dict | bytes]:
        text = STATUS_TEXT.get(fault.status, "Server Error")
        if fault.kind == "error":
            return fault.status, {"ok": False, "error_code": fault.status, "description": text}
        return fault.status, (
            f"<html>\r\n<head><title>{fault.status} {text}</title></head>\r\n<body>\r\n"
            f"<center><h1>{fault.status} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        ).encode()

    async def _dispatch(
        self, method: str, target: str, headers: dict, body: bytes
    ) -> tuple[int, dict | bytes]:
        self.requests += 1
        parts = urlsplit(target)
        path = parts.path
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        api_method = path[len(prefix) :]
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        ctype = headers.get("content-type", "")
        try:
            if body and ctype.startswith("application/json"):
                params.update(json.loads(body))
            elif body and ctype.startswith("application/x-www-form-urlencoded"):
                for k, v in parse_qsl(body.decode(), keep_blank_values=True):
                    params[k] = _maybe_json(v)
            elif body and ctype.startswith("multipart/form-data"):
                params.update(_parse_multipart(ctype, body))
        except (ValueError, UnicodeDecodeError):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: malformed body"}
        self.methods_seen.add(api_method)
        self.method_calls[api_method] += 1
        handler = getattr(self, "_api_" + api_method, None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        net = self._take_fault(api_method, params) if self.net_faults else None
        if net is not None and not net.deliver:
            if net.kind == "reset":
                raise _ResetConnection
            if net.kind == "hang":
                await asyncio.sleep(self.fault_delay)
                raise _DropConnection
            if net.kind in ("error", "proxy"):
                return self._fault_answer(net)
            if net.kind == "flood":
                self.too_many += 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {net.retry_after}",
                    "parameters": {"retry_after": net.retry_after},
                }
            if net.kind == "refuse":
                return 400, {"ok": False, "error_code": 400, "description": net.description}
        try:
            fault = self._gate(params) if api_method in SEND_METHODS else None
            result = await handler(params)
        except ApiError as exc:
            error = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                error["parameters"] = exc.parameters
            return exc.code, error
        if net is not None:
            if net.kind == "reset_after":
                raise _ResetConnection
            if net.kind == "hang_after":
                await asyncio.sleep(self.fault_delay)
                raise _DropConnection
            if net.kind in ("error", "proxy"):
                return self._fault_answer(net)
        if fault == "timeout":
            await asyncio.sleep(self.fault_delay)
        elif fault == "drop":
            raise _DropConnection
        return 200, {"ok": True, "result": result}

    def _record(self, method: str, params: dict) -> None:
        with self._sent_cond:
            self.sent.append(Sent(method, params))
            self._sent_cond.notify_all()

    # -- the API ------------------------------------------------------------------------------
    def _me(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Ankommen",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getMe(self, p: dict) -> dict:
        return self._me()

    async def _api_deleteWebhook(self, p: dict) -> bool:
        self.webhook_url = ""
        if str(p.get("drop_pending_updates", "")).lower() in ("true", "1"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, p: dict) -> bool:
        self.webhook_url = p.get("url", "")
        self._record("setWebhook", p)
        return True

    async def _api_getWebhookInfo(self, p: dict) -> dict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _api_close(self, p: dict) -> bool:
        return True

    async def _api_logOut(self, p: dict) -> bool:
        return True

    async def _api_getUpdates(self, p: dict) -> list[dict]:
        offset = int(p.get("offset") or 0)
        limit = min(100, max(1, int(p.get("limit") or 100)))
        timeout = float(p.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._new_update:
            # Telegram serves one long poll per bot: a newer getUpdates ends the waiting one
            # with 409, so two instances polling at once show up as conflicts.
            self._poll_generation += 1
            mine = self._poll_generation
            self._new_update.notify_all()
            while True:
                if mine != self._poll_generation:
                    self.conflicts += 1
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                if offset:
                    self._updates[:] = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return self._updates[:limit]
                try:
                    await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
                except TimeoutError:
                    return self._updates[:limit]

    def _check_text(self, p: dict) -> tuple[str, list[dict]]:
        """The text and entities of a message, checked as Telegram does: 1-4096 UTF-16 code units
        of text after parsing the entities."""
        text = p.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "Bad Request: message text is empty")
        plain, entities = parse_entities(text) if p.get("parse_mode") == "HTML" else (text, [])
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return plain, entities

    def _check_markup(self, p: dict) -> None:
        markup = p.get("reply_markup")
        if markup is None:
            return
        if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup["inline_keyboard"]:
            for b in row:
                if not b.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = b.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _chat_id(self, p: dict) -> int:
        try:
            return int(p["chat_id"])
        except (KeyError, ValueError, TypeError):
            raise ApiError(400, "Bad Request: chat not found") from None

    async def _api_sendMessage(self, p: dict) -> dict:
        chat_id = self._chat_id(p)
        plain, entities = self._check_text(p)
        self._check_markup(p)
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Ankommen", "username": self.username},
            "text": plain,
        }
        if entities:
            message["entities"] = entities
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        self._messages[(chat_id, message_id)] = message
        self._record("sendMessage", {**p, "_message_id": message_id})
        return message

    async def _api_sendPhoto(self, p: dict) -> dict:
        return self._send_file("sendPhoto", "photo", p)

    async def _api_sendDocument(self, p: dict) -> dict:
        return self._send_file("sendDocument", "document", p)

    def _send_file(self, method: str, kind: str, p: dict) -> dict:
        """A file by upload (multipart) only; a caption is checked like a text (max 1024)."""
        chat_id = self._chat_id(p)
        upload = p.get(kind)
        if not isinstance(upload, Upload) or not upload.data:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if kind == "photo" and not upload.data.startswith((b"\x89PNG", b"\xff\xd8")):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption = p.get("caption")
        if caption:
            plain = parse_entities(caption)[0] if p.get("parse_mode") == "HTML" else caption
            if utf16_len(plain) > 1024:
                raise ApiError(400, "Bad Request: message caption is too long")
        self._check_markup(p)
        message_id = next(self._message_ids)
        file_id = f"{kind}-{message_id}"
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Ankommen", "username": self.username},
        }
        if kind == "photo":
            message["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}]
        else:
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": upload.filename,
            }
        if caption:
            message["caption"] = caption
        self._messages[(chat_id, message_id)] = message
        self._record(method, {**p, "_message_id": message_id})
        return message

    async def _api_editMessageText(self, p: dict) -> dict:
        chat_id = self._chat_id(p)
        key = (chat_id, int(p.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, _entities = self._check_text(p)
        self._check_markup(p)
        if text == message.get("text") and p.get("reply_markup") == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message = {**message, "text": text, "edit_date": int(time.time())}
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        else:
            message.pop("reply_markup", None)
        self._messages[key] = message
        self._record("editMessageText", {**p, "_message_id": key[1]})
        return message

    async def _api_answerCallbackQuery(self, p: dict) -> bool:
        if not p.get("callback_query_id"):
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if len(p.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._record("answerCallbackQuery", p)
        return True

    async def _api_setMyCommands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list")
        for c in commands:
            cmd, desc = c.get("command", ""), c.get("description", "")
            if not (1 <= len(cmd) <= 32 and cmd.islower() and cmd.replace("_", "").isalnum()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope, lang = p.get("scope") or {}, p.get("language_code") or ""
        if scope.get("type", "default") == "default":
            self.commands[lang] = commands
        elif scope.get("type") == "chat":
            self.scoped_commands[(self._chat_id(scope), lang)] = commands
        else:
            self.scoped_commands[(scope["type"], lang)] = commands
        self._record("setMyCommands", p)
        return True

    async def _api_deleteMyCommands(self, p: dict) -> bool:
        scope, lang = p.get("scope") or {}, p.get("language_code") or ""
        if scope.get("type", "default") == "default":
            self.commands.pop(lang, None)
        elif scope.get("type") == "chat":
            self.scoped_commands.pop((self._chat_id(scope), lang), None)
        else:
            self.scoped_commands.pop((scope["type"], lang), None)
        self._record("deleteMyCommands", p)
        return True

    async def _api_getMyCommands(self, p: dict) -> list:
        scope, lang = p.get("scope") or {}, p.get("language_code") or ""
        if scope.get("type") == "chat":
            return self.scoped_commands.get((self._chat_id(scope), lang), [])
        return self.commands.get(lang, [])


@dataclass
class Upload:
    """A file sent as a multipart part (``sendPhoto``/``sendDocument`` with an ``InputFile``)."""

    filename: str
    content_type: str
    data: bytes


def _parse_multipart(ctype: str, body: bytes) -> dict[str, Any]:
    """multipart/form-data as Telegram reads it: plain fields (JSON-decoded where PTB encodes
    them) and file parts as ``Upload``. Raises ValueError when the body is not valid multipart."""
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode("latin-1") + body
    )
    if not message.is_multipart():
        raise ValueError("not multipart")
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise ValueError("a part without a name")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = Upload(filename, part.get_content_type(), payload)
        else:
            params[name] = _maybe_json(payload.decode())
    return params


def _maybe_json(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
