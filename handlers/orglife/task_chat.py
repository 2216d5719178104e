"""Task lists in chat: a bound secretary lists the open tasks (任务清单), reports one (完成任务 N 说明), adds photos."""

from __future__ import annotations

import json
import re
import unicodedata

from bot.core.organisations import Organisation
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, kind_is, regex, state_is, text_is
from handlers.orglife import task_notify, tasks
from handlers.orglife.task_models import Task, TaskReport

router = Router("orglife_tasks")
STATE = "task:photos"  # after 完成任务 N: images sent now are the report's photos
NUMBERS_KEY = "orglife:tasks:numbers:{}"  # Redis: the report ids behind the numbers 「任务清单」 showed
NUMBERS_TTL = 86400
REPORT_RE = re.compile(r"^\s*完成任务\s*(\d+)\s*[：:，,。.]?\s*(.*)$", re.S)
DONE = ("好了", "完成", "结束", "没有了")
NOT_SECRETARY = "「任务清单」供已在后台绑定微信的党组织书记使用。请先在管理后台「微信提醒」中绑定微信。"
MAX_LINES = 15  # tasks listed in one reply (the rest in the console)


def listing(ctx: Context, org: Organisation, rows: list[tuple[TaskReport, Task]]) -> str:
    """The numbered open tasks (the numbers are kept a day for 完成任务 N)."""
    ids = [r.id for r, _ in rows]
    ctx.services.redis.set(NUMBERS_KEY.format(ctx.openid), json.dumps(ids), ex=NUMBERS_TTL)
    lines = [f"【任务清单】{org.name}（{len(rows)}项未完成）"]
    for n, (report, task) in enumerate(rows[:MAX_LINES], 1):
        lines.append(f"{n}. {task.title}（{task.due_on:%m月%d日}截止，{tasks.LABELS[report.status]}）")
        if report.status == "returned" and report.comment:
            lines.append(f"   退回意见：{report.comment[:60]}")
    if len(rows) > MAX_LINES:
        lines.append(f"……另有{len(rows) - MAX_LINES}项，请在管理后台查看。")
    lines.append("完成后回复「完成任务 序号 完成情况」上报，如：完成任务 1 已组织学习。")
    return "\n".join(lines)


@router.on(text_is("任务清单", "我的任务"))
def show(msg: Message, ctx: Context) -> str:
    account = tasks.secretary_of(ctx.db, ctx.openid)
    org = ctx.db.get(Organisation, account.organisation_id) if account and account.organisation_id else None
    if org is None:
        return NOT_SECRETARY
    rows = tasks.open_reports(ctx.db, org.id)
    if not rows:
        return f"【任务清单】{org.name}目前没有未完成的任务。"
    return listing(ctx, org, rows)


def numbered(ctx: Context, n: int) -> int | None:
    raw = ctx.services.redis.get(NUMBERS_KEY.format(ctx.openid))
    ids = json.loads(raw) if raw else []
    return int(ids[n - 1]) if 0 < n <= len(ids) else None


@router.on(regex(r"^完成任务\d+"))
def report(msg: Message, ctx: Context) -> str:
    account = tasks.secretary_of(ctx.db, ctx.openid)
    if account is None or account.organisation_id is None:
        return NOT_SECRETARY
    m = REPORT_RE.match(unicodedata.normalize("NFKC", msg.content))
    if m is None:
        return "请回复「完成任务 序号 完成情况」，如：完成任务 1 已组织学习。"
    report_id = numbered(ctx, int(m.group(1)))
    row = ctx.db.get(TaskReport, report_id) if report_id else None
    if row is None or row.organisation_id != account.organisation_id:
        return "没有这个序号的任务，请先回复「任务清单」查看。"
    task = ctx.db.get(Task, row.task_id)
    text = m.group(2).strip()
    try:
        tasks.submit(ctx.db, row, text or "（见图片）", f"wechat:{account.username}"[:64])
    except tasks.TaskError as exc:
        return str(exc)
    ctx.db.commit()
    task_notify.tell_instructor_later(ctx.services, row.organisation_id, row.task_id)
    ctx.dialog.set(STATE, report_id=row.id)
    title = task.title if task else ""
    return (
        f"已上报任务「{title}」，等待党建指导员验收。\n"
        f"如需附图片，请现在发送图片（最多{tasks.MAX_PHOTOS}张），发完回复「好了」。"
    )


@router.on(state_is(STATE), kind_is("image"))
def photo(msg: Message, ctx: Context) -> str:
    row = ctx.db.get(TaskReport, int(ctx.dialog.data.get("report_id") or 0))
    media_id = str(msg.get("MediaId") or "")
    if row is None or row.status != "reported" or not media_id:
        ctx.dialog.clear()
        return "这张图片未能保存，请在管理后台上传。"
    if not tasks.add_photo(ctx.db, row, media_id):
        return f"每项任务最多{tasks.MAX_PHOTOS}张图片，这张未能保存。回复「好了」结束。"
    ctx.db.commit()
    ctx.services.pool.submit(tasks.safe_fetch, ctx.services, row.id)
    return "已收到图片。可继续发送，发完回复「好了」。"


@router.on(state_is(STATE), text_is(*DONE))
def done(msg: Message, ctx: Context) -> str:
    ctx.dialog.clear()
    return "好的，上报完成。回复「任务清单」查看其他任务。"
