"""A per-user sliding-window limit on incoming messages (protection against floods).

``check`` says what to do with one more message from a user: answer it, send one polite notice
(the first message over the limit), or ignore it (the rest of the window). Memory is bounded:
idle users are dropped. It counts per process; with several instances each keeps its own window.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # the first message over the limit: say so once
    IGNORE = "ignore"


@dataclass
class _Window:
    times: deque[float] = field(default_factory=deque)
    notified: bool = False


class RateLimiter:
    def __init__(self, limit: int = 20, window: float = 60.0, max_users: int = 100_000):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._users: OrderedDict[int, _Window] = OrderedDict()

    def check(self, user_id: int, now: float) -> Verdict:
        w = self._users.pop(user_id, None) or _Window()
        self._users[user_id] = w  # most recent last
        while w.times and w.times[0] <= now - self.window:
            w.times.popleft()
        if len(w.times) < self.limit:
            w.times.append(now)
            w.notified = False
            verdict = Verdict.ALLOW
        elif not w.notified:
            w.notified = True
            verdict = Verdict.NOTIFY
        else:
            verdict = Verdict.IGNORE
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return verdict

    def blocked(self, user_id: int, now: float) -> bool:
        """True while ``user_id`` has used up the window; counts nothing."""
        w = self._users.get(user_id)
        return w is not None and sum(1 for t in w.times if t > now - self.window) >= self.limit

    def retry_after(self, user_id: int, now: float) -> int:
        """Whole seconds until the user may send again (at least 1)."""
        w = self._users.get(user_id)
        if not w or not w.times:
            return 1
        return max(1, math.ceil(w.times[0] + self.window - now))
