"""Console staff in chat: 「绑定后台 1234567890」 binds this WeChat user to a console account for ticket alerts."""

from __future__ import annotations

import math

from bot.core.accounts import AuditEntry
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router
from handlers.staff import alerts as staff_alerts

router = Router("staff")


@router.regex(r"^绑定后台(?P<code>\d{4,20})$")
def bind(msg: Message, ctx: Context) -> str:
    """The code comes from the console's 微信提醒 page; it works once, for 10 minutes. Tries are limited per user
    and overall, and no reply names the account (the console shows the binding to its owner)."""
    wait = staff_alerts.try_allowed(ctx.services, ctx.openid)
    if wait:
        return f"绑定码尝试次数过多，请 {max(1, math.ceil(wait / 60))} 分钟后再试。"
    account = staff_alerts.bind(ctx.services, ctx.db, ctx.match["code"], ctx.openid)
    if account is None:
        ctx.db.rollback()
        return "绑定码无效或已过期。请在管理后台「微信提醒」页面重新生成绑定码（10 分钟内有效）。"
    ctx.db.add(
        AuditEntry(
            action="account.wechat_bind",
            actor_id=account.id,
            actor=account.username,
            target=account.username,
            details={"via": "chat"},
        )
    )
    ctx.db.commit()
    return "绑定成功：新诉求和超期提醒会发到这里，管理后台「微信提醒」页面会显示已绑定。回复「解绑后台」可解除。"


@router.text("解绑后台", "解除绑定后台")
def unbind(msg: Message, ctx: Context) -> str:
    names = staff_alerts.unbind(ctx.db, ctx.openid)
    if not names:
        ctx.db.rollback()
        return "这个微信没有绑定管理后台账号。"
    ctx.db.add(AuditEntry(action="account.wechat_unbind", actor="-", target="、".join(names), details={"via": "chat"}))
    ctx.db.commit()
    return f"已解除与管理后台账号「{'、'.join(names)}」的绑定，不再收到诉求提醒。"
