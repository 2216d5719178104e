"""Webhook trust: accepted modes (no downgrade), nonce reuse, dedupe by sender, junk query values, and access
logs that carry paths but never a webhook's signed query."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from bot.core.config import DEV_SECRETS
from bot.core.database import Follower
from bot.emulator.client import SimClient, new_openid, to_xml
from bot.inbound.webhook import NONCE_KEY, accepted_modes
from tests import factories as f
from tests.helpers import free_port, poll
from tests.inbound.webhook_helpers import PATH, PLAIN_OK, nothing_stored

ROOT = Path(__file__).resolve().parents[2]


def send(client, query: dict[str, str], body: str, **kw: Any):
    return client.post(f"{PATH}?{urlencode(query)}", data=body.encode(), content_type="text/xml", **kw)


def follower(services, openid: str) -> Follower | None:
    with services.sessions() as db:
        return db.get(Follower, openid)


# Downgrade ---------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [{}, {"encrypt_type": "raw"}, {"encrypt_type": "aes²"}])
def test_plaintext_post_with_a_valid_signature_is_refused_when_an_aes_key_is_set(client, plain, services, extra):
    """The plain signature covers no body: with an AES key only encrypt_type=aes is accepted by default."""
    query, body = plain.query_and_body(f.event(new_openid(), "subscribe"))
    res = send(client, {**query, **extra}, body)
    assert res.status_code == 403
    assert nothing_stored(services)


@pytest.mark.config(webhook=PLAIN_OK)
def test_plaintext_is_accepted_during_a_configured_migration_window(client, plain, services):
    openid = new_openid()
    res = send(client, *plain.query_and_body(f.event(openid, "subscribe")))
    assert res.status_code == 200 and "欢迎关注" in res.get_data(as_text=True)
    assert follower(services, openid).subscribed


def test_without_an_aes_key_plain_is_the_only_mode():
    assert accepted_modes(["aes"], has_key=False) == {"plain"}
    assert accepted_modes([], has_key=True) == {"aes"}
    assert accepted_modes(PLAIN_OK["accepted_modes"], has_key=True) == {"aes", "plain"}


@pytest.mark.parametrize("bad", [[], ["none"], "aes", ["aes", "rot13"], None])
def test_accepted_modes_is_checked_at_start_up(bad):
    from bot import create_app

    with pytest.raises(SystemExit, match=r"config error: config.yaml webhook.accepted_modes"):
        create_app({"env": {"BOT_ENV": "testing"}, "webhook": {"accepted_modes": bad}})


# Nonce reuse -------------------------------------------------------------------------
@pytest.mark.config(webhook=PLAIN_OK)
def test_a_reused_timestamp_and_nonce_with_another_body_is_refused(client, plain, services):
    """A signed URL copied from a log cannot carry another body: 403, nothing handled."""
    query, body = plain.query_and_body(f.text(new_openid(), "帮助"))
    assert send(client, query, body).status_code == 200
    victim = new_openid()
    forged = to_xml(f.event(victim, "subscribe"))
    assert send(client, query, forged).status_code == 403
    assert follower(services, victim) is None
    assert len(services.redis.keys("dd:*")) == 1  # only the genuine message was handled


def test_a_byte_identical_resend_is_wechats_retry_and_gets_the_first_reply(client, sim, services, app):
    query, body = sim.query_and_body(f.text(new_openid(), "帮助"))
    first, again = send(client, query, body), send(client, query, body)
    assert first.status_code == again.status_code == 200
    assert (
        sim.open_reply(again.get_data(as_text=True), 200)["Content"]
        == sim.open_reply(first.get_data(as_text=True), 200)["Content"]
    )
    window = app.extensions["bot"].settings.section("webhook")["timestamp_window"]
    assert 0 < services.redis.ttl(NONCE_KEY.format(query["timestamp"], query["nonce"])) <= window + 1


# Dedupe by sender --------------------------------------------------------------------
def test_two_users_sending_the_same_msgid_each_get_their_own_reply(client, sim):
    alice, bob = new_openid(), new_openid()
    a = send(client, *sim.query_and_body({**f.text(alice, "帮助"), "MsgId": 24000000000000001}))
    b = send(client, *sim.query_and_body({**f.text(bob, "取消"), "MsgId": 24000000000000001}))
    ra, rb = sim.open_reply(a.get_data(as_text=True), 200), sim.open_reply(b.get_data(as_text=True), 200)
    assert ra["ToUserName"] == alice and "学习" in ra["Content"]
    assert rb["ToUserName"] == bob and "当前没有进行中的操作" in rb["Content"]


# Junk query values -------------------------------------------------------------------
def junk_queries() -> list[str]:
    now = str(int(time.time()))
    return [
        "timestamp=%C2%B2",
        "timestamp=" + "9" * 5000,
        "timestamp=%EF%BC%91%EF%BC%97",
        "timestamp=-1",
        "timestamp=1e9",
        "timestamp=%20" + now,
        f"timestamp={now}&nonce=" + "1" * 5000,
        f"timestamp={now}&nonce=1&signature=%FF%FE%00",
        f"timestamp={now}&nonce=%00&encrypt_type=aes&msg_signature=%E4%BD%A0",
        "timestamp=%C2%B2&timestamp=" + now,
        "%%%%&&==",
        "",
        f"timestamp={now}&nonce=%C2%B2&signature=²",
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_junk_query_values_are_refused_never_a_5xx(client, live, services, method):
    for qs in junk_queries():
        through_client = client.open(f"{PATH}?{qs}", method=method, data=b"<xml/>").status_code
        through_http = requests.request(method, f"{live}{PATH}?{qs}", data=b"<xml/>", timeout=10).status_code
        assert through_client in (400, 403) and through_http in (400, 403), qs
    assert nothing_stored(services)


JUNK_FIELDS = [
    {"CreateTime": "²"},
    {"CreateTime": "9" * 5000},
    {"CreateTime": "１７００"},
    {"CreateTime": {"Nested": "1"}},
    {"FromUserName": {"Nested": "o"}},
]


@pytest.mark.parametrize("junk", JUNK_FIELDS)
def test_a_signed_message_with_junk_fields_is_400(client, wx, sim, services, junk):
    fields = {**f.text(new_openid(), "帮助"), **junk}
    assert send(client, *sim.query_and_body(fields)).status_code == 400
    assert wx.post(fields).status == 400  # the same through the real HTTP server
    assert nothing_stored(services)


@pytest.mark.parametrize("length", ["²", "9" * 5000, "-1"])
def test_a_junk_content_length_is_never_a_5xx(client, sim, length):
    res = send(client, *sim.query_and_body(f.text(new_openid(), "帮助")), environ_overrides={"CONTENT_LENGTH": length})
    assert res.status_code < 500


# Access logs -------------------------------------------------------------------------
def run_server(argv: list[str], redis_url: str, database_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "BOT_ENV": "testing", "REDIS_URL": redis_url, "DATABASE_URL": database_url, "PORT": str(port)}
    for name in ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPID", "WECHAT_SECRET", "SECRET_KEY"):
        env.pop(name, None)
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def log_of_one_webhook(proc: subprocess.Popen, port: int) -> tuple[str, dict[str, str], list[int]]:
    """Post one signed webhook message, a GET with its query and junk queries to the server; its whole output,
    the signed query and the junk queries' statuses."""
    base = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _answers(base + "/healthz"), timeout=60)
        wx = SimClient(
            base + PATH, DEV_SECRETS["WECHAT_TOKEN"], DEV_SECRETS["WECHAT_AES_KEY"], DEV_SECRETS["WECHAT_APPID"]
        )
        fields = wx.build(new_openid(), "text", Content="帮助")
        query, body = wx.query_and_body(fields)
        res = requests.post(f"{base}{PATH}?{urlencode(query)}", data=body.encode(), timeout=10)
        assert res.status_code == 200
        requests.get(f"{base}{PATH}?{urlencode(query)}&echostr=x", timeout=10)
        junk = [
            requests.request(m, f"{base}{PATH}?{qs}", data=b"<xml/>", timeout=10).status_code
            for qs in junk_queries()[:3]
            for m in ("GET", "POST")
        ]
        time.sleep(0.5)
    finally:
        proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out, query, junk


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 600
    except requests.RequestException:
        return False


def assert_no_query(out: str, query: dict[str, str]) -> None:
    assert f"{PATH} HTTP/1.1" in out, out[-2000:]
    for name in ("signature", "msg_signature", "nonce", "timestamp=", "encrypt_type"):
        assert name not in out, name
    for value in (query["signature"], query["msg_signature"], query["nonce"]):
        assert value not in out


def test_the_dev_server_logs_paths_never_query_strings(app, redis_url, database_url):
    """`python -m bot serve` (make run): the access log shows POST /wechat, not its timestamp, nonce, signature;
    junk query values get 400/403."""
    port = free_port()
    proc = run_server([sys.executable, "-m", "bot", "serve"], redis_url, database_url, port)
    out, query, junk = log_of_one_webhook(proc, port)
    assert '"POST /wechat HTTP/1.1" 200' in out
    assert_no_query(out, query)
    assert all(status in (400, 403) for status in junk), junk


def test_gunicorn_logs_paths_never_query_strings(app, redis_url, database_url):
    """The README's production command with gunicorn.conf.py: %(U)s, the path without its query; junk query
    values get 400/403 under gunicorn too."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "gunicorn.conf.py",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "bot:create_app()",
    ]
    proc = run_server(argv, redis_url, database_url, port)
    out, query, junk = log_of_one_webhook(proc, port)
    assert '"POST /wechat HTTP/1.1" 200' in out
    assert_no_query(out, query)
    assert all(400 <= status < 500 for status in junk), junk  # gunicorn itself answers 414 past 4,094 bytes of URL
