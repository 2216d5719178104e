"""The console's organisation tree (/console/orgs/): counts, scope, masking, 撤销, search, editing one organisation
(moves keep paths and 片区 right, refused cycles, validation messages), guidance groups, audit rows, a browser run."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.core.members import Membership
from bot.core.organisations import GuidanceGroup, Organisation
from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.console.console_helpers import csrf_token
from tests.console.screen_helpers import Screen
from tests.handlers.orgs.tree_helpers import audits, scoped_client, seeded

TREE = "/console/orgs/"


def row(html: str, code: str) -> str:
    """The tree row of the organisation with `code` ("" when absent)."""
    found = re.search(rf'<tr class="[^"]*" data-code="{code}".*?</tr>', html, re.S)
    return found.group(0) if found else ""


def cell(html: str, code: str, name: str) -> str:
    found = re.search(rf'class="{name}">([^<]*)<', row(html, code))
    assert found, (code, name)
    return found.group(1).strip()


def org_fields(org: Organisation, **changes: Any) -> dict[str, Any]:
    """The edit form's fields for `org`, changed."""
    data = {
        "name": org.name,
        "kind": org.kind,
        "parent_code": "",
        "district": org.district or "",
        "enterprise": org.enterprise or "",
        "secretary": org.secretary or "",
        "phone": org.phone or "",
        "group_id": "",
    }
    data.update(changes)
    return data


def post_edit(client: Any, services: Any, org_id: int, **changes: Any) -> Any:
    url = f"/console/orgs/{org_id}"
    with services.sessions() as db:
        org = db.get(Organisation, org_id)
        parent = db.get(Organisation, org.parent_id) if org.parent_id else None
        data = org_fields(org, parent_code=parent.code if parent else "")
    data.update(changes)
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def test_the_tree_counts_members_confirmed_and_sub_organisations(admin: Any, services: Any):
    ids = seeded(services)
    html = admin.get(TREE).get_data(as_text=True)
    figures = ("n-orgs", "n-members", "n-confirmed")
    assert [cell(html, "T0", name) for name in figures] == ["7", "5", "1"]
    assert [cell(html, "T11", name) for name in figures] == ["3", "4", "1"]
    assert cell(html, "T2", "n-members") == "1"
    assert "共 8 个组织" in html and "在册党员 5 人" in html and "已认证 1 人" in html
    assert row(html, "T111") == ""  # folded below two levels: 展开 opens the subtree
    assert f'depth=2&amp;at={ids["a"][0]}">展开' in row(html, "T11")
    opened = admin.get(TREE, query_string={"depth": "6"}).get_data(as_text=True)
    assert cell(opened, "T111", "n-members") == "4" and cell(opened, "T1111", "n-members") == "1"
    assert 'id="imports-link"' in html  # the tree page leads to the import page


def test_a_scoped_secretary_sees_only_the_subtree(app: Any, services: Any):
    ids = seeded(services)
    client = scoped_client(app, services, "jia", "secretary", ids["a"][0])
    html = client.get(TREE, query_string={"depth": "6"}).get_data(as_text=True)
    assert all(row(html, code) for code in ("T11", "T111", "T112", "T1111"))
    assert not any(row(html, code) for code in ("T0", "T1", "T2", "T21"))
    assert "共 4 个组织" in html
    assert client.get(TREE, query_string={"at": ids["b"][0]}).status_code == 404
    assert client.get(f"/console/orgs/{ids['b'][0]}").status_code == 404
    assert client.get(f"/console/orgs/{ids['a1'][0]}").status_code == 200
    assert client.get(TREE, query_string={"q": "乙"}).get_data(as_text=True).count("data-code=") == 0


def test_secretary_names_are_masked_unless_the_viewer_runs_the_organisation(app: Any, services: Any, editor: Any):
    ids = seeded(services)
    html = editor.get(TREE).get_data(as_text=True)
    assert cell(html, "T11", "secretary") == "测***记" and "测试甲书记" not in html
    assert audits(services, "orgs.view") == []  # nothing shown in full: nothing to audit
    secretary = scoped_client(app, services, "jia", "secretary", ids["a"][0])
    assert cell(secretary.get(TREE).get_data(as_text=True), "T11", "secretary") == "测试甲书记"
    assert [e.actor for e in audits(services, "orgs.view")] == ["jia"]
    unscoped = scoped_client(app, services, "nobody", "instructor", None)
    assert "测试甲书记" not in unscoped.get(TREE).get_data(as_text=True)


def test_who_may_open_and_edit(app: Any, services: Any, make_account: Any):
    ids = seeded(services)
    reviewer = scoped_client(app, services, "rev", "reviewer", None)
    assert reviewer.get(TREE).status_code == 403
    assert reviewer.get("/console/orgs/roster").status_code == 403
    instructor = scoped_client(app, services, "zhi", "instructor", ids["a"][0])
    assert instructor.get(TREE).status_code == 200
    page = instructor.get(f"/console/orgs/{ids['a1'][0]}").get_data(as_text=True)
    assert 'id="org-form"' not in page
    token = csrf_token(instructor, TREE)
    assert instructor.post(f"/console/orgs/{ids['a1'][0]}", data={"csrf_token": token}).status_code == 403


def test_dissolved_organisations_are_marked_and_filterable(admin: Any, services: Any):
    ids = seeded(services)
    url = f"/console/orgs/{ids['a2'][0]}"
    response = admin.post(url + "/dissolve", data={"csrf_token": csrf_token(admin, url)})
    assert response.status_code == 302
    html = admin.get(TREE, query_string={"depth": "6"}).get_data(as_text=True)
    assert "撤销" in row(html, "T112") and 'class="off"' in row(html, "T112")
    active = admin.get(TREE, query_string={"depth": "6", "dissolved": "active"}).get_data(as_text=True)
    assert row(active, "T112") == "" and row(active, "T111")
    only = admin.get(TREE, query_string={"depth": "6", "dissolved": "dissolved"}).get_data(as_text=True)
    assert re.findall(r'data-code="([^"]+)"', only) == ["T112"]
    assert cell(html, "T11", "n-orgs") == "2"  # 撤销 ones are not counted as sub-organisations
    refused = admin.post(
        f"/console/orgs/{ids['a'][0]}/dissolve", data={"csrf_token": csrf_token(admin, url)}, follow_redirects=True
    )
    assert "其下还有未撤销的下级组织" in refused.get_data(as_text=True)
    assert admin.post(url + "/restore", data={"csrf_token": csrf_token(admin, url)}).status_code == 302
    assert [e.target for e in audits(services, "orgs.dissolve")] == ["T112"]
    assert [e.target for e in audits(services, "orgs.restore")] == ["T112"]


def test_search_by_name_or_code(admin: Any, services: Any):
    seeded(services)
    html = admin.get(TREE, query_string={"q": "乙公司"}).get_data(as_text=True)
    assert re.findall(r'data-code="([^"]+)"', html) == ["T21"]
    assert re.findall(r'data-code="([^"]+)"', admin.get(TREE, query_string={"q": "t111"}).get_data(as_text=True)) == [
        "T111",
        "T1111",
    ]


def test_moving_an_organisation_rewrites_its_subtree_and_district(admin: Any, services: Any):
    ids = seeded(services)
    with services.sessions() as db:
        db.add(Membership(openid="o_in_group", organisation="T1111", district="第一片区"))
        db.commit()
    response = post_edit(admin, services, ids["a1"][0], parent_code="T21")
    assert response.status_code == 302, response.get_data(as_text=True)
    with services.sessions() as db:
        b, a1, g = (db.get(Organisation, ids[k][0]) for k in ("b", "a1", "g"))
        assert a1.parent_id == b.id and a1.path == f"{b.path}{a1.id}/" and g.path == f"{a1.path}{g.id}/"
        assert a1.district == g.district == "第二片区"  # the new parent's 片区, for the whole subtree
        assert db.get(Membership, "o_in_group").district == "第二片区"
        assert db.get(Membership, "o_test_first").district == "第二片区"
    html = admin.get(TREE, query_string={"depth": "6"}).get_data(as_text=True)
    assert cell(html, "T21", "n-members") == "5" and cell(html, "T11", "n-members") == "0"
    [entry] = audits(services, "orgs.edit")
    assert entry.target == "T111" and entry.details["fields"] == ["parent_code", "district"]


def test_edit_refuses_cycles_bad_values_and_leaving_the_scope(app: Any, admin: Any, services: Any):
    ids = seeded(services)
    cycle = post_edit(admin, services, ids["a"][0], parent_code="T1111")
    assert cycle.status_code == 200 and "不能把组织移到它自己或它的下级组织之下" in cycle.get_data(as_text=True)
    bad = post_edit(admin, services, ids["a"][0], phone="12345", district="火星片区", name=" ", parent_code="NOPE")
    text = bad.get_data(as_text=True)
    for message in ("联系电话格式不正确", "片区「火星片区」不在配置的片区列表中", "名称不能为空", "编码「NOPE」不存在"):
        assert message in text
    with services.sessions() as db:
        assert db.get(Organisation, ids["a"][0]).name == "测试甲公司党委"
    ok = post_edit(admin, services, ids["a"][0], phone="0731-12345678", secretary="测试新书记")
    assert ok.status_code == 302
    assert audits(services, "orgs.edit")[-1].details["fields"] == ["secretary", "phone"]
    secretary = scoped_client(app, services, "jia", "secretary", ids["a"][0])
    top = post_edit(secretary, services, ids["a"][0], parent_code="T21")
    assert "不能移动你所管理的最上级组织" in top.get_data(as_text=True)
    out = post_edit(secretary, services, ids["a1"][0], parent_code="T21")
    assert "上级组织不在你的管理范围内" in out.get_data(as_text=True)
    inside = post_edit(secretary, services, ids["a1"][0], parent_code="T112", phone="199 0000 0008")
    assert inside.status_code == 302
    with services.sessions() as db:
        assert db.get(Organisation, ids["a1"][0]).phone == "19900000008"


def test_guidance_groups(admin: Any, services: Any, app: Any):
    ids = seeded(services)
    url = "/console/orgs/groups"
    fields = {"name": "测试第一指导小组", "instructor": "测试指导员"}
    created = admin.post(url, data={"csrf_token": csrf_token(admin, url), **fields})
    assert created.status_code == 302
    with services.sessions() as db:
        group = db.scalar(select(GuidanceGroup))
    page = f"{url}/{group.id}"
    bad = admin.post(page + "/assign", data={"csrf_token": csrf_token(admin, page), "codes": "T111, T112、NOPE"})
    assert "NOPE" in bad.get_data(as_text=True) and bad.status_code == 200
    ok = admin.post(page + "/assign", data={"csrf_token": csrf_token(admin, page), "codes": "T111\nT112"})
    assert ok.status_code == 302
    phone = admin.post(page, data={"csrf_token": csrf_token(admin, page), "name": group.name, "phone": "110"})
    assert "联系电话格式不正确" in phone.get_data(as_text=True)
    listing = admin.get(url).get_data(as_text=True)
    assert "测试甲公司第一党支部" in listing and "2 个" in listing
    assert "测试第一指导小组" in row(admin.get(TREE, query_string={"depth": "6"}).get_data(as_text=True), "T112")
    assert audits(services, "orgs.group_assign")[0].details == {"codes": ["T111", "T112"], "count": 2}
    other = scoped_client(app, services, "yi", "secretary", ids["b"][0])
    assert other.get(page).status_code == 404  # the group covers nothing inside 测试乙公司党支部
    assert "测试第一指导小组" not in other.get(url).get_data(as_text=True)


def test_browser_tree_page(browser: Any, live: str, make_account: Any, services: Any, tmp_path: Any):
    seeded(services)
    make_account("root", "admin")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("root")
    page.click("nav.nav a:has-text('组织')")
    expect(page.locator("h1")).to_have_text("组织", timeout=WAIT)
    expect(page.locator("tr[data-code='T11'] .n-members")).to_have_text("4")
    expect(page.locator("tr[data-code='T111']")).to_have_count(0)
    page.click("tr[data-code='T11'] a:has-text('展开')")
    expect(page.locator("tr[data-code='T111'] .n-confirmed")).to_have_text("1", timeout=WAIT)
    page.fill("#tree-q", "乙公司")
    page.click("#tree-filters button[type=submit]")
    expect(page.locator("#org-tree tbody tr")).to_have_count(1, timeout=WAIT)
    page.click("#org-tree a:has-text('测试乙公司党支部')")
    expect(page.locator("h1")).to_contain_text("测试乙公司党支部", timeout=WAIT)
    page.fill("#phone", "12345")
    page.click("#org-save")
    expect(page.locator(".error")).to_contain_text("联系电话格式不正确", timeout=WAIT)
    screen.close()
    phone = Screen(browser, live, viewport=PHONE)  # the tree and the roster fit a phone's width
    page = phone.login("root")
    page.goto(live + TREE + "?depth=6")
    expect(page.locator("tr[data-code='T1111']")).to_have_count(1)
    phone.shot(str(tmp_path / "tree.png"))
    page.goto(live + "/console/orgs/roster")
    expect(page.locator("#roster tbody tr")).to_have_count(5)
    phone.shot(str(tmp_path / "roster.png"))
    phone.close()
