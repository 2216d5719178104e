"""The console in a real headless Chromium (Playwright) against the live server, at laptop and phone sizes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.console.screen_helpers import Screen


@pytest.fixture
def people(emu: Any, services: Any) -> list[str]:
    openids = [emu.create_user(f"粉丝{i}", subscribed=True)["openid"] for i in range(3)]
    for openid in openids:
        services.followers.subscribe(openid, scene="qrscene_party")
        services.followers.touch(openid)
    return openids


def test_login_dashboard_followers_and_tagging(
    browser: Any, live: str, make_account: Any, people: list[str], services: Any
):
    make_account("root", "admin")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("root")
    expect(page.locator("#stat-subscribed")).to_have_text("3")
    screen.shot("/tmp/console-dashboard-laptop.png")

    page.click("nav.nav a:has-text('粉丝')")
    expect(page.locator("#count-subscribed")).to_have_text("3")
    page.fill("#new-tag input[name=name]", "在职党员")
    page.click("#new-tag button")
    expect(page.locator(".flash-success")).to_have_text("已新建标签「在职党员」。", timeout=WAIT)

    page.check("[data-check-all]")
    assert page.locator("input[name=refs]:checked").count() == 3
    page.uncheck("[data-check-all]")
    row = page.locator("table.followers tbody tr").filter(has_text=people[0])
    row.locator("input[name=refs]").check()
    page.select_option("#members select[name=tag]", label="在职党员")
    page.click("#tag-add")
    expect(page.locator(".flash-success")).to_contain_text("已为 1 位粉丝添加标签「在职党员」", timeout=WAIT)
    expect(page.locator("table.followers tbody tr").filter(has_text=people[0]).locator("td.tags")).to_have_text(
        "在职党员"
    )
    tag_id = next(t["id"] for t in services.wx.tag.get() if t["name"] == "在职党员")
    assert services.wx.tag.get_user_tag(people[0]) == [tag_id]
    screen.shot("/tmp/console-followers-laptop.png")
    page.click("nav.nav a:has-text('审计日志')")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("添加标签")
    screen.shot("/tmp/console-audit-laptop.png")
    screen.close()


def test_phone_layout(browser: Any, live: str, make_account: Any, people: list[str]):
    make_account("wang", "editor")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.page
    page.goto(live + "/console/login")
    screen.shot("/tmp/console-login-phone.png")
    page = screen.login("wang")
    screen.shot("/tmp/console-dashboard-phone.png")
    page.click("nav.nav a:has-text('粉丝')")
    expect(page.locator("#count-subscribed")).to_have_text("3")
    page.fill("#new-tag input[name=name]", "流动党员")
    page.click("#new-tag button")
    expect(page.locator(".flash-success")).to_have_text("已新建标签「流动党员」。", timeout=WAIT)
    page.locator("input[name=refs]").first.check()
    page.click("#tag-add")
    expect(page.locator(".flash-success")).to_contain_text("已为 1 位粉丝添加标签「流动党员」", timeout=WAIT)
    expect(page.locator("table.followers thead")).to_be_hidden()  # rows are shown as cards
    screen.shot("/tmp/console-followers-phone.png")
    page.goto(live + "/console/accounts/")
    expect(page.locator("h1")).to_have_text("没有权限")
    screen.errors = [e for e in screen.errors if "403" not in e]  # the browser logs the 403 response itself
    screen.shot("/tmp/console-403-phone.png")
    screen.close()


def test_lockout_is_shown_on_the_login_form(browser: Any, live: str, make_account: Any):
    make_account("root", "admin")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.page
    page.goto(live + "/console/login")
    for _ in range(5):
        page.fill("#username", "root")
        page.fill("#password", "wrong guess")
        page.click("button:has-text('登录')")
        page.wait_for_load_state()
    expect(page.locator(".flash-locked")).to_contain_text("登录失败次数过多", timeout=WAIT)
    screen.shot("/tmp/console-locked-phone.png")
    screen.errors = [e for e in screen.errors if "401" not in e and "429" not in e]  # the refused logins
    screen.close()


def test_admin_creates_an_account_in_the_browser(browser: Any, live: str, make_account: Any):
    make_account("root", "admin")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("root")
    page.click("nav.nav a:has-text('账号')")
    page.click("a:has-text('新建账号')")
    page.fill("#username", "zhang")
    page.fill("#password", "first secret 1")
    page.fill("#confirm", "first secret 1")
    page.check("input[name=roles][value=editor]")
    page.check("input[name=roles][value=reviewer]")
    page.click("button:has-text('创建账号')")
    expect(page.locator(".flash-success")).to_contain_text("已创建账号「zhang」", timeout=WAIT)
    expect(page.locator("input[name=roles][value=reviewer]")).to_be_checked()
    account_path = page.url[len(live) :]  # ids differ between databases (PostgreSQL keeps its sequences)
    screen.shot("/tmp/console-account-laptop.png")
    page.click("nav.nav a:has-text('账号')")
    expect(page.locator("table tbody tr")).to_have_count(2)
    screen.shot("/tmp/console-accounts-laptop.png")
    screen.close()
    phone = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    small = phone.login("root")
    for name, path in (("accounts", "/console/accounts/"), ("account", account_path), ("audit", "/console/audit/")):
        small.goto(live + path)
        phone.shot(f"/tmp/console-{name}-phone.png")
    phone.close()
