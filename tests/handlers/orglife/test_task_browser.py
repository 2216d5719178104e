"""In headless Chromium: an editor issues a task list to a 片区, the secretary reports a task done, the instructor
returns it, the secretary reports again and the instructor accepts it; the progress page shows the rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orglife.task_helpers import account, tree


def test_issue_report_return_accept(browser: Any, live: str, make_account: Any, services: Any, tmp_path: Path) -> None:
    tree(services)
    make_account("wang", "editor")
    account(services, "shuji", "secretary", "T111")
    account(services, "zhidao", "instructor", "T1")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("wang")
    page.click("nav.nav a:has-text('任务清单')")
    page.click("#issue")
    page.fill("#title", "测试十一、十二月任务清单")
    page.fill("#period", "2026年11-12月")
    page.check("#how-1")
    page.select_option("#district", "第一片区")
    page.fill("#items", "测试学习任务｜2026-12-20｜组织集中学习")
    page.click("#issue-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("测试十一、十二月任务清单", timeout=WAIT)
    expect(page.locator("#grid tbody tr")).to_have_count(3)
    screen.shot(str(tmp_path / "list.png"))
    screen.close()

    def act(username: str, verdict: str | None = None, text: str = "") -> Any:
        screen = Screen(browser, live, viewport=LAPTOP)
        page = screen.login(username)
        page.goto(live + "/console/tasks/")
        page.click("#lists a")
        page.click("#grid tr[data-org='T111'] td a")
        if verdict is None:
            page.fill("#text", text)
            page.click("#report-form button[type=submit]")
            expect(page.locator("#status")).to_have_text("已上报", timeout=WAIT)
        else:
            page.check("#verdict-1" if verdict == "return" else "#verdict-0")
            page.fill("#comment", "测试：请补充记录" if verdict == "return" else "")
            page.click("#review-form button[type=submit]")
            expect(page.locator("#status")).to_have_text("已退回" if verdict == "return" else "已通过", timeout=WAIT)
        screen.close()

    act("shuji", text="已组织集中学习")
    act("zhidao", "return")
    act("shuji", text="已补充学习记录")
    act("zhidao", "accept")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("zhidao")
    page.goto(live + "/console/tasks/progress")
    expect(page.locator("#by-org tr:has-text('测试甲公司第一党支部') .rate")).to_have_text("100.0%")
    screen.close()
