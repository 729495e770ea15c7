"""Polling that survives an update python-telegram-bot cannot read.

PTB parses a whole ``getUpdates`` batch at once. One update it cannot read (a field a newer Bot
API added as required, a forged server answer) makes the whole batch fail; the Updater then
logs it and asks again from the same offset, for ever: every later update is lost. (Found by
``tests/quality/test_hostile.py``.)

``ReadableUpdatesBot`` checks each raw update of a batch on its own. Unreadable ones are left
out and logged by update id and error type only (never their contents, which hold message
text), and the next ``getUpdates`` starts after the highest id seen, so Telegram forgets them.
The hook is PTB's ``Bot._post``, which every Bot API call goes through (pinned PTB 22.8).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)


class ReadableUpdatesBot(ExtBot):
    __slots__ = ("_skip_to",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._skip_to = 0

    async def get_updates(self, offset=None, *args, **kwargs):
        if self._skip_to and (offset is None or offset < self._skip_to):
            offset = self._skip_to  # confirm the unreadable updates that ended the last batch
        return await super().get_updates(offset, *args, **kwargs)

    async def _post(self, endpoint: str, data=None, *args, **kwargs):
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        readable = []
        for item in result:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(update_id, int):
                self._skip_to = max(self._skip_to, update_id + 1)
            try:
                Update.de_json(item, self)
            except Exception as exc:  # noqa: BLE001 - anything PTB cannot read is left out
                log.warning("update %s could not be read and is skipped (%s)", update_id, type(exc).__name__)
                continue
            readable.append(item)
        return readable
