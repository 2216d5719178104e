"""Pushes between the console and the scheduler: validate and plan, approve, pause/resume/cancel, preview, fire."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.claims import claim_run
from bot.core.clock import TZ
from bot.core.database import aware, utcnow
from bot.core.errors import SelfApproval
from bot.core.organisations import CATEGORIES, Organisation, OrganisationsConfig, scope_root
from bot.core.services import Services
from bot.library.loader import Library
from bot.outbound.outbox import SendResult
from handlers.pushes import audience
from handlers.pushes.config import PushConfig
from handlers.pushes.content import mass_text, payload
from handlers.pushes.fanout import FanOut
from handlers.pushes.models import Delivery, Push, PushRun
from handlers.pushes.schedule import ScheduleError, next_due, quota_conflict, series_item, trigger, utc

CONTENT_KINDS = {
    "episode": "新声单集",
    "next_episode": "每位成员的下一集",
    "article": "专辑文章",
    "text": "自由文本",
    "reminder": "提醒",
}  # what a push says
AUDIENCES = {
    "all": "全部粉丝",
    "tag": "某个标签",
    "organisation": "某个组织及其下级组织（已认证党员）",
    "district": "某个片区（已认证党员）",
    "category": "某类党员（已认证，可限定组织）",
    "secretaries": "某组织及下级组织的书记、副书记",
    "reminders": "订阅了提醒的成员",
    "test": "测试 openid 列表",
}  # whom it goes to
CHANNELS = {"mass": "群发（全部或按标签）", "custom": "客服消息（48 小时内互动过的粉丝）", "template": "模板消息"}
TIMINGS = {"once": "一次", "recurring": "重复", "series": "系列（逐集推送）"}
STATUSES = {"active": "已排期", "paused": "已暂停", "cancelled": "已取消", "done": "已完成"}  # Push.status
RUN_STATUSES = {
    "running": "发送中",
    "paused": "已暂停",
    "cancelled": "已取消",
    "done": "已完成",
    "blocked": "未审核未发送",
    "missed": "已错过",
}  # PushRun.status
CLAIM_TTL = 86400 * 2  # seconds a fired run's claim is remembered
JOB_ID = "push-{}"  # push id → its scheduler job's id (also the id its fire-once claim is taken under)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanConfig:
    """config push: and the scheduler's grace, as the push logic needs them."""

    quiet: list[str]
    account_type: str
    templates: dict[str, str]
    grace: int
    preview_limit: int
    districts: tuple[str, ...] = ()  # the park's 片区 (config organisations.districts)

    @classmethod
    def of(cls, services: Services) -> PlanConfig:
        cfg = PushConfig.of(services.settings)
        return cls(
            list(cfg.quiet_hours),
            cfg.account_type,
            cfg.templates,
            services.settings.scheduler.misfire_grace,
            cfg.preview_limit,
            OrganisationsConfig.of(services.settings).districts,
        )


# Planning ---------------------------------------------------------------------------------
def content_problems(push: Push, library: Library) -> list[str]:
    kind = push.content_kind
    if (kind == "episode" and push.timing != "series") and (
        not (push.content_ref or "").isdigit() or library.episode(int(push.content_ref)) is None
    ):
        return [f"新声单集：没有第 {push.content_ref or '?'} 集（共 {len(library.episodes)} 集）"]
    if kind == "article" and not hasattr(library.by_id.get(push.content_ref or ""), "album"):
        return [f"专辑文章：没有编号为「{push.content_ref or ''}」的专辑文章"]
    if kind in ("text", "reminder") and not push.body.strip():
        return ["请填写要发送的文字"]
    return []


def audience_problems(db: Session, push: Push, cfg: PlanConfig) -> list[str]:
    problems = []
    if push.audience_kind not in AUDIENCES:
        problems.append("受众：请选择受众")
    problems += audience.ref_problems(db, push.audience_kind, push.audience_ref, cfg.districts)
    if push.audience_kind == "test" and not push.test_openids:
        problems.append("测试受众需要至少一个 openid")
    if len(push.test_openids or []) > cfg.preview_limit:
        problems.append(f"测试 openid 最多 {cfg.preview_limit} 个")
    if push.channel == "mass" and push.audience_kind not in ("all", "tag"):
        problems.append("群发只能发给全部粉丝或某个标签；其他受众请用客服消息或模板消息")
    if push.channel == "mass" and push.content_kind == "next_episode":
        problems.append("「每位成员的下一集」因人而异，不能群发")
    if push.channel == "template" and push.content_kind not in cfg.templates:
        problems.append("这类内容没有配置模板（config.yaml push.templates），不能用模板消息")
    return problems


def timing_problems(push: Push, now: datetime) -> list[str]:
    if push.timing == "once" and (push.run_at is None or aware(push.run_at) < now - timedelta(minutes=1)):
        return ["请填写不早于现在的发送时间"]
    if push.timing == "recurring":
        try:
            trigger(push.recurrence or "")
        except ScheduleError as exc:
            return [str(exc)]
    if push.timing == "series":
        if push.run_at is None or push.series_from is None or push.series_to is None:
            return ["系列需要开始时间、起止集数"]
        if push.series_from > push.series_to or (push.series_every_days or 0) < 1:
            return ["系列的起止集数或间隔天数无效"]
        if push.content_kind != "episode":
            return ["系列只能推送新声单集"]
    return []


def plan(db: Session, services: Services, push: Push, now: datetime | None = None) -> list[str]:
    """Check the push and set its next run; the problems (Chinese) if it cannot be scheduled as it is."""
    now, cfg = now or utcnow(), PlanConfig.of(services)
    push.series_done = push.series_done or 0  # column defaults arrive only at insert
    push.needs_approval = bool(push.needs_approval)
    push.test_openids = list(push.test_openids or [])
    push.body = push.body or ""
    push.run_at = utc(push.run_at)
    problems = (
        content_problems(push, services.content.current())
        + audience_problems(db, push, cfg)
        + timing_problems(push, now)
    )
    if problems:
        return problems
    due = next_due(push, now, cfg.quiet)
    conflict = quota_conflict(db, push, now, cfg.quiet, cfg.account_type)
    if conflict:
        return [conflict]
    push.next_run_at = utc(due[0]) if due else None
    push.status = "active" if due else "done"
    push.updated_at = now
    return []


def scope_problems(db: Session, push: Push, account: Any) -> list[str]:
    """Why `account` (scoped to an organisation subtree) may not send this push; nothing for an unscoped account."""
    root = scope_root(db, account)
    return audience.scope_problems(
        db, push.audience_kind, push.audience_ref, push.test_openids or [], root, getattr(account, "openid", None)
    )


def may_manage(db: Session, push: Push, account: Any) -> bool:
    """True when `account` may see and manage the push: unscoped, or its audience lies inside the account's subtree."""
    return audience.within(db, push.audience_kind, push.audience_ref, scope_root(db, account))


def managed_within(root: Organisation) -> ColumnElement[bool]:
    """SQL: the push's audience lies inside `root`'s subtree (may_manage for a list)."""
    codes = select(Organisation.code).where(Organisation.path.startswith(root.path, autoescape=True))
    in_category = [
        Push.audience_ref.in_(
            select(literal(name + audience.SEP, String) + Organisation.code).where(
                Organisation.path.startswith(root.path, autoescape=True)
            )
        )
        for name in CATEGORIES
    ]
    return or_(
        and_(Push.audience_kind.in_(("organisation", "secretaries")), Push.audience_ref.in_(codes)),
        and_(Push.audience_kind == "category", or_(*in_category)),
    )


def reset_approval(push: Push) -> None:
    """An edited push must be approved again."""
    push.approved_by, push.approved_at, push.notice = None, None, None


def approve(push: Push, who: str, now: datetime | None = None, authors: Iterable[str] = ()) -> None:
    """Approve for sending; nobody approves a push they wrote or edited (`authors`, besides created_by)."""
    if who == push.created_by or who in set(authors):
        raise SelfApproval("不能审核自己创建或修改过的推送，请由其他审核人员审核。")
    push.approved_by, push.approved_at, push.notice = who, now or utcnow(), None


# Pause, resume, cancel ---------------------------------------------------------------------------
def set_runs(db: Session, push_id: int, old: tuple[str, ...], new: str) -> int:
    done = db.execute(update(PushRun).where(PushRun.push_id == push_id, PushRun.status.in_(old)).values(status=new))
    return int(done.rowcount or 0)


def pause(db: Session, push: Push) -> int:
    """Stop firing and stop any run in mid-send (its unsent rows wait); how many runs were paused."""
    push.status = "paused"
    return set_runs(db, push.id, ("running",), "paused")


def resume(db: Session, services: Services, push: Push, now: datetime | None = None) -> int:
    """Fire again; a paused run continues (the scheduler picks it up); a time passed while paused moves to now."""
    now, cfg = now or utcnow(), PlanConfig.of(services)
    push.status = "active"
    if push.timing == "recurring" and push.next_run_at is not None and aware(push.next_run_at) < now:
        due = next_due(push, now, cfg.quiet)
        push.next_run_at = utc(due[0]) if due else None
    elif push.next_run_at is not None and aware(push.next_run_at) < now:
        push.next_run_at = now
    push.status = "active" if push.next_run_at is not None else "done"
    return set_runs(db, push.id, ("paused",), "running")


def cancel(db: Session, push: Push) -> int:
    """No more runs; a run in mid-send stops and its unsent recipients are marked cancelled."""
    push.status, push.next_run_at = "cancelled", None
    runs = list(
        db.scalars(select(PushRun.id).where(PushRun.push_id == push.id, PushRun.status.in_(("running", "paused"))))
    )
    set_runs(db, push.id, ("running", "paused"), "cancelled")
    db.execute(
        update(Delivery)
        .where(Delivery.run_id.in_(runs), Delivery.status == "pending")
        .values(status="skipped", reason="cancelled", updated_at=utcnow())
    )
    return len(runs)


# Preview ---------------------------------------------------------------------------------------------
def preview(services: Services, push: Push) -> list[tuple[str, SendResult]]:
    """Send the push now to its test openids (WeChat's mass preview: no 48 h window needed)."""
    library, out = services.content.current(), []
    first = series_item(push, push.series_done) if push.timing == "series" else None
    for openid in push.test_openids or []:
        with services.sessions() as db:
            message = payload(push, library, first[1] if first else None, db, openid)
        if message is None:
            out.append((openid, SendResult(False, "nothing_left")))
            continue
        data = {"touser": openid, "msgtype": "text", "text": {"content": "【预览】" + mass_text(message)}}
        out.append(
            (
                openid,
                services.outbox.call(
                    "preview", lambda d=data: services.wx.post("message/mass/preview", data=d), openid
                ),
            )
        )
    return out


# Firing -------------------------------------------------------------------------------------------------
def claim(services: Services, push_id: int, due: datetime) -> bool:
    """The one process that fires this push at this due time (two schedulers by mistake fire once)."""
    return claim_run(services.redis, JOB_ID.format(push_id), due, CLAIM_TTL)


def advance(push: Push, due: datetime, now: datetime, quiet: list[str]) -> None:
    """After a firing: the next due time, or done."""
    push.series_done += 1 if push.timing in ("once", "series") else 0
    following = next_due(push, max(now, due) + timedelta(seconds=1), quiet)
    push.next_run_at = utc(following[0]) if following else None
    if following is None:
        push.status = "done"


def gate(push: Push, due: datetime, now: datetime, grace: int) -> tuple[str, str | None]:
    """The new run's status: running, or missed (too late), or blocked (approval needed)."""
    if (now - due).total_seconds() > grace:
        return "missed", "错过发送时间（超过调度宽限），未补发"
    if push.needs_approval and push.approved_at is None:
        return "blocked", "未经审核，未发送"
    return "running", None


def start_run(services: Services, push_id: int, now: datetime) -> tuple[int, str] | None:
    """Write the run of the push's due firing (fire-once) and move the push on; (run id, status)."""
    cfg = PlanConfig.of(services)
    with services.sessions() as db:
        push = db.get(Push, push_id)
        if push is None or push.status != "active" or push.next_run_at is None or aware(push.next_run_at) > now:
            return None
        due = aware(push.next_run_at)
        if not claim(services, push_id, due):
            return None
        item = series_item(push, push.series_done) if push.timing == "series" else None
        status, note = gate(push, due, now, cfg.grace)
        run = PushRun(
            push_id=push_id,
            due_at=due,
            episode_no=item[1] if item else None,
            status=status,
            note=note,
            started_at=now,
            finished_at=None if status == "running" else now,
        )
        db.add(run)
        if status == "blocked":
            push.notice = f"{due.astimezone(TZ):%m-%d %H:%M} 的发送因未经审核而没有发出，请审核后等待下一次。"
        advance(push, due, now, cfg.quiet)
        try:
            db.commit()
        except IntegrityError:  # another process wrote this run first
            db.rollback()
            return None
        log.info("push %s fired for %s: run %s %s", push_id, due.isoformat(), run.id, status)
        return run.id, status


def run_push(services: Services, push_id: int, now: datetime | None = None, execute: bool = True) -> int | None:
    """The scheduler's job: fire the push if due, then fan the run out; the run id, or None if nothing fired."""
    started = start_run(services, push_id, now or utcnow())
    if started is None:
        return None
    run_id, status = started
    if status == "running" and execute:
        FanOut(services, run_id).execute()
    return run_id


def jobs(services: Services) -> list[tuple[int, datetime]]:
    """(push id, next run) of every active push: what the scheduler's job store must hold."""
    with services.sessions() as db:
        rows = db.execute(
            select(Push.id, Push.next_run_at).where(Push.status == "active", Push.next_run_at.is_not(None))
        )
        return [(pid, aware(when)) for pid, when in rows]


def runs_of(db: Session, push_id: int) -> list[PushRun]:
    return list(db.scalars(select(PushRun).where(PushRun.push_id == push_id).order_by(PushRun.id.desc())))


def describe_timing(push: Push) -> str:
    """The timing in words for lists."""
    if push.timing == "recurring":
        return f"重复：{push.recurrence}"
    if push.timing == "series":
        return f"系列：第 {push.series_from}–{push.series_to} 集，每 {push.series_every_days} 天"
    return "一次"


# What an editor sets on a push (the console's form), and of those what the audit log keeps (not the free text).
EDITABLE = (
    "title",
    "content_kind",
    "content_ref",
    "body",
    "audience_kind",
    "audience_ref",
    "channel",
    "timing",
    "recurrence",
    "series_from",
    "series_to",
    "series_every_days",
    "needs_approval",
)
AUDITED = tuple(name for name in EDITABLE if name != "body")


def as_dict(push: Push) -> dict[str, Any]:
    """The fields the audit log keeps of a push."""
    out = {k: getattr(push, k) for k in AUDITED}
    out["run_at"] = aware(push.run_at).isoformat() if push.run_at else None
    return out
