"""The webhook's gate: URL check, signatures, timestamp window, body cap, hostile XML, every message kind."""

from __future__ import annotations

import time

import pytest

from bot.emulator.client import SimClient, new_openid, to_xml
from tests import factories as f
from tests.factories import BOMB, XXE
from tests.inbound.webhook_helpers import PATH, PLAIN_OK, nothing_stored

HELP = "常用指令"  # in the help text (and not in the fallback reply, which also says 帮助)


def post(client, sim, fields=None, raw_body=None, timestamp=None):
    query, body = f.signed(sim, fields, raw_body, timestamp)
    return client.post(f"{PATH}?{query}", data=body, content_type="text/xml")


def test_get_echostr(client, sim):
    ts, nonce = str(int(time.time())), "42"
    from bot.inbound.wire import signature

    good = {"signature": signature(sim.token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "hello"}
    assert client.get(PATH, query_string=good).data == b"hello"
    assert client.get(PATH, query_string={**good, "signature": "0" * 40}).status_code == 403


@pytest.mark.config(webhook=PLAIN_OK)
def test_plaintext_mode_round_trip(client, plain, services):
    res = post(client, plain, f.text(new_openid(), "帮助"))
    assert res.status_code == 200
    assert HELP in res.get_data(as_text=True)


def test_compatible_mode_round_trip(client, app):
    s = app.extensions["bot"].settings
    sim = SimClient("http://unused", s.token, s.aes_key, s.appid, mode="compatible")
    res = post(client, sim, f.text(new_openid(), "帮助"))
    assert res.status_code == 200 and HELP in sim.open_reply(res.get_data(as_text=True), 200)["Content"]


def test_safe_mode_reply_is_encrypted(client, sim):
    res = post(client, sim, f.text(new_openid(), "帮助"))
    body = res.get_data(as_text=True)
    assert "<Encrypt>" in body and "帮助" not in body
    assert HELP in sim.open_reply(body, 200)["Content"]


@pytest.mark.config(webhook=PLAIN_OK)
def test_bad_signature_is_refused_and_stores_nothing(client, plain, services):
    query, body = f.signed(plain, f.text(new_openid(), "帮助"))
    res = client.post(f"{PATH}?{query.replace('signature=', 'signature=0')}", data=body)
    assert res.status_code == 403
    assert nothing_stored(services)


def test_bad_msg_signature_in_safe_mode(client, sim, services):
    query, body = f.signed(sim, f.text(new_openid(), "帮助"))
    query = query.replace("msg_signature=", "msg_signature=f")
    assert client.post(f"{PATH}?{query}", data=body).status_code == 403
    assert nothing_stored(services)


def test_stale_timestamp_is_refused(client, sim, services):
    res = post(client, sim, f.text(new_openid(), "帮助"), timestamp=str(int(time.time()) - 301))
    assert res.status_code == 403
    assert nothing_stored(services)


@pytest.mark.config(webhook={"max_body": 2048, **PLAIN_OK})
def test_oversize_body_gets_413(client, plain, services):
    res = post(client, plain, f.text(new_openid(), "长" * 1000))
    assert res.status_code == 413
    assert nothing_stored(services)


@pytest.mark.config(webhook=PLAIN_OK)
@pytest.mark.parametrize("body", [BOMB, XXE, b"<xml><Content>unclosed</xml>", b"\xff\xfe"])
def test_hostile_or_malformed_xml_gets_400(client, plain, services, body):
    res = post(client, plain, raw_body=body.decode("latin-1"))
    assert res.status_code == 400
    assert nothing_stored(services)


def test_entities_inside_the_encrypted_payload_are_refused(client, sim, services):
    encrypted = sim.crypto.encrypt(BOMB)
    from bot.inbound.wire import signature

    ts, nonce = str(int(time.time())), "7"
    query = {
        "timestamp": ts,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": signature(sim.token, ts, nonce, encrypted),
    }
    res = client.post(PATH, query_string=query, data=to_xml({"ToUserName": "gh", "Encrypt": encrypted}))
    assert res.status_code == 400
    assert nothing_stored(services)


def test_unknown_message_type_gets_success(client, sim):
    res = post(client, sim, f.fields(new_openid(), "hologram", Payload="x"))
    assert res.status_code == 200 and res.data == b"success"


@pytest.mark.parametrize("kind", sorted(f.ALL_KINDS))
def test_every_message_kind_parses_and_gets_200(client, sim, kind):
    res = post(client, sim, f.of_kind(new_openid(), kind))
    assert res.status_code == 200
    body = res.get_data(as_text=True)
    assert body == "success" or sim.open_reply(body, 200)["MsgType"] in ("text", "news")


def test_user_text_with_cdata_terminator_is_echoed_safely(client, sim):
    res = post(client, sim, f.text(new_openid(), "x]]><y"))
    assert "x]]><y" in sim.open_reply(res.get_data(as_text=True), 200)["Content"]


def test_handler_that_raises_gives_the_fallback(app, client, sim, caplog):
    from bot.inbound.router import Router

    boom = Router("boom")

    @boom.text("爆炸")
    def explode(msg, ctx):
        raise RuntimeError("kaboom")

    app.extensions["bot"].dispatcher.routers.insert(0, boom)
    res = post(client, sim, f.text(new_openid(), "爆炸"))
    assert res.status_code == 200
    assert "系统开小差" in sim.open_reply(res.get_data(as_text=True), 200)["Content"]
    assert any("kaboom" in (r.exc_text or "") or r.exc_info for r in caplog.records if r.levelname == "ERROR")


def test_redis_down_is_never_a_5xx(app, client, sim):
    """With Redis unreachable the user still gets a polite answer, not WeChat's "service unavailable"."""
    import redis

    from bot.inbound.pipeline import Pipeline

    services = app.extensions["bot"]
    services.redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    services.pipeline = Pipeline(services)
    res = post(client, sim, f.text(new_openid(), "帮助"))
    assert res.status_code == 200
    assert "系统繁忙" in sim.open_reply(res.get_data(as_text=True), 200)["Content"]  # and 「请稍后再发一次」
