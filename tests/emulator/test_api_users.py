"""Menu, tag and user APIs of the emulator, through the app's own WeChat client."""

from __future__ import annotations

import copy

import pytest

from bot.core.errors import WeChatAPIError
from bot.emulator.client import new_openid


def errcode(call) -> int | None:
    """The errcode a client call raises (None if it succeeds)."""
    try:
        call()
    except WeChatAPIError as exc:
        return exc.errcode
    return None


def test_configured_menu_is_synced_and_read_back(live, services):
    menu = services.settings.section("menu")
    assert services.outbox.sync_menu(menu).ok
    assert services.wx.menu.get()["menu"]["button"] == menu["button"]
    services.wx.menu.delete()
    assert errcode(services.wx.menu.get) == 46003


SHAPES = [  # (change to a valid menu, expected errcode)
    (
        lambda m: (
            m["button"].append({"type": "click", "name": "四", "key": "K4"})
            or m["button"].append({"type": "click", "name": "五", "key": "K5"})
        ),
        40016,
    ),
    (lambda m: m.update(button=[]), 40016),
    (
        lambda m: m["button"][0]["sub_button"].extend(
            [{"type": "click", "name": f"子{i}", "key": f"S{i}"} for i in range(5)]
        ),
        40023,
    ),
    (lambda m: m["button"][0]["sub_button"][0].pop("key"), 40026),
    (lambda m: m["button"][0]["sub_button"][0].update(type="view"), 40027),
    (lambda m: m["button"][0]["sub_button"][0].update(type="teleport"), 40024),
    (lambda m: m["button"][0]["sub_button"][0].update(name="字" * 21), 40025),
    (lambda m: m["button"][1].update(name="六个汉字太长"), 40018),
    (lambda m: m["button"][1].pop("name"), 40018),
    (lambda m: m["button"].__setitem__(2, {"type": "click", "name": "帮助"}), 40019),
    (lambda m: m["button"].__setitem__(2, {"type": "view", "name": "官网"}), 40020),
    (lambda m: m["button"].__setitem__(2, {"name": "无类型"}), 40017),
]
VALID = {
    "button": [
        {"name": "学习", "sub_button": [{"type": "click", "name": "专辑", "key": "A"}]},
        {"type": "view", "name": "官网", "url": "https://example.com"},
        {"type": "click", "name": "帮助", "key": "HELP"},
    ]
}


@pytest.mark.parametrize("change, code", SHAPES, ids=[str(code) for _, code in SHAPES])
def test_menu_shape_is_validated(live, services, change, code):
    menu = copy.deepcopy(VALID)
    change(menu)
    result = services.outbox.sync_menu(menu)
    assert (result.ok, result.errcode) == (False, code)


def test_valid_menu_shape_is_accepted(live, services):
    assert services.outbox.sync_menu(VALID).ok


def test_tags_lifecycle(live, services, emu):
    a, b, c = emu.create_users(3)
    tags = services.wx.tag
    party = tags.create("党员")
    assert party["id"] >= 100 and party["name"] == "党员"
    assert errcode(lambda: tags.create("党员")) == 45157
    assert errcode(lambda: tags.create("长" * 31)) == 45158
    tags.tag_user(party["id"], [a, b])
    assert tags.get_user_tag(a) == [party["id"]]
    assert [t["count"] for t in tags.get() if t["id"] == party["id"]] == [2]
    assert sorted(tags.get_tag_users(party["id"])["data"]["openid"]) == sorted([a, b])
    tags.untag_user(party["id"], a)
    assert tags.get_user_tag(a) == [] and emu.user(b)["tagid_list"] == [party["id"]]
    tags.update(party["id"], "正式党员")
    assert [t["name"] for t in tags.get()] == ["正式党员"]
    assert errcode(lambda: tags.tag_user(party["id"], [new_openid()])) == 40003
    assert errcode(lambda: tags.tag_user(999, [c])) == 45159
    assert errcode(lambda: tags.delete(2)) == 45058
    tags.delete(party["id"])
    assert tags.get() == [] and emu.user(b)["tagid_list"] == []


def test_user_info_and_batchget(live, services, emu, user):
    info = services.wx.user.get(user)
    assert info["subscribe"] == 1 and info["openid"] == user and info["nickname"] == "测试用户"
    assert info["subscribe_time"] > 0 and info["tagid_list"] == []
    gone = emu.create_user("走了", subscribed=False)["openid"]
    assert services.wx.user.get(gone) == {"subscribe": 0, "openid": gone}
    assert errcode(lambda: services.wx.user.get(new_openid())) == 40003
    batch = services.wx.user.get_batch([user, gone])
    assert [u["subscribe"] for u in batch] == [1, 0]


def test_follower_list_pages_of_10000(live, services, emu):
    openids = emu.create_users(10_001)
    emu.create_user("走了", subscribed=False)
    first = services.wx.user.get_followers()
    assert (first["total"], first["count"]) == (10_001, 10_000)
    assert first["next_openid"] == first["data"]["openid"][-1]
    second = services.wx.user.get_followers(first["next_openid"])
    assert second["count"] == 1 and second["data"]["openid"][0] not in first["data"]["openid"]
    last = services.wx.user.get_followers(second["next_openid"])
    assert (last["count"], last["next_openid"], "data" in last) == (0, "", False)
    assert sorted(services.wx.user.iter_followers()) == sorted(openids)
