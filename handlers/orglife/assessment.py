"""The yearly assessment (Flask-free): each organisation's scorecard from 三会一课 completion, task completion, the
yearly 参学率 and its tickets' rates, weighted by config.yaml orglife.assessment_weights; read by the console page
(assessment_console) and its Excel export.

Definitions (README "Organisation life"):
- Scored: organisations of every kind but 党小组 that existed during the year (created before its end, not
  dissolved before its start).
- Parts, each a rate 0..1 or absent: compliance = the year's 三会一课 completion rate (handlers.orglife.compliance);
  tasks = accepted ÷ issued task reports due in the year; study = confirmed members of the organisation and its
  subtree with at least one study day in the year ÷ active roster; tickets = the mean of the organisation's tickets'
  响应率, 解决率 and 满意率 (those defined) over tickets submitted in the year (as handlers/tickets/stats.py defines
  them), read by table name.
- Score = Σ rate × weight ÷ Σ weight × 100 over the parts the organisation HAS (a part it has not — no tickets, no
  tasks issued, nothing required — is left out and the others re-weighted); no part at all: no score.
- An adjustment (the committee's, with a reason) sets the final score; the computed one stays beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.orm import Session

from bot.core.errors import ConfigError
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember, StudyDay
from handlers.orglife import compliance, tasks
from handlers.orglife.assessment_models import AssessmentAdjustment
from handlers.orglife.compliance import month_start
from handlers.orglife.config import OrgLifeConfig

PARTS = ("compliance", "tasks", "study", "tickets")
LABELS = {"compliance": "三会一课完成率", "tasks": "任务完成率", "study": "参学率", "tickets": "诉求办理"}
DEFAULT_WEIGHTS = {"compliance": 40.0, "tasks": 30.0, "study": 30.0, "tickets": 0.0}
GROUP_KIND = "党小组"
SATISFIED = ("satisfied", "fair")


def weights_of(section: Mapping[str, Any] | None) -> dict[str, float]:
    """The weights from the orglife section (missing parts keep their default)."""
    raw = (section or {}).get("assessment_weights") or {}
    return {part: float(raw.get(part, DEFAULT_WEIGHTS[part])) for part in PARTS}


def check(raw: Mapping[str, Any]) -> None:
    """orglife.assessment_weights: known parts, numbers ≥ 0, not all zero."""
    weights = (raw.get("orglife") or {}).get("assessment_weights")
    if weights is None:
        return
    where = "config.yaml orglife.assessment_weights"
    if not isinstance(weights, dict):
        raise ConfigError(f"{where}: expected a mapping of {', '.join(PARTS)} to numbers")
    for key, value in weights.items():
        if key not in PARTS:
            raise ConfigError(f"{where}.{key}: unknown part (expected one of {', '.join(PARTS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}.{key}: expected a number at least 0, got {value!r}")
    if not any(weights_of({"assessment_weights": weights}).values()):
        raise ConfigError(f"{where}: the weights are all zero")


@dataclass
class Part:
    key: str
    value: float | None  # the rate 0..1, None when the organisation does not have this part
    weight: float
    points: float | None = None  # its share of the score (after re-weighting)

    @property
    def reason(self) -> str:
        label = LABELS[self.key]
        weight = f"{self.weight:g}"
        if self.value is None:
            return f"{label} 无（权重 {weight}，不计入）"
        return f"{label} {100 * self.value:.0f}%（权重 {weight}）→ {self.points or 0:.1f} 分"


@dataclass
class Scorecard:
    id: int
    code: str
    name: str
    kind: str
    district: str
    path: str
    parts: list[Part] = field(default_factory=list)
    computed: float | None = None
    adjusted: float | None = None
    reason: str = ""  # the adjustment's reason
    adjusted_by: str = ""

    @property
    def score(self) -> float | None:
        return self.adjusted if self.adjusted is not None else self.computed


def score(parts: list[Part]) -> float | None:
    """Σ rate × weight ÷ Σ weight × 100 over the parts present with a weight; sets each part's points."""
    present = [p for p in parts if p.value is not None and p.weight > 0]
    total = sum(p.weight for p in present)
    for p in parts:
        p.points = 100 * p.value * p.weight / total if p.value is not None and total else None
    return round(sum(p.points or 0 for p in present), 1) if total else None


def active_orgs(db: Session, year: int, root: Organisation | None) -> list[Any]:
    o = Organisation
    start, end = month_start(year, 1), month_start(year, 13)
    query = select(o.id, o.code, o.name, o.kind, o.district, o.path).where(
        o.kind != GROUP_KIND, o.created_at < end, (o.dissolved_at.is_(None)) | (o.dissolved_at >= start)
    )
    if root is not None:
        query = query.where(o.path.startswith(root.path))
    return list(db.execute(query.order_by(o.code)))


def study_rates(db: Session, year: int) -> dict[int, float]:
    """Organisation id → 参学率 of its subtree over the year (own counts rolled up the path)."""
    confirmed = and_(Membership.member_id == RosterMember.id, Membership.status == CONFIRMED)
    active = RosterMember.left_at.is_(None)
    roster_q = select(RosterMember.organisation_id, func.count()).where(active).group_by(RosterMember.organisation_id)
    roster: dict[int, int] = {org: int(n) for org, n in db.execute(roster_q)}
    studied_q = (
        select(RosterMember.organisation_id, func.count())
        .select_from(Membership)
        .join(RosterMember, confirmed)
        .where(
            active,
            exists().where(
                StudyDay.openid == Membership.openid,
                StudyDay.day >= date(year, 1, 1),
                StudyDay.day < date(year + 1, 1, 1),
            ),
        )
        .group_by(RosterMember.organisation_id)
    )
    studied: dict[int, int] = {org: int(n) for org, n in db.execute(studied_q)}
    paths: dict[int, str] = {i: p for i, p in db.execute(select(Organisation.id, Organisation.path))}
    totals: dict[int, list[int]] = {}
    for org_id, n in roster.items():
        for part in (paths.get(org_id) or "").strip("/").split("/"):
            if part:
                row = totals.setdefault(int(part), [0, 0])
                row[0] += int(n)
                row[1] += int(studied.get(org_id, 0))
    return {org_id: s / r for org_id, (r, s) in totals.items() if r}


def ticket_rates(db: Session, year: int, now: datetime) -> dict[int, float]:
    """Organisation id → mean of its tickets' 响应率, 解决率, 满意率 (those defined) for tickets of the year."""
    if "tickets" not in set(db.get_bind().dialect.get_table_names(db.connection())):
        return {}
    rows = db.execute(
        text(
            "SELECT organisation_id,"
            " SUM(CASE WHEN responded_on_time IS NOT NULL OR accept_due_at <= :now THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN responded_on_time THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status NOT IN ('merged', 'rejected') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status != 'merged' AND solved THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status != 'merged' AND rating IS NOT NULL THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status != 'merged' AND rating IN ('satisfied', 'fair') THEN 1 ELSE 0 END)"
            " FROM tickets WHERE organisation_id IS NOT NULL AND month >= :lo AND month <= :hi"
            " GROUP BY organisation_id"
        ),
        {"now": now, "lo": f"{year}-01", "hi": f"{year}-12"},
    )
    found = {}
    for org_id, due, on_time, accepted, solved, rated, satisfied in rows:
        rates = [a / b for a, b in ((on_time, due), (solved, accepted), (satisfied, rated)) if b]
        if rates:
            found[int(org_id)] = sum(rates) / len(rates)
    return found


def adjustments(db: Session, year: int) -> dict[int, AssessmentAdjustment]:
    """The adjustment in force (the latest) per organisation for the year."""
    a = AssessmentAdjustment
    rows = db.scalars(select(a).where(a.year == year).order_by(a.organisation_id, a.at, a.id))
    return {row.organisation_id: row for row in rows}


def scorecards(
    db: Session, settings: Any, year: int, now: datetime, root: Organisation | None = None
) -> list[Scorecard]:
    """Every scored organisation's card in scope (no personal data)."""
    weights = weights_of(settings.section("orglife"))
    grid = compliance.evaluate(db, OrgLifeConfig.of(settings), year, now, root, detail=False)
    done = tasks.completion(db, year) if weights["tasks"] else {}
    study = study_rates(db, year) if weights["study"] else {}
    tickets = ticket_rates(db, year, now) if weights["tickets"] else {}
    adjusted = adjustments(db, year)
    cards = []
    for org_id, code, name, kind, district, path in active_orgs(db, year, root):
        row = grid.orgs.get(org_id)
        values = {
            "compliance": row.year.rate if row is not None else None,
            "tasks": done.get(org_id),
            "study": study.get(org_id),
            "tickets": tickets.get(org_id),
        }
        card = Scorecard(org_id, code, name, kind, district or "", path)
        card.parts = [Part(p, values[p], weights[p]) for p in PARTS if weights[p] > 0]
        card.computed = score(card.parts)
        if org_id in adjusted:
            card.adjusted, card.reason, card.adjusted_by = (
                adjusted[org_id].score,
                adjusted[org_id].reason,
                adjusted[org_id].by,
            )
        cards.append(card)
    return cards


def ranking(cards: list[Scorecard]) -> dict[str, list[Scorecard]]:
    """片区 → its organisations, highest final score first (no score last), then by code."""
    by: dict[str, list[Scorecard]] = {}
    for card in cards:
        by.setdefault(card.district, []).append(card)
    for rows in by.values():
        rows.sort(key=lambda c: (c.score is None, -(c.score or 0), c.code))
    return dict(sorted(by.items(), key=lambda kv: (kv[0] == "", kv[0])))


def adjust(db: Session, org_id: int, year: int, final: float, computed: float | None, reason: str, by: str) -> None:
    """Store an adjustment (final score 0–100, a written reason required)."""
    reason = reason.strip()
    if not reason:
        raise ValueError("reason required")
    if not 0 <= final <= 100:
        raise ValueError("score out of range")
    db.add(
        AssessmentAdjustment(organisation_id=org_id, year=year, score=final, computed=computed, reason=reason, by=by)
    )
    db.commit()
