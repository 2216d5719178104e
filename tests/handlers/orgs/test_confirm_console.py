"""The console's 党员认证 page: applications and confirmed members inside the account's scope, confirm / reject /
un-bind (audited by roster id, the member told), refused outside the scope; and in Chromium, a secretary confirms."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.members import CONFIRMED
from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.console_helpers import csrf_token, login
from tests.console.screen_helpers import Screen
from tests.handlers.orgs.auth_helpers import SECRETARY, apply, audits, membership, secretary, tree_with_members

PAGE = "/console/orgs/confirmations/"


def post(client: Any, action: str) -> Any:
    return client.post(PAGE + action, data={"csrf_token": csrf_token(client, PAGE)})


def applicants(wx: Any, emu: Any, services: Any) -> tuple[str, str]:
    """甲 (甲公司第一党支部) and 乙 (乙公司党支部) apply; their openids, both inside the 48 h window."""
    jia, yi = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    for openid in (jia, yi):
        emu.open_window(openid)
    apply(wx, jia, "测试党员甲", "19900001001")
    apply(wx, yi, "测试党员乙", "19900001002")
    return jia, yi


@pytest.mark.config(**SECRETARY)
def test_the_page_shows_only_the_accounts_subtree(wx, client, services, emu):
    ids = tree_with_members(services)
    applicants(wx, emu, services)
    secretary(services, "shuji", "T11")
    login(client, "shuji")
    page = client.get(PAGE).get_data(as_text=True)
    assert "测试党员甲" in page and "199****1001" in page and "19900001001" not in page
    assert "测试党员乙" not in page
    assert 'href="/console/orgs/confirmations/qr?code=T111"' in page
    [view] = audits(services, "member.view_confirmations")
    assert (view.actor, view.target, view.details["pending"]) == ("shuji", "T11", 1)
    assert view.details["members"] == [ids["jia"]]
    assert post(client, f"{ids['yi']}/confirm").status_code == 403
    assert post(client, f"{ids['yi']}/reject").status_code == 403
    assert post(client, "99999/confirm").status_code == 404


@pytest.mark.config(**SECRETARY)
def test_confirm_and_reject_from_the_console(wx, client, services, emu, wait_for):
    ids = tree_with_members(services)
    jia, yi = applicants(wx, emu, services)
    secretary(services, "yuanqu", None, role="instructor")  # the whole park
    login(client, "yuanqu")
    assert post(client, f"{ids['jia']}/confirm").status_code == 302
    row = membership(services, jia)
    assert (row.status, row.method, row.confirmed_by) == (CONFIRMED, "console", "yuanqu")
    assert audits(services, "member.confirm")[0].target == str(ids["jia"])
    wait_for(lambda: emu.received(jia, "custom"))
    assert "已通过" in emu.received(jia, "custom")[0]["body"]["text"]["content"]
    assert post(client, f"{ids['yi']}/reject").status_code == 302
    assert membership(services, yi) is None
    assert audits(services, "member.reject")[0].target == str(ids["yi"])
    wait_for(lambda: emu.received(yi, "custom"))
    assert "未通过" in emu.received(yi, "custom")[0]["body"]["text"]["content"]
    assert "已处理" in client.post(
        PAGE + f"{ids['yi']}/reject", data={"csrf_token": csrf_token(client, PAGE)}, follow_redirects=True
    ).get_data(as_text=True)


def test_confirmed_members_listed_and_unbound(wx, client, services, emu):
    ids = tree_with_members(services)
    jia, _yi = applicants(wx, emu, services)  # auto mode: both confirmed at once
    secretary(services, "shuji", "T111")
    login(client, "shuji")
    page = client.get(PAGE).get_data(as_text=True)
    assert "已认证（1）" in page and "测试党员甲" in page and "自动核验" in page
    assert post(client, f"{ids['jia']}/unbind").status_code == 302
    assert membership(services, jia) is None
    [entry] = audits(services, "member.unbind")
    assert (entry.actor, entry.target, entry.details["via"]) == ("shuji", str(ids["jia"]), "console")
    assert "还没有进行党员认证" in wx.text(jia, "我的认证").text


def test_roles_are_checked(client, services, make_account):
    tree_with_members(services)
    make_account("wang", "editor")
    login(client, "wang")
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE + "1/confirm", data={"csrf_token": "x"}).status_code in (400, 403)


@pytest.mark.config(**SECRETARY)
def test_a_secretary_confirms_in_the_browser(browser, live, wx, services, emu):
    ids = tree_with_members(services)
    jia, _yi = applicants(wx, emu, services)
    secretary(services, "shuji", "T11")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("shuji")
    page.click("nav.nav a:has-text('党员认证')")
    row = page.locator(f"#pending tr[data-member='{ids['jia']}']")
    expect(row).to_contain_text("测试党员甲")
    expect(page.locator("#pending")).not_to_contain_text("测试党员乙")
    row.locator("button.confirm").click()
    expect(page.locator(".flash-success")).to_contain_text("已确认", timeout=WAIT)
    expect(page.locator(f"#confirmed tr[data-member='{ids['jia']}']")).to_contain_text("后台确认")
    assert membership(services, jia).status == CONFIRMED
    page.click(f"#confirmed tr[data-member='{ids['jia']}'] button.unbind")  # data-confirm asks: dismissed
    assert membership(services, jia).status == CONFIRMED
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#confirmed tr[data-member='{ids['jia']}'] button.unbind")
    expect(page.locator(".flash-success")).to_contain_text("已解除", timeout=WAIT)
    assert membership(services, jia) is None

    page.goto(f"{live}/console/orgs/confirmations/qr?code=T111")
    page.click("#create-qr")
    expect(page.locator("#qr-name")).to_have_text("测试甲公司第一党支部", timeout=WAIT)
    page.wait_for_function(
        "() => { const i = document.getElementById('qr-image'); return i && i.complete && i.naturalWidth > 0; }",
        timeout=WAIT,
    )  # the picture loaded
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#qr-image")).to_be_visible()
    screen.close()
