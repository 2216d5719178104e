"""In headless Chromium: an editor signs in, schedules a push, and it arrives in the emulator's chat page."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot import push as pushes
from bot.models import utcnow
from bot.points import TZ
from bot.push_models import Push
from test_console_browser import LAPTOP, WAIT, Screen, browser, expect  # noqa: F401  (browser is a fixture)


def test_schedule_a_push_and_watch_it_arrive(browser: Any, live: str, make_account: Any, services: Any, emu: Any):
    openid = emu.create_user("党员小张", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    services.followers.touch(openid)
    emu.open_window(openid)
    make_account("wang", "editor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("wang")
    page.click("nav.nav a:has-text('推送')")
    page.click("#new-push")
    page.fill("#title", "支部学习通知")
    page.fill("#body", "今晚 20:00 在党群服务中心学习《党章》。")
    page.select_option("#channel", "custom")
    day = (utcnow().astimezone(TZ) + timedelta(days=1)).date()
    page.fill("#run_at", f"{day.isoformat()}T12:00")
    page.click("#save-push")
    expect(page.locator(".flash-success")).to_contain_text("已保存并排期", timeout=WAIT)
    expect(page.locator("#push-title")).to_have_text("支部学习通知")
    with services.sessions() as db:
        push = db.scalars(select(Push)).one()
    assert pushes.run_push(services, push.id, now=pushes.aware(push.next_run_at)) is not None  # the scheduler's job
    page.reload()
    expect(page.locator("[data-count=sent]").first).to_have_text("1", timeout=WAIT)
    screen.shot("/tmp/console-push-report.png")
    chat = screen.context.new_page()  # the emulator's page, outside the console's error watch
    chat.goto(f"{live}/emulator#{openid}")
    last = chat.locator(".msg.account").last
    expect(last.locator(".bubble")).to_contain_text("学习《党章》", timeout=WAIT)
    expect(last.locator(".label")).to_have_text("客服消息")
    chat.screenshot(path="/tmp/emulator-push.png")
    screen.close()
