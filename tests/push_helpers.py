"""Push test helpers (tests/): followers with an open window, China-time moments, a planned push, what was delivered."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.database import utcnow
from handlers.pushes import service as pushes
from handlers.pushes.models import Push
from handlers.quiz.points import TZ


def members(emu: Any, services: Any, n: int) -> list[str]:
    """Followers who wrote just now: subscribed in the emulator and our table, 48 h window open."""
    openids = []
    for i in range(n):
        openid = emu.create_user(f"成员{i}", subscribed=True)["openid"]
        services.followers.subscribe(openid)
        services.followers.touch(openid)
        emu.open_window(openid)
        openids.append(openid)
    return openids


def local(days: int, hour: int, minute: int = 0) -> datetime:
    """A China-time moment `days` from today."""
    today = utcnow().astimezone(TZ).date() + timedelta(days=days)
    return datetime(today.year, today.month, today.day, hour, minute, tzinfo=TZ)


def make(services: Any, now: datetime | None = None, **fields: Any) -> int:
    """Plan and save a push; its id (asserts it could be scheduled)."""
    base = {
        "title": "测试推送",
        "content_kind": "text",
        "body": "今晚八点支部学习",
        "audience_kind": "all",
        "channel": "custom",
        "timing": "once",
        "test_openids": [],
        "created_by": "test",
    }
    with services.sessions() as db:
        push = Push(**{**base, **fields})
        problems = pushes.plan(db, services, push, now or utcnow())
        assert problems == [], problems
        db.add(push)
        db.commit()
        return push.id


def get(services: Any, push_id: int) -> Push:
    """The push as saved now."""
    with services.sessions() as db:
        return db.get(Push, push_id)


def got(emu: Any, openid: str, kind: str | None = None) -> list[dict[str, Any]]:
    """What the emulator delivered to `openid` (of one kind: custom, template, ...)."""
    return emu.received(openid, kind)
