"""Push timing: recurrence phrases, quiet hours, next due time, the 30-day calendar, and WeChat's mass quotas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.clock import TZ, in_quiet_hours, parse_clock
from bot.core.database import aware
from handlers.pushes.models import Push, PushRun

CLOCK = r"(?P<h>[01]?\d|2[0-3])[:：](?P<m>[0-5]\d)"  # "09:00" (full-width colon too)
WEEKDAYS = {"一": "mon", "二": "tue", "三": "wed", "四": "thu", "五": "fri", "六": "sat", "日": "sun", "天": "sun"}
ORDINALS = {"一": "1st", "1": "1st", "二": "2nd", "2": "2nd", "三": "3rd", "3": "3rd", "四": "4th", "4": "4th"}
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab weekday numbers (0 and 7 = Sunday)
CALENDAR_DAYS = 30  # days the console calendar shows
QUOTA_HORIZON = 62  # days of future occurrences checked against the mass quotas
MASS_PER_DAY = 1  # subscription account: mass sends a day
MASS_PER_MONTH = 4  # service account: mass sends each follower may receive a month
MAX_ITEMS = 400  # occurrences listed at most (a daily push over the horizon stays well under)


class ScheduleError(ValueError):
    """A timing the editor must fix; the message is shown in the console."""


def parse_recurrence(text: str) -> dict[str, Any]:
    """A Chinese phrase or a crontab → CronTrigger fields.

    The phrases: 每天 / 每周一 / 每月1日 / 每月第一个周一 / 每月最后一个周五, then HH:MM.
    """
    phrase = "".join(text.split())
    patterns: list[tuple[str, Any]] = [
        (rf"^每天{CLOCK}$", lambda m: {}),
        (rf"^每(?:周|星期)(?P<w>[一二三四五六日天]){CLOCK}$", lambda m: {"day_of_week": WEEKDAYS[m["w"]]}),
        (rf"^每月(?P<d>[1-9]|[12]\d|3[01])[日号]{CLOCK}$", lambda m: {"day": m["d"]}),
        (
            rf"^每月第(?P<o>[一二三四1-4])个?(?:周|星期)(?P<w>[一二三四五六日天]){CLOCK}$",
            lambda m: {"day": f"{ORDINALS[m['o']]} {WEEKDAYS[m['w']]}"},
        ),
        (rf"^每月最后一个?(?:周|星期)(?P<w>[一二三四五六日天]){CLOCK}$", lambda m: {"day": f"last {WEEKDAYS[m['w']]}"}),
    ]
    for pattern, fields in patterns:
        m = re.match(pattern, phrase)
        if m:
            return {**fields(m), "hour": int(m["h"]), "minute": int(m["m"])}
    parts = text.split()
    if len(parts) == 5:
        dow = re.sub(r"\d", lambda d: CRON_DAYS[int(d.group()) % 7], parts[4])  # APScheduler 3 counts from Monday
        return dict(zip(("minute", "hour", "day", "month", "day_of_week"), parts[:4] + [dow], strict=True))
    raise ScheduleError(
        "无法识别的重复规则：请写成「每天 20:00」「每周一 09:00」「每月1日 09:00」"
        "「每月第一个周一 09:00」或 5 段 crontab"
    )


def trigger(text: str) -> CronTrigger:
    """The CronTrigger of a recurrence (China time)."""
    try:
        return CronTrigger(timezone=TZ, **parse_recurrence(text))
    except (ValueError, TypeError) as exc:
        if isinstance(exc, ScheduleError):
            raise
        raise ScheduleError(f"重复规则无效：{exc}") from None


def after_quiet(when: datetime, quiet: list[str]) -> datetime:
    """`when`, or the end of the quiet hours it falls in (China time)."""
    if not in_quiet_hours(when, quiet):
        return when
    local = when.astimezone(TZ)
    end = datetime.combine(local.date(), parse_clock(quiet[1]), tzinfo=TZ)
    return end if end > local else end + timedelta(days=1)


def utc(value: datetime | None) -> datetime | None:
    """How times are stored: UTC (SQLite keeps the wall time and drops the offset)."""
    return aware(value).astimezone(UTC) if value is not None else None


def series_item(push: Push, index: int) -> tuple[datetime, int] | None:
    """(raw due time, episode) of the series' item `index` (0-based), None past the end."""
    if push.run_at is None or push.series_from is None or push.series_to is None:
        return None
    episode = push.series_from + index
    if episode > push.series_to:
        return None
    local = aware(push.run_at).astimezone(TZ)
    return local + timedelta(days=index * (push.series_every_days or 1)), episode


def occurrences(push: Push, start: datetime, end: datetime, quiet: list[str]) -> list[tuple[datetime, int | None]]:
    """(due time after quiet hours, series episode) of every firing in [start, end), oldest first."""
    found: list[tuple[datetime, int | None]] = []
    if push.timing == "once":
        if push.run_at is not None and push.series_done == 0:
            found.append((after_quiet(aware(push.run_at), quiet), None))
    elif push.timing == "series":
        index = push.series_done
        while (item := series_item(push, index)) and len(found) < MAX_ITEMS:
            found.append((after_quiet(item[0], quiet), item[1]))
            index += 1
            if item[0] >= end:
                break
    elif push.timing == "recurring" and push.recurrence:
        cron, prev = trigger(push.recurrence), None
        moment = cron.get_next_fire_time(None, start)
        while moment is not None and moment < end and len(found) < MAX_ITEMS:
            found.append((after_quiet(moment, quiet), None))
            prev = moment
            moment = cron.get_next_fire_time(prev, prev + timedelta(seconds=1))
    return [(t, n) for t, n in found if start <= t < end]


def next_due(push: Push, after: datetime, quiet: list[str]) -> tuple[datetime, int | None] | None:
    """The next firing at or after `after` (quiet hours applied), with its series episode."""
    if push.timing == "once":
        return (after_quiet(aware(push.run_at), quiet), None) if push.run_at and push.series_done == 0 else None
    if push.timing == "series":
        item = series_item(push, push.series_done)
        return (after_quiet(item[0], quiet), item[1]) if item else None
    items = occurrences(push, after, after + timedelta(days=400), quiet)
    return items[0] if items else None


def calendar(
    db: Session, now: datetime, quiet: list[str], days: int = CALENDAR_DAYS
) -> list[tuple[date, list[tuple[datetime, Push, int | None]]]]:
    """The next `days` days (China time), each with the pushes due that day."""
    end = now + timedelta(days=days)
    by_day: dict[date, list[tuple[datetime, Push, int | None]]] = {}
    for push in db.scalars(select(Push).where(Push.status.in_(("active", "paused")))):
        for when, episode in occurrences(push, now, end, quiet):
            by_day.setdefault(when.astimezone(TZ).date(), []).append((when, push, episode))
    first = now.astimezone(TZ).date()
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        out.append((day, sorted(by_day.get(day, []), key=lambda item: item[0])))
    return out


def mass_times(db: Session, now: datetime, quiet: list[str], exclude: int | None) -> list[tuple[datetime, str]]:
    """Mass sends already done (this month and today) and planned (the horizon) by other pushes: (time, title)."""
    start = now.astimezone(TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    pushes = db.scalars(select(Push).where(Push.channel == "mass", Push.status.in_(("active", "paused", "done")))).all()
    titles = {p.id: p.title for p in pushes}
    times: list[tuple[datetime, str]] = []
    runs = db.scalars(
        select(PushRun).where(
            PushRun.push_id.in_(titles), PushRun.due_at >= start, PushRun.status.in_(("running", "done", "paused"))
        )
    )
    times += [(aware(r.due_at), titles[r.push_id]) for r in runs]
    for push in pushes:
        if push.id != exclude and push.status != "done":
            times += [(t, push.title) for t, _ in occurrences(push, now, now + timedelta(days=QUOTA_HORIZON), quiet)]
    return times


def quota_conflict(db: Session, push: Push, now: datetime, quiet: list[str], account_type: str) -> str | None:
    """Why this mass push would break WeChat's quota (1 a day for subscription, 4 a month per follower for service)."""
    if push.channel != "mass":
        return None
    mine = [t for t, _ in occurrences(push, now, now + timedelta(days=QUOTA_HORIZON), quiet)]
    others = mass_times(db, now, quiet, push.id)
    if account_type == "subscription":
        return per_period(
            mine,
            others,
            lambda t: t.astimezone(TZ).strftime("%Y-%m-%d"),
            MASS_PER_DAY,
            "订阅号每天只能群发 {limit} 次：{period} 已有「{title}」",
        )
    return per_period(
        mine,
        others,
        lambda t: t.astimezone(TZ).strftime("%Y-%m"),
        MASS_PER_MONTH,
        "服务号每位粉丝每月最多收到 {limit} 次群发：{period} 已安排 {count} 次（含「{title}」）",
    )


def per_period(
    mine: Iterable[datetime], others: list[tuple[datetime, str]], period: Any, limit: int, message: str
) -> str | None:
    """The first period where this push's sends plus the others' pass `limit` (counted conservatively, any audience)."""
    counts: dict[str, list[str]] = {}
    for when, title in others:
        counts.setdefault(period(when), []).append(title)
    for when in mine:
        taken = counts.setdefault(period(when), [])
        if len(taken) >= limit:
            return message.format(limit=limit, period=period(when), count=len(taken), title=taken[0])
        taken.append("本推送")
    return None
