"""急难愁盼 in chat: 我要反映, a guided dialog kept as a resumable draft, ending in a ticket (then: followup.py)."""

from __future__ import annotations

import logging
import time
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.core.logs import mask
from bot.inbound.choices import pick
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, kind_is, normalize, state_is, text_is
from handlers.tickets import alerts as staff_alerts, drafts as ticket_drafts, rules
from handlers.tickets.media import fetch_later
from handlers.tickets.rules import Submission, TicketConfig, china, mask_phone, submit, valid_phone

router = Router("tickets")
log = logging.getLogger(__name__)

STATE = "ticket"  # dialog states: ticket:<step>, ticket:resume (continue a draft?), ticket:edit (which item?)
DRAFT_KEY = ticket_drafts.CACHE_KEY  # Redis copy of the draft; the database keeps it (handlers.tickets.drafts)
STEPS = ("category", "description", "place", "phone", "anonymous", "confirm")
ITEMS = {
    "category": "问题类别",
    "description": "问题描述",
    "place": "企业或地点",
    "phone": "联系电话",
    "anonymous": "是否匿名",
}
MEDIA = {"image": "图片", "voice": "语音"}  # what a description may carry besides text
BACK = ("上一步", "返回", "back")
NEXT = ("下一步", "完成", "好了", "没有了")
SKIP = ("跳过", "不留", "不需要", "无")
YES, NO = ("是", "匿名", "需要", "1"), ("否", "不匿名", "不需要", "不用", "2")
CONFIRM = ("确认", "确认提交", "提交", "确定")
DB_DOWN = "抱歉，系统繁忙，您的诉求暂未提交成功（已填写的内容为您保留）。请稍后回复「确认」再次提交。"
FOOTER = "（「上一步」返回，「取消」放弃）"


def cfg(ctx: Context) -> TicketConfig:
    """The tickets settings (read once per settings object)."""
    return TicketConfig.of(ctx.settings)


# The draft: kept in the dialog while it runs and stored for resuming (draft_days): the database, Redis as a cache.
def load_draft(ctx: Context) -> dict[str, Any] | None:
    return ticket_drafts.load(ctx.services, ctx.openid)


def current(ctx: Context) -> dict[str, Any]:
    """The draft of the running dialog (from the dialog, else its Redis copy, else a new one)."""
    draft = ctx.dialog.data.get("draft")
    if isinstance(draft, dict) and draft.get("id"):
        return draft
    draft = load_draft(ctx)
    return draft if draft and not draft.get("number") else new_draft()


def new_draft() -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "step": "category",
        "category": None,
        "description": "",
        "media": [],
        "place": "",
        "phone": None,
        "anonymous": None,
    }


def save(ctx: Context, draft: dict[str, Any], state: str | None = None) -> None:
    """Store the draft for `draft_days` days and keep it in the dialog."""
    draft["saved"] = int(time.time())
    ticket_drafts.store(ctx.services, ctx.openid, draft, cfg(ctx).draft_days * 86400)
    ctx.dialog.set(state or f"{STATE}:{draft['step']}", draft=draft)


def goto(ctx: Context, draft: dict[str, Any], step: str, head: str = "") -> str:
    """Move the draft to `step`, save it, and ask that step's question."""
    draft["step"] = step
    save(ctx, draft)
    return (head + "\n\n" if head else "") + prompt(ctx, draft, step)


def following(draft: dict[str, Any], step: str) -> str:
    """The step after `step`; back to the summary when an item was being changed (修改)."""
    if draft.pop("editing", False):
        return "confirm"
    return STEPS[STEPS.index(step) + 1]


# Questions and the summary.
def prompt(ctx: Context, draft: dict[str, Any], step: str) -> str:
    n, total = STEPS.index(step) + 1, len(STEPS) - 1
    if step == "category":
        lines = [f"{i}. {name}" for i, name in enumerate(cfg(ctx).categories, 1)]
        return "\n".join(
            [f"【我要反映】第{n}步/共{total}步：请选择问题类别", *lines, "", "回复序号或类别名称。" + FOOTER]
        )
    if step == "description":
        text = f"第{n}步/共{total}步：请描述您遇到的问题（时间、经过、您的诉求），可以发文字，也可以发图片或语音。"
        if draft["description"] or draft["media"]:
            text += (
                f"\n当前描述：{draft['description'] or '（无文字）'}{media_note(draft)}"
                "\n发送新的文字将替换原描述，回复「下一步」保留。"
            )
        return text + "\n" + FOOTER
    if step == "place":
        return f"第{n}步/共{total}步：请填写涉及的企业名称或地点（如：某某电子厂、某某路某某号）。\n" + FOOTER
    if step == "phone":
        return (
            f"第{n}步/共{total}步：请留下联系电话（11位手机号），方便办理人员联系您；"
            f"不想留电话请回复「跳过」。\n" + FOOTER
        )
    if step == "anonymous":
        return (
            f"第{n}步/共{total}步：是否需要对用人单位匿名？\n回复「是」：您的身份和电话只有受理人员可见，"
            f"不会透露给承办单位和企业；\n回复「否」：承办人员可以直接与您联系。\n" + FOOTER
        )
    return summary(draft)


def media_note(draft: dict[str, Any]) -> str:
    return f"（附件{len(draft['media'])}个）" if draft["media"] else ""


def summary(draft: dict[str, Any]) -> str:
    lines = [
        "请核对您要反映的内容：",
        f"1. 问题类别：{draft['category']}",
        f"2. 问题描述：{draft['description'] or '（见附件）'}{media_note(draft)}",
        f"3. 企业或地点：{draft['place']}",
        f"4. 联系电话：{mask_phone(draft['phone']) or '未留'}",
        f"5. 对用人单位匿名：{'是' if draft['anonymous'] else '否'}",
        "",
        "回复「确认」提交，「修改」更改某一项，「上一步」返回，「取消」放弃。",
    ]
    return "\n".join(lines)


def submitted_text(ctx: Context, number: str) -> str:
    hours = f"{cfg(ctx).intake.total_seconds() / 3600:g}"
    return (
        f"提交成功！您的诉求编号：{number}\n我们将在{hours}小时内受理，受理、交办和办结的进展都会在这里通知您。\n"
        f"回复「诉求 {number}」或「我的诉求」查看办理进度。"
    )


# Starting and resuming.
@router.text("我要反映", "反映问题", "我要投诉", "我要求助")
@router.click("TICKET_NEW")
def start(msg: Message, ctx: Context) -> str:
    draft = load_draft(ctx)
    if draft is None or draft.get("number") or not (draft.get("category") or draft.get("step") != "category"):
        return begin(ctx)
    ctx.dialog.clear()
    ctx.dialog.set(f"{STATE}:resume")
    saved = china_time(draft.get("saved"))
    step = ITEMS.get(draft.get("step", ""), "核对提交")
    return (
        f"您有一份未提交的诉求草稿（{draft.get('category') or '未选类别'}，保存于{saved}，填写到「{step}」）。\n"
        "回复「继续」接着填写，「重新填写」从头开始，「取消」放弃草稿。"
    )


def china_time(stamp: Any) -> str:
    if not isinstance(stamp, (int, float)):
        return "此前"
    return china(datetime.fromtimestamp(stamp, UTC)).strftime("%m月%d日 %H:%M")


def begin(ctx: Context) -> str:
    ctx.dialog.clear()
    return goto(ctx, new_draft(), "category")


@router.on(state_is(f"{STATE}:resume"), kind_is("text"))
def resume(msg: Message, ctx: Context) -> str:
    if ctx.norm_text in ("继续", "继续填写", "1"):
        draft = load_draft(ctx)
        if draft is None or draft.get("number"):
            return begin(ctx)
        return goto(
            ctx, draft, draft.get("step") if draft.get("step") in STEPS else "category", "好的，接着上次的内容填写。"
        )
    if ctx.norm_text in ("重新填写", "重新开始", "重填", "2"):
        return begin(ctx)
    return "请回复「继续」接着填写草稿，「重新填写」从头开始，或「取消」放弃草稿。"


def drop_draft(ctx: Context) -> bool:
    """「取消」 inside the dialog discards the draft too."""
    if not ctx.dialog.in_state(STATE):
        return False
    ticket_drafts.drop(ctx.services, ctx.openid)
    return True


# The dialog's steps (they own the user's text while it runs).
@router.on(state_is(f"{STATE}:edit"), kind_is("text"))
def edit_choice(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    text = ctx.norm_text
    if text in BACK:
        return goto(ctx, draft, "confirm")
    item = pick(text, list(ITEMS), lambda key: normalize(ITEMS[key]))
    if item is None:
        return "请回复要修改项目的序号（1–5），或「上一步」返回核对。"
    draft["editing"] = True
    return goto(ctx, draft, item)


@router.on(state_is(STATE), text_is(*BACK))
def back(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    draft.pop("editing", None)
    step = draft.get("step", "category")
    if step == "category":
        return "已经是第一步了。\n\n" + goto(ctx, draft, "category")
    return goto(ctx, draft, STEPS[STEPS.index(step) - 1])


@router.on(state_is(STATE), kind_is(*MEDIA))
def add_media(msg: Message, ctx: Context) -> str:
    """An image or voice message: kept with the draft (WeChat's media id), at any step."""
    draft, limit = current(ctx), cfg(ctx).media_max
    media_id = str(msg.get("MediaId") or "")
    if not media_id:
        return "这条消息没有收到内容，请重新发送。"
    if len(draft["media"]) >= limit:
        return f"最多可以附{limit}个图片或语音，这条未能保存。\n\n" + prompt(ctx, draft, draft["step"])
    draft["media"].append(media_item(msg, media_id))
    head = f"已收到{MEDIA[msg.type]}（共{len(draft['media'])}个附件）。"
    if draft["step"] == "description":
        save(ctx, draft)
        return head + "请再用文字简要说明问题；如不需要文字说明，回复「下一步」。"
    return goto(ctx, draft, draft["step"], head)


def media_item(msg: Message, media_id: str) -> dict[str, Any]:
    item = {"type": msg.type, "media_id": media_id}
    if msg.get("PicUrl"):
        item["url"] = str(msg.get("PicUrl"))
    if msg.get("Recognition"):
        item["text"] = str(msg.get("Recognition"))  # WeChat's speech recognition, when switched on
    return item


@router.on(state_is(STATE), lambda msg, ctx: msg.type not in ("text", "event"))
def other_media(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if msg.type == "location" and draft["step"] == "place":
        draft["place"] = str(msg.get("Label") or f"{msg.get('Location_X')}, {msg.get('Location_Y')}")[:100]
        return goto(ctx, draft, following(draft, "place"))
    return "这里只能接收文字、图片和语音。\n\n" + prompt(ctx, draft, draft["step"])


@router.on(state_is(f"{STATE}:category"), kind_is("text"))
def category(msg: Message, ctx: Context) -> str:
    draft, names = current(ctx), list(cfg(ctx).categories)
    text = ctx.norm_text
    chosen = pick(text, names, normalize)
    if chosen is None:
        return f"请回复 1 到 {len(names)} 的序号，或类别名称。\n\n" + prompt(ctx, draft, "category")
    draft["category"] = chosen
    return goto(ctx, draft, following(draft, "category"))


@router.on(state_is(f"{STATE}:description"), kind_is("text"))
def description(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if ctx.norm_text in NEXT:
        if not (draft["description"] or draft["media"]):
            return "请先用文字、图片或语音描述您遇到的问题。"
        if not draft["description"]:
            heard = "；".join(m["text"] for m in draft["media"] if m.get("text"))
            draft["description"] = heard[: cfg(ctx).description_max]
        return goto(ctx, draft, following(draft, "description"))
    if not msg.text:
        return prompt(ctx, draft, "description")
    limit = cfg(ctx).description_max
    draft["description"] = msg.text[:limit]
    head = f"描述超过{limit}字，只保留了前{limit}字。" if len(msg.text) > limit else ""
    return goto(ctx, draft, following(draft, "description"), head)


@router.on(state_is(f"{STATE}:place"), kind_is("text"))
def place(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if not msg.text:
        return prompt(ctx, draft, "place")
    draft["place"] = msg.text[:100]
    return goto(ctx, draft, following(draft, "place"))


@router.on(state_is(f"{STATE}:phone"), kind_is("text"))
def phone(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if ctx.norm_text in SKIP:
        draft["phone"] = None
    else:
        number = valid_phone(unicodedata.normalize("NFKC", msg.text))
        if number is None:
            return (
                f"「{msg.text[:20]}」不是有效的手机号码。请输入11位手机号（如 13812345678），或回复「跳过」不留电话。"
            )
        draft["phone"] = number
    return goto(ctx, draft, following(draft, "phone"))


@router.on(state_is(f"{STATE}:anonymous"), kind_is("text"))
def anonymous(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if ctx.norm_text not in YES + NO:
        return "请回复「是」（对用人单位匿名）或「否」。"
    draft["anonymous"] = ctx.norm_text in YES
    return goto(ctx, draft, "confirm")


@router.on(state_is(f"{STATE}:confirm"), kind_is("text"))
def confirm(msg: Message, ctx: Context) -> str:
    draft = current(ctx)
    if ctx.norm_text in ("修改", "更改"):
        save(ctx, draft, f"{STATE}:edit")
        lines = [f"{i}. {name}" for i, name in enumerate(ITEMS.values(), 1)]
        return "\n".join(["请回复要修改项目的序号：", *lines, "", "回复「上一步」返回核对。"])
    if ctx.norm_text not in CONFIRM:
        return "请回复「确认」提交，「修改」更改某一项，「上一步」返回，或「取消」放弃。"
    try:
        ticket, created = submit(ctx.db, cfg(ctx), submission(ctx, draft))
    except SQLAlchemyError:
        log.warning("ticket draft of %s not submitted: database error", mask(ctx.openid), exc_info=True)
        rollback(ctx)
        return DB_DOWN
    done = {"id": draft["id"], "number": ticket.number}  # a second 确认 answers with the same number
    ticket_drafts.store(ctx.services, ctx.openid, done, ctx.settings.dialog.ttl)
    ctx.dialog.clear()
    log.info("ticket %s submitted by %s (new: %s)", ticket.number, mask(ctx.openid), created)
    if created:
        staff_alerts.new_ticket(ctx.services, ticket)  # intake staff who bound their WeChat hear of it there
    if created and ticket.media:
        fetch_later(ctx.services, ticket.id)  # copy the images and voice before WeChat forgets them (3 days)
    return submitted_text(ctx, ticket.number)


def submission(ctx: Context, draft: dict[str, Any]) -> Submission:
    """The draft as a Submission; a confirmed member's organisation and its 片区 go with it (an unconfirmed,
    self-declared binding carries nothing: nobody checked it)."""
    org = rules.member_organisation(ctx.db, ctx.openid)
    return Submission(
        key=draft["id"],
        openid=ctx.openid,
        category=draft["category"],
        description=draft["description"],
        place=draft["place"],
        phone=draft["phone"],
        anonymous=bool(draft["anonymous"]),
        media=list(draft["media"]),
        district=org.district if org else None,
        organisation_id=org.id if org else None,
    )


def rollback(ctx: Context) -> None:
    try:
        ctx.db.rollback()
    except SQLAlchemyError:  # the connection is gone: closing the session discards it
        log.debug("rollback after a failed submission failed too", exc_info=True)


def already_submitted(msg: Message, ctx: Context) -> dict[str, Any] | None:
    """确认 outside any dialog: the submitted draft's number, or a draft at the summary whose dialog was lost."""
    if ctx.dialog.state is not None or ctx.norm_text not in CONFIRM:
        return None
    draft = load_draft(ctx)
    if draft and draft.get("number"):
        return {"number": draft["number"]}
    return {"draft": draft} if draft and draft.get("step") == "confirm" else None


@router.on(already_submitted)
def confirm_again(msg: Message, ctx: Context) -> str:
    if "draft" in ctx.match:  # the dialog was lost (Redis flushed or restarted): the saved draft is submitted
        ctx.dialog.set(f"{STATE}:confirm", draft=ctx.match["draft"])
        return confirm(msg, ctx)
    number = ctx.match["number"]
    return f"您的诉求已经提交，编号：{number}，无需重复提交。\n回复「诉求 {number}」查看办理进度。"
