"""Fixtures for the fake WeChat API tests: a client that opens windows, raw HTTP calls, polling."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import requests

from bot.emulator.client import SimClient
from bot.emulator.state import EmulatorState


class RawApi:
    """Plain HTTP calls to the fake API at /emulator/cgi-bin/, with a token from the emulator itself."""

    def __init__(self, live: str, emu: EmulatorState) -> None:
        self.base = live + "/emulator/cgi-bin/"
        self.emu = emu
        self.token = ""

    def fresh_token(self) -> str:
        self.token = self.emu.issue_token()[0]
        return self.token

    def post(self, path: str, data: Any = None, token: str | None = None, **params: Any) -> dict[str, Any]:
        params["access_token"] = (self.token or self.fresh_token()) if token is None else token
        res = requests.post(self.base + path, params=params, json=data, timeout=30)
        assert res.status_code == 200, res.text
        return res.json()

    def get(self, path: str, token: str | None = None, **params: Any) -> dict[str, Any]:
        params["access_token"] = (self.token or self.fresh_token()) if token is None else token
        res = requests.get(self.base + path, params=params, timeout=30)
        assert res.status_code == 200, res.text
        return res.json()


@pytest.fixture
def wxapi(live: str, emu: EmulatorState) -> RawApi:
    return RawApi(live, emu)


@pytest.fixture
def wxo(wx: SimClient, emu: EmulatorState) -> SimClient:
    """The simulated client that also tells the emulator what it delivered (so windows open)."""
    wx.observer = emu
    return wx


def poll(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until predicate() is truthy; its value (AssertionError after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    return poll
