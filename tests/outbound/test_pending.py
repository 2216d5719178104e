"""Texts kept for a user's next message (bot.outbound.pending): durable in the database, sent once when the user
writes again, in order, even after Redis lost its hint, with two flushes racing, or after WeChat refused one."""

from __future__ import annotations

import threading
from typing import Any

from bot.outbound import pending

DELIVERED: list[str] = []  # refs the after-delivery hook was called with


def record_delivery(_services: Any, ref: str) -> None:
    """The `then` hook these tests name."""
    DELIVERED.append(ref)


def texts(emu: Any, openid: str) -> list[str]:
    return [m["body"]["text"]["content"] for m in emu.received(openid, "custom")]


def follower(services: Any, emu: Any) -> str:
    openid = emu.create_user("测试用户", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    return openid


def test_kept_texts_go_out_at_the_next_message_once_and_in_order(wxo, services, emu, wait_for):
    DELIVERED.clear()
    openid = follower(services, emu)
    assert not pending.send_or_keep(services, openid, "测试通知一", "test", ref="1", then=f"{__name__}:record_delivery")
    pending.keep(services, openid, "【补发】测试通知二", "test")
    assert texts(emu, openid) == [] and pending.waiting(services, openid) == 2
    wxo.text(openid, "你好")
    wait_for(lambda: len(texts(emu, openid)) == 2)
    assert texts(emu, openid) == ["【补发】测试通知一", "【补发】测试通知二"]  # one head, however often it waited
    assert DELIVERED == ["1"] and pending.waiting(services, openid) == 0
    assert pending.flush(services, openid) == 0  # nothing goes twice
    assert pending.send_or_keep(services, openid, "测试通知三", "test")  # the window is open: sent at once
    assert texts(emu, openid)[-1] == "测试通知三"


def test_a_lost_redis_loses_nothing(wxo, services, emu, wait_for):
    openid = follower(services, emu)
    pending.keep(services, openid, "测试通知", "test")
    services.redis.flushdb()  # the hint and its "ready" mark are gone; the row is not
    wxo.text(openid, "在吗")
    wait_for(lambda: texts(emu, openid))
    assert texts(emu, openid) == ["【补发】测试通知"]
    assert services.redis.exists(pending.READY)


def test_two_flushes_at_once_send_each_text_once(live, services, emu):
    openid = follower(services, emu)
    for n in range(5):
        pending.keep(services, openid, f"测试通知{n}", "test")
    services.followers.touch(openid)
    emu.open_window(openid)
    counts: list[int] = []
    runs = [threading.Thread(target=lambda: counts.append(pending.flush(services, openid))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(counts) == 5 and len(texts(emu, openid)) == 5


def test_a_refused_text_is_kept_for_the_following_message(live, services, emu):
    openid = follower(services, emu)
    pending.keep(services, openid, "测试通知", "test")
    assert pending.flush(services, openid) == 0  # WeChat refuses: the user's window is not open (45015)
    assert pending.waiting(services, openid) == 1 and services.redis.sismember(pending.HINT, openid)
    emu.open_window(openid)
    assert pending.flush(services, openid) == 1 and texts(emu, openid) == ["【补发】测试通知"]
