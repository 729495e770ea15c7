"""Concurrent updates, in order per chat.

PTB's ``SimpleUpdateProcessor`` runs updates concurrently with no order at all; the default runs
them one by one. Residents are many independent chats, so this processor runs up to N updates at
once while the updates of one chat stay strictly in arrival order: each chat has a FIFO lock
(asyncio locks and semaphores wake their waiters in order, and PTB starts one task per update in
arrival order). While one update waits for the Bot API, another chat's update is worked on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 16):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @staticmethod
    def _key(update: object) -> int:
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:
                return update.effective_user.id
        return 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
