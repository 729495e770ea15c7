"""Capped exponential backoff with jitter: the one formula every retry in Ankommen uses.

``delay(attempt)`` for attempt 1, 2, 3 … is drawn uniformly from the upper half of
``min(cap, base * 2 ** (attempt - 1))``: it doubles per attempt, never exceeds ``cap``, and the
jitter keeps several workers (or several chats hitting the same fault) from retrying in step.
Used by the Bot API request layer (``handlers/request.py``), the senders' pauses
(``handlers/sender.py``) and the store's transaction retries (``bot/store/db.py``).
"""

from __future__ import annotations

import random


def delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)
