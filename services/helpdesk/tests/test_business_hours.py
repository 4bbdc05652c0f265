"""Business time: Mon-Fri 7:00-19:00, Sat 8:00-16:00, America/New_York, holidays closed."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.business_hours import Calendar, due_times, parse_holidays

NY = ZoneInfo("America/New_York")
CAL = Calendar()


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_within_a_day():
    assert CAL.add(ny(2026, 12, 1, 10), timedelta(hours=4)) == ny(2026, 12, 1, 14)


def test_from_before_opening_starts_at_opening():
    assert CAL.add(ny(2026, 12, 1, 5), timedelta(hours=1)) == ny(2026, 12, 1, 8)


def test_zero_outside_hours_is_the_next_opening():
    assert CAL.add(ny(2026, 12, 1, 20), timedelta(0)) == ny(2026, 12, 2, 7)


def test_across_the_night():
    # Tuesday 17:00 + 4 h: 2 h on Tuesday, 2 h from Wednesday's 7:00.
    assert CAL.add(ny(2026, 12, 1, 17), timedelta(hours=4)) == ny(2026, 12, 2, 9)


def test_across_a_weekend_with_saturday_hours():
    # Friday 17:00 + 12 h: 2 h Friday, 8 h Saturday (8-16), Sunday closed, 2 h Monday.
    assert CAL.add(ny(2026, 12, 4, 17), timedelta(hours=12)) == ny(2026, 12, 7, 9)


def test_sunday_is_closed():
    assert CAL.add(ny(2026, 12, 6, 12), timedelta(hours=1)) == ny(2026, 12, 7, 8)


def test_across_a_holiday():
    christmas = Calendar(holidays=frozenset({date(2026, 12, 25)}))
    # Thursday 24th 18:00 + 4 h: 1 h Thursday, Friday is a holiday, 3 h Saturday (8-11).
    assert christmas.add(ny(2026, 12, 24, 18), timedelta(hours=4)) == ny(2026, 12, 26, 11)
    # Without the holiday it would be Friday 10:00.
    assert CAL.add(ny(2026, 12, 24, 18), timedelta(hours=4)) == ny(2026, 12, 25, 10)


def test_across_a_weekend_and_a_holiday():
    # Friday 3 July 2026 is the Independence Day holiday: Thursday 18:00 + 10 h is 1 h
    # Thursday, 8 h Saturday, Sunday closed, 1 h Monday.
    july = Calendar(holidays=parse_holidays("2026-07-03"))
    assert july.add(ny(2026, 7, 2, 18), timedelta(hours=10)) == ny(2026, 7, 6, 8)


def test_answers_in_utc_and_across_daylight_saving():
    # Saturday 31 Oct 2026 (EDT) 15:00 + 3 h: 1 h Saturday, Monday 2 Nov (EST) 9:00.
    due = CAL.add(ny(2026, 10, 31, 15), timedelta(hours=3))
    assert due.tzinfo == UTC
    assert due == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_between_counts_only_open_hours():
    assert CAL.between(ny(2026, 12, 4, 17), ny(2026, 12, 7, 9)) == timedelta(hours=12)
    assert CAL.between(ny(2026, 12, 7, 9), ny(2026, 12, 4, 17)) == timedelta(0)
    christmas = Calendar(holidays=frozenset({date(2026, 12, 25)}))
    assert christmas.between(ny(2026, 12, 24, 18), ny(2026, 12, 26, 11)) == timedelta(hours=4)


def test_is_open():
    assert CAL.is_open(ny(2026, 12, 5, 15, 59))
    assert not CAL.is_open(ny(2026, 12, 5, 16))
    assert not CAL.is_open(ny(2026, 12, 6, 12))


def test_due_times_by_priority():
    first, resolution = due_times(CAL, ny(2026, 12, 4, 17), "urgent")
    assert first == ny(2026, 12, 4, 18)
    # 8 h: 2 h Friday, 6 h Saturday.
    assert resolution == ny(2026, 12, 5, 14)


def test_holidays_from_configuration():
    assert parse_holidays(" 2026-12-25, 2027-01-01 ,") == {date(2026, 12, 25), date(2027, 1, 1)}
    assert parse_holidays(None) == frozenset()
    with pytest.raises(ValueError, match="2026-13-01"):
        parse_holidays("2026-13-01")


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        CAL.add(datetime(2026, 12, 1, 10), timedelta(hours=1))
