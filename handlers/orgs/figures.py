"""The figures a committee watches (认证率, 参学率, average points) per organisation subtree and per 片区, for a week or
a month; Flask-free, read by the console's 党建数据 page (figures_console) and its Excel export (figures_export).

Definitions (over the active roster: RosterMember.left_at is null):
- 认证率 = confirmed members (a CONFIRMED Membership bound to the roster entry) / roster members;
- 参学率 = confirmed members with at least one StudyDay in the period / roster members;
- average points = points the confirmed members earned in the period (the quiz's points_ledger, by its China day)
  / roster members.
An organisation's figures cover it and everything under it; a 片区's cover the organisations whose district it is.

Cost: three SQL statements grouped by organisation, then a roll-up of the counts up the tree in Python; both are
cached for a minute in Redis (figures_cache).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, column, exists, func, select, table, text
from sqlalchemy.orm import Session

from bot.core.clock import day_of, utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import Organisation, RosterMember, StudyDay

REPORT_TIMEOUT_MS = 15_000  # PostgreSQL statement_timeout for the counting statements (the webhook's is 2 s)
MONTHS_OFFERED, WEEKS_OFFERED = 12, 8  # periods the page's picker lists, the current one first
LEDGER = table("points_ledger", column("openid"), column("points"), column("day"))  # the quiz's table, by name
SORTS = {  # ?sort= → the row's value it sorts by (descending; 名称 ascending)
    "name": "code",
    "roster": "roster",
    "confirmed": "confirmed",
    "auth": "auth_rate",
    "studied": "studied",
    "study": "study_rate",
    "points": "avg_points",
}


@dataclass(frozen=True)
class Period:
    """A China-time week (Monday to Sunday) or calendar month: [start, end)."""

    kind: str  # "week" or "month"
    start: date
    end: date  # the day after the last

    @property
    def key(self) -> str:
        """2026-11 for a month, 2026-W48 for an ISO week (the page's ?period= value)."""
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        year, week, _ = self.start.isocalendar()
        return f"{year:04d}-W{week:02d}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        last = self.end - timedelta(days=1)
        year, week, _ = self.start.isocalendar()
        return f"{year}年第{week}周（{self.start:%m-%d} 至 {last:%m-%d}）"

    @classmethod
    def month_of(cls, day: date) -> Period:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return cls("month", start, end)

    @classmethod
    def week_of(cls, day: date) -> Period:
        start = day - timedelta(days=day.weekday())
        return cls("week", start, start + timedelta(days=7))

    @classmethod
    def parse(cls, text: str | None, today: date) -> Period:
        """ "2026-11" or "2026-W48" (anything else: this month)."""
        text = (text or "").strip()
        try:
            if "-W" in text:
                year, week = text.split("-W")
                return cls.week_of(date.fromisocalendar(int(year), int(week), 1))
            if len(text) == 7:
                return cls.month_of(date(int(text[:4]), int(text[5:7]), 1))
        except ValueError:
            pass
        return cls.month_of(today)


def offered(today: date) -> list[Period]:
    """The picker's periods: the last MONTHS_OFFERED months, then the last WEEKS_OFFERED weeks, newest first."""
    months, day = [], today
    for _ in range(MONTHS_OFFERED):
        months.append(Period.month_of(day))
        day = months[-1].start - timedelta(days=1)
    weeks = [Period.week_of(today - timedelta(days=7 * i)) for i in range(WEEKS_OFFERED)]
    return months + weeks


def today_in_china(now: datetime | None = None) -> date:
    return day_of(now or utcnow())


@dataclass
class Row:
    """One line of a table: an organisation's subtree or a 片区, its counts and rates."""

    key: str  # the organisation's id, or the 片区's name
    label: str
    code: str = ""
    kind: str = ""
    parent_code: str = ""
    district: str = ""
    children: int = 0  # organisations directly under it (drill-down offered when > 0)
    roster: int = 0
    confirmed: int = 0
    studied: int = 0
    points: int = 0

    def add(self, counts: Iterable[int]) -> None:
        roster, confirmed, studied, points = counts
        self.roster += roster
        self.confirmed += confirmed
        self.studied += studied
        self.points += points

    @property
    def auth_rate(self) -> float | None:
        return self.confirmed / self.roster if self.roster else None

    @property
    def study_rate(self) -> float | None:
        return self.studied / self.roster if self.roster else None

    @property
    def avg_points(self) -> float | None:
        return self.points / self.roster if self.roster else None


def percent(rate: float | None) -> str:
    """82.6% ("—" when nobody is on the roster)."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def average(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# Counting ----------------------------------------------------------------------------------------------------------
def own_counts(db: Session, period: Period) -> dict[int, list[int]]:
    """organisation id → [roster, confirmed, studied, points] of its own roster members (not its subtree's).

    Three statements, each a single grouped pass (the forms fastest on both SQLite and PostgreSQL at 100,000 members):
    the roster and its confirmed bindings; the confirmed with a study day in the period (an index probe per member);
    the period's points summed per openid first, then per organisation."""
    if db.get_bind().dialect.name == "postgresql":  # a report may outlast the webhook's statement_timeout
        db.execute(text(f"SET LOCAL statement_timeout = {REPORT_TIMEOUT_MS}"))
    confirmed = and_(Membership.member_id == RosterMember.id, Membership.status == CONFIRMED)
    active = RosterMember.left_at.is_(None)
    roster = (
        select(RosterMember.organisation_id, func.count(RosterMember.id), func.count(Membership.openid))
        .select_from(RosterMember)
        .outerjoin(Membership, confirmed)
        .where(active)
        .group_by(RosterMember.organisation_id)
    )
    counts = {org: [int(r), int(c), 0, 0] for org, r, c in db.execute(roster)}
    in_period = exists().where(
        StudyDay.openid == Membership.openid, StudyDay.day >= period.start, StudyDay.day < period.end
    )
    studied = (
        select(RosterMember.organisation_id, func.count())
        .select_from(Membership)
        .join(RosterMember, confirmed)
        .where(active, in_period)
        .group_by(RosterMember.organisation_id)
    )
    for org, n in db.execute(studied):
        counts.setdefault(org, [0, 0, 0, 0])[2] = int(n)
    earned = (
        select(LEDGER.c.openid, func.sum(LEDGER.c.points).label("points"))
        .where(LEDGER.c.day >= period.start, LEDGER.c.day < period.end)
        .group_by(LEDGER.c.openid)
        .subquery()
    )
    points = (
        select(RosterMember.organisation_id, func.sum(earned.c.points))
        .select_from(earned)
        .join(Membership, Membership.openid == earned.c.openid)
        .join(RosterMember, confirmed)
        .where(active)
        .group_by(RosterMember.organisation_id)
    )
    for org, total in db.execute(points):
        counts.setdefault(org, [0, 0, 0, 0])[3] = int(total or 0)
    return counts


# Rolling up --------------------------------------------------------------------------------------------------------
@dataclass
class Tree:
    """The organisations in a scope, each with its subtree's counts."""

    rows: dict[int, Row] = field(default_factory=dict)  # organisation id → its subtree row (dissolved ones left out)
    children: dict[int | None, list[int]] = field(default_factory=dict)  # parent id → children ids (tops under None)
    districts: dict[str, Row] = field(default_factory=dict)
    total: Row = field(default_factory=lambda: Row("", "合计"))


ORG_COLUMNS = (
    Organisation.id,
    Organisation.parent_id,
    Organisation.path,
    Organisation.code,
    Organisation.name,
    Organisation.kind,
    Organisation.district,
    Organisation.dissolved_at,
)


def roll_up(db: Session, counts: dict[int, list[int]], root: Organisation | None, districts: Iterable[str]) -> Tree:
    """Each organisation of `root`'s subtree (the whole park for None) with the counts of everything under it; the
    片区 rows (the configured ones first, in order) and the scope's total. Counts climb one level at a time, the
    deepest organisations first (one addition per organisation); dissolved ones pass theirs up but get no row."""
    query = select(*ORG_COLUMNS).order_by(Organisation.id)
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    orgs = db.connection().execute(query).all()  # Core rows: no ORM loading for thousands of tuples
    codes = {o.id: o.code for o in orgs}
    tree = Tree(districts={d: Row(d, d) for d in districts})
    totals: dict[int, list[int]] = {}
    for o in orgs:
        own = counts.get(o.id)
        if own:
            totals[o.id] = list(own)
            if o.district:
                tree.districts.setdefault(o.district, Row(o.district, o.district)).add(own)
            tree.total.add(own)
        if o.dissolved_at is None:
            tree.rows[o.id] = Row(str(o.id), o.name, o.code, o.kind, codes.get(o.parent_id or 0, ""), o.district or "")
    for o in sorted(orgs, key=lambda o: o.path.count("/"), reverse=True):
        mine = totals.get(o.id)
        if mine and o.parent_id in codes:
            parent = totals.setdefault(o.parent_id, [0, 0, 0, 0])
            for i in range(4):
                parent[i] += mine[i]
    for org_id, row in tree.rows.items():
        if org_id in totals:
            row.roster, row.confirmed, row.studied, row.points = totals[org_id]
    parents = {o.id: o.parent_id for o in orgs}
    for org_id in tree.rows:  # the scope's root (or a park's top) hangs under None
        parent_id = parents[org_id]
        tree.children.setdefault(parent_id if parent_id in tree.rows else None, []).append(org_id)
    for parent_id, kids in tree.children.items():
        if parent_id is not None:
            tree.rows[parent_id].children = len(kids)
    return tree


def sort_rows(rows: list[Row], sort: str) -> list[Row]:
    """Rows by `sort` (a SORTS key): codes ascending, numbers descending with undefined rates last (stable)."""
    attr = SORTS.get(sort, "study_rate")
    if attr == "code":  # organisations by code; 片区 (no code) keep their configured order
        return sorted(rows, key=lambda r: r.code)
    return sorted(rows, key=lambda r: (getattr(r, attr) is None, -(getattr(r, attr) or 0), r.code or r.label))
