def test_help_through_emulator(wx, user):
    ex = wx.text(user, "帮助")
    assert ex.status == 200
    assert "帮助" in ex.text
