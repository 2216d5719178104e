"""The emulator cannot be turned against others: it posts only to the configured webhook whatever the Host
header says, and no web page can change its state (every state-changing endpoint takes JSON only)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from tests.helpers import free_port

FORMS = [
    ("text/plain", '{"nickname": "x"}'),
    ("application/x-www-form-urlencoded", "nickname=x"),
    ("multipart/form-data; boundary=b", '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n'),
]


class Sink:
    """An HTTP server elsewhere that records every request it gets (where a forged Host would send the emulator)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.hits: list[str] = []
        self.server = make_server("127.0.0.1", self.port, self.app)

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.hits.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"success"]


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    thread = threading.Thread(target=s.server.serve_forever, daemon=True)
    thread.start()
    yield s
    s.server.shutdown()
    thread.join(5)


def chat(live: str, path: str, data: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
    return requests.post(f"{live}/emulator/chat{path}", json=data if data is not None else {}, timeout=30, **kw)


def test_chat_page_posts_to_the_configured_webhook_whatever_the_host_header(live, emu, sink, services):
    openid = chat(live, "/users", {"nickname": "张三"}).json()["user"]["openid"]
    forged = {"Host": f"127.0.0.1:{sink.port}"}
    res = chat(live, f"/users/{openid}/follow", headers=forged)
    assert res.status_code == 200 and res.json()["ok"]
    assert "欢迎关注" in res.json()["reply"]["Content"]
    res = chat(live, f"/users/{openid}/text", {"content": "帮助"}, headers=forged)
    assert res.json()["ok"] and res.json()["reply"]["ToUserName"] == openid
    assert sink.hits == []


def test_api_job_reports_go_to_the_configured_webhook_whatever_the_host_header(
    live, emu, user, sink, services, wait_for
):
    """TEMPLATESENDJOBFINISH after a template send: posted to this app's webhook, not to the Host's address."""
    token = emu.issue_token()[0]
    res = requests.post(
        f"{live}/emulator/cgi-bin/message/template/send",
        params={"access_token": token},
        json={"touser": user, "template_id": "tpl", "data": {}},
        headers={"Host": f"127.0.0.1:{sink.port}"},
        timeout=30,
    )
    msg_id = res.json()["msgid"]
    assert wait_for(lambda: services.redis.hgetall(f"wxjob:templatesendjobfinish:{msg_id}"))["Status"] == "success"
    assert sink.hits == []


@pytest.mark.parametrize("content_type,body", FORMS)
def test_reset_takes_json_only_so_no_web_page_can_wipe_the_emulator(live, emu, user, content_type, body):
    res = requests.post(
        f"{live}/emulator/control/reset", data=body.encode(), headers={"Content-Type": content_type}, timeout=10
    )
    assert res.status_code == 400 and res.json()["ok"] is False
    assert emu.user(user) is not None  # nothing was wiped
    assert requests.post(f"{live}/emulator/control/reset", json={}, timeout=10).json() == {"ok": True}
    assert emu.user(user) is None


@pytest.mark.parametrize("content_type,body", FORMS[:2])
def test_inject_takes_json_only(live, emu, wxapi, user, content_type, body):
    forged = '{"path": "user/info", "errcode": 48001, "times": 1}' if content_type == "text/plain" else body
    res = requests.post(
        f"{live}/emulator/control/inject", data=forged.encode(), headers={"Content-Type": content_type}, timeout=10
    )
    assert res.status_code == 400
    assert wxapi.get("user/info", openid=user)["openid"] == user  # no error was injected


@pytest.mark.parametrize("content_type,body", FORMS)
def test_chat_endpoints_refuse_what_a_form_can_send(live, emu, user, content_type, body):
    before = emu.users()
    headers = {"Content-Type": content_type}
    for path in (
        "/users",
        f"/users/{user}/unfollow",
        f"/users/{user}/text",
        f"/users/{user}/click",
        f"/users/{user}/view",
        f"/users/{user}/image",
    ):
        res = requests.post(f"{live}/emulator/chat{path}", data=body.encode(), headers=headers, timeout=10)
        assert res.status_code == 400, path
    assert emu.users() == before and emu.messages(user) == []
