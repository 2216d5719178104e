"""What a push says and to whom: the message per recipient and the audience with each member's skip reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.database import Follower
from bot.core.followers import WINDOW
from bot.library.loader import Library
from bot.library.progress import next_episode
from bot.outbound.outbox import TEMPLATE_VALUE
from handlers.pushes.audience import TREE_KINDS, tree_followers, tree_openids
from handlers.pushes.models import Push, PushOptIn

TOPICS = {"reminder": "reminders", "episode": "xinsheng", "next_episode": "xinsheng"}  # content kind → opt-in topic
STREAM = 2000  # audience rows fetched per round trip


@dataclass(frozen=True)
class Payload:
    """One message: title, text, and a link when there is one."""

    title: str
    text: str
    url: str | None = None


def episode_payload(library: Library, number: int) -> Payload | None:
    ep = library.episode(number)
    if ep is None:
        return None
    text = f"【新声·百年百事】第{ep.number}集《{ep.title}》\n{ep.summary}\n回复「新声{ep.number}」收听。"
    return Payload(f"新声第{ep.number}集：{ep.title}", text, ep.media_url)


def payload(
    push: Push,
    library: Library | None,
    episode_no: int | None = None,
    db: Session | None = None,
    openid: str | None = None,
) -> Payload | None:
    """The message of this push (for `openid` when it depends on the member); None when nothing is left to send."""
    kind = push.content_kind
    if kind == "episode":
        return episode_payload(library, episode_no or int(push.content_ref or 0))
    if kind == "next_episode":
        if db is None or openid is None:
            return Payload("新声：您的下一集", "【新声·百年百事】为您准备了下一集，回复「下一集」继续收听。")
        number = next_episode(db, openid, len(library.episodes))
        return episode_payload(library, number) if number else None
    if kind == "article":
        art = library.by_id.get(push.content_ref or "")
        if art is None or not hasattr(art, "album"):
            return None
        return Payload(art.title, f"【学习专辑】《{art.title}》\n{art.summary}", art.url)
    prefix = "【提醒】" if kind == "reminder" else ""
    return Payload(push.title, prefix + push.body)


def needs_library(push: Push) -> bool:
    """True when the message comes from content/ (free text and reminders do not load it)."""
    return push.content_kind in ("episode", "next_episode", "article")


def is_dynamic(push: Push) -> bool:
    """True when each recipient gets a different message."""
    return push.content_kind == "next_episode"


def custom_body(p: Payload) -> dict[str, Any]:
    """A customer-service message: a news card with the link, else text."""
    if p.url:
        return {"msgtype": "news", "news": {"articles": [{"title": p.title, "description": p.text, "url": p.url}]}}
    return {"msgtype": "text", "text": {"content": p.text}}


def template_data(p: Payload) -> dict[str, Any]:
    """Template keywords: at most 20 characters, no line breaks."""

    def value(text: str) -> dict[str, str]:
        return {"value": " ".join(text.split())[:TEMPLATE_VALUE]}

    return {"thing1": value(p.title), "thing2": value(p.text)}


def mass_text(p: Payload) -> str:
    return p.text + (f"\n{p.url}" if p.url else "")


def audience_openids(db: Session, push: Push) -> Any:
    """SQL selecting the audience's openids (test audiences are listed on the push); an unknown ref selects none."""
    kind, ref = push.audience_kind, push.audience_ref
    if kind == "tag":
        from bot.core.followers import has_tag

        return select(Follower.openid).where(has_tag(int(ref or 0)))
    if kind in TREE_KINDS:  # the organisation tree: confirmed members only (handlers/pushes/audience.py)
        return tree_openids(db, kind, ref)
    if kind == "reminders":
        return select(PushOptIn.openid).where(PushOptIn.topic == "reminders", PushOptIn.opted_in.is_(True))
    return select(Follower.openid)


def opted_out(db: Session, push: Push) -> set[str]:
    """Followers who said 退订提醒 / 退订新声 for this push's kind of content."""
    topic = TOPICS.get(push.content_kind)
    if topic is None:
        return set()
    stmt = select(PushOptIn.openid).where(PushOptIn.topic == topic, PushOptIn.opted_in.is_(False))
    return set(db.scalars(stmt))


def skip_reason(row: Any, channel: str, now: datetime, out: set[str], openid: str) -> str | None:
    """Why a recipient gets nothing: unsubscribed, opted_out, or window (customer-service outside 48 h)."""
    if row is not None and not row.subscribed:
        return "unsubscribed"
    if openid in out:
        return "opted_out"
    if channel == "custom":
        last = row.last_interaction if row is not None else None
        if last is None or now - (last if last.tzinfo else last.replace(tzinfo=now.tzinfo)) >= WINDOW:
            return "window"
    return None


def recipients(db: Session, push: Push, now: datetime) -> Iterator[tuple[str, str | None]]:
    """(openid, skip reason or None) of everyone the push targets, streamed in openid order (the reasons as
    skip_reason gives them, decided by the database but for the opt-outs: no datetime is parsed per row)."""
    out = opted_out(db, push)
    cols = select(Follower.openid, Follower.subscribed, Follower.last_interaction)
    if push.audience_kind == "test":
        found = {r.openid: r for r in db.execute(cols.where(Follower.openid.in_(push.test_openids or [])))}
        for openid in dict.fromkeys(push.test_openids or []):
            row = found.get(openid)
            reason = skip_reason(row, push.channel, now, out, openid) if row is not None else None
            yield openid, reason
        return
    cutoff = (now - WINDOW).astimezone(UTC)  # inside the 48 h window: written after this (compared by the database)
    fields = (Follower.openid, Follower.subscribed, (Follower.last_interaction > cutoff).label("in_window"))
    if push.audience_kind in TREE_KINDS:
        stmt = tree_followers(db, push.audience_kind, push.audience_ref, *fields).order_by(Follower.openid)
    else:
        ids = audience_openids(db, push).subquery()
        stmt = select(*fields).join(ids, ids.c.openid == Follower.openid).order_by(Follower.openid)
    custom = push.channel == "custom"
    for openid, subscribed, in_window in db.connection().execute(stmt.execution_options(yield_per=STREAM)):
        if not subscribed:
            yield openid, "unsubscribed"
        elif openid in out:
            yield openid, "opted_out"
        elif custom and not in_window:
            yield openid, "window"
        else:
            yield openid, None
