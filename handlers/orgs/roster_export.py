"""The roster's masked Excel export (routes of the orgs blueprint, added by handlers/orgs/console.py): a list of up to
SYNC_ROWS members is sent at once; a larger one is written by a background thread to a temporary file while a page
shows its progress, so no request outlives the server's worker timeout. Audited when it starts (rows and filters)."""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import abort, redirect, render_template, send_file, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.web import current, db, role_required, services
from bot.core.database import utcnow
from bot.core.organisations import Organisation
from bot.core.services import Services
from handlers.orgs import access, roster
from handlers.orgs.console_roster import listed_root, wanted

SYNC_ROWS = 20_000  # rows written inside the request (about 2 s); more go to the background
KEEP = 3600  # seconds a finished export's file and state are kept
STATE = "orgs:export:"  # + token → JSON state (account, rows, total, done, file)
RUNNING = "orgs:export:running:"  # + account id → the token of that account's export under way
SPOOL = 8 * 1024 * 1024  # a direct export is kept in memory up to this size, then spooled to a temporary file
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FOLDER = Path(tempfile.gettempdir()) / "bot-roster-exports"
log = logging.getLogger(__name__)


def file_name(root: Organisation | None) -> str:
    return f"党员花名册_脱敏_{(root.code if root else 'all')}_{utcnow().strftime('%Y%m%d-%H%M')}.xlsx"


@role_required(*access.VIEW_ROLES)
def export() -> Response:
    """The filtered list as an xlsx workbook, always masked; a large one goes to the background. Audited."""
    root = listed_root()
    f = wanted(access.runs_scope())
    q = roster.query(root, f)
    total = db().scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    audit.record(
        "roster.export", root.code if root else "*", rows=total, filters=sorted(k for k in f.args() if k != "q")
    )
    if total > SYNC_ROWS:
        return redirect(url_for(".roster_export_status", token=start(root, f, total)))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (send_file closes it with the response)
    roster.write(out, db(), q)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=file_name(root), max_age=0)


def start(root: Organisation | None, f: roster.RosterFilter, total: int) -> str:
    """The token of this account's export under way, or of a new one started in a background thread."""
    s, me = services(), current()
    running = s.redis.get(f"{RUNNING}{me.id}")
    if running:
        return running.decode() if isinstance(running, bytes) else str(running)
    token = secrets.token_urlsafe(16)
    state = {"account": me.id, "rows": 0, "total": total, "done": False, "name": file_name(root), "failed": False}
    s.redis.set(STATE + token, json.dumps(state, ensure_ascii=False), ex=KEEP)
    s.redis.set(f"{RUNNING}{me.id}", token, ex=KEEP)
    args = (s, token, state, root.id if root else None, asdict(f))
    threading.Thread(target=write_in_background, args=args, daemon=True).start()
    return token


def write_in_background(s: Services, token: str, state: dict[str, Any], root_id: int | None, f: dict[str, Any]) -> None:
    """In a background thread: write the workbook to FOLDER/<token>.xlsx, telling the state (as start() wrote it)
    every batch."""

    def tell(rows: int, **more: Any) -> None:
        state.update(rows=rows, **more)
        s.redis.set(STATE + token, json.dumps(state, ensure_ascii=False), ex=KEEP)

    FOLDER.mkdir(parents=True, exist_ok=True)
    sweep()
    try:
        with s.sessions() as session, open(FOLDER / f"{token}.xlsx", "wb") as out:
            root = session.get(Organisation, root_id) if root_id else None
            rows = roster.write(out, session, roster.query(root, roster.RosterFilter(**f)), tell)
        tell(rows, done=True)
    except Exception as exc:  # noqa: BLE001 — the page must learn it failed; nothing else depends on the file
        log.error("roster export failed: %s", exc.__class__.__name__)  # no text: it may quote rows
        tell(state.get("rows", 0), done=True, failed=True)
    finally:
        s.redis.delete(f"{RUNNING}{state.get('account')}")


def sweep() -> None:
    """Remove export files older than KEEP."""
    for old in FOLDER.glob("*.xlsx"):
        if time.time() - old.stat().st_mtime > KEEP:
            old.unlink(missing_ok=True)


def own_state(token: str) -> dict[str, Any]:
    """The export's state, if it belongs to the signed-in account (else 404)."""
    raw = services().redis.get(STATE + token) if token.replace("-", "").replace("_", "").isalnum() else None
    state = json.loads(raw) if raw else None
    if state is None or state.get("account") != current().id:
        abort(404)
    return state


@role_required(*access.VIEW_ROLES)
def status(token: str) -> str:
    """Progress (the page refreshes itself) and, when done, the download link."""
    state = own_state(token)
    percent = 100 if state["done"] else int(100 * state["rows"] / max(1, state["total"]))
    return render_template("console/orgs_roster_export.html", state=state, token=token, percent=percent)


@role_required(*access.VIEW_ROLES)
def download(token: str) -> Response:
    state = own_state(token)
    path = FOLDER / f"{token}.xlsx"
    if not state["done"] or state["failed"] or not path.exists():
        abort(404)
    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=state["name"], max_age=0)


ROUTES = (  # (rule, endpoint, view, methods): added to the orgs blueprint
    ("/roster/export.xlsx", "roster_export", export, ["GET"]),
    ("/roster/export/<token>", "roster_export_status", status, ["GET"]),
    ("/roster/export/<token>.xlsx", "roster_export_file", download, ["GET"]),
)
