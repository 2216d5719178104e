"""In headless Chromium: a caseworker accepts, assigns and resolves a ticket submitted by an emulator user, whose chat
page then shows the notices; the queue and ticket pages fit a phone's width; a copied picture shows on the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.database import utcnow
from handlers.tickets.media import fetch_ticket
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit
from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.console.screen_helpers import Screen
from tests.factories import AMR, PNG


def new_ticket(services: Any, key: str, openid: str, days_ago: float = 0, **fields: Any) -> Ticket:
    base = dict(
        category="劳动权益",
        description="某某电子厂拖欠工资两个月，多次找老板都说下个月发。",
        place="某某电子厂",
        phone="13812345678",
    )
    base.update(fields)
    with services.sessions() as db:
        return submit(
            db,
            TicketConfig.of(services.settings),
            Submission(key=key, openid=openid, **base),
            utcnow() - timedelta(days=days_ago),
        )[0]


def test_handle_a_ticket_and_the_submitter_is_told(browser: Any, live: str, make_account: Any, services: Any, emu: Any):
    openid = emu.create_user("工友小李", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    services.followers.touch(openid)
    emu.open_window(openid)
    ticket = new_ticket(services, "b1", openid)
    late = new_ticket(services, "b2", "o_other", days_ago=8, description="宿舍楼道灯坏了", place="三号宿舍")
    make_account("chen", "caseworker")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("chen")
    page.click("nav.nav a:has-text('诉求')")
    expect(page.locator(f"tr.late[data-number='{late.number}']")).to_contain_text("已超期")
    page.click(f"a:has-text('{ticket.number}')")
    expect(page.locator("#ticket-status")).to_have_text("待受理")
    expect(page.locator("#ticket-phone")).to_contain_text("138****5678")  # nobody has accepted it yet

    page.select_option("#tier", "urgent")
    page.click("#do-accept")
    expect(page.locator(".flash-success")).to_contain_text("已受理", timeout=WAIT)
    expect(page.locator("#ticket-phone")).to_have_text("13812345678")  # the caseworker of record sees it in full
    page.select_option("#department", "renshe")
    expect(page.locator("#assignee")).to_have_count(0)  # a caseworker names no person (nor themself)
    page.click("#do-assign")
    expect(page.locator(".flash-success")).to_contain_text("已交办", timeout=WAIT)
    page.click("#do-start")
    expect(page.locator("#ticket-status")).to_have_text("办理中", timeout=WAIT)
    page.fill("#reply", "已协调企业于本周五前补发两个月工资。")
    page.click("#do-resolve")
    expect(page.locator(".flash-success")).to_contain_text("已办结", timeout=WAIT)
    expect(page.locator("#ticket-status")).to_have_text("已办结")
    expect(page.locator("#ticket-timeline li")).to_have_count(6)  # submit, tier, accept, assign, process, resolve
    screen.shot("/tmp/console-ticket-laptop.png")

    chat = screen.context.new_page()  # the emulator's page, outside the console's error watch
    chat.goto(f"{live}/emulator#{openid}")
    told = chat.locator(".msg.account").filter(has_text="已办结")
    expect(told.locator(".bubble")).to_contain_text("补发两个月工资", timeout=WAIT)
    expect(told.locator(".label")).to_have_text("客服消息")
    expect(chat.locator(".msg.account").filter(has_text="已受理")).to_have_count(1)
    chat.screenshot(path="/tmp/emulator-ticket.png")
    screen.close()


def test_ticket_pages_fit_a_phone(browser: Any, live: str, make_account: Any, services: Any):
    long_text = "工资条https://example.com/" + "a" * 120 + " 编号" + "9" * 60
    ticket = new_ticket(
        services,
        "p1",
        "o_phone_user_with_a_rather_long_openid_0123456789",
        description=long_text,
        place="某某超长名字的电子科技有限公司第三分厂" * 2,
        district="东片区",
    )
    new_ticket(services, "p2", "o_x", days_ago=8)
    new_ticket(services, "p3", "o_y", description="同一家厂拖欠工资" + long_text)
    make_account("chen", "caseworker")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.login("chen")
    page.goto(f"{live}/console/tickets/")
    expect(page.locator("table.tickets tbody tr")).to_have_count(3)
    screen.shot("/tmp/console-tickets-phone.png")
    page.click(f"a:has-text('{ticket.number}')")
    expect(page.locator("#ticket-number")).to_have_text(ticket.number)
    page.click("#do-accept")
    expect(page.locator(".flash-success")).to_contain_text("已受理", timeout=WAIT)
    expect(page.locator("#ticket-submitter")).to_contain_text("o_phone_user")
    screen.shot("/tmp/console-ticket-phone.png")
    screen.close()


def test_a_tickets_copied_picture_shows_on_its_page(
    browser: Any, live: str, make_account: Any, services: Any, emu: Any
):
    picture, voice = emu.add_media("image", PNG, "image/png"), emu.add_media("voice", AMR, "audio/amr")
    media = [
        {"type": "image", "media_id": picture},
        {"type": "voice", "media_id": voice},
        {"type": "image", "media_id": "expired-long-ago"},
    ]
    ticket = new_ticket(services, "m1", "o_media_user", media=media)
    assert fetch_ticket(services, ticket.id) == 2
    make_account("chen", "caseworker")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("chen")
    page.goto(f"{live}/console/tickets/{ticket.number}")
    image = page.locator("#ticket-media img.ticket-image")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", image.element_handle()) == 1  # CSP allows it
    expect(page.locator("#ticket-media a[download]")).to_have_text("语音（AMR，下载后播放）")
    expect(page.locator("#ticket-media li[data-state='expired']")).to_contain_text("已过期，未能取回")
    screen.shot("/tmp/console-ticket-media.png")
    screen.close()
