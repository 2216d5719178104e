"""Import step 3, Flask-free: check a parsed sheet into a Plan (importing.py), apply it in one transaction with the
tree's or the roster's rules (tree_import.py, roster_import.py), then settle what depends on it (tree counts,
leaderboards). Called by the console (imports_console.py), the CLI (commands.py) and bench/org_import.py.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.core.organisations import OrganisationsConfig
from handlers.orgs import roster_import, tree, tree_import
from handlers.orgs.importing import STATEMENT_TIMEOUT, Plan, Progress, log
from handlers.orgs.sheets import ORG, Sheet


def check(db: Session, sheet: Sheet, cfg: OrganisationsConfig, report: Progress | None = None) -> Plan:
    """The whole file checked against the database: a Plan (nothing written)."""
    if sheet.kind == ORG:
        return tree_import.check(db, sheet, cfg, report or Progress(None))
    return roster_import.check(db, sheet, report or Progress(None))


def apply(db: Session, plan: Plan, actor: str, report: Progress | None = None) -> None:
    """Write a checked plan in `db`'s transaction (the caller commits, or rolls back on any error)."""
    if not plan.ok:
        raise ValueError("a plan with problems cannot be applied")
    if plan.kind == ORG:
        tree_import.apply(db, plan, report or Progress(None))
    else:
        roster_import.apply(db, plan, actor, report or Progress(None))


def run(
    db: Session,
    sheet: Sheet,
    cfg: OrganisationsConfig,
    *,
    write: bool,
    actor: str,
    report: Progress | None = None,
) -> Plan:
    """Check, and with `write` apply and commit in one transaction (all or nothing). Logs counts only."""
    started = time.monotonic()
    if db.get_bind().dialect.name == "postgresql":  # not the webhook path: this transaction may take its time
        db.execute(text(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}s'"))
    plan = check(db, sheet, cfg, report)
    if write and plan.ok:
        try:
            apply(db, plan, actor, report)
            db.commit()
        except Exception:
            db.rollback()
            raise
        log.info("orgs import %s applied in %.1f s: %s", sheet.kind, time.monotonic() - started, plan.summary())
    else:
        db.rollback()
    return plan


def settle(services: Any, plan: Plan) -> None:
    """After an applied import that changed anything: the console tree's counts are computed again, and the
    leaderboards are rebuilt from the ledger when bindings may have moved (transfers, moves between 片区)."""
    if not (plan.ok and plan.changes_anything):
        return
    tree.bump(services.redis)
    points = getattr(services, "points", None)  # the quiz feature's leaderboards, when it is installed
    if points is not None:
        points.rebuild()
