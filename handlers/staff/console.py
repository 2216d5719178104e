"""The console's 微信提醒 page: an account binds its WeChat (a one-time code sent in chat) for ticket alerts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.web import current, login_required, services
from bot.core.logs import mask
from handlers.staff import alerts as staff_alerts

bp = Blueprint("binding", __name__, url_prefix="/wechat", template_folder="templates")


@bp.get("/")
@login_required
def index() -> str:
    me = current()
    return render_template(
        "console/binding.html",
        bound=mask(me.openid) if me.openid else None,
        form=ActionForm(),
        ttl_minutes=staff_alerts.BIND_TTL // 60,
    )


@bp.post("/code")
@login_required
def code() -> str:
    if not ActionForm().validate_on_submit():
        abort(400)
    new = staff_alerts.new_code(services(), current().id)
    audit.record("account.wechat_code", current().username)
    me = current()
    return render_template(
        "console/binding.html",
        bound=mask(me.openid) if me.openid else None,
        form=ActionForm(),
        code=new,
        ttl_minutes=staff_alerts.BIND_TTL // 60,
    )


@bp.post("/unbind")
@login_required
def unbind() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    me = current()
    if me.openid:
        me.openid = None
        audit.record("account.wechat_unbind", me.username, via="console")
        flash("已解除微信绑定，不再在微信中收到诉求提醒。", "success")
    return redirect(url_for(".index"))
