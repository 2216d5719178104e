"""Simulated latency and random failures of the fake API (config emulator.latency_ms / failure_rate)."""

from __future__ import annotations

import time

import pytest


@pytest.mark.config(emulator={"latency_ms": 300})
def test_latency_is_added_to_every_call(live, services, wxapi, user):
    _ = services.wx.access_token  # the token fetch is slow too; take it out of the measurement
    t0 = time.monotonic()
    assert services.wx.user.get(user)["subscribe"] == 1
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    wxapi.get("tags/get")
    assert time.monotonic() - t0 >= 0.3


def test_no_latency_by_default(live, services, user):
    _ = services.wx.access_token
    t0 = time.monotonic()
    services.wx.user.get(user)
    assert time.monotonic() - t0 < 0.29


@pytest.mark.config(emulator={"failure_rate": 1.0})
def test_failure_rate_one_fails_every_call(live, services, emu, user):
    emu.open_window(user)
    result = services.outbox.send_text(user, "发不出")
    assert (result.ok, result.kind, result.errcode, result.errmsg) == (False, "error", -1, "system error")
    assert emu.received(user) == []


@pytest.mark.config(emulator={"failure_rate": 0.5})
def test_failure_rate_is_a_share_of_calls(live, wxapi, user):
    codes = [wxapi.get("user/info", openid=user).get("errcode") for _ in range(200)]
    assert 60 <= codes.count(-1) <= 140
    assert set(codes) == {-1, None}
