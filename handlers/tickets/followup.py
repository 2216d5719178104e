"""急难愁盼 follow-up in chat: 我的诉求, a ticket's timeline (诉求 JK…), and the submitter's rating (回访)."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.core.logs import mask
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, regex
from handlers.tickets import flow
from handlers.tickets.chat import cfg, rollback
from handlers.tickets.models import OPEN_STATUSES, RATINGS, Ticket
from handlers.tickets.notify import deliver_later
from handlers.tickets.rules import awaiting_rating, china, of_submitter, own_ticket, timeline

router = Router("ticket_followup")
log = logging.getLogger(__name__)

RATING_RE = re.compile(r"^(?P<word>基本满意|不满意|满意)(?:$|[\s,，.。:：;；!！、]+(?P<comment>.*)$)", re.S)
NUMBER_RE = r"^(?:诉求|查询|查询诉求|进度)?(?P<number>[a-z]{1,4}\d{10})$"
RATE_RE = r"^评价(?P<number>[a-z]{1,4}\d{10})(?P<word>基本满意|不满意|满意)(?P<comment>.*)$"


# The submitter's view.
@router.text("我的诉求", "我的反映", "诉求进度")
@router.click("TICKET_MINE")
def mine(msg: Message, ctx: Context) -> str:
    rows = of_submitter(ctx.db, ctx.openid, limit=10)
    if not rows:
        return "您还没有提交过诉求。回复「我要反映」反映遇到的问题。"
    lines = [
        f"{i}. {t.number}　{t.category}　{t.status_name}　{china(t.created_at):%Y-%m-%d}" for i, t in enumerate(rows, 1)
    ]
    tail = [f"回复「诉求 {rows[0].number}」这样的编号查看办理进度。"]
    if any(t.status == "resolved" for t in rows):
        tail.append("已办结的诉求请回复「满意」「基本满意」或「不满意」评价。")
    return "\n".join(["【我的诉求】", *lines, "", *tail])


@router.on(regex(NUMBER_RE))
def show(msg: Message, ctx: Context) -> str:
    number = ctx.match["number"].upper()
    ticket = own_ticket(ctx.db, ctx.openid, number)
    if ticket is None:  # someone else's number gets the same answer as a made-up one
        return f"没有找到编号为 {number} 的诉求。回复「我的诉求」查看您提交过的诉求。"
    lines = [
        f"【诉求 {ticket.number}】",
        f"类别：{ticket.category}",
        f"状态：{ticket.status_name}",
        f"企业或地点：{ticket.place}",
        "",
        "办理进度：",
    ]
    lines += [
        f"{china(e.at):%m-%d %H:%M} {flow.EVENTS.get(e.kind, e.kind)}{event_detail(e.kind, e.details or {})}"
        for e in flow.public_events(timeline(ctx.db, ticket))
    ]
    if ticket.status in OPEN_STATUSES and ticket.status != "new":
        lines.append(f"办理时限：{china(ticket.due_at):%m月%d日 %H:%M} 前")
    if ticket.reply:
        lines += ["", f"{'上次' if ticket.status in OPEN_STATUSES else ''}办理结果：{ticket.reply}"]
    if ticket.status == "rejected" and ticket.reason:
        lines += ["", f"不予受理原因：{ticket.reason}"]
    if ticket.status == "resolved":
        lines += ["", "请回复「满意」「基本满意」或「不满意」评价（可附意见）。"]
    return "\n".join(lines)


def event_detail(kind: str, details: dict[str, Any]) -> str:
    if kind == "assign" and details.get("to"):
        return f"（{details['to']}）"
    if kind == "rate" and details.get("rating") in RATINGS:
        return f"（{RATINGS[details['rating']]}）"
    if kind == "merge" and details.get("into"):
        return f"（并入诉求 {details['into']}）"
    return ""


# Ratings (回访): answers to the invitation the 办结 notice carries.
def rating_words(msg: Message, ctx: Context) -> dict[str, Any] | None:
    """满意 / 基本满意 / 不满意 [意见] while a resolved ticket awaits the user's rating; else not a match."""
    m = RATING_RE.match(unicodedata.normalize("NFKC", msg.text)) if msg.type == "text" else None
    if m is None or ctx.dialog.in_state("ticket"):  # a running submission owns its text
        return None
    try:
        ticket = awaiting_rating(ctx.db, ctx.openid)
    except SQLAlchemyError:
        log.warning("rating of %s not looked up: database error", mask(ctx.openid), exc_info=True)
        return {"ticket": None, "word": m["word"], "comment": ""}
    if ticket is None:
        return None
    return {"ticket": ticket, "word": m["word"], "comment": (m["comment"] or "").strip()}


@router.on(rating_words)
def rate(msg: Message, ctx: Context) -> str:
    ticket = ctx.match["ticket"]
    if ticket is None:
        return "抱歉，系统繁忙，暂时无法记录您的评价，请稍后再试。"
    return record_rating(ctx, ticket, ctx.match["word"], ctx.match["comment"])


@router.on(regex(RATE_RE))
def rate_by_number(msg: Message, ctx: Context) -> str:
    number = ctx.match["number"].upper()
    ticket = own_ticket(ctx.db, ctx.openid, number)
    if ticket is None:
        return f"没有找到编号为 {number} 的诉求。回复「我的诉求」查看您提交过的诉求。"
    if ticket.status != "resolved":
        return f"诉求 {number} 当前状态为「{ticket.status_name}」，办结后才能评价。"
    return record_rating(ctx, ticket, ctx.match["word"], ctx.match["comment"] or "")


def record_rating(ctx: Context, ticket: Ticket, word: str, comment: str) -> str:
    """Apply the rating (不满意 reopens the ticket), commit, then send the notices it queued."""
    rating = {v: k for k, v in RATINGS.items()}[word]
    try:
        step = flow.Step.by(ctx.db, cfg(ctx), "submitter")
        flow.rate(step, ticket, rating, comment)
        ids = step.notice_ids()
        ctx.db.commit()
    except SQLAlchemyError:
        log.warning("rating of %s by %s not saved: database error", ticket.number, mask(ctx.openid), exc_info=True)
        rollback(ctx)
        return "抱歉，系统繁忙，暂时无法记录您的评价，请稍后再试。"
    deliver_later(ctx.services, ids)
    if rating == "unsatisfied":
        return f"很抱歉没有让您满意。诉求 {ticket.number} 已重新交办办理，我们会尽快再次处理并答复您。"
    return f"感谢您的评价！诉求 {ticket.number} 已完成回访。如有新的问题，回复「我要反映」。"
