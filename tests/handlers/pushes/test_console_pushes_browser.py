"""In headless Chromium: an editor signs in, schedules a push, and it arrives in the emulator's chat page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.database import utcnow
from handlers.pushes import service as pushes
from handlers.pushes.models import Push
from handlers.quiz.points import TZ
from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.console.screen_helpers import Screen


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


def test_push_pages_fit_a_phone(browser: Any, live: str, make_account: Any, services: Any, emu: Any):
    """List, form (with problems), detail with a report, and calendar at 390x844: nothing sticks out sideways."""
    from tests.push_helpers import got, local, make, members

    people = members(emu, services, 2)
    long_body = "今晚 20:00 在党群服务中心学习《党章》，请带好笔记本。" * 6 + " https://example.org/" + "x" * 120
    sent = make(
        services,
        title="支部学习通知：第三季度理论学习中心组扩大会议（请全体在职党员准时参加）",
        body=long_body,
        run_at=local(1, 12),
        test_openids=[people[0]],
    )
    weekly = make(
        services,
        title="每周一提醒",
        content_kind="reminder",
        body="本周一 09:30 召开支部党员大会",
        timing="recurring",
        recurrence="每周一 09:00",
        needs_approval=True,
        test_openids=people,
    )
    make(
        services,
        title="新声连载",
        content_kind="episode",
        timing="series",
        run_at=local(1, 20),
        series_from=1,
        series_to=100,
        series_every_days=2,
    )
    with services.sessions() as db:
        due = pushes.aware(db.get(Push, sent).next_run_at)
    assert pushes.run_push(services, sent, now=due) is not None
    assert all(len(got(emu, p, "custom")) == 1 for p in people)
    make_account("wang", "editor")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.login("wang")
    page.click("nav.nav a:has-text('推送')")
    expect(page.locator("table.pushes tbody tr")).to_have_count(3)
    screen.shot("/tmp/console-pushes-phone.png")
    page.click("a:has-text('支部学习通知')")
    expect(page.locator("[data-count=sent]").first).to_have_text("2", timeout=WAIT)
    screen.shot("/tmp/console-push-detail-phone.png")
    page.goto(f"{live}/console/pushes/{weekly}/edit")
    expect(page.locator("#recurrence")).to_have_value("每周一 09:00")
    screen.shot("/tmp/console-push-edit-phone.png")
    page.goto(f"{live}/console/pushes/{weekly}")
    expect(page.locator("#approval")).to_be_visible()
    screen.shot("/tmp/console-push-pending-phone.png")
    page.goto(f"{live}/console/pushes/new")
    page.fill("#title", "没有正文的推送")
    page.click("#save-push")
    expect(page.locator(".flash-error").first).to_be_visible(timeout=WAIT)  # problems listed above the form
    screen.shot("/tmp/console-push-problems-phone.png")
    page.goto(f"{live}/console/pushes/calendar")
    expect(page.locator("table.calendar a.pill").first).to_be_visible()
    screen.shot("/tmp/console-push-calendar-phone.png")
    screen.close()
