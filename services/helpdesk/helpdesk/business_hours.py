"""The help desk's business hours, and time counted in them (service levels are due so many
business hours after a case is filed).

Pure: no clock, no database. The seed's hours are Monday to Friday 7:00-19:00 and Saturday
8:00-16:00 in America/New_York; holidays (whole days closed) come from configuration
(`CVMS_HELPDESK_HOLIDAYS`: ISO dates separated by commas)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "America/New_York"
# Monday is 0. A weekday not listed is closed.
DEFAULT_HOURS: dict[int, tuple[time, time]] = {
    **{day: (time(7), time(19)) for day in range(5)},
    5: (time(8), time(16)),
}


def parse_holidays(text: str | None) -> frozenset[date]:
    """`2026-12-25,2027-01-01` -> those dates; ValueError names a date that is not one."""
    days = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(
                f"CVMS_HELPDESK_HOLIDAYS: {part!r} is not a date (YYYY-MM-DD)"
            ) from None
    return frozenset(days)


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_ZONE))
    hours: dict[int, tuple[time, time]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_env(cls) -> Calendar:
        return cls(
            zone=ZoneInfo(os.environ.get("CVMS_HELPDESK_TIME_ZONE", DEFAULT_ZONE)),
            holidays=parse_holidays(os.environ.get("CVMS_HELPDESK_HOLIDAYS")),
        )

    def open_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """When the desk opens and closes on `day` (aware, in its zone), or None: closed."""
        if day in self.holidays or day.weekday() not in self.hours:
            return None
        start, end = self.hours[day.weekday()]
        return (
            datetime.combine(day, start, tzinfo=self.zone),
            datetime.combine(day, end, tzinfo=self.zone),
        )

    def is_open(self, moment: datetime) -> bool:
        local = _aware(moment).astimezone(self.zone)
        hours = self.open_hours(local.date())
        return hours is not None and hours[0] <= local < hours[1]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start` (UTC). Zero from outside hours
        is the next opening. Opening hours never span a daylight-saving change (2:00), so the
        time within a day is plain wall-clock time."""
        if duration < timedelta(0):
            raise ValueError("a negative duration")
        local = _aware(start).astimezone(self.zone)
        remaining = duration
        day = local.date()
        for _ in range(3700):  # ten years of days: a calendar with no open day ends here
            hours = self.open_hours(day)
            if hours is not None:
                opens, closes = hours
                begin = max(local, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            local = datetime.combine(day, time(0), tzinfo=self.zone)
        raise ValueError("the calendar has no business hours")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from `start` to `end` (zero if `end` is not after `start`)."""
        start_local = _aware(start).astimezone(self.zone)
        end_local = _aware(end).astimezone(self.zone)
        total = timedelta(0)
        day = start_local.date()
        while day <= end_local.date():
            hours = self.open_hours(day)
            if hours is not None:
                begin = max(hours[0], start_local)
                finish = min(hours[1], end_local)
                if finish > begin:
                    total += finish.astimezone(UTC) - begin.astimezone(UTC)
            day += timedelta(days=1)
        return total


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime")
    return moment


# Service levels by priority, in business hours: first response, resolution.
TARGETS: dict[str, tuple[timedelta, timedelta]] = {
    "urgent": (timedelta(hours=1), timedelta(hours=8)),
    "high": (timedelta(hours=2), timedelta(hours=24)),
    "normal": (timedelta(hours=4), timedelta(hours=36)),
    "low": (timedelta(hours=8), timedelta(hours=60)),
}


def due_times(calendar: Calendar, filed_at: datetime, priority: str) -> tuple[datetime, datetime]:
    """When the first response and the resolution of a case filed at `filed_at` are due."""
    first, resolution = TARGETS[priority]
    return calendar.add(filed_at, first), calendar.add(filed_at, resolution)
