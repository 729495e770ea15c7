"""When status prompts fall due: working days in Saxony-Anhalt at a local time, and cadences.

Public holidays of Saxony-Anhalt (Feiertagsgesetz Sachsen-Anhalt, § 2): New Year, Epiphany
(6 January), Good Friday, Easter Monday, 1 May, Ascension Day, Whit Monday, German Unity Day
(3 October), Reformation Day (31 October), and the two Christmas days. They come from the
``holidays`` package (Germany, subdivision ST), built once per year and cached: the status loop
asks ``is_working_day`` in loops. Tested against published dates.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

CADENCES = {"monthly": 1, "quarterly": 3, "halfyearly": 6, "yearly": 12}


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[date]:
    """The public holidays of Saxony-Anhalt in ``year``."""
    from holidays import country_holidays  # imported on first use: not at the CLI's start

    return frozenset(country_holidays("DE", subdiv="ST", years=year))


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
