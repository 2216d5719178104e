"""Staff binding codes 「绑定后台 …」 through the emulator: long codes, tries limited per WeChat user and overall,
and no reply names the console account."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.staff.alerts import CODE_DIGITS
from tests.handlers.staff.staff_binding_helpers import bound_openid, new_code, staff_member


def follower(emu: Any, services: Any, name: str = "指导员") -> str:
    openid = emu.create_user(name, subscribed=True)["openid"]
    services.followers.subscribe(openid)
    return openid


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def test_codes_are_long_and_no_reply_names_the_account(app: Any, services: Any, wx: Any, emu: Any):
    zhang = staff_member(app, "zhangsan")
    code = new_code(zhang)
    assert len(code) == CODE_DIGITS >= 8 and code.isdigit()
    openid = follower(emu, services)
    bad = wx.text(openid, f"绑定后台 {wrong(code)}").reply["Content"]
    assert "无效或已过期" in bad and "zhangsan" not in bad
    old_style = wx.text(openid, f"绑定后台 {code[:6]}").reply["Content"]  # six digits no longer work
    assert "无效或已过期" in old_style and bound_openid(services, "zhangsan") is None
    good = wx.text(openid, f"绑定后台 {code[:5]} {code[5:]}").reply["Content"]  # spaces are ignored
    assert "绑定成功" in good and "zhangsan" not in good
    assert bound_openid(services, "zhangsan") == openid
    assert 'id="bound"' in zhang.get("/console/wechat/").get_data(as_text=True)  # the owner sees it in the console


def test_one_wechat_user_gets_a_few_tries_then_waits(app: Any, services: Any, wx: Any, emu: Any):
    zhang = staff_member(app, "zhangsan")
    code = new_code(zhang)
    guesser = follower(emu, services, "猜码人")
    tries = services.settings.section("console")["bind_max_attempts"]
    for _ in range(tries):
        assert "无效或已过期" in wx.text(guesser, f"绑定后台 {wrong(code)}").reply["Content"]
    blocked = wx.text(guesser, f"绑定后台 {code}").reply["Content"]  # even the right code, once over the limit
    assert "尝试次数过多" in blocked and "分钟后再试" in blocked
    assert bound_openid(services, "zhangsan") is None
    owner = follower(emu, services, "本人")
    assert "绑定成功" in wx.text(owner, f"绑定后台 {code}").reply["Content"]  # the code was not used up
    assert bound_openid(services, "zhangsan") == owner


@pytest.mark.config(console={"bind_global_max_attempts": 3})
def test_all_wechat_users_together_have_a_limit(app: Any, services: Any, wx: Any, emu: Any):
    zhang = staff_member(app, "zhangsan")
    code = new_code(zhang)
    for i in range(3):
        wx.text(follower(emu, services, f"用户{i}"), f"绑定后台 {wrong(code)}")
    late = follower(emu, services, "本人")
    assert "尝试次数过多" in wx.text(late, f"绑定后台 {code}").reply["Content"]
    assert bound_openid(services, "zhangsan") is None
