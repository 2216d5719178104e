"""A guidance group's instructor account: the 指导小组 page offers the eligible instructor accounts (an editor: those
whose scope holds the group's organisations; an admin: every instructor), refuses others, and audits the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.core.accounts import Account
from bot.core.organisations import GuidanceGroup, Organisation
from tests.console.console_helpers import csrf_token
from tests.handlers.orgs.tree_helpers import audits, scoped_client, seeded


def group_of(services: Any, ids: dict[str, Any]) -> int:
    """测试第一指导小组 covering 测试甲公司第一、第二党支部 (both under 测试甲公司党委)."""
    with services.sessions() as db:
        group = GuidanceGroup(name="测试第一指导小组")
        db.add(group)
        db.flush()
        for key in ("a1", "a2"):
            db.get(Organisation, ids[key][0]).guidance_group_id = group.id
        db.commit()
        return group.id


def account_id(services: Any, username: str) -> int:
    with services.sessions() as db:
        return db.scalar(select(Account.id).where(Account.username == username))


def linked(services: Any, group_id: int) -> int | None:
    with services.sessions() as db:
        return db.get(GuidanceGroup, group_id).instructor_account_id


def test_an_editor_links_an_instructor_whose_scope_covers_the_group(app: Any, services: Any):
    ids = seeded(services)
    group_id = group_of(services, ids)
    scoped_client(app, services, "zd_park", "instructor", None)  # the whole park
    scoped_client(app, services, "zd_jia", "instructor", ids["a"][0])  # 测试甲公司党委: covers both
    scoped_client(app, services, "zd_yi", "instructor", ids["b"][0])  # 测试乙公司党支部: covers neither
    scoped_client(app, services, "zd_one", "instructor", ids["a1"][0])  # covers one of the two
    editor = scoped_client(app, services, "bianji", "editor", None)
    page = f"/console/orgs/groups/{group_id}"
    html = editor.get(page).get_data(as_text=True)
    assert "zd_park" in html and "zd_jia" in html and "zd_yi" not in html and "zd_one" not in html
    assert "未关联" in html

    refused = editor.post(
        page + "/instructor",
        data={"csrf_token": csrf_token(editor, page), "account_id": account_id(services, "zd_yi")},
    )
    assert refused.status_code == 200 and "管理范围不包含本小组的全部组织" in refused.get_data(as_text=True)
    assert linked(services, group_id) is None

    ok = editor.post(
        page + "/instructor",
        data={"csrf_token": csrf_token(editor, page), "account_id": account_id(services, "zd_jia")},
    )
    assert ok.status_code == 302 and linked(services, group_id) == account_id(services, "zd_jia")
    assert "zd_jia（未绑定微信）" in editor.get(page).get_data(as_text=True)
    [entry] = audits(services, "orgs.group_instructor")
    assert entry.target == "测试第一指导小组" and entry.details == {"account": "zd_jia", "before": None}

    cleared = editor.post(page + "/instructor", data={"csrf_token": csrf_token(editor, page), "account_id": ""})
    assert cleared.status_code == 302 and linked(services, group_id) is None
    assert audits(services, "orgs.group_instructor")[-1].details["account"] is None


def test_an_admin_may_link_any_instructor_and_a_secretary_none(admin: Any, app: Any, services: Any):
    ids = seeded(services)
    group_id = group_of(services, ids)
    scoped_client(app, services, "zd_yi", "instructor", ids["b"][0])
    page = f"/console/orgs/groups/{group_id}"
    assert "zd_yi" in admin.get(page).get_data(as_text=True)
    ok = admin.post(
        page + "/instructor", data={"csrf_token": csrf_token(admin, page), "account_id": account_id(services, "zd_yi")}
    )
    assert ok.status_code == 302 and linked(services, group_id) == account_id(services, "zd_yi")
    secretary = scoped_client(app, services, "shuji", "secretary", ids["a"][0])
    answer = secretary.post(page + "/instructor", data={"csrf_token": csrf_token(secretary, page), "account_id": ""})
    assert answer.status_code == 403 and linked(services, group_id) == account_id(services, "zd_yi")
    assert "group-instructor" not in secretary.get(page).get_data(as_text=True)  # no form for who may not change it
