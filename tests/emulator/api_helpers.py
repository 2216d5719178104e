"""Emulator test helpers (tests/emulator/): plain HTTP calls to the fake WeChat API."""

from __future__ import annotations

from typing import Any

import requests

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
