"""Core: the one clock; timestamps are stored in UTC, and days, schedules and pages follow China time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")  # China time: points days, schedules, ticket numbers, times shown in the console


def utcnow() -> datetime:
    """Timezone-aware now, as every timestamp column stores it."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """`value` with its time zone: SQLite gives back naive datetimes, which are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def china(when: datetime) -> datetime:
    """`when` in China time (a naive value is UTC)."""
    return aware(when).astimezone(TZ)


def day_of(moment: datetime) -> date:
    """The China-time day of an aware moment."""
    return moment.astimezone(TZ).date()


def parse_clock(value: str) -> time:
    """A "HH:MM" setting as a time of day."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(now: datetime, quiet: list[str]) -> bool:
    """True inside the configured quiet hours (China time; the span may cross midnight): one rule for reminders
    and pushes."""
    start, end, local = parse_clock(quiet[0]), parse_clock(quiet[1]), now.astimezone(TZ).time()
    return start <= local or local < end if start > end else start <= local < end
