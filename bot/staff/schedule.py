"""When status prompts fall due: working days in Saxony-Anhalt at a local time, and cadences.

Public holidays of Saxony-Anhalt (Feiertagsgesetz Sachsen-Anhalt, § 2): New Year, Epiphany
(6 January), Good Friday, Easter Monday, 1 May, Ascension Day, Whit Monday, German Unity Day
(3 October), Reformation Day (31 October), and the two Christmas days. Easter Sunday and Whit
Sunday fall on Sundays anyway. Computed here (Gauss/Meeus computus) rather than taken from a
dependency: eleven rules, tested against published dates.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

CADENCES = {"monthly": 1, "quarterly": 3, "halfyearly": 6, "yearly": 12}


def easter_sunday(year: int) -> date:
    """Western Easter (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    """The public holidays of Saxony-Anhalt in ``year``."""
    easter = easter_sunday(year)
    return frozenset(
        {
            date(year, 1, 1),
            date(year, 1, 6),
            easter - timedelta(days=2),
            easter + timedelta(days=1),
            date(year, 5, 1),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            date(year, 10, 3),
            date(year, 10, 31),
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def next_slot(after: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first working day at local time ``at`` that is not before ``after`` (returned in UTC)."""
    local = after.astimezone(tz)
    day = local.date()
    while True:
        if is_working_day(day):
            candidate = datetime.combine(day, at, tzinfo=tz)
            if candidate >= local:
                return candidate.astimezone(UTC)
        day += timedelta(days=1)


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole months, the day clamped to the month's length (31 Jan + 1 = 28/29 Feb)."""
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_cadence(raw: str) -> int:
    """``quarterly`` / ``monthly`` / … or a number of months (1-24)."""
    value = raw.strip().lower()
    if value in CADENCES:
        return CADENCES[value]
    if value.isdigit() and 1 <= int(value) <= 24:
        return int(value)
    raise ValueError(f"a cadence is one of {', '.join(CADENCES)} or 1-24 months; got {raw!r}")
