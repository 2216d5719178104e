"""Push audiences from the organisation tree: an organisation and everything under it, a 片区, a category (with or
without an organisation), secretaries of an organisation; unknown refs refused naming the field; the size before
saving; scoped accounts (secretaries, instructors) push only inside their subtree, through approval."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.database import utcnow
from handlers.pushes import service as pushes
from handlers.pushes.models import Push
from tests.console.console_helpers import login, submit
from tests.handlers.pushes.aud_helpers import audience, names, park, rescope, scoped
from tests.handlers.pushes.console_push_helpers import FORM, create, only_push


@pytest.mark.parametrize(
    "kind,ref,expected",
    [
        ("organisation", "T11", {"a1_sec", "a1_m", "a1_gone", "a2_vice", "g_m"}),  # the 党委 and all under it
        ("organisation", "T111", {"a1_sec", "a1_m", "a1_gone", "g_m"}),  # a 党支部 and its 党小组
        ("organisation", "T0", {"a1_sec", "a1_m", "a1_gone", "a2_vice", "g_m", "b_sec", "b_m"}),  # the root
        ("organisation", "NOPE", set()),
        ("district", "第二片区", {"b_sec", "b_m"}),
        ("district", "第一片区", {"a1_sec", "a1_m", "a1_gone", "a2_vice", "g_m"}),
        ("category", "正式党员", {"a1_sec", "a1_m", "a1_gone", "b_sec"}),
        ("category", "正式党员@T21", {"b_sec"}),
        ("category", "预备党员@T1", {"a2_vice"}),
        ("secretaries", "T0", {"a1_sec", "a2_vice", "b_sec"}),  # 书记 and 副书记
        ("secretaries", "T111", {"a1_sec"}),
    ],
)
def test_tree_audiences_are_confirmed_members_on_the_roster(services: Any, kind: str, ref: str, expected: set[str]):
    """Unconfirmed and pending self-declared T11 bindings, a member off the roster and unbound followers never count."""
    p = park(services)
    assert names(p, audience(services, kind, ref)) == expected


def test_tag_all_and_reminders_audiences_still_work(services: Any):
    p = park(services)
    everyone = audience(services, "all")
    assert set(p.people.values()) <= everyone
    assert audience(services, "reminders") == set()


def test_unsubscribed_and_opted_out_rules_are_unchanged(services: Any):
    """An unsubscribed member is targeted and skipped as before."""
    from handlers.pushes.content import recipients

    p = park(services)
    push = Push(audience_kind="organisation", audience_ref="T111", content_kind="text", channel="template")
    with services.sessions() as db:
        reasons = dict(recipients(db, push, utcnow()))
    assert reasons[p.people["a1_gone"]] == "unsubscribed" and reasons[p.people["a1_sec"]] is None


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"audience_kind": "organisation", "audience_org": "NOPE"}, "受众组织：没有编号为「NOPE」的组织"),
        ({"audience_kind": "organisation"}, "受众组织：请选择组织"),
        ({"audience_kind": "secretaries", "audience_org": "NOPE"}, "受众组织：没有编号为「NOPE」的组织"),
        ({"audience_kind": "district", "audience_district": "月球片区"}, "受众片区：没有「月球片区」这个片区"),
        ({"audience_kind": "category", "audience_category": "党员"}, "受众类别：请从正式党员"),
        ({"audience_kind": "tag", "audience_tag": "999"}, "受众标签：没有编号为 999 的标签"),
        ({"content_kind": "episode", "episode": "9999"}, "新声单集：没有第 9999 集"),
        ({"content_kind": "article", "article": "no-such"}, "专辑文章：没有编号为「no-such」的专辑文章"),
    ],
)
def test_unknown_refs_are_refused_naming_the_field(editor: Any, services: Any, changes: dict, message: str):
    park(services)
    res = create(editor, **changes)
    assert res.status_code == 200 and message in res.get_data(as_text=True)
    with services.sessions() as db:
        assert db.scalars(select(Push)).all() == []


def test_a_dissolved_organisation_is_refused(editor: Any, services: Any):
    p = park(services)
    with services.sessions() as db:
        db.get(type(p.orgs["b"]), p.orgs["b"].id).dissolved_at = utcnow()
        db.commit()
    res = create(editor, audience_kind="organisation", audience_org="T21")
    assert "已撤销" in res.get_data(as_text=True)


def test_the_size_json_as_the_editor_picks(editor: Any, services: Any):
    park(services)
    url = "/console/pushes/audience-size"
    assert editor.get(url, query_string={"kind": "organisation", "ref": "T11"}).get_json() == {
        "size": 5,
        "subscribed": 4,
        "problems": [],
    }
    assert editor.get(url, query_string={"kind": "category", "ref": "正式党员@T21"}).get_json()["size"] == 1
    assert editor.get(url, query_string={"kind": "district", "ref": "第二片区"}).get_json()["size"] == 2
    assert editor.get(url, query_string={"kind": "secretaries", "ref": "T0"}).get_json()["size"] == 3
    unknown = editor.get(url, query_string={"kind": "organisation", "ref": "NOPE"}).get_json()
    assert unknown["size"] is None and "没有编号为「NOPE」的组织" in unknown["problems"][0]


def test_the_size_shows_on_the_detail_page(editor: Any, services: Any):
    park(services)
    create(editor, audience_kind="category", audience_category="正式党员", audience_org="T1")
    push = only_push(services)
    assert push.audience_ref == "正式党员@T1"
    page = editor.get(f"/console/pushes/{push.id}").get_data(as_text=True)
    assert "受众人数：<b>3</b> 人（仍关注 2 人）" in page and "测试第一片区党委" in page


# Scoped accounts --------------------------------------------------------------------------------------------------
def test_a_secretary_pushes_inside_their_subtree_through_approval(app, make_account, services, client):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    res = submit(sec, "/console/pushes/new", {**FORM, "audience_kind": "organisation", "audience_org": "T111"})
    assert res.status_code == 302
    push = only_push(services)
    assert push.needs_approval and push.created_by == "zhao" and push.audience_ref == "T111"
    make_account("li", "reviewer")
    login(client, "li")
    url = f"/console/pushes/{push.id}"
    assert submit(client, url, {}, action=url + "/approve").status_code == 302
    assert only_push(services).approved_by == "li"


@pytest.mark.parametrize(
    "changes",
    [
        {"audience_kind": "organisation", "audience_org": "T21"},  # another 片区's branch
        {"audience_kind": "organisation", "audience_org": "T0"},  # above the scope
        {"audience_kind": "secretaries", "audience_org": "T1"},
        {"audience_kind": "category", "audience_category": "正式党员"},  # the whole park
        {"audience_kind": "category", "audience_category": "正式党员", "audience_org": "T2"},
        {"audience_kind": "all"},
        {"audience_kind": "district", "audience_district": "第一片区"},
        {"audience_kind": "organisation", "audience_org": "T111", "test_openids": "o_aud_b_m"},  # a foreign tester
    ],
)
def test_a_secretary_is_refused_outside_their_subtree(app, make_account, services, changes):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    res = submit(sec, "/console/pushes/new", {**FORM, **changes})
    page = res.get_data(as_text=True)
    assert res.status_code == 200 and (
        "只能选择「测试甲公司党委」或其下级组织" in page
        or "不能用于预览" in page
        or ("你只能向「测试甲公司党委」及其下级组织的党员推送" in page)
    )
    with services.sessions() as db:
        assert db.scalars(select(Push)).all() == []


def test_a_secretary_is_refused_outside_on_edit(app, make_account, services):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    submit(sec, "/console/pushes/new", {**FORM, "audience_kind": "organisation", "audience_org": "T112"})
    push = only_push(services)
    url = f"/console/pushes/{push.id}/edit"
    res = submit(sec, url, {**FORM, "audience_kind": "organisation", "audience_org": "T21"})
    assert res.status_code == 200 and "只能选择「测试甲公司党委」或其下级组织" in res.get_data(as_text=True)
    assert only_push(services).audience_ref == "T112"


def test_approval_is_refused_when_the_audience_left_the_authors_scope(app, make_account, services, client):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    submit(sec, "/console/pushes/new", {**FORM, "audience_kind": "organisation", "audience_org": "T111"})
    push = only_push(services)
    rescope(services, "zhao", p.orgs["a2"])  # moved to another branch since
    make_account("li", "reviewer")
    login(client, "li")
    url = f"/console/pushes/{push.id}"
    res = submit(client, url, {}, action=url + "/approve", follow_redirects=True)
    assert "不能审核通过" in res.get_data(as_text=True)
    assert only_push(services).approved_at is None
    with services.sessions() as db:
        assert db.scalar(select(AuditEntry).where(AuditEntry.action == "push.refused")) is not None


def test_a_scoped_account_sees_only_its_subtrees_pushes(app, make_account, services, editor):
    p = park(services)
    create(editor, title="全园区", audience_kind="all")
    create(editor, title="乙公司", audience_kind="organisation", audience_org="T21")
    create(editor, title="甲公司党员", audience_kind="category", audience_category="正式党员", audience_org="T112")
    with services.sessions() as db:
        ids = {push.title: push.id for push in db.scalars(select(Push))}
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    listing = sec.get("/console/pushes/").get_data(as_text=True)
    assert "甲公司党员" in listing and "乙公司" not in listing and "全园区" not in listing
    assert sec.get(f"/console/pushes/{ids['乙公司']}").status_code == 404
    assert sec.get(f"/console/pushes/{ids['全园区']}/edit").status_code == 404
    assert sec.get(f"/console/pushes/{ids['甲公司党员']}").status_code == 200
    calendar = sec.get("/console/pushes/calendar").get_data(as_text=True)
    assert "乙公司" not in calendar and "甲公司党员" in calendar


def test_a_scoped_accounts_size_json_is_refused_outside(app, make_account, services):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    url = "/console/pushes/audience-size"
    assert sec.get(url, query_string={"kind": "organisation", "ref": "T111"}).get_json()["size"] == 4
    outside = sec.get(url, query_string={"kind": "organisation", "ref": "T21"}).get_json()
    assert outside["size"] is None and outside["problems"]
    assert sec.get(url, query_string={"kind": "all"}).get_json()["size"] is None


def test_a_secretary_without_an_organisation_may_not_push(app, make_account, services):
    park(services)
    loose = scoped(app, make_account, services, "qian", None)
    assert loose.get("/console/pushes/new").status_code == 403
    assert loose.get("/console/pushes/audience-size?kind=all").status_code == 403


def test_pushes_service_may_manage(services):
    p = park(services)
    with services.sessions() as db:
        inside = Push(audience_kind="secretaries", audience_ref="T111")
        outside = Push(audience_kind="category", audience_ref="正式党员")
        account = type("A", (), {"organisation_id": p.orgs["a"].id})()
        assert pushes.may_manage(db, inside, account) and not pushes.may_manage(db, outside, account)
