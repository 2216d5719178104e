"""The console's home page: who is signed in, follower numbers (or a scoped account's organisation and pages), and
(for admins) the latest audit entries."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from bot.console import tags
from bot.console.audit import ACTIONS
from bot.console.followers import status_counts
from bot.console.scope import scope_root_of
from bot.console.web import current, db, login_required
from bot.core.accounts import ROLES, Account, AuditEntry

bp = Blueprint("home", __name__)
RECENT = 8  # audit entries on the admin's dashboard


def recent_entries() -> list[AuditEntry]:
    """The latest entries: everyone's for admins, one's own otherwise."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(RECENT)
    account = current()
    if not account.is_admin:
        query = query.where(AuditEntry.actor_id == account.id)
    return list(db().execute(query).scalars())


@bp.get("/")
@login_required
def index() -> str:
    """The dashboard; a scoped account (secretary, instructor) sees its organisation and the pages it may use."""
    accounts = db().execute(select(func.count()).select_from(Account).where(Account.active.is_(True))).scalar_one()
    return render_template(
        "console/dashboard.html",
        scope=scope_root_of(current()),
        counts=status_counts(),
        tag_total=len(tags.names(db())),
        accounts=accounts,
        recent=recent_entries(),
        actions=ACTIONS,
        roles=ROLES,
    )
