"""Organisation life in chat: a bound secretary's 安排会议 dialog and 上传会议材料 (photos); members answer a meeting
notice with 确认参加 or 请假 原因."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from bot.core.accounts import Account
from bot.core.clock import utcnow
from bot.core.organisations import Organisation, in_subtree
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, kind_is, state_is
from handlers.orglife import media, meetings, notices
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, CONFIRMED, LEAVE, Attendance, Meeting

router = Router("orglife")
PLAN = "orglife:plan"  # orglife:plan:kind → :group → :topic → :time → :place → :confirm
ANSWER = "orglife:answer"  # which meeting a 确认参加 / 请假 is for (several upcoming)
PICK = "orglife:pick"  # which meeting the materials are for
MATERIALS = "orglife:materials"  # photos go to data["meeting"]
PLANNERS = ("secretary", "instructor", "editor")  # (and admin) who plan in chat, for their scope organisation
NOT_PLANNER = "只有绑定了管理后台的党组织书记或党建指导员可以安排会议（管理后台「微信提醒」页面绑定）。"
MAX_LISTED = 9


def cfg(ctx: Context) -> OrgLifeConfig:
    return OrgLifeConfig.of(ctx.settings)


def planner(ctx: Context) -> tuple[Account, Organisation] | None:
    """The bound console account writing, and the organisation it is scoped to."""
    account = ctx.db.scalar(select(Account).where(Account.openid == ctx.openid, Account.active.is_(True)))
    if account is None or not account.has_role(*PLANNERS) or not account.organisation_id:
        return None
    org = ctx.db.get(Organisation, account.organisation_id)
    return (account, org) if org is not None and org.dissolved_at is None else None


def material_days(ctx: Context) -> int:
    return int((ctx.settings.section("orglife") or {}).get("material_days", media.UPLOAD_DAYS))


# 安排会议 --------------------------------------------------------------------------------------------------------
@router.text("安排会议", "会议安排", "组织生活安排")
def plan_start(msg: Message, ctx: Context) -> str:
    found = planner(ctx)
    if found is None:
        return NOT_PLANNER
    _account, org = found
    kinds = meetings.kinds_for(cfg(ctx), org, ctx.db)
    if not kinds:
        return f"「{org.name}」没有需要安排的会议类型，请在管理后台「组织生活」页面为下级组织安排。"
    ctx.dialog.clear()
    ctx.dialog.set(f"{PLAN}:kind", org=org.id, kinds=[k.key for k in kinds])
    listed = "\n".join(f"{i}. {k.name}" for i, k in enumerate(kinds, 1))
    return f"【安排会议·{org.name}】请回复会议类型的序号：\n{listed}\n回复「取消」退出。"


def number(ctx: Context, size: int) -> int | None:
    text = ctx.norm_text
    return int(text) - 1 if text.isdigit() and 1 <= int(text) <= size else None


@router.on(state_is(f"{PLAN}:kind"), kind_is("text"))
def plan_kind(msg: Message, ctx: Context) -> str:
    keys = list(ctx.dialog.data["kinds"])
    index = number(ctx, len(keys))
    if index is None:
        return f"请回复 1 到 {len(keys)} 之间的序号，或「取消」。"
    kind = cfg(ctx).kind(keys[index])
    org = ctx.db.get(Organisation, ctx.dialog.data["org"])
    if kind is None or org is None:
        ctx.dialog.clear()
        return "会议类型已变更，请重新回复「安排会议」。"
    if kind.attendees == "group":
        groups = meetings.groups_of(ctx.db, org)[:MAX_LISTED]
        ctx.dialog.set(f"{PLAN}:group", kind=kind.key, groups=[g.id for g in groups])
        listed = "\n".join(f"{i}. {g.name}" for i, g in enumerate(groups, 1))
        return f"哪个党小组？请回复序号：\n{listed}"
    ctx.dialog.set(f"{PLAN}:topic", kind=kind.key, group=None)
    return f"「{kind.name}」的主题是？"


@router.on(state_is(f"{PLAN}:group"), kind_is("text"))
def plan_group(msg: Message, ctx: Context) -> str:
    groups = list(ctx.dialog.data["groups"])
    index = number(ctx, len(groups))
    if index is None:
        return f"请回复 1 到 {len(groups)} 之间的序号，或「取消」。"
    ctx.dialog.set(f"{PLAN}:topic", group=groups[index])
    return "会议主题是？"


@router.on(state_is(f"{PLAN}:topic"), kind_is("text"))
def plan_topic(msg: Message, ctx: Context) -> str:
    topic = msg.text[:200]
    if not topic:
        return "请回复会议主题。"
    ctx.dialog.set(f"{PLAN}:time", topic=topic)
    return "会议时间？例如「12月5日 14:30」或「2026-12-05 14:30」。"


@router.on(state_is(f"{PLAN}:time"), kind_is("text"))
def plan_time(msg: Message, ctx: Context) -> str:
    when = meetings.parse_time(msg.text)
    if when is None:
        return "没有看懂这个时间，请按「12月5日 14:30」或「2026-12-05 14:30」回复。"
    ctx.dialog.set(f"{PLAN}:place", when=when.isoformat())
    return "会议地点？"


def draft(ctx: Context) -> meetings.Plan | None:
    data = ctx.dialog.data
    org = ctx.db.get(Organisation, data["org"])
    kind = cfg(ctx).kind(data["kind"])
    group = ctx.db.get(Organisation, data["group"]) if data.get("group") else None
    if org is None or kind is None:
        return None
    when = datetime.fromisoformat(data["when"])
    return meetings.Plan(org, kind, data["topic"], when, data.get("place", ""), group)


@router.on(state_is(f"{PLAN}:place"), kind_is("text"))
def plan_place(msg: Message, ctx: Context) -> str:
    if not msg.text:
        return "请回复会议地点。"
    ctx.dialog.set(f"{PLAN}:confirm", place=msg.text[:200])
    plan = draft(ctx)
    if plan is None:
        ctx.dialog.clear()
        return "会议信息已失效，请重新回复「安排会议」。"
    expected = len(meetings.default_attendees(ctx.db, plan.org, plan.kind, plan.group))
    where = f"{plan.group.name}" if plan.group else plan.org.name
    return (
        f"请确认：\n{where}·{plan.kind.name}\n主题：{plan.topic}\n时间：{meetings.shown(plan.starts_at)}\n"
        f"地点：{plan.place}\n参会：{expected} 人（管理后台可增减）\n回复「确认」发出会议通知，「取消」放弃。"
    )


@router.on(state_is(f"{PLAN}:confirm"), kind_is("text"))
def plan_confirm(msg: Message, ctx: Context) -> str:
    if ctx.norm_text not in ("确认", "是", "确定"):
        return "回复「确认」发出会议通知，「取消」放弃。"
    plan, found = draft(ctx), planner(ctx)
    ctx.dialog.clear()
    if plan is None or found is None or not in_subtree(plan.org, found[1]):
        return "会议信息已失效，请重新回复「安排会议」。"
    try:
        meeting = meetings.create(ctx.db, cfg(ctx), plan, f"wechat:{found[0].username}", actor=found[0])
    except meetings.PlanError as exc:
        return str(exc)
    when = meetings.shown(meeting.starts_at)
    notices.send_later(ctx.services, meeting.id, plan.kind.name, when)
    return f"已安排（编号 {meeting.id}），会议通知正在发出。参会人员的回复可在管理后台「组织生活」查看。"


# 确认参加 / 请假 ------------------------------------------------------------------------------------------------
def meeting_line(ctx: Context, meeting: Meeting) -> str:
    kind = cfg(ctx).kind(meeting.kind)
    return f"{meetings.shown(meeting.starts_at)} {kind.name if kind else meeting.kind}：{meeting.topic}"


def reply_to(ctx: Context, reply: str, reason: str) -> str:
    member_id = meetings.member_of(ctx.db, ctx.openid)
    if member_id is None:
        return "您还没有完成党员认证，无法回复会议通知。回复「党员认证」完成认证。"
    upcoming = meetings.upcoming_for(ctx.db, member_id)
    if not upcoming:
        return "您近期没有待参加的会议。"
    if len(upcoming) > 1:
        shown = upcoming[:MAX_LISTED]
        ctx.dialog.clear()
        ctx.dialog.set(ANSWER, reply=reply, reason=reason, meetings=[m.id for m, _a in shown])
        listed = "\n".join(f"{i}. {meeting_line(ctx, m)}" for i, (m, _a) in enumerate(shown, 1))
        return f"您有多个待参加的会议，请回复序号：\n{listed}"
    return record(ctx, *upcoming[0], reply, reason)


def record(ctx: Context, meeting: Meeting, row: Attendance, reply: str, reason: str) -> str:
    meetings.answer(row, reply, reason)
    ctx.db.commit()
    if reply == LEAVE:
        return f"已请假：{meeting_line(ctx, meeting)}\n原因：{row.leave_reason}"
    return f"已确认参加：{meeting_line(ctx, meeting)}\n地点：{meeting.place}"


@router.text("确认参加", "参加", "确认参会")
def confirm(msg: Message, ctx: Context) -> str:
    return reply_to(ctx, CONFIRMED, "")


LEAVE_RE = re.compile(r"^请假(?:[\s:：，,]|$)")  # 「请假 原因」 / 「请假：原因」, not 「请假条怎么写」


@router.on(lambda msg, ctx: msg.type == "text" and LEAVE_RE.match(msg.text) is not None)
def leave(msg: Message, ctx: Context) -> str:
    reason = msg.text.strip()[2:].strip(" ：:，,")
    if not reason:
        return "请假请写明原因，例如「请假 出差在外」。"
    return reply_to(ctx, LEAVE, reason)


@router.on(state_is(ANSWER), kind_is("text"))
def answer_pick(msg: Message, ctx: Context) -> str:
    ids = list(ctx.dialog.data["meetings"])
    index = number(ctx, len(ids))
    if index is None:
        return f"请回复 1 到 {len(ids)} 之间的序号，或「取消」。"
    data = dict(ctx.dialog.data)
    ctx.dialog.clear()
    member_id = meetings.member_of(ctx.db, ctx.openid)
    for meeting, row in meetings.upcoming_for(ctx.db, member_id) if member_id else []:
        if meeting.id == ids[index]:
            return record(ctx, meeting, row, data["reply"], data["reason"])
    return "这个会议已不在待参加之列。"


# 上传会议材料 ----------------------------------------------------------------------------------------------------
def open_for_materials(ctx: Context, org: Organisation) -> list[Meeting]:
    rows = ctx.db.scalars(
        select(Meeting)
        .join(Organisation, Organisation.id == Meeting.organisation_id)
        .where(Organisation.path.startswith(org.path, autoescape=True), Meeting.status != CANCELLED)
        .where(Meeting.starts_at <= utcnow())
        .order_by(Meeting.starts_at.desc())
        .limit(50)
    )
    days = material_days(ctx)
    return [m for m in rows if media.in_window(m, days)][:MAX_LISTED]


@router.text("上传会议材料", "会议材料", "上传会议照片")
def materials_start(msg: Message, ctx: Context) -> str:
    found = planner(ctx)
    if found is None:
        return NOT_PLANNER.replace("安排会议", "上传会议材料")
    candidates = open_for_materials(ctx, found[1])
    if not candidates:
        return f"没有可上传材料的会议（会议当天至会后 {material_days(ctx)} 天内可上传）。"
    ctx.dialog.clear()
    if len(candidates) == 1:
        return materials_open(ctx, candidates[0])
    ctx.dialog.set(PICK, meetings=[m.id for m in candidates])
    listed = "\n".join(f"{i}. {meeting_line(ctx, m)}" for i, m in enumerate(candidates, 1))
    return f"上传哪个会议的材料？请回复序号：\n{listed}"


def materials_open(ctx: Context, meeting: Meeting) -> str:
    ctx.dialog.set(MATERIALS, meeting=meeting.id, count=0)
    return f"请发送「{meeting_line(ctx, meeting)}」的会议照片（可多张），发完回复「完成」。"


@router.on(state_is(PICK), kind_is("text"))
def materials_pick(msg: Message, ctx: Context) -> str:
    ids = list(ctx.dialog.data["meetings"])
    index = number(ctx, len(ids))
    meeting = ctx.db.get(Meeting, ids[index]) if index is not None else None
    if meeting is None:
        return f"请回复 1 到 {len(ids)} 之间的序号，或「取消」。"
    return materials_open(ctx, meeting)


@router.on(state_is(MATERIALS), kind_is("image"))
def materials_photo(msg: Message, ctx: Context) -> str:
    found, meeting = planner(ctx), ctx.db.get(Meeting, ctx.dialog.data["meeting"])
    media_id = str(msg.raw.get("MediaId") or "")[:128]
    if found is None or meeting is None or not media_id:
        ctx.dialog.clear()
        return "无法保存这张照片，请重新回复「上传会议材料」。"
    row = media.MeetingMedia(meeting_id=meeting.id, media_id=media_id, added_by=f"wechat:{found[0].username}")
    ctx.db.add(row)
    meetings.audit(ctx.db, "meeting.media", found[0], meeting.id, via="wechat")
    ctx.db.commit()
    media.fetch_later(ctx.services, row.id)
    count = int(ctx.dialog.data.get("count", 0)) + 1
    ctx.dialog.set(MATERIALS, count=count)
    return f"已收到第 {count} 张照片。继续发送，或回复「完成」。"


@router.on(state_is(MATERIALS), kind_is("text"))
def materials_done(msg: Message, ctx: Context) -> str:
    if ctx.norm_text in ("完成", "结束", "好了"):
        count = int(ctx.dialog.data.get("count", 0))
        ctx.dialog.clear()
        return f"会议材料已保存（{count} 张照片）。纪要可在管理后台「组织生活」填写。"
    return "请发送照片，发完回复「完成」。"


def still_open(ctx: Context) -> str | None:
    """After 帮助: what the running dialog awaits."""
    state = ctx.dialog.state or ""
    if state.startswith(PLAN):
        return "您正在安排会议，按提示回复，或回复「取消」退出。"
    if state == MATERIALS:
        return "您正在上传会议材料：发送照片，发完回复「完成」。"
    return None
