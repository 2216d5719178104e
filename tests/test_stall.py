"""Never past WeChat's 5 seconds: a paused Redis or a locked database gets 「系统繁忙」 in time, /healthz answers
within a second naming what is down, and nothing the user entered is lost."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.core.services import make_engine
from handlers.tickets.models import Ticket
from tests.stall_support import paused, private_redis, served, write_locked

ANSWERS = ["我要反映", "3", "公司拖欠两个月工资", "某某电子厂", "跳过", "否"]  # up to the summary


def test_a_paused_redis_gets_a_busy_reply_in_time_and_healthz_names_it(database_url, tmp_path):
    with (
        private_redis(tmp_path / "redis") as server,
        served(f"unix://{server.socket_file}", database_url, tmp_path) as (app, wx),
    ):
        user = "o_stall_" + "x" * 20
        assert wx.text(user, "帮助").ok  # answered normally; the connections are warm
        soft_limit = app.extensions["bot"].settings.section("webhook")["soft_limit"]
        with paused(server.pid):
            t0 = time.monotonic()
            reply = wx.text(user, "我要反映")
            took = time.monotonic() - t0
            assert reply.ok and "系统繁忙" in reply.text and "再发一次" in reply.text
            assert took < soft_limit
            t0 = time.monotonic()
            health = app.test_client().get("/healthz")
            assert time.monotonic() - t0 < 1.0
            assert health.status_code == 503 and health.json == {"status": "error", "failing": ["redis"]}
        again = wx.text(user, "我要反映")  # Redis is back: the message sent again goes through
        assert "第1步" in again.text
        assert app.test_client().get("/healthz").status_code == 200


def test_a_locked_database_at_confirm_gets_a_busy_reply_and_keeps_the_draft(app, wx, user, database_url, services):
    for answer in ANSWERS:
        wx.text(user, answer)
    table = "ticket_counters"
    with write_locked(database_url, table):
        t0 = time.monotonic()
        reply = wx.text(user, "确认")
        took = time.monotonic() - t0
    assert "系统繁忙" in reply.text and "「确认」" in reply.text
    assert took < services.settings.section("webhook")["soft_limit"]
    assert services.dialogs.get(user).state == "ticket:confirm"
    done = wx.text(user, "确认").text
    assert "提交成功" in done
    assert "无需重复提交" in wx.text(user, "确认").text
    with services.sessions() as db:
        [ticket] = db.scalars(select(Ticket).where(Ticket.openid == user)).all()
    assert (ticket.category, ticket.description, ticket.place) == ("劳动权益", "公司拖欠两个月工资", "某某电子厂")


def test_a_locked_database_mid_dialog_keeps_the_step_for_a_resend(app, wx, user, database_url, services):
    for answer in ANSWERS[:3]:
        wx.text(user, answer)
    with write_locked(database_url, "ticket_drafts"):
        t0 = time.monotonic()
        reply = wx.text(user, "某某电子厂").text
        assert time.monotonic() - t0 < services.settings.section("webhook")["soft_limit"]
    assert "系统繁忙" in reply and "再发一次" in reply
    assert services.dialogs.get(user).state == "ticket:place"  # still waiting for the place
    assert "联系电话" in wx.text(user, "某某电子厂").text  # sent again: on to the next step
    assert "匿名" in wx.text(user, "跳过").text
    summary = wx.text(user, "否").text
    assert "公司拖欠两个月工资" in summary and "某某电子厂" in summary


def test_healthz_answers_within_a_second_when_the_database_does_not(app, services):
    real = services.engine
    services.engine = make_engine("postgresql+psycopg://bot@10.255.255.1:5432/bot", services.settings)  # never answers
    try:
        t0 = time.monotonic()
        res = app.test_client().get("/healthz")
        assert time.monotonic() - t0 < 1.0
    finally:
        services.engine = real
    assert res.status_code == 503 and res.json == {"status": "error", "failing": ["database"]}


def test_statement_parameters_never_reach_logs(services):
    """A failing statement (here: a required column missing) names the SQL, never the values."""
    secret = "o_secret_openid_13800138000"
    with pytest.raises(IntegrityError) as failed, services.engine.begin() as conn:
        conn.execute(text("INSERT INTO followers (openid, subscribed, tags) VALUES (:o, true, '[]')"), {"o": secret})
    assert secret not in str(failed.value) and "hidden" in str(failed.value)
