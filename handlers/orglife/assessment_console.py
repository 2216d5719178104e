"""The yearly assessment's console pages (/console/assessment): scorecards ranked per 片区 with the reasons behind
each score, one organisation's card with the committee's adjustment form, and an audited Excel export. Scoped
accounts (secretary, instructor) see their subtree, read-only; the committee (admin/editor, unscoped) adjusts."""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import asdict

import redis
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DecimalField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from bot.console import audit
from bot.console.paging import Page, page_number
from bot.console.scope import require_in_scope, scope_root_of
from bot.console.web import current, db, role_required, services
from bot.core.clock import TZ
from bot.core.database import utcnow
from bot.core.organisations import Organisation
from handlers.orglife import assessment, assessment_export
from handlers.orglife.assessment import LABELS, Part, Scorecard
from handlers.orglife.assessment_models import AssessmentAdjustment

bp = Blueprint("assessment", __name__, url_prefix="/assessment", template_folder="templates")
ROLES = ("editor", "secretary", "instructor")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PER_PAGE = 100
TTL = 60  # seconds computed scorecards are reused from Redis
CACHE_KEY = "orglife:assessment:{}:{}"  # year, scope root id or "all"


class AdjustForm(FlaskForm):
    score = DecimalField("调整后得分（0–100）", places=1, validators=[InputRequired("请填写得分"), NumberRange(0, 100)])
    reason = TextAreaField("调整理由（必填）", validators=[DataRequired("请填写调整理由"), Length(max=2000)])


def encode(card: Scorecard) -> dict:
    return asdict(card)


def decode(raw: dict) -> Scorecard:
    parts = [Part(**p) for p in raw.pop("parts")]
    return Scorecard(**raw, parts=parts)


def scope() -> Organisation | None:
    me, root = current(), scope_root_of()
    if root is None and me is not None and me.is_scoped_only:
        abort(403)
    return root


def committee() -> bool:
    """Admin or editor over the whole park: may adjust scores."""
    me = current()
    return me is not None and me.has_role("editor") and not me.is_scoped_only and scope_root_of() is None


def year_arg() -> int:
    this_year = utcnow().astimezone(TZ).year
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= this_year + 1 else this_year


def cards_of(year: int, root: Organisation | None) -> list[Scorecard]:
    """The year's scorecards in scope: from Redis when computed in the last TTL seconds, else computed and kept."""
    key, cache = CACHE_KEY.format(year, root.id if root else "all"), services().redis
    with contextlib.suppress(redis.RedisError):
        found = cache.get(key)
        if found:
            return [decode(c) for c in json.loads(found)]
    cards = assessment.scorecards(db(), services().settings, year, utcnow(), root)
    with contextlib.suppress(redis.RedisError):
        cache.set(key, json.dumps([encode(c) for c in cards], ensure_ascii=False, separators=(",", ":")), ex=TTL)
    return cards


def forget(year: int) -> None:
    """Drop the year's cached scorecards (after an adjustment)."""
    with contextlib.suppress(redis.RedisError):
        cache = services().redis
        keys = list(cache.scan_iter(match=CACHE_KEY.format(year, "*"), count=500))
        if keys:
            cache.delete(*keys)


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    """The ranking of one 片区 (or every 片区 one after the other), paged, each row with its reasons."""
    year, root = year_arg(), scope()
    ranking = assessment.ranking(cards_of(year, root))
    district = request.args.get("district")
    if district is not None and district not in ranking:
        district = None
    rows = [(d, rank, c) for d, cards in ranking.items() if district in (None, d) for rank, c in enumerate(cards, 1)]
    number = page_number()
    page = Page(rows[(number - 1) * PER_PAGE : number * PER_PAGE], number, PER_PAGE, len(rows))
    return render_template(
        "console/assessment.html",
        year=year,
        years=list(range(utcnow().astimezone(TZ).year, 2019, -1))[:6],
        root=root,
        districts={d: len(c) for d, c in ranking.items()},
        district=district,
        page=page,
        weights=assessment.weights_of(services().settings.section("orglife")),
        labels=LABELS,
        score_text=score_text,
        ttl=TTL,
    )


@bp.route("/org/<int:org_id>", methods=["GET", "POST"])
@role_required(*ROLES)
def show(org_id: int) -> str | Response:
    """One organisation's card: parts and reasons, computed and adjusted score, adjustments; the committee adjusts."""
    year, root = year_arg(), scope()
    org = require_in_scope(db().get(Organisation, org_id))
    card = next((c for c in cards_of(year, root) if c.id == org.id), None)
    if card is None:
        abort(404)
    may_adjust = committee()
    form = AdjustForm()
    if request.method == "POST":
        if not may_adjust:
            abort(403)
        if form.validate_on_submit():
            final = float(form.score.data)  # type: ignore[arg-type]
            me = current()
            assessment.adjust(
                db(), org.id, year, final, card.computed, form.reason.data or "", me.username if me else ""
            )
            audit.record(
                "assessment.adjust",
                f"{org.code} {org.name}",
                year=year,
                computed=card.computed,
                score=final,
                reason=form.reason.data.strip() if form.reason.data else "",
            )
            forget(year)
            flash(f"已调整{org.name} {year}年得分为 {final:.1f}（计算得分 {score_text(card.computed)}）。")
            return redirect(url_for(".show", org_id=org.id, year=year))
    history = db().scalars(
        select(AssessmentAdjustment)
        .where(AssessmentAdjustment.organisation_id == org.id, AssessmentAdjustment.year == year)
        .order_by(AssessmentAdjustment.at.desc(), AssessmentAdjustment.id.desc())
    )
    return render_template(
        "console/assessment_show.html",
        year=year,
        card=card,
        form=form,
        may_adjust=may_adjust,
        history=list(history),
        score_text=score_text,
    )


@bp.get("/export.xlsx")
@role_required(*ROLES)
def export() -> Response:
    """The year's ranking per 片区 in scope with each part's value, weight and points (audited)."""
    year, root = year_arg(), scope()
    ranking = assessment.ranking(cards_of(year, root))
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    weights = assessment.weights_of(services().settings.section("orglife"))
    rows = assessment_export.write(out, year, ranking, weights)
    audit.record(
        "assessment.export", None, year=year, scope=f"{root.code} {root.name}" if root else "整个园区", rows=rows
    )
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=f"年度考核_{year}.xlsx", max_age=0)
