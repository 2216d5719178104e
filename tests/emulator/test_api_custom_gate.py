"""message/custom/send runs the gate and the send in one Redis script: it must answer exactly as the common gate."""

from __future__ import annotations

import time

from bot.emulator.keys import TOKEN

TEXT = {"msgtype": "text", "text": {"content": "学习通知"}}


def test_token_errors_come_before_the_send(live, emu, wxapi, user):
    emu.open_window(user)
    body = {"touser": user, **TEXT}
    assert wxapi.post("message/custom/send", body, token="")["errcode"] == 41001
    assert wxapi.post("message/custom/send", body, token="no-such-token")["errcode"] == 40001
    token = wxapi.fresh_token()
    emu.redis.set(TOKEN.format(token), repr(time.time() - 1))  # expired
    assert wxapi.post("message/custom/send", body, token=token)["errcode"] == 42001
    assert emu.received(user) == []  # none of them was sent, and none spent the window's budget
    assert wxapi.post("message/custom/send", body, token=wxapi.fresh_token()) == {"errcode": 0, "errmsg": "ok"}
    assert len(emu.received(user, "custom")) == 1


def test_injected_errors_are_answered_in_turn_and_send_nothing(live, emu, wxapi, user):
    emu.open_window(user)
    emu.inject("message/custom/send", 45047, times=2)
    body = {"touser": user, **TEXT}
    assert [wxapi.post("message/custom/send", body)["errcode"] for _ in range(3)] == [45047, 45047, 0]
    assert len(emu.received(user, "custom")) == 1


def test_a_malformed_call_still_meets_the_gate_first(live, emu, wxapi, user):
    emu.open_window(user)
    assert (
        wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {}}, token="bad")["errcode"]
        == 40001
    )
    emu.inject("message/custom/send", 45009)
    assert wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {}})["errcode"] == 45009
    assert wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {}})["errcode"] == 44004


def test_window_and_subscription_rules_still_hold(live, emu, wxapi, user):
    body = {"touser": user, **TEXT}
    assert wxapi.post("message/custom/send", body)["errcode"] == 45015  # no window opened
    emu.open_window(user)
    assert [wxapi.post("message/custom/send", body)["errcode"] for _ in range(6)] == [0, 0, 0, 0, 0, 45047]
    emu.set_subscribed(user, False)
    assert wxapi.post("message/custom/send", body)["errcode"] == 43004
