"""Parametric QR codes in the emulator: qrcode/create as strict as WeChat's, showqrcode's image, expiry, and
SimClient.scan sending what WeChat sends (SCAN for a follower, subscribe with qrscene_ for a new one)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import segno

from bot.core.errors import WeChatAPIError
from bot.emulator.client import new_openid, to_xml
from bot.emulator.keys import QR_EXPIRY, QR_KEEP_EXPIRED, QR_PERMANENT, QR_PERMANENT_LIMIT
from bot.inbound.wire import parse_xml
from tests.emulator.qr_helpers import png_modules


def temp(scene: int | str, **extra):
    """The body of a temporary code for an integer or string scene."""
    if isinstance(scene, int):
        return {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": scene}}, **extra}
    return {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}, **extra}


def perm(scene: int | str):
    if isinstance(scene, int):
        return {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": scene}}}
    return {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}


def show(live: str, ticket: str) -> requests.Response:
    return requests.get(f"{live}/emulator/cgi-bin/showqrcode", params={"ticket": ticket}, timeout=30)


# qrcode/create ---------------------------------------------------------------------------------------
def test_a_temporary_code_answers_ticket_expire_seconds_and_url(wxapi):
    answer = wxapi.post("qrcode/create", temp("join:ORG-001", expire_seconds=3600))
    assert set(answer) == {"ticket", "expire_seconds", "url"}
    assert answer["expire_seconds"] == 3600
    assert answer["url"].startswith("http://weixin.qq.com/q/")
    assert wxapi.post("qrcode/create", temp(42))["expire_seconds"] == 60  # the default life


def test_a_temporary_code_lives_at_most_30_days(wxapi):
    assert wxapi.post("qrcode/create", temp(7, expire_seconds=2_592_000 * 2))["expire_seconds"] == 2_592_000


def test_a_permanent_code_has_no_expiry_and_the_same_scene_gives_the_same_ticket(wxapi):
    first = wxapi.post("qrcode/create", perm("org:ORG-001"))
    assert set(first) == {"ticket", "url"}
    assert wxapi.post("qrcode/create", perm("org:ORG-001")) == first
    assert wxapi.post("qrcode/create", perm("org:ORG-002"))["ticket"] != first["ticket"]
    by_id = wxapi.post("qrcode/create", perm(100_000))
    assert wxapi.post("qrcode/create", perm(100_000)) == by_id


def test_concurrent_creates_of_one_permanent_scene_give_one_ticket(wxapi, emu):
    wxapi.fresh_token()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: wxapi.post("qrcode/create", perm("org:ORG-777")), range(16)))
    assert len({a["ticket"] for a in answers}) == 1
    assert [c.scene for c in emu.qr_codes()] == ["org:ORG-777"]


def test_temporary_codes_are_new_each_time(wxapi):
    assert (
        wxapi.post("qrcode/create", temp("meet:1"))["ticket"] != wxapi.post("qrcode/create", temp("meet:1"))["ticket"]
    )


BAD = [  # (body, errcode)
    ({"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_id": 1}}}, 40052),
    ({"action_info": {"scene": {"scene_id": 1}}}, 40052),
    ({"action_name": "QR_SCENE"}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene_id": 1}}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_str": "a"}}}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 2**32}}}, 40053),
    ({"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": "12"}}}, 40053),
    ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}}, 40053),
    ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 0}}}, 40053),
    ({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}}, 40053),
    ({"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}}, 40053),
    ({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_id": 5}}}, 40053),
    (temp(1, expire_seconds="60"), 47001),
    (temp(1, expire_seconds=0), 40035),
]


@pytest.mark.parametrize(("data", "code"), BAD)
def test_bad_input_gets_wechats_errcode(wxapi, emu, data, code):
    before = len(emu.qr_codes())
    answer = wxapi.post("qrcode/create", data)
    assert answer["errcode"] == code and answer["errmsg"]
    assert len(emu.qr_codes()) == before


def test_a_64_character_scene_str_is_accepted(wxapi):
    assert "ticket" in wxapi.post("qrcode/create", perm("码" * 64))


def test_the_token_and_body_are_checked(live, wxapi):
    assert wxapi.post("qrcode/create", perm(1), token="")["errcode"] == 41001
    assert wxapi.post("qrcode/create", perm(1), token="not-a-token")["errcode"] == 40001
    res = requests.post(
        f"{live}/emulator/cgi-bin/qrcode/create", params={"access_token": wxapi.fresh_token()}, data=b"", timeout=30
    )
    assert res.json()["errcode"] == 44002
    assert wxapi.post("qrcode/create", ["QR_SCENE"])["errcode"] == 47001


def test_an_expired_token_is_42001(wxapi, emu):
    emu.expire_token(wxapi.fresh_token())
    assert wxapi.post("qrcode/create", perm(1))["errcode"] == 42001


@pytest.mark.config(emulator={"account_type": "subscription"})
def test_a_subscription_account_may_not_create_codes(wxapi):
    assert wxapi.post("qrcode/create", perm(1))["errcode"] == 48001


def test_at_most_100000_permanent_codes(wxapi, emu):
    five = wxapi.post("qrcode/create", perm(5))
    fillers = {f"QR_LIMIT_STR_SCENE:filler-{i}": f"t{i}" for i in range(1, QR_PERMANENT_LIMIT)}
    emu.redis.hset(QR_PERMANENT, mapping=fillers)  # as if 99,999 more had been created
    assert wxapi.post("qrcode/create", perm("one-too-many")) == {
        "errcode": 45029,
        "errmsg": "qrcode count out of limit",
    }
    assert wxapi.post("qrcode/create", perm(5)) == five  # an existing scene still answers its ticket
    assert "ticket" in wxapi.post("qrcode/create", temp("temporary codes are not counted"))


def test_an_injected_error_is_answered(wxapi, emu):
    emu.inject("qrcode/create", 45009)
    assert wxapi.post("qrcode/create", perm(1))["errcode"] == 45009
    assert "ticket" in wxapi.post("qrcode/create", perm(1))


def test_the_bots_client_creates_codes_and_knows_where_to_show_them(live, services):
    answer = services.wx.qrcode.create(perm("org:ORG-009"))
    url = services.wx.qrcode_image_url(answer["ticket"])
    assert url.startswith(services.settings.api_base_url + "showqrcode?ticket=")
    assert requests.get(url, timeout=30).headers["Content-Type"] == "image/png"
    with pytest.raises(WeChatAPIError) as err:
        services.wx.qrcode.create({"action_name": "QR_SCENE"})
    assert err.value.errcode == 40053


# showqrcode ---------------------------------------------------------------------------------------
def test_showqrcode_draws_a_real_qr_code_of_the_url_without_a_token(live, wxapi):
    answer = wxapi.post("qrcode/create", temp("meet:2026-12-01", expire_seconds=600))
    res = show(live, answer["ticket"])
    assert res.status_code == 200 and res.headers["Content-Type"] == "image/png"
    modules = png_modules(res.content)
    assert modules == [list(row) for row in segno.make(answer["url"], error="m", boost_error=False).matrix]
    assert all(modules[r][c] for r, c in [(0, 0), (0, 6), (6, 0), (6, 6)])  # a finder pattern's corners


def test_showqrcode_is_404_for_an_unknown_or_expired_ticket(live, wxapi, emu):
    assert show(live, "gQnothing").status_code == 404
    assert show(live, "").status_code == 404
    answer = wxapi.post("qrcode/create", temp(99, expire_seconds=600))
    emu.expire_qr(answer["ticket"])
    assert show(live, answer["ticket"]).status_code == 404
    permanent = wxapi.post("qrcode/create", perm(99))
    emu.expire_qr(permanent["ticket"])  # a permanent code never expires
    assert show(live, permanent["ticket"]).status_code == 200


def test_a_code_expires_after_its_seconds(live, wxapi):
    answer = wxapi.post("qrcode/create", temp(5, expire_seconds=1))
    assert show(live, answer["ticket"]).status_code == 200
    time.sleep(1.1)
    assert show(live, answer["ticket"]).status_code == 404


# Scans ---------------------------------------------------------------------------------------------
def last_in(emu, openid):
    return [e["body"] for e in emu.messages(openid) if e["dir"] == "in"][-1]


def test_a_follower_scanning_sends_scan_with_the_scene_and_ticket(wxo, wxapi, emu):
    openid = new_openid()
    emu.create_user(openid=openid, subscribed=True)
    answer = wxapi.post("qrcode/create", perm("org:ORG-001"))
    ex = wxo.scan(openid, "org:ORG-001")
    assert ex is not None and ex.ok
    sent = last_in(emu, openid)
    assert (sent["MsgType"], sent["Event"], sent["EventKey"], sent["Ticket"]) == (
        "event",
        "SCAN",
        "org:ORG-001",
        answer["ticket"],
    )


def test_a_new_follower_scanning_subscribes_with_qrscene(wxo, wxapi, emu):
    openid = new_openid()
    answer = wxapi.post("qrcode/create", temp(12345, expire_seconds=600))
    assert wxo.scan(openid, answer["ticket"]) is not None  # by ticket
    sent = last_in(emu, openid)
    assert (sent["Event"], sent["EventKey"], sent["Ticket"]) == ("subscribe", "qrscene_12345", answer["ticket"])
    assert emu.user(openid)["subscribed"] is True
    wxo.scan(openid, answer["ticket"])  # now a follower
    assert (last_in(emu, openid)["Event"], last_in(emu, openid)["EventKey"]) == ("SCAN", "12345")


def test_a_scan_is_posted_as_wechats_xml(wx, wxapi, emu):
    openid = new_openid()
    code = emu.find_qr(wxapi.post("qrcode/create", perm(7))["ticket"])
    xml = to_xml(wx.scan_fields(openid, code, follower=True))
    assert "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event>" in xml
    assert f"<EventKey><![CDATA[7]]></EventKey><Ticket><![CDATA[{code.ticket}]]></Ticket>" in xml
    fields = parse_xml(to_xml(wx.scan_fields(openid, code, follower=False)).encode())
    assert (fields["Event"], fields["EventKey"], fields["Ticket"]) == ("subscribe", "qrscene_7", code.ticket)
    ex = wx.scan(openid, code, follower=False)  # a QrCode needs no directory; the webhook takes it
    assert ex is not None and ex.status == 200


def test_scanning_an_expired_or_unknown_code_sends_nothing(wxo, wxapi, emu):
    openid = new_openid()
    answer = wxapi.post("qrcode/create", temp("meet:old", expire_seconds=600))
    emu.expire_qr(answer["ticket"])
    assert wxo.scan(openid, answer["ticket"]) is None
    assert wxo.scan(openid, "meet:old") is None
    assert wxo.scan(openid, "no-such-scene") is None
    assert emu.messages(openid) == []


def test_scanning_by_scene_needs_the_emulators_state(wx):
    with pytest.raises(ValueError):
        wx.scan(new_openid(), "org:ORG-001")


def test_codes_are_listed_newest_first_with_their_expiry(wxapi, emu):
    old = wxapi.post("qrcode/create", temp("a", expire_seconds=600))
    new = wxapi.post("qrcode/create", perm("b"))
    emu.expire_qr(old["ticket"])
    listed = [c.as_dict() for c in emu.qr_codes()]
    assert [(c["ticket"], c["scene"], c["expired"], c["permanent"]) for c in listed[:2]] == [
        (new["ticket"], "b", False, True),
        (old["ticket"], "a", True, False),
    ]


# The chat page's endpoints ----------------------------------------------------------------------------
def test_the_chat_scan_endpoint_takes_json_only(live, wxapi, emu, user):
    ticket = wxapi.post("qrcode/create", perm(3))["ticket"]
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        res = requests.post(
            f"{live}/emulator/chat/users/{user}/scan",
            data=f'{{"code": "{ticket}"}}'.encode(),
            headers={"Content-Type": content_type},
            timeout=10,
        )
        assert res.status_code == 400
    assert emu.messages(user) == []


def test_the_chat_scan_endpoint_refuses_what_wechat_would_not_send(live, wxapi, emu, user):
    scan = f"{live}/emulator/chat/users/{user}/scan"
    assert requests.post(scan, json={"code": ""}, timeout=10).status_code == 400
    assert requests.post(scan, json={"code": "nope"}, timeout=10).json() == {"error": "没有这个二维码"}
    nobody = requests.post(f"{live}/emulator/chat/users/{new_openid()}/scan", json={"code": "3"}, timeout=10)
    assert nobody.status_code == 404
    answer = requests.post(scan, json={"code": wxapi.post("qrcode/create", perm(3))["ticket"]}, timeout=30).json()
    assert answer["ok"] and answer["user"]["subscribed"]
    assert requests.get(f"{live}/emulator/chat/qrcodes", timeout=10).json()["codes"][0]["scene"] == "3"


def test_temporary_codes_are_forgotten_a_day_after_they_expire(wxapi, emu):
    gone = wxapi.post("qrcode/create", temp("long ago", expire_seconds=60))["ticket"]
    kept = wxapi.post("qrcode/create", temp("yesterday", expire_seconds=60))["ticket"]
    emu.expire_qr(gone)
    emu.expire_qr(kept)
    emu.redis.zadd(QR_EXPIRY, {gone: time.time() - QR_KEEP_EXPIRED - 5})
    wxapi.post("qrcode/create", perm(1))  # creating a code prunes
    assert emu.qr(gone) is None and emu.qr(kept) is not None
    assert [c.ticket for c in emu.qr_codes()][-1] == kept
