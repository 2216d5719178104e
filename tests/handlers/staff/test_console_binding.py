"""Staff alerts in WeChat: a console account binds its WeChat with a one-time code, then gets ticket alerts there."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from bot.core.database import utcnow
from handlers.tickets.notify import escalate
from tests.console.console_helpers import login, submit
from tests.ticket_helpers import new_ticket

CODE = re.compile(r"绑定后台 (\d{10})")  # the code shown on the 微信提醒 page


def bind_code(client: Any) -> str:
    page = submit(client, "/console/wechat/", {}, "/console/wechat/code").get_data(as_text=True)
    return CODE.search(page).group(1)


def staff_in_chat(emu: Any, services: Any) -> str:
    """A WeChat user who follows the account (the staff member's own WeChat)."""
    openid = emu.create_user("指导员", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    return openid


def account_openid(services: Any, username: str) -> str | None:
    with services.sessions() as db:
        return db.scalar(select(Account.openid).where(Account.username == username))


def test_a_code_from_the_console_binds_the_wechat_that_sends_it(client, make_account, services, wx, emu):
    make_account("zhang", "caseworker")
    login(client, "zhang")
    code = bind_code(client)
    openid = staff_in_chat(emu, services)
    reply = wx.text(openid, f"绑定后台 {code}").reply["Content"]
    assert "绑定成功" in reply and "zhang" not in reply  # the chat never names the account
    assert account_openid(services, "zhang") == openid
    assert "无效或已过期" in wx.text(openid, f"绑定后台{code}").reply["Content"]  # a code works once
    assert 'id="bound"' in client.get("/console/wechat/").get_data(as_text=True)
    with services.sessions() as db:
        actions = db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "account.wechat_code" in actions and "account.wechat_bind" in actions


def test_unbinding_in_chat_or_in_the_console(client, make_account, services, wx, emu):
    make_account("li", "caseworker")
    login(client, "li")
    openid = staff_in_chat(emu, services)
    wx.text(openid, f"绑定后台 {bind_code(client)}")
    assert "已解除" in wx.text(openid, "解绑后台").reply["Content"] and account_openid(services, "li") is None
    wx.text(openid, f"绑定后台 {bind_code(client)}")
    submit(client, "/console/wechat/", {}, "/console/wechat/unbind")
    assert account_openid(services, "li") is None


def test_an_overdue_ticket_alerts_bound_staff_in_wechat(client, make_account, services, wx, emu, wait_for):
    make_account("admin1", "admin")
    login(client, "admin1")
    openid = staff_in_chat(emu, services)
    wx.text(openid, f"绑定后台 {bind_code(client)}")  # a message: the 48-hour window is open
    emu.open_window(openid)  # (the simulated client posts to our webhook only; tell the fake WeChat too)
    ticket = new_ticket(services, now=utcnow() - timedelta(hours=3))  # nobody accepted it in 2 hours
    assert escalate(services) == 1
    wait_for(lambda: any(ticket.number in m["body"]["text"]["content"] for m in emu.received(openid, "custom")))


def test_a_new_submission_alerts_the_intake_handler_in_wechat(client, make_account, services, wx, emu, wait_for):
    make_account("intake", "caseworker")  # a caseworker without a department takes in new submissions
    login(client, "intake")
    staff = staff_in_chat(emu, services)
    wx.text(staff, f"绑定后台 {bind_code(client)}")
    emu.open_window(staff)
    employee = emu.create_user("职工", subscribed=True)["openid"]
    for text in ("我要反映", "3", "工资拖欠两个月", "某某电子厂", "跳过", "否"):
        wx.text(employee, text)
    number = re.search(r"JK\d{10}", wx.text(employee, "确认").reply["Content"]).group(0)
    wait_for(lambda: any(number in m["body"]["text"]["content"] for m in emu.received(staff, "custom")))
    assert "待受理" in emu.received(staff, "custom")[-1]["body"]["text"]["content"]
