"""Polling that survives an update python-telegram-bot cannot read.

PTB parses a whole ``getUpdates`` batch at once. One update it cannot read (a field a newer Bot
API added as required, a forged server answer) makes the whole batch fail; the Updater then
logs it and asks again from the same offset, for ever: every later update is lost. (Found by
``tests/quality/test_hostile.py``.)

``ReadableUpdatesBot`` checks each raw update of a batch on its own. Unreadable ones are left
out and logged by update id and error type only (never their contents, which hold message
text), and the next ``getUpdates`` starts after the highest id seen, so Telegram forgets them.
``get_updates`` is PTB 22.8's own (pinned), with the batch read update by update.
"""

from __future__ import annotations

import datetime as dtm
import logging

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class ReadableUpdatesBot(ExtBot):
    __slots__ = ("_skip_to",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._skip_to = 0

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: float | None = None,
        allowed_updates=None,
        *,
        read_timeout=DEFAULT_NONE,
        write_timeout=DEFAULT_NONE,
        connect_timeout=DEFAULT_NONE,
        pool_timeout=DEFAULT_NONE,
        api_kwargs=None,
    ) -> tuple[Update, ...]:
        """PTB's ``Bot.get_updates`` (22.8), with each update read once and on its own: PTB's
        would read the batch as a whole, and checking each first would read every update twice
        (a tenth of an update's cost, ``bench/updates.py``)."""
        if self._skip_to and (offset is None or offset < self._skip_to):
            offset = self._skip_to  # confirm the unreadable updates that ended the last batch
        data = {"timeout": timeout, "offset": offset, "limit": limit, "allowed_updates": allowed_updates}
        waited = self._request[0].read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        if isinstance(timeout, dtm.timedelta):
            timeout = timeout.total_seconds()
        result = await self._post(
            "getUpdates",
            data,
            read_timeout=(waited or 0) + (timeout or 0),
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        updates = []
        for item in result if isinstance(result, list) else ():
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(update_id, int):
                self._skip_to = max(self._skip_to, update_id + 1)
            try:
                update = Update.de_json(item, self)
            except Exception as exc:  # noqa: BLE001 - anything PTB cannot read is left out
                log.warning("update %s could not be read and is skipped (%s)", update_id, type(exc).__name__)
                continue
            self.insert_callback_data(update)  # what ExtBot.get_updates adds
            updates.append(update)
        return tuple(updates)
