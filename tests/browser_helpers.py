"""Browser test helpers (tests/): Debian's headless Chromium driven by Playwright, screen sizes, expectations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 10_000  # ms an expectation may take (the emulator's chat page polls every second)


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (the calling test skips, visibly, when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("chromium not installed at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def expect(locator: Any) -> Any:
    """Playwright's expect (imported only when a browser test runs)."""
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)
