"""In headless Chromium: a caseworker opens a new ticket, sees the dispatch suggestion and takes it with one click;
the ticket is dispatched to the suggested department and the page says the suggestion was taken."""

from __future__ import annotations

from typing import Any

from handlers.tickets import suggest
from handlers.tickets.rules import Submission, TicketConfig, submit
from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.screen_helpers import Screen


def test_take_the_dispatch_suggestion_in_one_click(browser: Any, live: str, make_account: Any, services: Any):
    suggest.forget()
    with services.sessions() as db:
        ticket, _ = submit(
            db,
            TicketConfig.of(services.settings),
            Submission(
                key="d1",
                openid="o_worker",
                category="其他",
                description="食堂后厨有很大的燃气味，怕出事",
                place="三号食堂",
            ),
        )
    make_account("chen", "caseworker")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("chen")
    page.click("nav.nav a:has-text('诉求')")
    page.click(f"a:has-text('{ticket.number}')")
    expect(page.locator("#suggested-category")).to_have_text("安全隐患")
    expect(page.locator("#suggested-department")).to_have_text("安全生产监督管理局")
    page.click("#do-dispatch-take")
    expect(page.locator(".flash-success")).to_contain_text("已交办", timeout=WAIT)
    expect(page.locator("#ticket-status")).to_have_text("已交办")
    expect(page.locator("#dispatch-chosen")).to_contain_text("采纳建议")
    expect(page.locator("#do-dispatch-take")).to_have_count(0)
    screen.close()
