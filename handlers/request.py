"""Bot API faults: the retry policy, in one place (a PTB ``BaseRequest`` for every bot we build).

Every request the bot makes goes through ``RetryingRequest`` (the ``Application``'s bot, the CLI's
bot, the outbox's bot); ``handlers/sender.py`` maps what is left after it to the core's outcomes
with ``fault_of``. The question for every fault is the same: **can the request have reached
Telegram?**

* **Certainly not delivered** (``Fault.NOT_SENT``): the connection could not be opened
  (``ConnectError``, ``ConnectTimeout``), no connection of the pool was free (``PoolTimeout``:
  nothing was written), HTTP 503 (the server or a proxy in front of it refused the request
  before handling it), and any 5xx answered by the Bot API itself with its JSON error
  (``{"ok": false, "error_code": 5xx}``: Telegram says the call failed). Any request may be
  retried: ``attempts`` times in all, with capped exponential backoff and jitter
  (``bot/store/backoff.py``: ``base_delay`` doubling up to ``max_delay``).
* **Maybe delivered** (``Fault.MAYBE_SENT``): a read timeout (the request was written, the answer
  did not come in time), a connection reset or closed after the request was written
  (``ReadError``, ``RemoteProtocolError``: the client cannot tell whether the server read it), a
  write timeout (bytes already handed to the kernel may still arrive), and an HTTP 500, 502 or
  504 without the Bot API's JSON (a proxy's HTML page: it may have forwarded the request, and
  the Bot API may have acted on it). Idempotent calls (``IDEMPOTENT``: editing a message to the
  same text, answering a button, setting the command menu or the webhook, ``getMe`` …) are
  retried like the above. Anything that **sends a message** is **not** retried: at most once.
  A reply that may be lost is better than the same reply twice, and only Telegram knows which
  it was. The error goes up to the caller (the frontend's error handler, or ``outcome_of``,
  which makes it ``Outcome.UNKNOWN``).
* Everything else (4xx, 429) is not a fault of the network: it goes up unchanged. 429 is
  ``AIORateLimiter``'s (the ``Application``) or the outbox's business.

``getUpdates`` is not retried here: the ``Application`` polls through PTB's own request object,
and PTB's polling loop (``telegram.ext._utils.networkloop``) already retries every network error
for ever (a timeout at once, other errors after 1 s, growing by 1.5 up to 30 s). Nothing is lost
meanwhile: Telegram keeps an update until a later ``offset`` confirms it, so an answer that never
arrived is fetched again. The webhook path receives updates by HTTP and is not affected.

When the retries are used up, a 5xx becomes ``ServerError`` (a ``NetworkError`` that knows its
status and its fault); network errors keep PTB's types (``TimedOut``, ``NetworkError``) with
httpx's exception as ``__cause__``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from enum import StrEnum

from telegram.error import NetworkError, TelegramError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.store import backoff

log = logging.getLogger(__name__)

# Bot API methods that can be repeated without a second effect: reads, settings, edits to a
# given text, and answers to a button (Telegram keeps the first answer of a query).
IDEMPOTENT = frozenset(
    {
        "getMe", "getUpdates", "getWebhookInfo", "getMyCommands", "getChat", "getFile",
        "setMyCommands", "deleteMyCommands", "setWebhook", "deleteWebhook",
        "editMessageText", "editMessageReplyMarkup", "editMessageCaption",
        "answerCallbackQuery", "deleteMessage", "close", "logOut",
    }
)  # fmt: skip

# httpx's exceptions (PTB keeps them as ``__cause__``) raised before any byte of the request left.
NOT_SENT_CAUSES = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})


class Fault(StrEnum):
    NOT_SENT = "not sent"
    MAYBE_SENT = "maybe sent"


class ServerError(NetworkError):
    """An HTTP 5xx that is left after the retries; ``fault`` says whether it may have been delivered."""

    def __init__(self, status: int, description: str, fault: Fault):
        super().__init__(f"{description} ({status})")
        self.status = status
        self.fault = fault


def fault_of_status(status: int, payload: bytes) -> Fault | None:
    """The fault of an HTTP answer: None below 500."""
    if status < 500:
        return None
    if status == 503 or _bot_api_error(payload):
        return Fault.NOT_SENT
    return Fault.MAYBE_SENT


def fault_of(exc: BaseException) -> Fault | None:
    """The fault of an exception raised by a request: None when it is no network fault."""
    if isinstance(exc, ServerError):
        return exc.fault
    if not isinstance(exc, NetworkError):  # TimedOut is a NetworkError
        return None
    cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else ""
    if cause in NOT_SENT_CAUSES:
        return Fault.NOT_SENT
    return Fault.MAYBE_SENT


def may_retry(api_method: str, fault: Fault | None) -> bool:
    """The policy: a fault that certainly did not deliver, or any fault of an idempotent call."""
    if fault is None:
        return False
    return fault is Fault.NOT_SENT or api_method in IDEMPOTENT


def _bot_api_error(payload: bytes) -> dict | None:
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and data.get("ok") is False and "error_code" in data:
        return data
    return None


class RetryingRequest(HTTPXRequest):
    """PTB's ``HTTPXRequest`` with the retry policy above. ``attempts=1`` only classifies."""

    def __init__(
        self,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        **httpx_request_kwargs,
    ):
        super().__init__(**httpx_request_kwargs)
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.retries = 0  # retries made (for logs and tests)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout=BaseRequest.DEFAULT_NONE,
        write_timeout=BaseRequest.DEFAULT_NONE,
        connect_timeout=BaseRequest.DEFAULT_NONE,
        pool_timeout=BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rstrip("/").rsplit("/", 1)[-1]
        attempt = 0
        while True:
            attempt += 1
            try:
                status, payload = await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except TelegramError as exc:
                fault = fault_of(exc)
                if attempt >= self.attempts or not may_retry(api_method, fault):
                    raise
                what = f"{type(exc).__name__}/{type(exc.__cause__).__name__}"
            else:
                fault = fault_of_status(status, payload)
                if fault is None:
                    return status, payload
                if attempt >= self.attempts or not may_retry(api_method, fault):
                    error = _bot_api_error(payload) or {}
                    raise ServerError(status, str(error.get("description") or "Server error"), fault)
                what = f"HTTP {status}"
            wait = backoff.delay(attempt, base=self.base_delay, cap=self.max_delay)
            self.retries += 1
            log.warning(
                "Bot API %s: %s (%s), retry %d of %d in %.2f s",
                api_method, what, fault.value, attempt, self.attempts - 1, wait,
            )  # fmt: skip
            await asyncio.sleep(wait)
