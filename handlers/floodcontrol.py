"""Flood control for the ``Application``'s bot: PTB's ``AIORateLimiter``, with 429s per chat.

``AIORateLimiter`` keeps the overall rate (``TELEGRAM_FLOOD_LIMIT`` a second) and the per-group
rate, and retries a request answered HTTP 429 after its ``retry_after``. But on any 429 it pauses
**every** request of the bot: one chat that is sent too much (Telegram limits each chat to about
one message a second) stalled every other resident's answer.

``ChatFloodLimiter`` keeps the rates and the retries and changes only whom a 429 pauses:

* a 429 on a request **for a chat** (it has a ``chat_id``) delays that chat only: its later
  requests wait until ``retry_after`` has passed, every other chat goes on;
* a 429 **not tied to a chat** (a method without ``chat_id``, such as ``answerCallbackQuery`` or
  ``setMyCommands``) is Telegram's limit for the whole bot: everyone pauses, as before.

A request waits for its pauses before it takes a slot of the overall rate, so a paused chat
holds up nobody. Built on ``AIORateLimiter._run_request`` (pinned PTB 22.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)


class ChatFloodLimiter(AIORateLimiter):
    def __init__(self, *args, clock=time.monotonic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self._everyone_until = 0.0
        self._chat_until: dict[int | str, float] = {}

    def paused(self, chat_id: int | str | None = None) -> float:
        """Seconds a request for ``chat_id`` (None: a request for no chat) must still wait."""
        now = self.clock()
        until = self._everyone_until
        if chat_id is not None:
            until = max(until, self._chat_until.get(chat_id, 0.0))
        return max(0.0, until - now)

    async def _wait(self, chat_id: int | str | None) -> None:
        while (left := self.paused(chat_id)) > 0:
            await asyncio.sleep(left)
        if chat_id is not None and chat_id in self._chat_until:
            del self._chat_until[chat_id]

    def _pause(self, chat_id: int | str | None, seconds: float) -> None:
        until = self.clock() + seconds
        if chat_id is None:
            self._everyone_until = max(self._everyone_until, until)
        else:
            self._chat_until[chat_id] = max(self._chat_until.get(chat_id, 0.0), until)

    async def process_request(
        self,
        callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ):
        max_retries = rate_limit_args or self._max_retries
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        if not isinstance(chat_id, int | str):
            chat_id = None
        group: int | str | bool = (
            chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else False
        )
        for attempt in range(max_retries + 1):
            await self._wait(chat_id)
            try:
                return await self._run_request(
                    chat=chat_id is not None,
                    group=group,
                    allow_paid_broadcast=data.get("allow_paid_broadcast", False),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as exc:
                if attempt == max_retries:
                    log.warning("Bot API %s: flood control, retries used up", endpoint)
                    raise
                ra = exc._retry_after  # a timedelta (PTB 22 deprecates the int property)
                seconds = (ra.total_seconds() if isinstance(ra, timedelta) else float(ra)) + 0.1
                self._pause(chat_id, seconds)
                log.info(
                    "Bot API %s: flood control, %s waits %.1f s",
                    endpoint, "this chat" if chat_id is not None else "every request", seconds,
                )  # fmt: skip
        return None
