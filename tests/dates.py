"""Fixed dates for the date-sensitive tests: no test depends on the day it runs.

Each case is a moment at which staff are assigned, and the times a person would write down by
hand from the calendar of Saxony-Anhalt (Europe/Berlin): the first status prompt (the first
working day at 09:00 local after the assignment), the reminder 7 days after it was sent and the
escalation 14 days after, each moved to the next working-day slot when it falls outside working
hours (09:00-18:00 local on a working day). All times in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass(frozen=True)
class DateCase:
    name: str
    assigned: datetime
    prompt: datetime
    reminder: datetime
    escalation: datetime

    def __str__(self) -> str:
        return self.name


CASES = [
    # Friday after 09:00: Monday 09:00 CET.
    DateCase(
        "plain-week",
        utc(2026, 11, 27, 9, 30),
        utc(2026, 11, 30, 8),
        utc(2026, 12, 7, 8),
        utc(2026, 12, 14, 8),
    ),
    # Friday before Whit Monday (25 May 2026): Tuesday 09:00 CEST.
    DateCase(
        "friday-before-holiday",
        utc(2026, 5, 22, 9, 30),
        utc(2026, 5, 26, 7),
        utc(2026, 6, 2, 7),
        utc(2026, 6, 9, 7),
    ),
    # Reminder on Christmas Day, escalation on New Year's Day: both move to the next working day.
    DateCase(
        "christmas-reminder",
        utc(2026, 12, 17, 10),
        utc(2026, 12, 18, 8),
        utc(2026, 12, 28, 8),
        utc(2027, 1, 4, 8),
    ),
    # Assigned on 24 December (a working day): 25 and 26 are holidays, 27 a Sunday.
    DateCase(
        "christmas-eve", utc(2026, 12, 24, 10), utc(2026, 12, 28, 8), utc(2027, 1, 4, 8), utc(2027, 1, 11, 8)
    ),
    # Assigned on 26 December (a holiday and a Saturday).
    DateCase(
        "boxing-day", utc(2026, 12, 26, 12), utc(2026, 12, 28, 8), utc(2027, 1, 4, 8), utc(2027, 1, 11, 8)
    ),
    # New Year's Eve: 1 January 2027 is a Friday and a holiday.
    DateCase("new-year", utc(2026, 12, 31, 12), utc(2027, 1, 4, 8), utc(2027, 1, 11, 8), utc(2027, 1, 18, 8)),
    # Clocks go forward on 29 March 2026; the reminder falls on Easter Monday (6 April).
    DateCase(
        "spring-forward", utc(2026, 3, 28, 12), utc(2026, 3, 30, 7), utc(2026, 4, 7, 7), utc(2026, 4, 13, 7)
    ),
    # Clocks go back on 25 October 2026: 7 x 24 hours after 09:00 CEST is 08:00 CET, before the
    # working day starts, so the reminder and the escalation wait until 09:00 CET.
    DateCase(
        "fall-back", utc(2026, 10, 22, 10), utc(2026, 10, 23, 7), utc(2026, 10, 30, 8), utc(2026, 11, 6, 8)
    ),
]
