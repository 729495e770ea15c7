"""Messages the core sends on its own: status prompts, reminders, escalations, newsletter issues.

The core never imports ``telegram``. It talks to a ``Sender`` (``handlers/sender.py`` implements it
with python-telegram-bot) and gets back a ``SendResult`` whose ``Outcome`` says what Telegram
answered, in the terms the core decides on:

* ``SENT``: delivered;
* ``RETRY``: HTTP 429, wait ``retry_after`` seconds before sending anything more (also used
  for every fault that certainly did not deliver: no connection, HTTP 503, the Bot API's own 5xx
  error; ``retry_after`` is then a backoff);
* ``BLOCKED``: HTTP 403, the user blocked the bot;
* ``GONE``: HTTP 400 "chat not found" (or the chat was deleted / deactivated);
* ``UNKNOWN``: a timeout, a broken connection after the request may have left, or a proxy's
  500/502/504: the message may or may not have arrived, so resending could send it twice;
* ``FAILED``: refused for another reason (a bad request): nothing was delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.chat.replies import Reply


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    BLOCKED = "blocked"
    GONE = "gone"
    UNKNOWN = "unknown"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    retry_after: float = 0.0
    message_id: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


SENT = SendResult(Outcome.SENT)


@dataclass(frozen=True)
class Attachment:
    """A file sent with ``send_file``: ``kind`` is ``photo`` or ``document``."""

    kind: str
    data: bytes
    filename: str


class Sender(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> SendResult:
        """Send one reply (split below Telegram's limit, buttons under the last part)."""
        ...

    async def send_file(
        self, chat_id: int, attachment: Attachment, caption_html: str = "", *, buttons=None
    ) -> SendResult:
        """Send a photo or a document (caption: at most 1024 characters of HTML; ``buttons``:
        optional rows of ``Button`` under it)."""
        ...
