"""The pace of the outbox per chat: at most one message per interval to each chat.

``ChatSpacing`` gives a chat at most one message per interval (Telegram's 1 s), counted from the
answer to the previous one too, and never two requests to one chat at once. It is in memory, per
worker (``bot/newsletters/outbox.py``); the pace of all requests together is the shared budget's
(``bot/store/budget.py``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol, TypeVar

PRUNE_ABOVE = 50_000  # chats remembered before those outside the interval are forgotten


class _ToChat(Protocol):
    @property
    def chat_id(self) -> int: ...


J = TypeVar("J", bound=_ToChat)


class ChatSpacing:
    """When each chat may get its next message from this worker, and which chats have a request
    in flight."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: dict[int, float] = {}  # chat -> when its last request started or ended
        self._in_flight: set[int] = set()

    def pick(self, queue: deque[J], busy: set[int], limit: int) -> list[J]:
        """Up to ``limit`` jobs from ``queue`` whose chat may get a message now (and is not in
        ``busy``), one per chat; the others stay in ``queue``, in their order."""
        now = self.clock()
        group: list[J] = []
        later: deque[J] = deque()
        chats = set(busy) | self._in_flight
        while queue and len(group) < limit:
            job = queue.popleft()
            ready = now - self._last.get(job.chat_id, -math.inf) >= self.interval
            if ready and job.chat_id not in chats:
                group.append(job)
                chats.add(job.chat_id)
            else:
                later.append(job)
        queue.extendleft(reversed(later))
        return group

    def wait_for(self, queue: deque[J]) -> float:
        """Seconds until the first chat in ``queue`` may get a message (at least 0.01)."""
        now = self.clock()
        first = min(self._last.get(j.chat_id, now) for j in queue) + self.interval
        return max(0.01, first - now)

    def started(self, chat_id: int) -> None:
        self._last[chat_id] = self.clock()
        self._in_flight.add(chat_id)

    def answered(self, chat_id: int) -> None:
        """Spacing counts from the answer too: a slow first request must not arrive less than
        an interval before the next one to the same chat."""
        self._in_flight.discard(chat_id)
        self._last[chat_id] = self.clock()

    def prune(self) -> None:
        """Forget chats whose interval has passed, once there are many."""
        if len(self._last) > PRUNE_ABOVE:
            cutoff = self.clock() - self.interval
            self._last = {c: t for c, t in self._last.items() if t >= cutoff}
