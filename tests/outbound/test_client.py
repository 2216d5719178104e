"""The WeChat API client (bot.outbound.client): every URL under WECHAT_API_BASE_URL, one token for all processes."""

from __future__ import annotations

import redis

from bot.outbound.client import WxClient


def test_wechat_absolute_urls_are_rewritten_to_the_configured_base(services):
    wx = services.wx
    base = services.settings.api_base_url
    assert wx.url("message/custom/send") == base + "message/custom/send"
    assert wx.url("https://api.weixin.qq.com/cgi-bin/message/template/send") == base + "message/template/send"
    assert wx.url("https://api.weixin.qq.com/datacube/getusersummary").endswith("/emulator/datacube/getusersummary")


def test_one_token_is_shared_by_clients_in_different_processes(live, services, redis_url):
    s = services.settings
    other = WxClient(s.appid, s.secret, s.api_base_url, redis.Redis.from_url(redis_url, decode_responses=True))
    first = services.wx.access_token
    assert other.access_token == first  # the second "process" reuses the stored token


def test_refresh_skips_the_fetch_when_another_process_already_refreshed(live, services):
    wx = services.wx
    old = wx.access_token
    new = wx.refresh(stale=old)
    assert new != old
    assert wx.refresh(stale=old) == new  # a racing refresher finds the new token and does not fetch again
