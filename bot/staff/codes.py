"""The one-letter codes of statuses in button data, and the progress steps a staff member can tap."""

from __future__ import annotations

from bot.models import STATUS_VALUES

STATUS_CODES = dict(zip("iodncx", STATUS_VALUES, strict=True))
CODE_OF = {v: k for k, v in STATUS_CODES.items()}
PROGRESS_STEPS = (0, 25, 50, 75, 100)
