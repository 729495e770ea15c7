"""Working days in Saxony-Anhalt, prompt slots and cadences."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from time import time_ns
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.staff.schedule import add_months, holidays, is_working_day, next_slot, parse_cadence

BERLIN = ZoneInfo("Europe/Berlin")


# Published dates (Feiertage Sachsen-Anhalt, Feiertagsgesetz § 2): New Year, Epiphany, Good Friday,
# Easter Monday, 1 May, Ascension, Whit Monday, Unity Day, Reformation Day, the Christmas days.
PUBLISHED = {
    2025: ["01-01", "01-06", "04-18", "04-21", "05-01", "05-29", "06-09", "10-03", "10-31", "12-25", "12-26"],
    2026: ["01-01", "01-06", "04-03", "04-06", "05-01", "05-14", "05-25", "10-03", "10-31", "12-25", "12-26"],
    2027: ["01-01", "01-06", "03-26", "03-29", "05-01", "05-06", "05-17", "10-03", "10-31", "12-25", "12-26"],
}


@pytest.mark.parametrize("year", sorted(PUBLISHED))
def test_saxony_anhalt_holidays_are_the_published_dates(year):
    assert holidays(year) == {date.fromisoformat(f"{year}-{day}") for day in PUBLISHED[year]}


def test_days_that_are_holidays_elsewhere_are_working_days_in_saxony_anhalt():
    # Corpus Christi (4 June 2026, a Thursday), Repentance Day (18 November, Saxony only),
    # Women's Day (9 March, a Monday; Berlin), Children's Day (20 September 2027, Thuringia).
    for day in (date(2026, 6, 4), date(2026, 11, 18), date(2026, 3, 9), date(2027, 9, 20)):
        assert is_working_day(day), day
    # Easter Sunday and Whit Sunday are holidays only in Brandenburg; here they are Sundays anyway.
    assert date(2026, 4, 5) not in holidays(2026) and not is_working_day(date(2026, 4, 5))


def test_is_working_day_is_cheap_in_a_loop():
    holidays(2031)  # the year's table is built once
    started = time_ns()
    for offset in range(10_000):
        is_working_day(date(2031, 1, 1) + timedelta(days=offset % 365))
    assert (time_ns() - started) / 10_000 < 20_000  # well under 20 µs a call


def test_next_slot_skips_weekends_and_holidays_in_local_time():
    nine = time(9, 0)
    # Christmas Eve 2026 is a Thursday, 25/26 are holidays, 27 is a Sunday: next is Monday 28.
    after = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
    assert next_slot(after, nine, BERLIN) == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    # Before the time on a working day: the same day. Summer time: 09:00 CEST is 07:00 UTC.
    assert next_slot(datetime(2026, 7, 1, 5, 0, tzinfo=UTC), nine, BERLIN) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )
    # Exactly at the slot: that slot.
    slot = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert next_slot(slot, nine, BERLIN) == slot
    # Friday after the time: Monday. Good Friday 2026 (3 April) and Easter Monday skipped.
    assert next_slot(datetime(2026, 4, 2, 12, 0, tzinfo=UTC), nine, BERLIN).date() == date(2026, 4, 7)


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)))
def test_next_slot_is_a_working_day_at_the_time_and_not_before(after):
    slot = next_slot(after, time(9, 30), BERLIN)
    local = slot.astimezone(BERLIN)
    assert slot >= after
    assert is_working_day(local.date()) and local.time() == time(9, 30)
    assert (slot - after).days <= 6


def test_add_months_clamps_and_parse_cadence():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)
    assert parse_cadence("quarterly") == 3 and parse_cadence("Monthly") == 1 and parse_cadence("6") == 6
    for bad in ("weekly", "0", "25", "", "-3"):
        with pytest.raises(ValueError):
            parse_cadence(bad)
