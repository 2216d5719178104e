"""Scoped console accounts: which part of the organisation tree the signed-in account may see and act on.

A secretary's or instructor's account (or any account an admin scoped) is limited to one organisation and
everything under it (Account.organisation_id; None = the whole park). Every console page that shows organisations,
members or their figures calls these:

    root = scope_root_of(current())        # None: the whole park
    org = require_in_scope(db().get(Organisation, org_id))   # 404 outside the subtree (or missing)
    query = query.where(Organisation.path.startswith(root.path)) if root else query
"""

from __future__ import annotations

from flask import abort

from bot.console.web import current, db
from bot.core.accounts import Account
from bot.core.organisations import Organisation, in_subtree, scope_root


def scope_root_of(account: Account | None = None) -> Organisation | None:
    """The organisation `account` (default: the signed-in one) is scoped to; None for the whole park."""
    account = account if account is not None else current()
    return scope_root(db(), account) if account is not None else None


def require_in_scope(org: Organisation | None, account: Account | None = None) -> Organisation:
    """`org` itself when it lies in the account's subtree; otherwise the 404 page (its existence is not revealed)."""
    if org is None or not in_subtree(org, scope_root_of(account)):
        abort(404)
    return org
