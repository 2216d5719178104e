"""Who may see and change what on the orgs console pages: the account's roles AND its organisation scope.

- See the tree and the roster: admin, editor, secretary, instructor; a scoped account (Account.organisation_id set)
  only inside its subtree: anything outside is answered 404, as if it did not exist.
- Personal data in full: admins, and secretaries/instructors whose scope covers the member's organisation; masked for
  everyone else (editors, unscoped secretaries/instructors).
- Edit organisations: admins and editors (inside their scope), and scoped secretaries inside their subtree, who may
  not move nor 撤销 the organisation at their scope's top. Instructors only read.
- Change a member: edit the personal fields only with the data in full; transfer and take off the roster also editors.
"""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from bot.console.web import current, db
from bot.core.accounts import SCOPED_ROLES
from bot.core.organisations import GuidanceGroup, Organisation, RosterMember, by_code, in_subtree, scope_root

VIEW_ROLES = ("editor", "secretary", "instructor")  # and admin: who sees the orgs pages
EDIT_ROLES = ("editor", "secretary")  # who may edit organisations (secretaries only when scoped)


def scope() -> Organisation | None:
    """The signed-in account's scope root (None: the whole park), once per request."""
    if "orgs_scope" not in g:
        g.orgs_scope = scope_root(db(), current())
    return g.orgs_scope


def scoped() -> bool:
    return getattr(current(), "organisation_id", None) is not None


def org_or_404(org_id: int) -> Organisation:
    """The organisation, if it exists inside the account's scope."""
    org = db().get(Organisation, org_id)
    if org is None or not in_subtree(org, scope()):
        abort(404)
    return org


def code_in_scope(code: str) -> Organisation | None:
    """The organisation with this code inside the account's scope (None otherwise)."""
    org = by_code(db(), code.strip()) if code.strip() else None
    return org if org is not None and in_subtree(org, scope()) else None


def member_or_404(member_id: int) -> tuple[RosterMember, Organisation]:
    """The roster member and their organisation, if inside the account's scope."""
    member = db().get(RosterMember, member_id)
    if member is None:
        abort(404)
    return member, org_or_404(member.organisation_id)


def runs_scope() -> bool:
    """Whether the account runs everything it can see: an admin, or a scoped secretary or instructor."""
    me = current()
    if me is None:
        return False
    return me.is_admin or (bool(set(me.roles or []).intersection(SCOPED_ROLES)) and scoped())


def runs(org: Organisation) -> bool:
    """Whether the account runs `org` (sees its members' personal data in full)."""
    return runs_scope() and in_subtree(org, scope())


def can_edit_orgs() -> bool:
    me = current()
    if me is None:
        return False
    held = set(me.roles or [])
    return me.is_admin or "editor" in held or ("secretary" in held and scoped())


def can_move_members() -> bool:
    """Transfer a member or take them off the roster (no personal data involved)."""
    return can_edit_orgs()


def group_or_404(group_id: int) -> GuidanceGroup:
    group = db().get(GuidanceGroup, group_id)
    if group is None:
        abort(404)
    root = scope()
    if root is not None:  # a scoped account only sees groups covering something in its subtree
        inside = db().scalar(
            select(Organisation.id)
            .where(Organisation.guidance_group_id == group.id)
            .where(Organisation.path.startswith(root.path, autoescape=True))
            .limit(1)
        )
        if inside is None:
            abort(404)
    return group
