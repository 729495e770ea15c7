"""Working days in Saxony-Anhalt, prompt slots and cadences."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.staff.schedule import add_months, easter_sunday, holidays, is_working_day, next_slot, parse_cadence

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "year, easter",
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
    ],
)
def test_easter(year, easter):
    assert easter_sunday(year) == easter


def test_saxony_anhalt_holidays_2026():
    # Published dates for 2026 (Feiertage Sachsen-Anhalt).
    assert holidays(2026) == {
        date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1),
        date(2026, 5, 14), date(2026, 5, 25), date(2026, 10, 3), date(2026, 10, 31),
        date(2026, 12, 25), date(2026, 12, 26),
    }  # fmt: skip
    # Not holidays in Saxony-Anhalt: Corpus Christi, Repentance Day (Saxony only), 8 March (Berlin).
    assert is_working_day(date(2026, 6, 4))
    assert is_working_day(date(2026, 11, 18))
    assert is_working_day(date(2026, 3, 9))


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
