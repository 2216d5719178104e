"""党员认证 test helpers: a small invented tree with roster members, the chat dialog, bound secretary accounts.

Every person here is obviously fictional (测试 names, 199 0000 phone numbers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.accounts import AuditEntry
from bot.core.members import Membership
from bot.core.organisations import Organisation, RosterMember
from tests.console.console_helpers import PASSWORD
from tests.org_helpers import add_member, small_tree

SECRETARY = {"organisations": {"confirm": "secretary"}}  # @pytest.mark.config: the secretary confirms
NOT_VERIFIED = "未能核实您的党员身份"


def tree_with_members(services: Any) -> dict[str, Any]:
    """small_tree plus three members: 甲 in 甲公司第一党支部 (T111), 乙 in 乙公司党支部 (T21), and 丙 who left."""
    with services.sessions() as db:
        orgs = small_tree(db)
        jia = add_member(db, orgs["a1"], "测试党员甲", "19900001001")
        yi = add_member(db, orgs["b"], "测试党员乙", "19900001002")
        bing = add_member(db, orgs["a2"], "测试党员丙", "19900001003")
        bing.left_at = bing.created_at
        db.commit()
        ids = {k: v.id for k, v in orgs.items()}
        return {"orgs": ids, "jia": jia.id, "yi": yi.id, "bing": bing.id}


def apply(wx: Any, openid: str, name: str, phone: str, start: str = "党员认证") -> str:
    """The whole dialog: start, name, phone; the last reply."""
    first = wx.text(openid, start).text
    assert "请回复您的姓名" in first, first
    assert "手机号码" in wx.text(openid, name).text
    return wx.text(openid, phone).text


def membership(services: Any, openid: str) -> Membership | None:
    with services.sessions() as db:
        return db.get(Membership, openid)


def audits(services: Any, action: str) -> list[AuditEntry]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def secretary(
    services: Any, username: str, org_code: str | None, openid: str | None = None, role: str = "secretary"
) -> int:
    """A console account with `role`, scoped to `org_code` (None: the whole park, as an account from before the
    scope rule), its WeChat bound to `openid`."""
    with services.sessions() as db:
        org_id = db.scalar(select(Organisation.id).where(Organisation.code == org_code)) if org_code else None
        account = create_account(db, username, PASSWORD, [role, "editor"], organisation_id=org_id)
        account.roles, account.openid = [role], openid
        db.commit()
        return account.id


def member_id(services: Any, phone: str) -> int:
    with services.sessions() as db:
        return int(db.scalar(select(RosterMember.id).where(RosterMember.phone == phone)))
