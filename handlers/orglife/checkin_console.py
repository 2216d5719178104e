"""The console's check-in page of a meeting: its temporary QR code large, ready to print or project, with the
meeting's name and time and live counts (实到 / 应到) polled from a small JSON endpoint; scoped to the account."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template
from werkzeug.wrappers import Response

from bot.console.scope import require_in_scope
from bot.console.web import db, role_required, services
from bot.core.clock import aware, utcnow
from bot.core.errors import UserFacingError
from bot.core.organisations import Organisation
from handlers.orglife import checkin
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, Meeting

bp = Blueprint(
    "meeting_checkin",
    __name__,
    url_prefix="/meetings/checkin",
    template_folder="templates",
    static_folder="static",  # checkin.css (the printable sheet), checkin.js (the live counts)
    static_url_path="/static",
)
ROLES = ("secretary", "instructor", "editor")  # and admins: who show a meeting's check-in code
POLL_SECONDS = 5  # how often the page asks for the counts


def cfg() -> OrgLifeConfig:
    return OrgLifeConfig.of(services().settings)


def load(meeting_id: int) -> tuple[Meeting, Organisation]:
    """The meeting and its organisation, if inside the signed-in account's scope (else the 404 page)."""
    meeting = db().get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    org = require_in_scope(db().get(Organisation, meeting.organisation_id))
    return meeting, org


def state(meeting: Meeting) -> str:
    """open (the code records attendance), early, over or cancelled."""
    if meeting.status == CANCELLED:
        return "cancelled"
    opens, closes = checkin.window(cfg(), meeting)
    now = utcnow()
    return "early" if now < opens else "over" if now > closes else "open"


@bp.get("/<int:meeting_id>", endpoint="qr")  # other pages link here: console.meeting_checkin.qr, meeting_id=<id>
@role_required(*ROLES)
def qr_page(meeting_id: int) -> str:
    """The meeting's code (made or renewed through WeChat as needed), its name and time, the live counts."""
    meeting, org = load(meeting_id)
    now_state, code, problem = state(meeting), None, None
    if now_state in ("early", "open"):
        try:
            code = checkin.ensure_code(db(), services().wx, cfg(), meeting)
        except UserFacingError as exc:
            db().rollback()
            problem = str(exc)
    opens, closes = checkin.window(cfg(), meeting)
    return render_template(
        "console/checkin_qr.html",
        meeting=meeting,
        org=org,
        code=code,
        problem=problem,
        state=now_state,
        opens=opens,
        closes=closes,
        counts=checkin.counts(db(), meeting.id),
        poll_ms=POLL_SECONDS * 1000,
    )


@bp.get("/<int:meeting_id>/qr.png")
@role_required(*ROLES)
def qr_image(meeting_id: int) -> Response:
    """The code's picture from showqrcode, served from the console (its CSP admits images of its own origin only)."""
    meeting, _org = load(meeting_id)
    code = checkin.existing(db(), meeting)
    if code is None or (code.expire_at is not None and aware(code.expire_at) < utcnow()):
        abort(404)
    try:
        data, kind = services().wx.qrcode_image(code.ticket)
    except UserFacingError:
        abort(404)
    return Response(data, mimetype=kind, headers={"Cache-Control": "private, max-age=300"})


@bp.get("/<int:meeting_id>/counts.json")
@role_required(*ROLES)
def counts(meeting_id: int) -> Response:
    """实到 / 应到 and guests now, and whether the code still records attendance (polled by the page)."""
    meeting, _org = load(meeting_id)
    return jsonify(**checkin.counts(db(), meeting.id), state=state(meeting))
