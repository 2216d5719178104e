"""The inbound flow through the emulator: retries handled once, per-user ordering, deferral, late replies."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.inbound.router import Router
from tests.helpers import poll as wait_for


@pytest.fixture
def routes(app) -> Router:
    """A test router placed where feature routers go (after the global commands)."""
    router = Router("test")
    app.extensions["bot"].dispatcher.routers.insert(1, router)
    return router


def test_three_attempts_are_handled_once(routes, wx, user):
    calls = []

    @routes.text("登记")
    def create(msg, ctx):
        calls.append(msg.msg_id)
        return f"已登记，编号 {len(calls)}"

    fields = wx.build(user, "text", Content="登记")
    replies = [wx.post(fields).text for _ in range(3)]
    assert calls == [str(fields["MsgId"])]
    assert replies == ["已登记，编号 1"] * 3


def test_event_retries_are_handled_once(routes, wx, user):
    calls = []

    @routes.click("COUNT")
    def count(msg, ctx):
        calls.append(msg.create_time)
        return f"第{len(calls)}次点击"

    fields = wx.build(user, "event", Event="CLICK", EventKey="COUNT")
    for _ in range(3):  # same sender, CreateTime and key: WeChat's retries (or a second click in the same second)
        assert wx.post(fields).text == "第1次点击"
    later = wx.post({**fields, "CreateTime": fields["CreateTime"] + 1})  # the user clicks again a second later
    assert later.text == "第2次点击"  # a new event: handled, and answered with its own reply
    assert calls == [fields["CreateTime"], fields["CreateTime"] + 1]


@pytest.mark.config(webhook={"retry_wait": 0.2, "wechat_timeout": 0.25})  # WeChat retrying after 0.25 s, not 5
def test_retry_during_a_slow_first_attempt_gets_success_then_a_late_reply(routes, wxo, user, emu):
    @routes.text("慢")
    def slow(msg, ctx):
        time.sleep(1.0)
        return "慢慢来的回复"

    fields = wxo.build(user, "text", Content="慢")
    first = ThreadPoolExecutor(1).submit(wxo.post, fields)
    time.sleep(0.3)
    t0 = time.monotonic()
    retry = wxo.post(fields)
    assert retry.status == 200 and retry.reply is None  # "success": WeChat shows nothing yet
    assert time.monotonic() - t0 < 0.9
    first.result()
    late = wait_for(lambda: emu.received(user, "custom"))
    assert late[0]["body"]["text"]["content"] == "慢慢来的回复"


def test_two_quick_messages_from_one_user_keep_the_dialog_consistent(routes, wx, user, services):
    @routes.text("加一")
    def add(msg, ctx):
        n = ctx.dialog.data.get("n", 0)
        time.sleep(0.1)  # a slow read-modify-write: without the user lock, updates would be lost
        ctx.dialog.set("counting", n=n + 1)
        return f"第{n + 1}次"

    with ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda _: wx.text(user, "加一").text, range(5)))
    assert sorted(replies) == [f"第{i}次" for i in range(1, 6)]
    assert services.dialogs.get(user).data["n"] == 5


@pytest.mark.config(dialog={"lock_wait": 0.2})
def test_a_message_waiting_too_long_for_the_lock_is_answered_later(routes, wxo, user, emu):
    @routes.text("长任务")
    def long(msg, ctx):
        time.sleep(1.0)
        return "长任务完成"

    @routes.text("短")
    def short(msg, ctx):
        return "短回复"

    first = ThreadPoolExecutor(1).submit(wxo.text, user, "长任务")
    time.sleep(0.2)
    second = wxo.text(user, "短")
    assert second.reply is None
    assert first.result().text == "长任务完成"
    late = wait_for(lambda: emu.received(user, "custom"))
    assert late[0]["body"]["text"]["content"] == "短回复"


@pytest.mark.config(webhook={"soft_limit": 0.5})
def test_deferred_work_past_the_soft_limit_goes_out_through_the_outbox(routes, wxo, user, emu):
    @routes.text("查询")
    def query(msg, ctx):
        def work(c):
            time.sleep(1.0)
            return "查询结果：一切正常"

        return ctx.later(work, notice="正在查询，请稍候…")

    t0 = time.monotonic()
    ex = wxo.text(user, "查询")
    assert time.monotonic() - t0 < 0.9
    assert ex.text == "正在查询，请稍候…"
    late = wait_for(lambda: emu.received(user, "custom"))
    assert late[0]["body"]["text"]["content"] == "查询结果：一切正常"


def test_deferred_work_inside_the_soft_limit_is_a_passive_reply(routes, wxo, user, emu):
    @routes.text("快查")
    def query(msg, ctx):
        return ctx.later(lambda c: "很快就好")

    assert wxo.text(user, "快查").text == "很快就好"
    time.sleep(0.2)
    assert emu.received(user) == []


def test_dialog_expires_after_its_ttl(app, routes, wx, user, services):
    @routes.text("开始")
    def start(msg, ctx):
        ctx.dialog.set("demo:step1")
        return "开始了"

    wx.text(user, "开始")
    assert services.dialogs.get(user).state == "demo:step1"
    assert 0 < services.redis.ttl(f"dlg:{user}") <= services.settings.section("dialog")["ttl"]


def test_cancel_leaves_any_dialog(routes, wx, user, services):
    @routes.state("demo")
    def in_demo(msg, ctx):
        return "仍在演示中"

    services.dialogs.update(user, "demo:step1", x=1)
    assert wx.text(user, "随便").text == "仍在演示中"
    assert "已取消" in wx.text(user, "取消").text
    assert services.dialogs.get(user).state is None
    assert "没有进行中" in wx.text(user, "取消").text


def test_unknown_text_gets_a_helpful_answer(wx, user):
    text = wx.text(user, "今天天气怎么样").text  # no command: searched, and a miss points to the menu and help
    assert "没有找到" in text and "帮助" in text


def test_unknown_text_inside_a_dialog_nobody_handles_gets_the_fallback(wx, user, services):
    services.dialogs.update(user, "orphan:step")
    text = wx.text(user, "今天天气怎么样").text
    assert "没能理解" in text and "帮助" in text


def test_help_lists_the_menu(wx, user, services):
    text = wx.text(user, "帮助").text
    for button in services.settings.section("menu")["button"]:
        assert button["name"] in text


def test_help_from_the_menu_click(wx, user):
    text = wx.click(user, "HELP").text
    assert text.startswith("您好！这里是园区微党建公众号") and "常用指令" in text
