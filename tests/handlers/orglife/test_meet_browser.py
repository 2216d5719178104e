"""In Chromium: a secretary plans a meeting from the 组织生活 page, marks an attendee present and saves the minutes."""

from __future__ import annotations

from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orglife.meet_helpers import audits, branch, secretary


def test_a_secretary_plans_and_records_a_meeting(browser, live, services):
    ids = branch(services)
    secretary(services, "shuji", "T111")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("shuji")
    page.click("nav.nav a:has-text('组织生活')")
    page.click("#plan-meeting")
    page.select_option("select[name=organisation]", str(ids["orgs"]["a1"]))
    page.select_option("select[name=kind]", "zhiwei_hui")
    page.fill("input[name=topic]", "测试支委会")
    page.fill("input[name=starts_at]", "2026-12-20T14:30")
    page.fill("input[name=place]", "测试三楼会议室")
    page.click("#plan-submit")
    expect(page.locator(".flash-success")).to_contain_text("会议已安排", timeout=WAIT)
    expect(page.locator("#meeting-title")).to_contain_text("支部委员会：测试支委会")
    expect(page.locator("#count-expected")).to_have_text("2")
    row = page.locator(f"#attendees tr[data-member='{ids['shuji']}']")
    expect(row).to_contain_text("测试书记")
    row.locator("button.mark-present").click()
    expect(page.locator("#count-present")).to_have_text("1", timeout=WAIT)
    expect(page.locator("#meeting-status")).to_have_text("已召开")
    page.fill("#minutes", "测试纪要：学习了测试文件。")
    page.click("#save-record")
    expect(page.locator(".flash-success")).to_contain_text("已修改", timeout=WAIT)
    expect(page.locator("#minutes")).to_have_value("测试纪要：学习了测试文件。")
    assert [e.action for e in audits(services, "meeting.correct")] == ["meeting.correct"]
    assert not screen.errors
    screen.close()
