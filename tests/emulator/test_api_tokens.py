"""The fake API's access tokens (token, stable_token, grace period, expiry), error injection and controls."""

from __future__ import annotations

import time

import pytest
import requests

from bot.core.errors import WeChatAPIError
from bot.emulator.keys import DAY, QUOTA, TOKEN
from bot.outbound.client import WxClient


def client_for(services, appid: str | None = None, secret: str | None = None, stable: bool = False) -> WxClient:
    s = services.settings
    return WxClient(appid or s.appid, secret or s.secret, s.api_base_url, services.redis, stable_token=stable)


def test_token_is_fetched_by_the_apps_client(live, services, emu):
    token = services.wx.access_token
    assert token and token == emu.current_token()
    assert services.redis.get("wx:" + services.wx.access_token_key)  # stored for every process


def test_wrong_appid_40013_wrong_secret_40125(live, services):
    with pytest.raises(WeChatAPIError) as bad_appid:
        client_for(services, appid="wx0000000000000bad").fetch_access_token()
    assert bad_appid.value.errcode == 40013
    with pytest.raises(WeChatAPIError) as bad_secret:
        client_for(services, secret="wrong").fetch_access_token()
    assert bad_secret.value.errcode == 40125


def test_wrong_grant_type_and_missing_token(live, services, wxapi):
    s = services.settings
    res = requests.get(wxapi.base + "token", params={"grant_type": "password", "appid": s.appid, "secret": s.secret})
    assert res.json()["errcode"] == 40002
    assert wxapi.get("menu/get", token="")["errcode"] == 41001
    assert wxapi.get("menu/get", token="no-such-token")["errcode"] == 40001


def test_previous_token_stays_valid_for_300_seconds(live, services, emu, wxapi):
    first = wxapi.fresh_token()
    second = wxapi.fresh_token()
    assert first != second
    assert wxapi.get("tags/get", token=first)["tags"] == []  # still accepted inside the grace period
    assert 0 < emu.redis.ttl(TOKEN.format(first)) <= 300
    emu.redis.delete(TOKEN.format(first))  # what 300 s later looks like
    assert wxapi.get("tags/get", token=first)["errcode"] == 40001
    assert wxapi.get("tags/get", token=second)["tags"] == []


def test_expired_token_42001_and_the_client_refreshes(live, services, emu):
    old = services.wx.access_token
    emu.expire_token(old)
    assert services.wx.get("tags/get") is not None  # 42001 → refresh once → retried with the new token
    assert services.wx.access_token != old
    res = requests.get(services.settings.api_base_url + "tags/get", params={"access_token": old})
    assert res.json()["errcode"] == 42001


def test_stable_token_same_while_valid_forced_refresh_every_30_s(live, services, wxapi):
    s = services.settings
    creds = {"grant_type": "client_credential", "appid": s.appid, "secret": s.secret}
    first = requests.post(wxapi.base + "stable_token", json=creds).json()
    again = requests.post(wxapi.base + "stable_token", json=creds).json()
    assert first["access_token"] == again["access_token"] and 7100 < again["expires_in"] <= 7200
    forced = requests.post(wxapi.base + "stable_token", json={**creds, "force_refresh": True}).json()
    assert forced["access_token"] != first["access_token"]
    assert wxapi.get("tags/get", token=first["access_token"])["errcode"] == 40001
    assert wxapi.get("tags/get", token=forced["access_token"])["tags"] == []
    too_soon = requests.post(wxapi.base + "stable_token", json={**creds, "force_refresh": True}).json()
    assert too_soon["errcode"] == 45009
    wrong = requests.post(wxapi.base + "stable_token", json={**creds, "secret": "x"}).json()
    assert wrong["errcode"] == 40125


def test_the_app_client_in_stable_token_mode(live, services, user, emu):
    emu.open_window(user)
    client = client_for(services, stable=True)
    assert client.post("message/custom/send", data={"touser": user, "msgtype": "text", "text": {"content": "稳"}})
    assert emu.received(user, "custom")[0]["body"]["text"]["content"] == "稳"


def test_injected_40001_makes_the_client_refresh_once_and_succeed(live, services, emu, user):
    emu.open_window(user)
    before = services.wx.access_token
    emu.inject("message/custom/send", 40001)
    result = services.outbox.send_text(user, "重试后送达")
    assert result.ok
    assert services.wx.access_token != before
    assert emu.quota_used("token", DAY) == 2  # the first fetch and the one refresh
    assert [e["body"]["text"]["content"] for e in emu.received(user)] == ["重试后送达"]


def test_injection_counts_down_per_path(live, services, emu, wxapi):
    emu.inject("/cgi-bin/tags/get", 45009, times=2)
    assert [wxapi.get("tags/get").get("errcode") for _ in range(3)] == [45009, 45009, None]
    assert wxapi.get("menu/get")["errcode"] == 46003  # other paths are not affected


def test_control_endpoints_inject_and_reset(live, emu, wxapi, user):
    res = requests.post(live + "/emulator/control/inject", json={"path": "user/info", "errcode": 48001, "times": 1})
    assert res.json() == {"ok": True, "path": "user/info", "errcode": 48001, "times": 1}
    assert wxapi.get("user/info", openid=user)["errcode"] == 48001
    assert wxapi.get("user/info", openid=user)["subscribe"] == 1
    assert requests.post(live + "/emulator/control/inject", json={"path": "x"}).status_code == 400
    assert requests.post(live + "/emulator/control/reset", json={}).json() == {"ok": True}
    assert emu.user(user) is None and emu.current_token() is None


def test_token_daily_quota(live, services, emu, wxapi):
    emu.redis.set(QUOTA.format("token", int(time.time() // DAY)), 2000)  # today's 2000 calls are used up
    s = services.settings
    creds = {"grant_type": "client_credential", "appid": s.appid, "secret": s.secret}
    res = requests.get(wxapi.base + "token", params=creds)
    assert res.json()["errcode"] == 45009
