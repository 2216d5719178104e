"""Followers' push choices in chat: 订阅提醒 / 退订提醒, 订阅新声 / 退订新声 (read by the push fan-out)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router
from handlers.pushes.models import PushOptIn

router = Router("subscriptions")
TOPICS = {
    "提醒": ("reminders", "学习和会议提醒"),
    "新声": ("xinsheng", "新声·百年百事更新"),
}  # word → (topic, what it is)


def choose(db: Session, openid: str, topic: str, opted_in: bool) -> None:
    """Record the follower's choice (one row per follower and topic)."""
    row = db.get(PushOptIn, (openid, topic))
    if row is None:
        db.add(PushOptIn(openid=openid, topic=topic, opted_in=opted_in, changed_at=utcnow()))
    else:
        row.opted_in, row.changed_at = opted_in, utcnow()
    db.commit()


def answer(ctx: Context, word: str, opted_in: bool) -> str:
    topic, label = TOPICS[word]
    choose(ctx.db, ctx.openid, topic, opted_in)
    if opted_in:
        return f"已订阅{label}。回复「退订{word}」可随时退订。"
    return f"已退订{label}，之后不再收到此类推送。回复「订阅{word}」可重新订阅。"


@router.regex(r"^(?P<verb>订阅|退订|取消)(?P<word>提醒|新声)$")
def subscription(msg: Message, ctx: Context) -> str:
    """订阅提醒 / 退订提醒 (取消提醒), 订阅新声 / 退订新声 (取消新声)."""
    return answer(ctx, ctx.match["word"], ctx.match["verb"] == "订阅")
