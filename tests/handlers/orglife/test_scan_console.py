"""The check-in page of a meeting: a temporary code (QR_STR_SCENE mt:<id>) made when the page opens and kept while
it lasts past the window, its picture served by the console, live counts as JSON, the scope rule; in Chromium."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from bot.core.clock import aware, utcnow
from bot.core.qrcodes import QrCode
from handlers.orglife.models import CANCELLED, Meeting
from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.console_helpers import login
from tests.console.screen_helpers import Screen
from tests.handlers.orglife.scan_helpers import attended, checkin_setup, scoped_account

PAGE = "/console/meetings/checkin/{}"


def stored(services: Any) -> list[QrCode]:
    with services.sessions() as db:
        return list(db.scalars(select(QrCode)))


def test_the_page_makes_a_temporary_code_once_and_a_scan_of_it_checks_in(live, client, services, emu, wx):
    ids = checkin_setup(services, emu)
    scoped_account(services, "shuji", "T11")  # 甲公司党委: the meeting's 第一党支部 is under it
    login(client, "shuji")
    page = client.get(PAGE.format(ids["meeting"])).get_data(as_text=True)
    assert 'id="qr-image"' in page and "测试主题党日" in page and "测试甲公司第一党支部" in page
    assert 'id="count-present">0<' in page and 'id="count-expected">3<' in page
    client.get(PAGE.format(ids["meeting"]))  # opened again: the same code
    [code] = stored(services)
    assert code.scene == f"mt:{ids['meeting']}" and code.expire_at is not None
    with services.sessions() as db:
        starts = aware(db.get(Meeting, ids["meeting"]).starts_at)
    assert aware(code.expire_at) >= starts + timedelta(minutes=60)  # the window's end
    made = emu.find_qr(code.ticket)
    assert made is not None and not made.permanent and made.scene == code.scene
    image = client.get(PAGE.format(ids["meeting"]) + "/qr.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")

    assert wx.scan(ids["jia"], code.ticket, codes=emu).text.startswith("签到成功！")
    assert wx.scan(ids["ding"], code.scene, codes=emu).text.startswith("列席签到成功！")
    counts = client.get(PAGE.format(ids["meeting"]) + "/counts.json").get_json()
    assert counts == {"present": 1, "expected": 3, "guests": 1, "state": "open"}


def test_a_code_expiring_before_the_window_ends_is_replaced(live, client, services, emu):
    ids = checkin_setup(services, emu)
    scoped_account(services, "shuji", "T111")
    login(client, "shuji")
    client.get(PAGE.format(ids["meeting"]))
    with services.sessions() as db:
        code = db.scalar(select(QrCode))
        old_ticket, code.expire_at = code.ticket, utcnow() + timedelta(minutes=5)
        db.commit()
    client.get(PAGE.format(ids["meeting"]))
    [code] = stored(services)
    assert code.ticket != old_ticket and aware(code.expire_at) > utcnow() + timedelta(minutes=60)


def test_no_code_for_a_meeting_over_or_cancelled(live, client, services, emu):
    ids = checkin_setup(services, emu, starts_in=timedelta(hours=-3))
    scoped_account(services, "shuji", "T111")
    login(client, "shuji")
    page = client.get(PAGE.format(ids["meeting"])).get_data(as_text=True)
    assert "签到已结束" in page and 'id="qr-image"' not in page
    assert client.get(PAGE.format(ids["meeting"]) + "/qr.png").status_code == 404
    with services.sessions() as db:
        db.get(Meeting, ids["meeting"]).status = CANCELLED
        db.commit()
    assert "会议已取消" in client.get(PAGE.format(ids["meeting"])).get_data(as_text=True)
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(QrCode)) == 0


def test_the_page_is_scoped(client, services, emu, make_account):
    ids = checkin_setup(services, emu)
    scoped_account(services, "yishuji", "T21")  # 乙公司党支部: another 片区
    login(client, "yishuji")
    for suffix in ("", "/qr.png", "/counts.json"):
        assert client.get(PAGE.format(ids["meeting"]) + suffix).status_code == 404
    assert client.get(PAGE.format(999999)).status_code == 404
    make_account("chen", "caseworker")
    other = client.application.test_client()
    login(other, "chen")
    assert other.get(PAGE.format(ids["meeting"])).status_code == 403


def test_in_chromium_the_counts_follow_the_scans(
    browser: Any, live: str, services: Any, emu: Any, wx: Any, tmp_path: Path
) -> None:
    ids = checkin_setup(services, emu)
    scoped_account(services, "shuji", "T11", role="instructor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("shuji")
    page.goto(live + PAGE.format(ids["meeting"]))
    expect(page.locator("#checkin-topic")).to_have_text("测试主题党日")
    expect(page.locator("#count-present")).to_have_text("0")
    page.wait_for_function(
        "() => { const i = document.getElementById('qr-image'); return i && i.complete && i.naturalWidth > 0; }"
    )  # served by the console
    [code] = stored(services)
    wx.scan(ids["jia"], code.ticket, codes=emu)
    wx.scan(ids["ding"], code.ticket, codes=emu)
    expect(page.locator("#count-present")).to_have_text("1", timeout=WAIT)
    expect(page.locator("#count-guests")).to_have_text("1", timeout=WAIT)
    screen.shot(str(tmp_path / "checkin.png"))
    page.emulate_media(media="print")
    expect(page.locator("#print-hint")).to_be_hidden()
    expect(page.locator("#qr-image")).to_be_visible()
    screen.close()


def test_the_emulators_chat_page_scans_the_meeting_code(live, client, services, emu):
    """The emulator's 「扫码」 (its chat endpoint) by ticket, then by scene; an expired code is refused."""
    ids = checkin_setup(services, emu)
    scoped_account(services, "shuji", "T111")
    login(client, "shuji")
    client.get(PAGE.format(ids["meeting"]))
    [code] = stored(services)
    scan = live + "/emulator/chat/users/{}/scan"
    answer = requests.post(scan.format(ids["yi"]), json={"code": code.ticket}, timeout=30).json()
    assert answer["ok"] and answer["reply"]["Content"].startswith("签到成功！")
    again = requests.post(scan.format(ids["ding"]), json={"code": code.scene}, timeout=30).json()
    assert again["reply"]["Content"].startswith("列席签到成功！")
    assert len(attended(services, ids["meeting"])) == 2
    emu.expire_qr(code.ticket)  # past its expiry: WeChat sends nothing
    expired = requests.post(scan.format(ids["jia"]), json={"code": code.ticket}, timeout=30)
    assert expired.status_code == 410 and len(attended(services, ids["meeting"])) == 2


def test_a_meeting_beyond_30_days_gets_the_longest_code_and_a_warning(live, client, services, emu):
    ids = checkin_setup(services, emu, starts_in=timedelta(days=40))
    scoped_account(services, "shuji", "T111")
    login(client, "shuji")
    first = client.get(PAGE.format(ids["meeting"])).get_data(as_text=True)
    assert 'id="qr-expires"' in first and 'id="qr-image"' in first
    [code] = stored(services)
    assert timedelta(days=29) < aware(code.expire_at) - utcnow() <= timedelta(days=30)
    assert emu.find_qr(code.ticket).expire_seconds() == 30 * 86400
    client.get(PAGE.format(ids["meeting"]))  # opened again: kept while it has days left
    assert [c.ticket for c in stored(services)] == [code.ticket]
