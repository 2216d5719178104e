"""Smoke: the help text comes back through the emulator (the specific answer, not the fallback that also says 帮助)."""


def test_help_through_emulator(wx, user):
    ex = wx.text(user, "帮助")
    assert ex.status == 200
    assert ex.text.startswith("您好！这里是园区微党建公众号") and "常用指令" in ex.text
