"""The emulator enforces WeChat's 2,047-byte text limit: an oversized passive reply shows WeChat's failure notice
(in the simulated client and on the chat page); an oversized customer-service text gets errcode 45002."""

from __future__ import annotations

import pytest
import requests

from bot.emulator.client import FAULT, REPLY_LIMIT
from tests.size_helpers import custom_texts, nbytes, unfitted

AT_LIMIT = "欢" * 682 + "a"  # 2,047 bytes: shown
OVER = "欢" * 682 + "ab"  # 2,048 bytes: refused


@pytest.mark.config(followers={"welcome": OVER})
def test_an_oversized_passive_reply_shows_the_failure_notice(wxo, emu, monkeypatch):
    unfitted(monkeypatch)
    openid = emu.create_user("新用户")["openid"]
    ex = wxo.subscribe(openid)
    assert ex.status == 200 and nbytes(ex.reply["Content"]) == 2048  # the bot did answer...
    assert not ex.ok and ex.text == FAULT  # ...but the user sees WeChat's notice instead
    assert not [e for e in emu.messages(openid) if e["dir"] == "out"]  # nothing reached the user


@pytest.mark.config(followers={"welcome": AT_LIMIT})
def test_a_reply_of_exactly_2047_bytes_is_shown(wxo, emu, monkeypatch):
    unfitted(monkeypatch)
    openid = emu.create_user("新用户")["openid"]
    ex = wxo.subscribe(openid)
    assert ex.ok and ex.text == AT_LIMIT
    [passive] = [e for e in emu.messages(openid) if e["kind"] == "passive"]
    assert passive["body"]["Content"] == AT_LIMIT


@pytest.mark.config(followers={"welcome": OVER})
def test_the_chat_page_shows_the_failure_notice_instead_of_the_text(live, monkeypatch):
    unfitted(monkeypatch)
    chat = live + "/emulator/chat"
    openid = requests.post(chat + "/users", json={"nickname": "页面用户"}, timeout=10).json()["user"]["openid"]
    answer = requests.post(f"{chat}/users/{openid}/follow", json={}, timeout=30).json()
    assert answer["ok"] is False and answer["error"] == FAULT and answer["reply"] is None
    assert str(REPLY_LIMIT) in answer["detail"]
    shown = requests.get(f"{chat}/users/{openid}/messages", timeout=10).json()["messages"]
    assert [m["text"] for m in shown if m["side"] == "system" and m["format"] == "error"] == [FAULT]
    assert not [m for m in shown if m["side"] == "account"]


def test_an_oversized_customer_service_text_gets_45002(wxo, wxapi, emu, user):
    assert wxo.text(user, "你好").ok  # opens the 48-hour window
    over = wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {"content": OVER}})
    assert (over["errcode"], over["errmsg"]) == (45002, "content size out of limit")
    assert custom_texts(emu, user) == []
    fits = wxapi.post("message/custom/send", {"touser": user, "msgtype": "text", "text": {"content": AT_LIMIT}})
    assert fits["errcode"] == 0 and custom_texts(emu, user) == [AT_LIMIT]


def test_the_outbox_sends_a_long_text_as_several_messages_in_order(wxo, services, emu, user):
    assert wxo.text(user, "你好").ok
    paragraphs = [f"第{i}段：" + "为人民服务" * 60 + f"，编号{i:04d}1234567890。" for i in range(1, 5)]
    text = "\n\n".join(paragraphs)  # about 3,800 bytes
    assert services.outbox.send_text(user, text).ok
    received = custom_texts(emu, user)
    assert len(received) == 2 and all(nbytes(t) <= REPLY_LIMIT for t in received)
    assert "".join(received) == text  # nothing lost, nothing reordered, cut between paragraphs
    assert received[0].endswith("\n\n") and received[1].startswith("第3段")
