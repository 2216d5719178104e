"""Ticket statistics: counts and the three rates (响应率, 解决率, 满意率) by month, category, department and 片区.

Definitions (the README repeats them):
- 已收集 (collected): every submission except merged duplicates (status 已合并), whatever its status now.
- 不予受理 (rejected): collected tickets refused at intake; 已受理 (accepted) = collected − rejected.
- 已解决 (solved): Ticket.solved, i.e. resolved (办结) and not reopened (重办) since; a ticket rated 不满意 is
  reopened and stops counting until it is resolved again.
- 响应率 = answered within tickets.intake_hours ÷ answers due. An answer is the first 受理, 交办, 不予受理 or
  合并 (Ticket.responded_on_time is set then); an answer is due once given or once the intake deadline has
  passed. Merged duplicates count here: each was a person waiting for an answer, and merging answered them.
  A fresh submission still inside its intake hours is not counted either way.
- 解决率 = solved ÷ accepted (rejected tickets are not expected to be solved; open ones count as not yet solved).
- 满意率 = (满意 + 基本满意) ÷ rated, over the latest rating of each collected ticket.
- Months are the China-time month of submission: a month's 解决率 is how many of that month's submissions are
  solved now. A rate with nothing to divide by is None (shown as "—").

Caching: cached_report keeps a rolled-up report in Redis for a minute under a key made of the filters, the current
minute (answers falling due as intake deadlines pass) and the data version: the newest ticket event id and ticket
id, so every submission and workflow step (each appends an event) makes the next page compute afresh.

Speed: one scan of the tickets table with the outcome counts taken per group in SQL (COUNT(*) FILTER). PostgreSQL
groups by GROUPING SETS ((month), (category), (department), (district), ()): the four tables and the total in
about 40 rows. SQLite has no grouping sets: it groups by all four dimensions (the covering index ix_tickets_stats
gives the rows in group order, no sort, no table read; 100,000 tickets make about 8,000 groups) and the totals
and the four tables are rolled up here with numpy.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass, field, fields
from datetime import datetime
from typing import Any

import numpy as np
import redis
from sqlalchemy import ColumnElement, and_, func, select, tuple_
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from handlers.tickets.models import OPEN_STATUSES, Ticket, TicketEvent

log = logging.getLogger(__name__)

DIMENSIONS = ("month", "category", "department", "district")  # what the tables group by
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")  # YYYY-MM, as stored in Ticket.month
SATISFIED = ("satisfied", "fair")  # the ratings the 满意率 counts as satisfied
ALL = (1 << len(DIMENSIONS)) - 1  # GROUPING() of the grand total: every dimension rolled up
CACHE_KEY = "tickets:stats:"  # + data version + filters → a rolled-up report (JSON)
CACHE_SECONDS = 60  # how long a cached report is kept; the version in its key changes with every ticket event


@dataclass(frozen=True)
class Filters:
    """Which tickets the figures cover: a month range (inclusive) and optionally one category, department, 片区."""

    month_from: str = ""
    month_to: str = ""
    category: str = ""
    department: str = ""
    district: str = ""

    @classmethod
    def of(cls, args: Any) -> Filters:
        """From query-string arguments (from, to, category, department, district); bad months are ignored."""

        def month(name: str) -> str:
            value = str(args.get(name) or "").strip()
            return value if MONTH.match(value) else ""

        def text(name: str) -> str:
            return str(args.get(name) or "").strip()[:32]

        lo, hi = month("from"), month("to")
        if lo and hi and lo > hi:
            lo, hi = hi, lo
        return cls(lo, hi, text("category"), text("department"), text("district"))

    def where(self) -> list[ColumnElement[bool]]:
        """The SQL conditions (an index on month serves the range)."""
        conds: list[ColumnElement[bool]] = []
        if self.month_from:
            conds.append(Ticket.month >= self.month_from)
        if self.month_to:
            conds.append(Ticket.month <= self.month_to)
        for name in ("category", "department", "district"):
            if getattr(self, name):
                conds.append(getattr(Ticket, name) == getattr(self, name))
        return conds

    def args(self) -> dict[str, str]:
        """The filters set, as query-string arguments (links, the audit entry)."""
        names = {"month_from": "from", "month_to": "to"}
        return {names.get(f.name, f.name): getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass
class Counts:
    """The outcome counts of a set of tickets; the rates are derived from them."""

    submitted: int = 0  # every submission, merged duplicates included
    merged: int = 0  # duplicates merged into another ticket
    rejected: int = 0  # 不予受理
    open: int = 0  # still needing staff work (待受理, 已受理, 已交办, 办理中)
    solved: int = 0  # resolved and not reopened since
    due: int = 0  # submissions whose intake answer is due (answered, or past the intake deadline)
    on_time: int = 0  # answered within the intake hours
    rated: int = 0  # collected tickets with a rating
    satisfied: int = 0  # rated 满意 or 基本满意

    @property
    def collected(self) -> int:
        return self.submitted - self.merged

    @property
    def accepted(self) -> int:
        return self.collected - self.rejected

    @property
    def response_rate(self) -> float | None:
        return ratio(self.on_time, self.due)

    @property
    def solve_rate(self) -> float | None:
        return ratio(self.solved, self.accepted)

    @property
    def satisfaction_rate(self) -> float | None:
        return ratio(self.satisfied, self.rated)


@dataclass
class Report:
    """The totals and, per dimension, the counts of each value (None: no department / no 片区)."""

    filters: Filters
    total: Counts = field(default_factory=Counts)
    by: dict[str, dict[str | None, Counts]] = field(default_factory=lambda: {d: {} for d in DIMENSIONS})

    def months(self) -> list[tuple[str, Counts]]:
        """Every month from the first to the last with tickets, gaps filled with zeros, oldest first."""
        found = self.by["month"]
        keys = sorted(k for k in found if k)
        return [(m, found.get(m) or Counts()) for m in month_span(keys[0], keys[-1])] if keys else []

    def rows(self, dimension: str, order: Iterable[str] = ()) -> list[tuple[str | None, Counts]]:
        """One dimension's rows: the values in `order` first (zeros included), then the rest by size, None last."""
        found = self.by[dimension]
        listed = list(dict.fromkeys(order))
        rest = sorted((k for k in found if k not in listed and k is not None), key=lambda k: (-found[k].submitted, k))
        tail = [None] if None in found else []
        return [(k, found.get(k) or Counts()) for k in [*listed, *rest, *tail]]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(rate: float | None) -> str:
    """82.6% ("—" when there is nothing to divide by)."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def month_span(first: str, last: str) -> Iterator[str]:
    """The months from `first` to `last` inclusive (YYYY-MM)."""
    year, month = int(first[:4]), int(first[5:7])
    while f"{year:04d}-{month:02d}" <= last:
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def tally(cond: ColumnElement[bool]) -> Any:
    """COUNT(*) FILTER (WHERE cond): SQLite (3.30+) and PostgreSQL; cheaper than SUM(CASE ...) on both."""
    return func.count().filter(cond)


def sums(now: datetime) -> list[Any]:
    """The per-group outcome counts, in Counts field order."""
    kept = Ticket.status != "merged"
    waiting = and_(Ticket.responded_on_time.is_(None), Ticket.accept_due_at > now)
    return [
        func.count(),
        tally(Ticket.status == "merged"),
        tally(Ticket.status == "rejected"),
        tally(Ticket.status.in_(OPEN_STATUSES)),
        tally(and_(kept, Ticket.solved.is_(True))),
        func.count() - tally(waiting),
        tally(Ticket.responded_on_time.is_(True)),
        tally(and_(kept, Ticket.rating.is_not(None))),
        tally(and_(kept, Ticket.rating.in_(SATISFIED))),
    ]


def report(db: Session, filters: Filters = Filters(), now: datetime | None = None) -> Report:
    """The figures for `filters` in one scan: rolled up by PostgreSQL (GROUPING SETS), else here."""
    if db.get_bind().dialect.name == "postgresql":
        return sets_report(db, filters, now or utcnow())
    return cube_report(db, filters, now or utcnow())


def cube_report(db: Session, filters: Filters, now: datetime) -> Report:
    """One scan grouped by all four dimensions (SQLite: about 8,000 groups for 100,000 tickets), rolled up here."""
    keys = [getattr(Ticket, d) for d in DIMENSIONS]
    query = select(*keys, *sums(now)).where(*filters.where()).group_by(*keys)
    rows = db.execute(query.order_by(*keys)).all()  # in the covering index's order: no sort
    result = Report(filters)
    if not rows:
        return result
    columns = list(zip(*rows, strict=True))
    values = np.array(columns[len(DIMENSIONS) :], dtype=np.int64).T  # one row of sums per group
    result.total = counts(values.sum(axis=0))
    for dimension, column in zip(DIMENSIONS, columns, strict=False):  # the sums follow
        result.by[dimension] = rolled_up(column, values)
    return result


def sets_report(db: Session, filters: Filters, now: datetime) -> Report:
    """One scan with GROUPING SETS (PostgreSQL): each dimension on its own and the total, about 40 rows."""
    keys = [getattr(Ticket, d) for d in DIMENSIONS]
    sets = func.grouping_sets(*(tuple_(k) for k in keys), tuple_())
    query = select(func.grouping(*keys), *keys, *sums(now)).where(*filters.where()).group_by(sets)
    alone = {ALL & ~(1 << (len(keys) - 1 - i)): i for i in range(len(keys))}  # GROUPING() bits: 1 = rolled up
    result = Report(filters)
    for row in db.execute(query):
        flag, values = row[0], row[1 + len(keys) :]
        if flag == ALL:
            result.total = Counts(*values)
        else:
            i = alone[flag]
            result.by[DIMENSIONS[i]][row[1 + i]] = Counts(*values)
    return result


def rolled_up(keys: Sequence[str | None], values: np.ndarray) -> dict[str | None, Counts]:
    """The groups' sums added up per key (numpy: a page has thousands of groups)."""
    index: dict[str | None, int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.intp, count=len(keys))
    totals = np.zeros((len(index), values.shape[1]), dtype=np.int64)
    np.add.at(totals, codes, values)
    return {key: counts(totals[i]) for key, i in index.items()}


def counts(values: np.ndarray) -> Counts:
    return Counts(*(int(v) for v in values))


def version(db: Session, now: datetime) -> str:
    """What the figures depend on: the newest event and ticket (every change appends an event), and the minute."""
    newest = select(select(func.max(TicketEvent.id)).scalar_subquery(), select(func.max(Ticket.id)).scalar_subquery())
    event_id, ticket_id = db.execute(newest).one()
    return f"{event_id or 0}.{ticket_id or 0}.{now:%Y%m%d%H%M}"


def dumps(result: Report) -> str:
    by = {d: [[k, *astuple(c)] for k, c in table.items()] for d, table in result.by.items()}
    return json.dumps({"total": astuple(result.total), "by": by}, ensure_ascii=False)


def loads(filters: Filters, text: str) -> Report:
    data = json.loads(text)
    by = {d: {row[0]: Counts(*row[1:]) for row in rows} for d, rows in data["by"].items()}
    return Report(filters, Counts(*data["total"]), by)


def cached_report(
    cache: redis.Redis, db: Session, filters: Filters = Filters(), now: datetime | None = None
) -> tuple[Report, bool]:
    """report(), from Redis when nothing changed since it was computed (this minute); (report, was cached).
    Without Redis the figures are computed every time."""
    now = now or utcnow()
    key = CACHE_KEY + version(db, now) + ":" + json.dumps(filters.args(), ensure_ascii=False, sort_keys=True)
    try:
        hit = cache.get(key)
    except redis.RedisError:
        log.warning("ticket figures computed without the Redis cache", exc_info=True)
        return report(db, filters, now), False
    if hit:
        return loads(filters, hit), True
    result = report(db, filters, now)
    try:
        cache.set(key, dumps(result), ex=CACHE_SECONDS)
    except redis.RedisError:
        log.warning("ticket figures not cached", exc_info=True)
    return result, False
