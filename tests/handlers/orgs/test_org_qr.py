"""Organisation QR codes: the console page creates a permanent code once (the emulator's qrcode/create) and shows it
ready to print; a follower's SCAN and a new follower's subscribe with the scene start 党员认证 for that subtree."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core.database import utcnow
from bot.core.followers import Follower
from bot.core.members import CONFIRMED
from bot.core.organisations import Organisation
from bot.core.qrcodes import QrCode
from tests.console.console_helpers import csrf_token, login
from tests.handlers.orgs.auth_helpers import NOT_VERIFIED, audits, membership, secretary, tree_with_members

QR = "/console/orgs/confirmations/qr?code={}"


def test_a_scan_starts_confirmation_for_that_organisation(wx, user, services):
    tree_with_members(services)
    first = wx.event(user, "SCAN", "org:T11").text
    assert "【党员认证·测试甲公司党委】" in first and "请回复您的姓名" in first
    wx.text(user, "测试党员甲")
    assert "认证成功" in wx.text(user, "19900001001").text  # 第一党支部 is under 甲公司党委
    row = membership(services, user)
    assert (row.status, row.organisation, row.method, row.confirmed_by) == (CONFIRMED, "T111", "qr", "auto")


def test_a_member_outside_the_codes_subtree_is_not_verified(wx, user, services):
    tree_with_members(services)
    wx.event(user, "SCAN", "org:T11")
    wx.text(user, "测试党员乙")  # 乙公司党支部: another 片区
    assert NOT_VERIFIED in wx.text(user, "19900001002").text
    assert membership(services, user) is None


def test_a_new_follower_gets_the_welcome_and_the_prompt(wx, services, emu):
    tree_with_members(services)
    openid = emu.create_user(subscribed=False)["openid"]
    reply = wx.subscribe(openid, "org:T111").text
    assert reply.startswith(services.settings.followers.welcome)
    assert "【党员认证·测试甲公司第一党支部】" in reply
    with services.sessions() as db:
        follower = db.get(Follower, openid)
        assert follower.subscribed and follower.scene == "org:T111"
    wx.text(openid, "测试党员甲")
    assert "认证成功" in wx.text(openid, "19900001001").text


def test_other_scenes_and_dissolved_organisations(wx, user, services):
    tree_with_members(services)
    with services.sessions() as db:
        db.scalar(select(Organisation).where(Organisation.code == "T112")).dissolved_at = utcnow()
        db.commit()
    assert "欢迎回来" in wx.event(user, "SCAN", "park1").text
    assert "已撤销或不存在" in wx.event(user, "SCAN", "org:T112").text
    assert "已撤销或不存在" in wx.event(user, "SCAN", "org:NOPE").text
    assert wx.subscribe(user, "park1").text == services.settings.followers.welcome


def test_the_console_creates_the_code_once_and_a_scan_of_it_works(live, client, services, emu, wx):
    tree_with_members(services)
    secretary(services, "shuji", "T11")
    login(client, "shuji")
    page = client.get(QR.format("T111")).get_data(as_text=True)
    assert "还没有二维码" in page and "测试甲公司第一党支部" in page
    for _ in range(2):  # the second press reuses the code
        res = client.post(QR.format("T111"), data={"csrf_token": csrf_token(client, QR.format("T111"))})
        assert res.status_code == 302
    page = client.get(QR.format("T111")).get_data(as_text=True)
    assert 'id="qr-image"' in page and 'id="qr-name">测试甲公司第一党支部<' in page and "@media print" not in page
    image = client.get("/console/orgs/confirmations/qr.png?code=T111")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data.startswith(b"\x89PNG")
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(QrCode)) == 1
        code = db.scalar(select(QrCode))
    assert code.scene == "org:T111" and code.expire_at is None and code.url
    made = emu.find_qr(code.ticket)
    assert made is not None and made.permanent and made.scene == "org:T111"
    assert len(audits(services, "org.qr_create")) == 1

    openid = emu.create_user(subscribed=True)["openid"]
    assert "【党员认证·测试甲公司第一党支部】" in wx.scan(openid, code.ticket, codes=emu).text
    stranger = emu.create_user(subscribed=False)["openid"]
    assert "【党员认证·测试甲公司第一党支部】" in wx.scan(stranger, "org:T111", codes=emu).text


def test_the_qr_page_is_scoped(client, services, make_account):
    tree_with_members(services)
    secretary(services, "yishuji", "T21")
    login(client, "yishuji")
    assert client.get(QR.format("T21")).status_code == 200
    assert client.get(QR.format("T11")).status_code == 403  # another subtree
    assert client.get(QR.format("NOPE")).status_code == 404
    make_account("chen", "caseworker")
    other = client.application.test_client()
    login(other, "chen")
    assert other.get(QR.format("T21")).status_code == 403
