"""Scoped accounts: an admin gives an account the secretary / instructor roles and an organisation subtree (audited);
the scoped account's home and navigation show only what it may use; scope_root_of / require_in_scope; a secretary
binds their WeChat like other staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from bot.console.scope import require_in_scope, scope_root_of
from bot.console.web import db
from bot.core.accounts import AuditEntry
from bot.core.organisations import Organisation
from tests.console.console_helpers import submit
from tests.handlers.orgs.fig_helpers import account, scoped_account, signed_in
from tests.handlers.staff.test_console_binding import bind_code, staff_in_chat
from tests.org_helpers import small_tree

NEW_PASSWORD = "first secret 1"


@pytest.fixture
def tree(services):
    with services.sessions() as db:
        orgs = small_tree(db)
        return {key: (org.id, org.code) for key, org in orgs.items()}


def entries(services, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_the_new_account_form_offers_the_new_roles_and_the_organisations(admin, services, tree):
    page = admin.get("/console/accounts/new").get_data(as_text=True)
    assert "党组织书记" in page and "党建指导员" in page
    assert "整个园区" in page and "T111 测试甲公司第一党支部（党支部）" in page
    org_id, _ = tree["a1"]
    data = {"username": "shuji", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "roles": ["secretary"]}
    res = submit(admin, "/console/accounts/new", data)
    assert "须先指定所辖组织" in res.get_data(as_text=True)  # a secretary of the whole park is refused
    res = submit(admin, "/console/accounts/new", {**data, "organisation": str(org_id)})
    assert res.status_code == 302
    assert account(services, "shuji").organisation_id == org_id
    assert entries(services, "account.create")[-1].details == {
        "roles": ["secretary"],
        "scope": "T111 测试甲公司第一党支部",
    }
    listing = admin.get("/console/accounts/").get_data(as_text=True)
    assert "T111 测试甲公司第一党支部" in listing


def test_an_admin_sets_and_changes_the_scope_audited(admin, services, tree, make_account):
    who = make_account("zhidao", "editor")
    url = f"/console/accounts/{who}"
    assert "整个园区" in admin.get(url).get_data(as_text=True)
    res = submit(admin, url, {"roles": ["instructor"]}, f"{url}/roles", follow_redirects=True)
    assert "须先指定所辖组织" in res.get_data(as_text=True) and account(services, "zhidao").roles == ["editor"]
    res = submit(admin, url, {"organisation": str(tree["d1"][0])}, f"{url}/scope")
    assert res.status_code == 302
    submit(admin, url, {"roles": ["instructor"]}, f"{url}/roles")
    assert account(services, "zhidao").roles == ["instructor"]
    last = entries(services, "account.scope")[-1]
    assert (last.target, last.details) == ("zhidao", {"before": "整个园区", "after": "T1 测试第一片区党委"})
    res = submit(admin, url, {"organisation": ""}, f"{url}/scope", follow_redirects=True)
    assert "须先指定所辖组织" in res.get_data(as_text=True)  # an instructor cannot become park-wide
    assert account(services, "zhidao").organisation_id == tree["d1"][0]
    assert submit(admin, url, {"organisation": "999999"}, f"{url}/scope").status_code == 400  # not in the list
    assert "设置所辖组织" in admin.get("/console/audit/").get_data(as_text=True)


def test_a_scoped_account_sees_its_organisation_and_not_the_park_wide_pages(app, services, tree):
    with services.sessions() as db:
        a1 = db.get(Organisation, tree["a1"][0])
        scoped_account(services, "shuji", a1)
    client = signed_in(app, "shuji")
    home = client.get("/console/").get_data(as_text=True)
    assert 'id="scoped-home"' in home and "T111 测试甲公司第一党支部" in home
    assert 'id="scoped-binding"' in home
    assert "/console/followers/" not in home and "/console/accounts/" not in home
    assert client.get("/console/followers/").status_code == 403
    assert client.get("/console/accounts/").status_code == 403


def test_scope_root_of_and_require_in_scope(app, services, tree):
    scoped_account(services, "shuji", None, "editor")
    with services.sessions() as s:
        scoped_account(services, "fenqu", s.get(Organisation, tree["d1"][0]), "instructor")
    with app.test_request_context():
        park, district = account(services, "shuji"), account(services, "fenqu")
        assert scope_root_of(park) is None
        assert scope_root_of(district).code == "T1"
        inside, outside = db().get(Organisation, tree["g"][0]), db().get(Organisation, tree["b"][0])
        assert require_in_scope(inside, district) is inside and require_in_scope(outside, park) is outside
        with pytest.raises(NotFound):
            require_in_scope(outside, district)
        with pytest.raises(NotFound):
            require_in_scope(None, park)


def test_a_secretary_binds_their_wechat_as_staff_do(app, services, tree, wx, emu):
    with services.sessions() as db:
        scoped_account(services, "shuji", db.get(Organisation, tree["a1"][0]))
    client = signed_in(app, "shuji")
    openid = staff_in_chat(emu, services)
    assert "绑定成功" in wx.text(openid, f"绑定后台 {bind_code(client)}").reply["Content"]
    assert account(services, "shuji").openid == openid
    assert 'id="bound"' in client.get("/console/wechat/").get_data(as_text=True)
