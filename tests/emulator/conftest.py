"""Fixtures for the fake WeChat API tests (tests/emulator/): raw HTTP calls to the fake API."""

from __future__ import annotations

import pytest

from bot.emulator.state import EmulatorState
from tests.emulator.api_helpers import RawApi


@pytest.fixture
def wxapi(live: str, emu: EmulatorState) -> RawApi:
    """Raw calls to the fake API with a token from the emulator."""
    return RawApi(live, emu)
