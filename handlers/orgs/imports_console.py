"""Console pages for importing the organisation tree and the roster: upload → preview (nothing written) → confirm.

The upload is checked whole and kept in Redis under a random token (TTL) while the editor reads the preview; the
confirm re-reads and re-checks it, takes the one-import lock and applies it in a background thread while the page
polls the JSON progress. Admins and unscoped editors only. Every preview and import is audited, with counts only.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField, SelectField

from bot.console import audit
from bot.console.forms import choices
from bot.console.web import current, role_required, services
from bot.core.accounts import Account
from bot.core.organisations import OrganisationsConfig
from bot.core.services import Services
from handlers.orgs import import_run, importing
from handlers.orgs.sheets import ORG, ROSTER, SheetError, read, template_csv, template_xlsx, too_big

bp = Blueprint("org_imports", __name__, url_prefix="/orgs/import", template_folder="templates", static_folder="static")
FILE_KEY, FILE_TTL = "orgs:import:file:", 3600  # an uploaded file awaiting confirmation
RESULT_KEY = "orgs:import:result:"
FORM_SLACK = 64 * 1024  # multipart overhead allowed over the file limit
KINDS = {ORG: "组织", ROSTER: "花名册"}
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


class UploadForm(FlaskForm):
    kind = SelectField("导入内容", choices=choices({ORG: "组织（组织树）", ROSTER: "花名册（党员）"}))
    file = FileField("文件（xlsx 或 CSV）")


class ConfirmForm(FlaskForm):
    token = HiddenField()


def max_bytes(s: Services) -> int:
    """organisations.import_max_mb in config.yaml (default 10 MB)."""
    section = s.settings.raw.get("organisations") or {}
    return int(section.get("import_max_mb") or 10) * 1024 * 1024


def unscoped() -> None:
    """Imports change the whole park: a scoped account (a secretary's subtree) may not run them."""
    me = current()
    if me is None or getattr(me, "organisation_id", None) is not None:
        abort(403)


@bp.get("/")
@role_required("editor")
def index() -> str:
    unscoped()
    return page(UploadForm())


def page(form: UploadForm, problems: list[Any] | None = None, status: int = 200) -> Any:
    s = services()
    html = render_template(
        "console/orgs_import.html",
        form=form,
        problems=problems,
        busy=importing.busy(s.redis),
        limit_mb=max_bytes(s) // (1024 * 1024),
        kinds=KINDS,
    )
    return (html, status) if status != 200 else html


@bp.get("/template/<kind>.<fmt>")
@role_required("editor")
def template(kind: str, fmt: str) -> Response:
    if kind not in KINDS or fmt not in MIME:
        abort(404)
    data = template_xlsx(kind) if fmt == "xlsx" else template_csv(kind)
    name = f"{'organisations' if kind == ORG else 'roster'}-template.{fmt}"
    return Response(data, mimetype=MIME[fmt], headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.post("/")
@role_required("editor")
def upload() -> Any:
    unscoped()
    s, cap = services(), max_bytes(services())
    if request.content_length is None or request.content_length > cap + FORM_SLACK:
        return page(UploadForm(formdata=None), [str(too_big(cap).problems[0])], 413)  # refused before reading
    request.max_content_length = cap + FORM_SLACK  # a body longer than announced stops being read there
    try:
        form = UploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return page(UploadForm(formdata=None), [str(too_big(cap).problems[0])], 413)
    if not valid:
        abort(400)
    if importing.busy(s.redis):
        return page(form, [importing.BUSY], 409)
    upload = form.file.data
    if upload is None or not upload.filename:
        return page(form, ["请选择要上传的文件"], 400)
    data = upload.stream.read(cap + 1)
    kind, filename = form.kind.data, upload.filename
    try:
        sheet = read(data, kind, filename, cap)
    except SheetError as exc:
        return page(form, [str(p) for p in exc.problems], 422)
    with s.sessions() as db:
        plan = import_run.run(db, sheet, OrganisationsConfig.of(s.settings), write=False, actor=actor())
    audit.record("orgs.import_check", KINDS[kind], **plan.summary())
    token = None
    if plan.ok and plan.changes_anything:
        token = secrets.token_urlsafe(16)
        meta = {
            "kind": kind,
            "filename": filename[:100],
            "account": me().id,
            "data": base64.b64encode(data).decode(),
        }
        s.redis.set(FILE_KEY + token, json.dumps(meta), ex=FILE_TTL)
    return render_template(
        "console/orgs_import_preview.html",
        plan=plan,
        kind_name=KINDS[kind],
        count_names=importing.COUNT_NAMES,
        form=ConfirmForm(token=token),
        token=token,
    )


def me() -> Account:
    """The signed-in account (role_required let only signed-in accounts in)."""
    account = current()
    if account is None:
        abort(403)
    return account


def actor() -> str:
    me = current()
    return me.username if me else "console"


@bp.post("/confirm")
@role_required("editor")
def confirm() -> Any:
    unscoped()
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    s, token = services(), form.token.data or ""
    raw = s.redis.get(FILE_KEY + token) if token else None
    if raw is None:
        flash("上传的文件已过期，请重新上传。", "warning")
        return redirect(url_for(".index"))
    meta = json.loads(raw)
    if meta.get("account") != me().id:
        abort(403)
    try:
        lock = importing.acquire(s.redis)
    except importing.Busy:
        flash(importing.BUSY, "warning")
        return redirect(url_for(".index"))
    s.redis.delete(FILE_KEY + token)
    importing.Progress(s.redis, token)("queued", 0, 1, force=True)
    worker = threading.Thread(
        target=run_import, args=(s, meta, token, lock, me().id, request.remote_addr or "-"), daemon=True
    )
    worker.start()
    return redirect(url_for(".progress_page", token=token))


def run_import(s: Services, meta: dict[str, Any], token: str, lock: str, account_id: int, ip: str) -> None:
    """In a background thread: re-read, re-check and apply the file under the lock; the result goes to Redis."""
    report = importing.Progress(s.redis, token)
    result: dict[str, Any] = {"done": True, "ok": False}
    try:
        with s.sessions() as db:
            account = db.get(Account, account_id)
            name = account.username if account else "console"
            try:
                sheet = read(base64.b64decode(meta["data"]), meta["kind"], meta["filename"], max_bytes(s))
                plan = import_run.run(
                    db, sheet, OrganisationsConfig.of(s.settings), write=True, actor=name, report=report
                )
            except SheetError as exc:
                result["problems"] = [str(p) for p in exc.problems]
            else:
                result.update(ok=plan.ok, counts=plan.counts, problems=[str(p) for p in plan.problems[:200]])
                audit.write(db, "orgs.import", account, target=KINDS[meta["kind"]], details=plan.summary(), ip=ip)
                import_run.settle(s, plan)
    except Exception as exc:  # noqa: BLE001 — the page must learn it failed; the transaction was rolled back
        importing.log.error("orgs import failed, rolled back: %s", exc.__class__.__name__)  # no text: it may quote rows
        result["problems"] = ["导入失败，未做任何修改，请稍后重试或联系管理员"]
    finally:
        importing.release(s.redis, lock)
        s.redis.set(RESULT_KEY + token, json.dumps(result, ensure_ascii=False), ex=importing.PROGRESS_TTL)
        report.finish({"stage": "done", "percent": 100.0, **result})


@bp.get("/progress/<token>")
@role_required("editor")
def progress_page(token: str) -> str:
    unscoped()
    return render_template("console/orgs_import_progress.html", token=token, count_names=importing.COUNT_NAMES)


@bp.get("/progress/<token>.json")
@role_required("editor")
def progress_json(token: str) -> Response:
    unscoped()
    s = services()
    result = s.redis.get(RESULT_KEY + token)
    if result:
        return jsonify(json.loads(result))
    state = importing.progress(s.redis)
    if state is None or state.get("token") != token:
        return jsonify({"done": False, "stage": "unknown", "percent": 0})
    return jsonify({"done": False, **state})
