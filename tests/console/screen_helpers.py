"""Console browser test helpers (tests/console/): a browser context of one size that signs in, collecting errors."""

from __future__ import annotations

from typing import Any

from tests.browser_helpers import WAIT, expect
from tests.console.console_helpers import PASSWORD


class Screen:
    """A browser context at one size, collecting page errors and console errors (CSP refusals among them)."""

    def __init__(self, browser: Any, live: str, **options: Any) -> None:
        self.context = browser.new_context(locale="zh-CN", **options)
        self.page = self.context.new_page()
        self.live = live
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))

    def login(self, username: str) -> Any:
        page = self.page
        page.goto(self.live + "/console/")
        expect(page.locator("h1")).to_have_text("园区微党建")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('登录')")
        expect(page.locator("h1")).to_have_text(f"你好，{username}", timeout=WAIT)
        return page

    def shot(self, path: str) -> None:
        """A full-page screenshot, after checking nothing sticks out sideways."""
        widths = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{self.page.url} is wider than the screen: {widths}"
        self.page.screenshot(path=path, full_page=True)

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors
