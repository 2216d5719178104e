"""The audit log: every console change is written here in the same commit; admins read it at /console/audit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console.paging import paginate
from bot.console.web import client_ip, current, db, role_required
from bot.core.accounts import Account, AuditEntry

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50  # audit entries per page
# action → what the audit page calls it
ACTIONS = {
    "login": "登录",
    "login.failed": "登录失败",
    "login.locked": "登录被锁定",
    "logout": "退出登录",
    "password.change": "修改密码",
    "account.create": "创建账号",
    "account.roles": "修改角色",
    "account.disable": "停用账号",
    "account.enable": "启用账号",
    "account.reset_password": "重置密码",
    "account.scope": "设置所辖组织",
    "account.ticketing": "设置诉求部门和主管",
    "account.wechat_code": "生成微信绑定码",
    "account.wechat_bind": "绑定微信提醒",
    "account.wechat_unbind": "解除微信提醒",
    "admin.create": "命令行创建管理员",
    "admin.reset": "命令行重置管理员",
    "tag.create": "新建标签",
    "tag.sync": "从微信同步标签",
    "tag.assign": "添加标签",
    "tag.remove": "移除标签",
    "ticket.export": "导出诉求",
}


def write(
    session: Session,
    action: str,
    actor: Account | None,
    *,
    actor_name: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add one entry and commit it, together with whatever else `session` holds."""
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor else None,
        actor=actor_name or (actor.username if actor else "-"),
        target=target,
        details=details or {},
        ip=ip,
    )
    session.add(entry)
    session.commit()
    return entry


def record(action: str, target: str | None = None, actor_name: str | None = None, **details: Any) -> AuditEntry:
    """In a console request: write an entry as the signed-in account, from the client's IP."""
    return write(db(), action, current(), actor_name=actor_name, target=target, details=details, ip=client_ip())


def filtered() -> Any:
    """Audit entries matching ?actor= and ?action=, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    actor, action = request.args.get("actor", "").strip(), request.args.get("action", "").strip()
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    return query


@bp.get("/")
@role_required("admin")
def index() -> str:
    """The audit log, paged, filtered by user and action."""
    page = paginate(db(), filtered(), PER_PAGE)
    actors = db().execute(select(Account.username).order_by(Account.username)).scalars().all()
    return render_template(
        "console/audit.html",
        page=page,
        actions=ACTIONS,
        actors=actors,
        actor=request.args.get("actor", ""),
        action=request.args.get("action", ""),
    )
