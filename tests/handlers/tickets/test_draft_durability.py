"""Drafts survive a Redis loss: what a submitter entered is kept in the database, the embedded Redis keeps an
append-only file, and 确认 after the loss still submits everything."""

from __future__ import annotations

import os
import shutil
import signal

from sqlalchemy import select

from bot.core.services import EMBEDDED_CONFIG
from handlers.tickets.models import Ticket
from tests.stall_support import private_redis

ANSWERS = ["我要反映", "3", "公司拖欠两个月工资", "某某电子厂", "13900001111", "是"]  # up to the summary


def fill(wx, user, answers=ANSWERS) -> str:
    return [wx.text(user, a).text for a in answers][-1]


def tickets(services, openid):
    with services.sessions() as db:
        return list(db.scalars(select(Ticket).where(Ticket.openid == openid)))


def test_confirm_after_redis_lost_everything_submits_the_whole_draft(wx, user, services):
    assert "请核对" in fill(wx, user)
    services.redis.flushdb()  # Redis lost everything: the dialog and the draft's cached copy
    done = wx.text(user, "确认").text
    assert "提交成功" in done
    [ticket] = tickets(services, user)
    assert (ticket.category, ticket.description, ticket.place, ticket.phone, ticket.anonymous) == (
        "劳动权益",
        "公司拖欠两个月工资",
        "某某电子厂",
        "13900001111",
        True,
    )
    assert ticket.number in done
    assert "无需重复提交" in wx.text(user, "确认").text


def test_a_draft_halfway_is_offered_again_after_redis_lost_everything(wx, user, services):
    fill(wx, user, ANSWERS[:4])
    services.redis.flushdb()
    offer = wx.text(user, "我要反映").text
    assert "未提交的诉求草稿" in offer and "劳动权益" in offer
    assert "联系电话" in wx.text(user, "继续").text  # where they stopped
    assert "请核对" in fill(wx, user, ["13900001111", "否"])
    assert "提交成功" in wx.text(user, "确认").text
    [ticket] = tickets(services, user)
    assert (ticket.description, ticket.place, ticket.phone) == ("公司拖欠两个月工资", "某某电子厂", "13900001111")


def test_cancel_forgets_the_stored_draft_too(wx, user, services):
    fill(wx, user, ANSWERS[:3])
    assert "已取消" in wx.text(user, "取消").text
    services.redis.flushdb()
    assert "第1步" in wx.text(user, "我要反映").text  # nothing offered from the database either


def test_the_embedded_redis_keeps_what_it_was_told_across_a_crash(tmp_path):
    with private_redis(tmp_path / "before", **EMBEDDED_CONFIG) as server:
        server.set("tickets:draft:o_someone", "kept")
        os.kill(server.pid, signal.SIGKILL)  # a crash: no save on the way out
        aof = tmp_path / "before" / "appendonly.aof"
        assert aof.exists()
        restarted = tmp_path / "after"
        restarted.mkdir()
        shutil.copy(aof, restarted / "appendonly.aof")  # the same files, started again
    with private_redis(restarted, **EMBEDDED_CONFIG) as again:
        assert again.get("tickets:draft:o_someone") == b"kept"


def test_the_embedded_default_runs_with_an_append_only_file(tmp_path):
    from bot.core import services as extensions

    client = extensions.embedded_redis(tmp_path)
    try:
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        extensions._embedded.pop(str(tmp_path / extensions.EMBEDDED_REDIS)).shutdown()
