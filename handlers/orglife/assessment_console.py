"""The yearly assessment's console pages (/console/assessment): scorecards ranked per 片区 with the reasons behind
each score, one organisation's card with the committee's adjustment form, and an audited Excel export. Scoped
accounts (secretary, instructor) see their subtree, read-only; the committee (admin/editor, unscoped) adjusts."""

from __future__ import annotations

import contextlib
import json
import tempfile

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
CACHE_KEY = "orglife:assessment:{}:{}"  # year, scope root id or "all"; + :ready, :rows, :pos


class AdjustForm(FlaskForm):
    score = DecimalField("调整后得分（0–100）", places=1, validators=[InputRequired("请填写得分"), NumberRange(0, 100)])
    reason = TextAreaField("调整理由（必填）", validators=[DataRequired("请填写调整理由"), Length(max=2000)])


Ranked = tuple[str, int, Scorecard]  # 片区, rank in it, card


def encode(district: str, rank: int, c: Scorecard) -> str:
    parts = [[p.key, p.value, p.weight, p.points] for p in c.parts]
    raw = [district, rank, c.id, c.code, c.name, c.kind, c.path, c.computed, c.adjusted, c.reason, c.adjusted_by, parts]
    return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))


def decode(text: str | bytes) -> Ranked:
    district, rank, oid, code, name, kind, path, computed, adjusted, reason, by, parts = json.loads(text)
    card = Scorecard(oid, code, name, kind, district, path, [Part(*p) for p in parts], computed, adjusted, reason, by)
    return district, rank, card


def ranked_lines(year: int, root: Organisation | None) -> list[str]:
    ranking = assessment.ranking(assessment.scorecards(db(), services().settings, year, utcnow(), root))
    return [encode(d, rank, c) for d, cards in ranking.items() for rank, c in enumerate(cards, 1)]


def districts_of(lines: list[Ranked]) -> dict[str, list[int]]:
    """片区 → [first index, count] in the ranked list."""
    found: dict[str, list[int]] = {}
    for i, (district, _, _) in enumerate(lines):
        found.setdefault(district, [i, 0])[1] += 1
    return found


class Ranking:
    """The year's ranking in scope, one JSON line per organisation in a Redis list kept TTL seconds (a page reads
    only its own lines); computed in-process when Redis is down."""

    def __init__(self, year: int, root: Organisation | None) -> None:
        self.prefix, self.cache = CACHE_KEY.format(year, root.id if root else "all"), services().redis
        self.local: list[Ranked] | None = None
        self.districts: dict[str, list[int]] = {}
        try:
            found = self.cache.get(f"{self.prefix}:ready")
        except redis.RedisError:
            found = None
        if found:
            self.districts = json.loads(found)
            return
        lines = ranked_lines(year, root)
        self.local = [decode(line) for line in lines]
        self.districts = districts_of(self.local)
        with contextlib.suppress(redis.RedisError):
            pipe = self.cache.pipeline()
            pipe.delete(f"{self.prefix}:rows", f"{self.prefix}:pos")
            if lines:
                pipe.rpush(f"{self.prefix}:rows", *lines)
                pipe.hset(f"{self.prefix}:pos", mapping={str(c.id): i for i, (_, _, c) in enumerate(self.local)})
                pipe.expire(f"{self.prefix}:rows", TTL + 5)  # outlive the ready mark
                pipe.expire(f"{self.prefix}:pos", TTL + 5)
            pipe.set(f"{self.prefix}:ready", json.dumps(self.districts, ensure_ascii=False), ex=TTL)
            pipe.execute()

    @property
    def total(self) -> int:
        return sum(n for _, n in self.districts.values())

    def rows(self, start: int, stop: int) -> list[Ranked]:
        """Lines start..stop-1 (stop -1: to the end)."""
        if self.local is not None:
            return self.local[start : stop if stop >= 0 else None]
        try:
            return [decode(r) for r in self.cache.lrange(f"{self.prefix}:rows", start, stop - 1 if stop >= 0 else -1)]
        except redis.RedisError:
            return []

    def card(self, org_id: int) -> Scorecard | None:
        if self.local is not None:
            return next((c for _, _, c in self.local if c.id == org_id), None)
        try:
            at = self.cache.hget(f"{self.prefix}:pos", str(org_id))
            line = self.cache.lindex(f"{self.prefix}:rows", int(at)) if at is not None else None
        except redis.RedisError:
            return None
        return decode(line)[2] if line else None


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


def forget(year: int) -> None:
    """Drop the year's cached scorecards (after an adjustment)."""
    with contextlib.suppress(redis.RedisError):
        cache = services().redis
        keys = list(cache.scan_iter(match=CACHE_KEY.format(year, "*") + ":*", count=500))
        if keys:
            cache.delete(*keys)


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    """The ranking of one 片区 (or every 片区 one after the other), paged, each row with its reasons."""
    year, root = year_arg(), scope()
    ranking = Ranking(year, root)
    district = request.args.get("district")
    if district is not None and district not in ranking.districts:
        district = None
    first, length = ranking.districts[district] if district is not None else (0, ranking.total)
    number = min(page_number(), max(1, -(-length // PER_PAGE)))
    start = first + (number - 1) * PER_PAGE
    page = Page(ranking.rows(start, min(start + PER_PAGE, first + length)), number, PER_PAGE, length)
    return render_template(
        "console/assessment.html",
        year=year,
        years=list(range(utcnow().astimezone(TZ).year, 2019, -1))[:6],
        root=root,
        districts={d: n for d, (_, n) in ranking.districts.items()},
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
    card = Ranking(year, root).card(org.id)
    if card is None:
        abort(404)
    may_adjust = committee()
    form = AdjustForm()
    if request.method == "POST":
        if not may_adjust:
            abort(403)
        if form.validate_on_submit():
            final = float(form.score.data)
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
    ranking: dict[str, list[Scorecard]] = {}
    for district, _, card in Ranking(year, root).rows(0, -1):
        ranking.setdefault(district, []).append(card)
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    weights = assessment.weights_of(services().settings.section("orglife"))
    rows = assessment_export.write(out, year, ranking, weights)
    audit.record(
        "assessment.export", None, year=year, scope=f"{root.code} {root.name}" if root else "整个园区", rows=rows
    )
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=f"年度考核_{year}.xlsx", max_age=0)
