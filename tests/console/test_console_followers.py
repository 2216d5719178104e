"""The followers page: counts, masked openids, search, and tags that reach the (fake) WeChat API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.core.accounts import AuditEntry, ConsoleTag
from bot.core.database import Follower
from bot.core.logs import mask
from tests.console.console_helpers import login, submit

REF = re.compile(r'name="refs" value="([^"]+)" aria-label="选择 ([^"]+)"')  # a row's checkbox and whose it is


@pytest.fixture
def people(emu, services) -> list[str]:
    """Three emulator users who follow the account (in the followers table too) and one who left."""
    openids = [emu.create_user(f"粉丝{i}", subscribed=True)["openid"] for i in range(4)]
    for openid in openids:
        services.followers.subscribe(openid, scene="qrscene_party" if openid == openids[0] else None)
    services.followers.unsubscribe(openids[3])
    return openids


def refs(page: str) -> dict[str, str]:
    """Shown openid → the row's reference."""
    return {shown: ref for ref, shown in REF.findall(page)}


def make_tag(client, name: str):
    return submit(
        client, "/console/followers/", {"name": name, "back": "/console/followers/"}, "/console/followers/tags"
    )


def test_counts_and_masked_openids_for_non_admins(editor, people):
    page = editor.get("/console/followers/").get_data(as_text=True)
    assert 'id="count-subscribed">3<' in page and 'id="count-unsubscribed">1<' in page
    assert all(o not in page for o in people)  # not even inside the checkboxes' values
    assert sorted(refs(page)) == sorted(mask(o) for o in people)


def test_admin_sees_whole_openids_and_may_search_parts(admin, people):
    page = admin.get("/console/followers/").get_data(as_text=True)
    assert all(o in page for o in people)
    found = admin.get(f"/console/followers/?q={people[1][5:15]}").get_data(as_text=True)
    assert "找到 1 位粉丝" in found and people[1] in found


def test_search_by_scene_status_and_exact_openid(editor, people):
    assert "找到 1 位粉丝" in editor.get("/console/followers/?q=party").get_data(as_text=True)
    assert "找到 1 位粉丝" in editor.get("/console/followers/?status=unsubscribed").get_data(as_text=True)
    assert "找到 0 位粉丝" in editor.get(f"/console/followers/?q={people[1][5:15]}").get_data(as_text=True)
    assert "找到 1 位粉丝" in editor.get(f"/console/followers/?q={people[1]}").get_data(as_text=True)


def test_new_tag_is_created_in_wechat(editor, live, services):
    res = make_tag(editor, "在职党员")
    assert res.headers["Location"] == "/console/followers/"
    [remote] = [t for t in services.wx.tag.get() if t["name"] == "在职党员"]
    with services.sessions() as db:
        assert db.get(ConsoleTag, remote["id"]).name == "在职党员"
    assert "已新建标签「在职党员」" in editor.get("/console/followers/").get_data(as_text=True)


def test_wechat_refusal_is_shown_in_chinese(editor, live):
    make_tag(editor, "党员")
    make_tag(editor, "党员")
    page = editor.get("/console/followers/").get_data(as_text=True)
    assert "微信接口返回错误 45157：标签名为空或已存在" in page


def test_tag_assignment_reaches_wechat_and_the_table(editor, live, services, people, emu):
    make_tag(editor, "在职党员")
    tag_id = next(t["id"] for t in services.wx.tag.get() if t["name"] == "在职党员")
    rows = refs(editor.get("/console/followers/").get_data(as_text=True))
    chosen = [rows[mask(people[0])], rows[mask(people[1])]]
    res = submit(
        editor,
        "/console/followers/",
        {"tag": tag_id, "refs": chosen, "add": "1", "back": "/console/followers/"},
        "/console/followers/members",
        follow_redirects=True,
    )
    page = res.get_data(as_text=True)
    assert "已为 2 位粉丝添加标签「在职党员」" in page
    assert services.wx.tag.get_user_tag(people[0]) == [tag_id] and emu.user(people[2])["tagid_list"] == []
    assert [t["count"] for t in services.wx.tag.get() if t["id"] == tag_id] == [2]
    with services.sessions() as db:
        assert db.get(Follower, people[1]).tags == [tag_id] and db.get(Follower, people[2]).tags == []
    filtered = editor.get(f"/console/followers/?tag={tag_id}").get_data(as_text=True)
    assert "找到 2 位粉丝" in filtered

    submit(
        editor, "/console/followers/", {"tag": tag_id, "refs": chosen[:1], "remove": "1"}, "/console/followers/members"
    )
    assert services.wx.tag.get_user_tag(people[0]) == []
    with services.sessions() as db:
        assert db.get(Follower, people[0]).tags == []
        actions = db.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions[-3:] == ["tag.create", "tag.assign", "tag.remove"]


def test_sync_takes_tags_made_in_wechat(editor, live, services):
    services.wx.tag.create("流动党员")
    submit(editor, "/console/followers/", {"back": "/console/followers/"}, "/console/followers/tags/sync")
    assert "流动党员" in editor.get("/console/followers/").get_data(as_text=True)


def test_reviewer_may_look_but_not_change_tags(client, make_account, live, people):
    make_account("li", "reviewer")
    login(client, "li")
    page = client.get("/console/followers/").get_data(as_text=True)
    assert 'id="count-subscribed">3<' in page and 'name="refs"' not in page and "新建标签" not in page
    assert make_tag(client, "偷偷建的").status_code == 403


def test_forged_reference_is_ignored(editor, live, services, people):
    make_tag(editor, "在职党员")
    tag_id = next(t["id"] for t in services.wx.tag.get() if t["name"] == "在职党员")
    res = submit(
        editor,
        "/console/followers/",
        {"tag": tag_id, "refs": [people[0]], "add": "1"},
        "/console/followers/members",
        follow_redirects=True,
    )
    assert "请先勾选粉丝并选择标签" in res.get_data(as_text=True)
    assert services.wx.tag.get_user_tag(people[0]) == []


NASTY = "<script>alert(1)</script>"  # typed by someone, must come back as text


def test_user_typed_text_is_escaped(admin, live, services):
    services.followers.subscribe("oNasty" + "x" * 20, scene=NASTY)
    make_tag(admin, "<b>标签</b>")
    page = admin.get(f"/console/followers/?q={NASTY}").get_data(as_text=True)
    assert NASTY not in page and "<b>标签</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;标签&lt;/b&gt;" in page
    audit = admin.get("/console/audit/").get_data(as_text=True)
    assert "<b>标签</b>" not in audit and "&lt;b&gt;标签&lt;/b&gt;" in audit


@pytest.mark.config(emulator={"failure_rate": 1.0})
def test_wechat_failure_changes_nothing(editor, live, services):
    res = make_tag(editor, "在职党员")
    page = editor.get(res.headers["Location"]).get_data(as_text=True)
    assert "微信接口返回错误 -1" in page
    with services.sessions() as db:
        assert db.execute(select(ConsoleTag)).scalars().all() == []
        assert "tag.create" not in db.execute(select(AuditEntry.action)).scalars().all()


def test_organisation_bindings_are_counted_shown_and_filtered(admin, services, people):
    from bot.core.members import Membership
    from tests.org_helpers import add_org

    with services.sessions() as db:
        root = add_org(db, "T0", "测试园区党工委", "党工委")
        add_org(db, "sany", "三一集团党委", "党委", root)
        add_org(db, "jiguan", "机关党委", "党委", root)
        db.add_all(
            [
                Membership(openid=people[0], organisation="sany"),
                Membership(openid=people[1], organisation="sany"),
                Membership(openid=people[2], organisation="jiguan"),
            ]
        )
        db.commit()
    page = admin.get("/console/followers/").get_data(as_text=True)
    assert '三一集团党委</span> <span class="chip-n">2<' in page and '机关党委</span> <span class="chip-n">1<' in page
    only = admin.get("/console/followers/?org=jiguan").get_data(as_text=True)
    assert people[2] in only and people[0] not in only and "找到 1 位粉丝" in only
