"""``bot.chat.outbound.Sender`` on python-telegram-bot: what the core sends on its own.

Every Bot API error is mapped to an ``Outcome`` so that the core decides what happens next
(pause, mark a subscriber blocked, never resend a message whose fate is unknown). Nothing here
retries by itself: the request layer (``handlers/request.py``) has already retried what its
policy allows, and the callers own the rest. What is left of a network fault or an HTTP 5xx maps
by that same policy: certainly not delivered -> ``RETRY`` (the caller puts the message back and
pauses ``retry_after``: capped exponential backoff with jitter over consecutive faults of this
sender, 1 s doubling up to 30 s), maybe delivered -> ``UNKNOWN`` (never resent: at most once).
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.chat.markup import SplitError, split_html
from bot.chat.outbound import Attachment, Outcome, SendResult
from bot.chat.replies import Reply
from bot.store import backoff
from handlers.replies import message_params
from handlers.request import Fault, fault_of

log = logging.getLogger(__name__)

PAUSE_BASE = 1.0  # seconds: the first pause after a fault that certainly did not deliver
PAUSE_CAP = 30.0
PART_RETRIES = 3  # a later part of a split reply that did not arrive: tries again, in place
PART_RETRY_CAP = 30.0
GONE_MARKERS = ("chat not found", "user is deactivated", "chat was deleted", "peer_id_invalid")


def outcome_of(
    exc: TelegramError, strikes: int = 1, *, base: float = PAUSE_BASE, cap: float = PAUSE_CAP
) -> SendResult:
    """The core's view of a Bot API error; ``strikes``: consecutive not-delivered faults so far
    (this one included), for the backoff of ``retry_after``."""
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 deprecates the int form; both are handled here
            warnings.simplefilter("ignore")
            ra = exc.retry_after
        seconds = ra.total_seconds() if isinstance(ra, timedelta) else float(ra)
        return SendResult(Outcome.RETRY, retry_after=seconds, detail="429")
    if isinstance(exc, Forbidden):
        return SendResult(Outcome.BLOCKED, detail="403")
    if isinstance(exc, BadRequest):
        text = str(exc).lower()
        if any(marker in text for marker in GONE_MARKERS):
            return SendResult(Outcome.GONE, detail="400 chat not found")
        return SendResult(Outcome.FAILED, detail=f"400 {str(exc)[:120]}")
    if isinstance(exc, ChatMigrated):
        return SendResult(Outcome.GONE, detail="chat migrated")
    fault = fault_of(exc)
    cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else type(exc).__name__
    if fault is Fault.NOT_SENT:
        # The request certainly did not reach Telegram (handlers/request.py): send it again later.
        pause = backoff.delay(strikes, base=base, cap=cap)
        return SendResult(Outcome.RETRY, retry_after=pause, detail=f"not sent: {_what(exc, cause)}")
    if fault is Fault.MAYBE_SENT or isinstance(exc, TimedOut | NetworkError):
        # The request may have reached Telegram: the outcome is unknown, never resent.
        return SendResult(Outcome.UNKNOWN, detail=f"maybe sent: {_what(exc, cause)}")
    return SendResult(Outcome.FAILED, detail=type(exc).__name__)


def _what(exc: TelegramError, cause: str) -> str:
    status = getattr(exc, "status", None)
    return f"HTTP {status}" if status else cause


class BotSender:
    """Sends through a PTB ``Bot`` (plain Bot API JSON for texts, multipart for files)."""

    def __init__(self, bot, *, pause_base: float = PAUSE_BASE, pause_cap: float = PAUSE_CAP) -> None:
        self.bot = bot
        self.pause_base = pause_base
        self.pause_cap = pause_cap
        self.strikes = 0  # consecutive faults that certainly did not deliver

    def _failed(self, exc: TelegramError) -> SendResult:
        not_sent = fault_of(exc) is Fault.NOT_SENT
        self.strikes = self.strikes + 1 if not_sent else 0
        return outcome_of(exc, max(1, self.strikes), base=self.pause_base, cap=self.pause_cap)

    async def send(self, chat_id: int, reply: Reply) -> SendResult:
        """Send ``reply``, split as Telegram counts (``bot.chat.markup.split_html``), the buttons under
        the last part.

        Once the first part has arrived, sending the whole reply again would repeat it, so no
        later failure may say ``RETRY``: a later part that certainly did not arrive (429, not
        sent) is retried here, in place, ``PART_RETRIES`` times after its ``retry_after``
        (capped at ``PART_RETRY_CAP``); if it still does not go, the result is ``FAILED``
        ("partial"), never sent again. A reply that cannot be split cleanly is ``FAILED``
        without a request."""
        try:
            parts = split_html(reply.html)
        except SplitError as exc:
            return SendResult(Outcome.FAILED, detail=f"cannot be split: {exc}"[:200])
        message_id = None
        for i, part in enumerate(parts):
            params = message_params(part, reply.buttons if i == len(parts) - 1 else None)
            tries = 0
            while True:
                try:
                    result = await self.bot.do_api_request(
                        "sendMessage", api_kwargs={"chat_id": chat_id, **params}
                    )
                    break
                except TelegramError as exc:
                    failed = self._failed(exc)
                if i == 0:
                    return failed
                if failed.outcome is Outcome.RETRY and tries < PART_RETRIES:
                    tries += 1
                    await asyncio.sleep(min(max(failed.retry_after, 0.0), PART_RETRY_CAP))
                    continue
                if failed.outcome in (Outcome.RETRY, Outcome.FAILED):
                    detail = f"partial: {i} of {len(parts)} parts sent; {failed.detail or ''}"
                    return SendResult(Outcome.FAILED, detail=detail.strip()[:200])
                return failed
            if isinstance(result, dict) and message_id is None:
                message_id = result.get("message_id")
        self.strikes = 0
        return SendResult(Outcome.SENT, message_id=message_id)

    async def send_file(
        self, chat_id: int, attachment: Attachment, caption_html: str = "", *, buttons=None
    ) -> SendResult:
        kwargs = {"caption": caption_html or None, "parse_mode": ParseMode.HTML if caption_html else None}
        if buttons:
            kwargs["reply_markup"] = InlineKeyboardMarkup(
                [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in buttons]
            )
        data = io.BytesIO(attachment.data)
        try:
            if attachment.kind == "photo":
                message = await self.bot.send_photo(chat_id, data, filename=attachment.filename, **kwargs)
            else:
                message = await self.bot.send_document(chat_id, data, filename=attachment.filename, **kwargs)
        except TelegramError as exc:
            return self._failed(exc)
        self.strikes = 0
        return SendResult(Outcome.SENT, message_id=message.message_id)
