"""The console's roster (/console/orgs/roster): masking by who runs the organisation, scope, audit rows for views,
changes and the export (never a name or phone in them), edit validation, transfers that keep the history."""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from bot.core.members import Membership
from bot.core.organisations import RosterMember, RosterTransfer
from handlers.orgs import roster_export
from tests.console.console_helpers import csrf_token
from tests.handlers.orgs.tree_helpers import audits, scoped_client, seeded

ROSTER = "/console/orgs/roster"


def member_url(member_id: int) -> str:
    return f"{ROSTER}/{member_id}"


def edit_member(client: Any, member_id: int, **changes: str) -> Any:
    url = member_url(member_id)
    data = {
        "name": "测试员",
        "sex": "女",
        "phone": "19900000001",
        "category": "正式党员",
        "joined_on": "2010-07-01",
        "post": "书记",
    }
    data.update(changes)
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def no_personal_data(services: Any) -> None:
    """No audit row names a roster member or holds their phone number."""
    with services.sessions() as db:
        names = [m.name for m in db.scalars(select(RosterMember))]
    for action in ("roster.view", "roster.edit", "roster.transfer", "roster.export", "roster.leave"):
        for entry in audits(services, action):
            text = json.dumps([entry.target, entry.details], ensure_ascii=False)
            assert "1990000" not in text and not any(name in text for name in names), text


def test_an_editor_sees_masked_values(editor: Any, services: Any):
    ids = seeded(services)
    html = editor.get(ROSTER).get_data(as_text=True)
    assert "测*员" in html and "199****0001" in html
    assert "测试员" not in html and "19900000001" not in html
    assert 'id="roster-q"' not in html  # no name search for those who see masked names
    page = editor.get(member_url(ids["first"])).get_data(as_text=True)
    assert "测*员" in page and "199****0001" in page and "19900000001" not in page
    assert "2010-07-01" not in page and 'id="member-form"' not in page
    assert edit_member(editor, ids["first"], name="测试改名").status_code == 403


def test_admins_and_the_secretary_see_full_values(app: Any, admin: Any, services: Any):
    ids = seeded(services)
    html = admin.get(ROSTER).get_data(as_text=True)
    assert "测试员" in html and "19900000001" in html
    secretary = scoped_client(app, services, "jia", "secretary", ids["a"][0])
    page = secretary.get(member_url(ids["first"])).get_data(as_text=True)
    assert "测试员" in page and "19900000001" in page and "2010-07-01" in page
    listed = secretary.get(ROSTER).get_data(as_text=True)
    assert "测试员" in listed and "测试乙员" not in listed and "共 4 人" in listed
    found = secretary.get(ROSTER, query_string={"q": "二号"}).get_data(as_text=True)
    assert "共 1 人" in found and "测试二号" in found


def test_a_secretary_cannot_open_another_organisations_members(app: Any, services: Any):
    ids = seeded(services)
    secretary = scoped_client(app, services, "jia", "secretary", ids["a"][0])
    assert secretary.get(member_url(ids["other"])).status_code == 404
    assert secretary.get(ROSTER, query_string={"org": ids["b"][0]}).status_code == 404
    assert secretary.get(f"{ROSTER}/export.xlsx", query_string={"org": ids["b"][0]}).status_code == 404
    token = csrf_token(secretary, ROSTER)
    moved = secretary.post(member_url(ids["other"]) + "/transfer", data={"csrf_token": token, "to_code": "T111"})
    assert moved.status_code == 404
    out = secretary.post(member_url(ids["first"]) + "/transfer", data={"csrf_token": token, "to_code": "T21"})
    assert out.status_code == 200 and "组织编码不存在或不在你的管理范围内" in out.get_data(as_text=True)


def test_filters_and_left_members(admin: Any, services: Any):
    ids = seeded(services)
    assert "共 1 人" in admin.get(ROSTER, query_string={"category": "预备党员"}).get_data(as_text=True)
    assert "共 1 人" in admin.get(ROSTER, query_string={"post": "党小组长"}).get_data(as_text=True)
    scoped = admin.get(ROSTER, query_string={"org": ids["a1"][0]}).get_data(as_text=True)
    assert "共 4 人" in scoped  # 测试甲公司第一党支部 and its 党小组
    url = member_url(ids["first"])
    assert admin.post(url + "/leave", data={"csrf_token": csrf_token(admin, url)}).status_code == 302
    assert "共 4 人" in admin.get(ROSTER).get_data(as_text=True)
    assert "共 5 人" in admin.get(ROSTER, query_string={"left": "1"}).get_data(as_text=True)
    assert [e.target for e in audits(services, "roster.leave")] == [f"member:{ids['first']}"]


def test_views_and_changes_are_audited_without_personal_data(app: Any, admin: Any, services: Any):
    ids = seeded(services)
    scoped_client(app, services, "wang", "editor", None).get(ROSTER)
    admin.get(member_url(ids["first"]))
    views = audits(services, "roster.view")
    assert [(e.actor, e.target) for e in views] == [("wang", "*"), ("root", f"member:{ids['first']}")]
    assert views[0].details["full"] is False and views[1].details == {"organisation": "T111", "full": True}
    assert edit_member(admin, ids["first"], post="副书记").status_code == 302
    assert audits(services, "roster.edit")[0].details == {"organisation": "T111", "fields": ["post"]}
    no_personal_data(services)


def test_edit_validation_messages(admin: Any, services: Any):
    ids = seeded(services)
    response = edit_member(admin, ids["first"], name="", phone="1234", joined_on="2010-13-01", category="党员")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in ("请填写姓名", "手机号应为 11 位大陆手机号", "入党日期格式应为 2010-07-01", "类别无效"):
        assert message in text
    taken = edit_member(admin, ids["first"], phone="19900000002")
    assert "该手机号已属于花名册中的另一名党员" in taken.get_data(as_text=True)
    ok = edit_member(admin, ids["first"], name="测试员改", phone="199-0000-0011", joined_on="2011-07-01")
    assert ok.status_code == 302
    with services.sessions() as db:
        member = db.get(RosterMember, ids["first"])
        assert (member.name, member.phone, member.joined_on.isoformat()) == ("测试员改", "19900000011", "2011-07-01")
    assert audits(services, "roster.edit")[0].details["fields"] == ["name", "phone", "joined_on"]


def tree_members(client: Any, code: str) -> str:
    html = client.get("/console/orgs/", query_string={"depth": "6"}).get_data(as_text=True)
    found = re.search(rf'data-code="{code}".*?class="n-members">(\d+)<', html, re.S)
    assert found, code
    return found.group(1)


def test_a_transfer_keeps_the_member_and_their_history(admin: Any, services: Any):
    ids = seeded(services)
    url = member_url(ids["first"])
    assert (tree_members(admin, "T21"), tree_members(admin, "T112")) == ("1", "0")
    for code in ("T21", "T112"):
        response = admin.post(url + "/transfer", data={"csrf_token": csrf_token(admin, url), "to_code": code})
        assert response.status_code == 302, response.get_data(as_text=True)
    same = admin.post(url + "/transfer", data={"csrf_token": csrf_token(admin, url), "to_code": "T112"})
    assert "该党员已在这个组织" in same.get_data(as_text=True)
    with services.sessions() as db:
        member = db.get(RosterMember, ids["first"])
        assert member.organisation_id == ids["a2"][0]
        moves = list(db.scalars(select(RosterTransfer).order_by(RosterTransfer.id)))
        assert [(t.from_organisation_id, t.to_organisation_id, t.actor) for t in moves] == [
            (ids["a1"][0], ids["b"][0], "root"),
            (ids["b"][0], ids["a2"][0], "root"),
        ]
        binding = db.get(Membership, "o_test_first")
        assert (binding.organisation, binding.district, binding.member_id) == ("T112", "第一片区", ids["first"])
    page = admin.get(url).get_data(as_text=True)
    assert "测试甲公司第一党支部 → 测试乙公司党支部" in page and "测试乙公司党支部 → 测试甲公司第二党支部" in page
    assert [e.details["to"] for e in audits(services, "roster.transfer")] == ["T21", "T112"]
    assert (tree_members(admin, "T21"), tree_members(admin, "T112")) == ("1", "1")  # the tree's counts follow at once
    no_personal_data(services)


def test_the_export_is_masked_and_audited(admin: Any, services: Any):
    ids = seeded(services)
    response = admin.get(f"{ROSTER}/export.xlsx", query_string={"org": ids["a"][0]})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "手机号") and len(rows) == 5
    names = {r[0] for r in rows[1:]}
    assert "测*员" in names and "测试员" not in names
    assert all("****" in r[1] for r in rows[1:])
    [entry] = audits(services, "roster.export")
    assert entry.target == "T11" and entry.details["rows"] == 4
    no_personal_data(services)


def current_links(html: str) -> list[str]:
    """The labels of the navigation links marked as the current page."""
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html)


def test_the_navigation_marks_the_roster_or_the_tree_never_both(editor: Any, services: Any):
    ids = seeded(services)
    assert current_links(editor.get(ROSTER).get_data(as_text=True)) == ["党员"]
    assert current_links(editor.get(member_url(ids["first"])).get_data(as_text=True)) == ["党员"]
    assert current_links(editor.get("/console/orgs/").get_data(as_text=True)) == ["组织"]


def test_a_large_export_is_written_in_the_background_and_only_its_owner_downloads_it(
    admin: Any, app: Any, services: Any, monkeypatch: Any
):
    ids = seeded(services)
    editor = scoped_client(app, services, "another", "editor", None)
    monkeypatch.setattr(roster_export, "SYNC_ROWS", 2)  # the 4 members of T11 count as a large list
    started = admin.get(f"{ROSTER}/export.xlsx", query_string={"org": ids["a"][0]})
    assert started.status_code == 302 and "/roster/export/" in started.headers["Location"]
    page_url = started.headers["Location"]
    for _ in range(100):  # the background thread writes 4 rows: well under the 10 s allowed here
        page = admin.get(page_url).get_data(as_text=True)
        if 'id="export-download"' in page:
            break
        assert "正在导出" in page and 'http-equiv="refresh"' in page
        time.sleep(0.1)
    assert "导出完成：共 4 行" in page
    link = re.search(r'id="export-download" href="([^"]+)"', page).group(1)
    assert editor.get(page_url).status_code == 404 and editor.get(link).status_code == 404  # another account's
    sheet = load_workbook(io.BytesIO(admin.get(link).data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5 and "测*员" in {r[0] for r in rows[1:]}
    [entry] = audits(services, "roster.export")
    assert entry.target == "T11" and entry.details["rows"] == 4
    no_personal_data(services)
