"""The chat page's 「扫码」 control in a real headless Chromium: the codes listed newest first with their scene and an
expired mark, and picking one sends the scan as the chat user (subscribe with qrscene_, then SCAN)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect


@pytest.fixture
def page(browser: Any, live: str) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(live + "/emulator")
    yield pg
    context.close()
    assert errors == [], errors


def codes(wxapi: Any, emu: Any) -> dict[str, str]:
    """Three codes, oldest first: an expired temporary one, a permanent one, a live temporary one; their tickets."""
    old = wxapi.post("qrcode/create", {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}})
    emu.expire_qr(old["ticket"])
    org = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "org:ORG-001"}}}
    meet = {
        "action_name": "QR_STR_SCENE",
        "expire_seconds": 5400,
        "action_info": {"scene": {"scene_str": "meet:2026-12-01"}},
    }
    return {
        "old": old["ticket"],
        "org": wxapi.post("qrcode/create", org)["ticket"],
        "meet": wxapi.post("qrcode/create", meet)["ticket"],
    }


def last_in(emu: Any, openid: str) -> dict[str, Any]:
    return [e["body"] for e in emu.messages(openid) if e["dir"] == "in"][-1]


def open_scan(page: Any) -> Any:
    page.click("#scan")
    expect(page.locator("#scan-menu")).to_be_visible()
    return page.locator("#scan-list li")


def test_scan_control_lists_codes_and_scans_as_the_chat_user(page: Any, wxapi: Any, emu: Any, browser: Any, live: str):
    tickets = codes(wxapi, emu)
    page.fill("#nickname", "扫码测试员")
    page.click("#create-user")
    expect(page.locator("#follow")).to_be_visible()  # not following yet
    openid = page.evaluate("decodeURIComponent(location.hash.slice(1))")

    items = open_scan(page)
    expect(items).to_have_count(3)
    assert items.evaluate_all("els => els.map(e => e.dataset.ticket)") == [
        tickets["meet"],
        tickets["org"],
        tickets["old"],
    ]
    expect(items.nth(0).locator(".scene")).to_have_text("meet:2026-12-01")
    expect(items.nth(0).locator(".kind")).to_contain_text("临时二维码 · 1 小时后过期")
    expect(items.nth(1).locator(".kind")).to_have_text("永久二维码")
    expect(items.nth(2)).to_have_class("expired")
    expect(items.nth(2).locator(".kind")).to_have_text("已过期")
    loaded = items.nth(1).locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    assert loaded, "the permanent code's image (showqrcode) did not load"

    items.nth(1).click()  # a non-follower scans the organisation's permanent code
    expect(page.locator(".sys:has-text('你扫码关注了公众号（场景 org:ORG-001）')")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#follow-bar")).to_be_hidden(timeout=WAIT)
    sent = last_in(emu, openid)
    assert (sent["Event"], sent["EventKey"], sent["Ticket"]) == ("subscribe", "qrscene_org:ORG-001", tickets["org"])
    assert emu.user(openid)["subscribed"] is True

    open_scan(page).nth(0).click()  # now a follower: SCAN
    expect(page.locator(".sys:has-text('你扫描了二维码（场景 meet:2026-12-01）')")).to_have_count(1, timeout=WAIT)
    sent = last_in(emu, openid)
    assert (sent["Event"], sent["EventKey"], sent["Ticket"]) == ("SCAN", "meet:2026-12-01", tickets["meet"])

    count = len(emu.messages(openid))
    open_scan(page).nth(2).click()  # the expired code: WeChat sends nothing
    expect(page.locator(".sys.error").last).to_have_text("该二维码已过期", timeout=WAIT)
    assert len(emu.messages(openid)) == count
    page.screenshot(path="/tmp/chat-scan-laptop.png")

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN")
    small = phone.new_page()
    small.goto(f"{live}/emulator#{openid}")
    small.click("#scan")
    expect(small.locator("#scan-list li")).to_have_count(3)
    box = small.locator("#scan-menu").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # the list fits the phone's screen
    small.screenshot(path="/tmp/chat-scan-phone.png")
    phone.close()


def test_the_scan_list_says_when_there_are_no_codes(page: Any):
    page.fill("#nickname", "无码用户")
    page.click("#create-user")
    open_scan(page)
    expect(page.locator("#scan-empty")).to_be_visible()
