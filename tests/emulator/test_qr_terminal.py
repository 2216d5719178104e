"""The terminal chat's /codes and /scan (bot/emulator/terminal.py) against the live server."""

from __future__ import annotations

from typing import Any

from tests.emulator.test_terminal import chat


def create(wxapi: Any, action: str, scene: int | str, **extra: Any) -> str:
    key = "scene_str" if isinstance(scene, str) else "scene_id"
    return wxapi.post("qrcode/create", {"action_name": action, "action_info": {"scene": {key: scene}}, **extra})[
        "ticket"
    ]


def last_in(emu: Any, openid: str) -> dict[str, Any]:
    return [e["body"] for e in emu.messages(openid) if e["dir"] == "in"][-1]


def test_codes_lists_them_and_scan_sends_subscribe_then_scan(app, live, wxapi, emu, user):
    old = create(wxapi, "QR_SCENE", 7, expire_seconds=600)
    emu.expire_qr(old)
    org = create(wxapi, "QR_LIMIT_STR_SCENE", "org:ORG-001")
    meet = create(wxapi, "QR_STR_SCENE", "meet:2026-12-01", expire_seconds=5400)

    def check_subscribed() -> str:
        sent = last_in(emu, user)
        assert (sent["Event"], sent["EventKey"], sent["Ticket"]) == ("subscribe", "qrscene_org:ORG-001", org)
        assert emu.user(user)["subscribed"] is True
        return ""

    lines = ["/codes", "/unfollow", "/scan org:ORG-001", check_subscribed, f"/scan {meet}", "/scan 7", "/scan nope"]
    out = chat(app, live, [*lines, "/quit"], user=user)
    text = "\n".join(out)
    listing = next(line for line in out if line.startswith("meet:2026-12-01"))
    assert listing.split("\n") == [
        "meet:2026-12-01    临时二维码，1 小时后过期",
        f"    ticket {meet}",
        "org:ORG-001    永久二维码",
        f"    ticket {org}",
        "7    临时二维码，已过期",
        f"    ticket {old}",
    ]
    assert "  · 你扫码关注了公众号（场景 org:ORG-001）" in out
    assert "  · 你扫描了二维码（场景 meet:2026-12-01）" in out
    assert "  ✗ 该二维码已过期" in out
    assert "  ✗ 没有这个二维码" in out
    sent = last_in(emu, user)
    assert (sent["Event"], sent["EventKey"], sent["Ticket"]) == ("SCAN", "meet:2026-12-01", meet)
    assert "/scan 场景或ticket" in "\n".join(chat(app, live, ["/help", "/quit"], user=user))
    assert "未知命令" not in text


def test_codes_says_when_there_are_none(app, live, user):
    out = chat(app, live, ["/codes", "/scan", "/quit"], user=user)
    assert "（还没有二维码：公众号调用 qrcode/create 后会出现在这里）" in out
    assert "未知命令 /scan。输入 /help 查看命令。" in out  # /scan needs a scene or ticket
