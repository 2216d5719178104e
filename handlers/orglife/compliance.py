"""三会一课 compliance: for each organisation, meeting kind and period of a year, on time, late, missing or still
open — one grouped SQL query of held meetings' month masks, then numpy over all organisations at once
(compliance_tally) into rows made when read (compliance_rows). Read by the console page, the Excel export, the
reminder job and the assessment.

Definitions (README "Organisation life"):
- A kind is required of an organisation whose kind is in the kind's applies_to; a requires_groups kind (党小组会)
  only of an organisation with at least one 党小组 (not dissolved) directly under it — once per organisation and
  period, whichever of its groups meets (a meeting recorded on the 党小组 itself counts for its parent).
- Periods follow the kind's rhythm in China time: months, quarters (Jan–Mar, ...) or the calendar year.
- A period is required when the organisation exists at its end: created before the end and not dissolved by then.
- A HELD meeting counts for the period its starts_at falls in: **on time** when it was recorded (created_at) by the
  period's end, **late** when recorded after the period ended. A period with no held meeting is **missing** once it
  has ended; before that it is **open** (not yet counted as required).
- Completion rate = (on time + late / 2) / required, where required = on time + late + missing.
- In the month-by-month grid a period is shown in its last month (a quarter in Mar/Jun/Sep/Dec, a year in Dec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ARRAY, DateTime, Integer, case, func, literal, literal_column, select
from sqlalchemy.orm import Session

from bot.core.clock import TZ, aware
from bot.core.organisations import Organisation
from handlers.orglife import compliance_tally
from handlers.orglife.compliance_rows import (  # Cell and STATUSES re-exported: compliance.Cell as before
    LATE,
    MISSING,
    ON_TIME,
    OPEN,
    STATUSES,  # noqa: F401
    Cell,  # noqa: F401
    Row,
    RowSet,
)
from handlers.orglife.compliance_tally import Rhythm
from handlers.orglife.config import PERIODS, MeetingKind, OrgLifeConfig
from handlers.orglife.models import HELD, Meeting

NONE = "none"
LABELS = {ON_TIME: "按时", LATE: "补录", MISSING: "未开展", OPEN: "进行中", NONE: "不要求"}
GROUP_KIND = "党小组"


def month_start(year: int, month: int) -> datetime:
    """The first instant of a China month (month 13 = next year's January)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=TZ)


@dataclass(frozen=True)
class Period:
    """One period of a rhythm inside a year: months first..last (1-based), its key and label."""

    year: int
    first: int
    last: int
    start: datetime = field(init=False, compare=False, repr=False)
    end: datetime = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", month_start(self.year, self.first))
        object.__setattr__(self, "end", month_start(self.year, self.last + 1))

    @property
    def last_index(self) -> int:
        """The period's last month as a month number (year * 12 + month - 1), as held_counts reports them."""
        return self.year * 12 + self.last - 1

    @property
    def key(self) -> str:
        span = self.last - self.first + 1
        if span == 12:
            return f"{self.year}"
        if span == 3:
            return f"{self.year}-Q{(self.first - 1) // 3 + 1}"
        return f"{self.year}-{self.first:02d}"

    @property
    def label(self) -> str:
        span = self.last - self.first + 1
        if span == 12:
            return f"{self.year}年"
        if span == 3:
            return f"{self.year}年第{(self.first - 1) // 3 + 1}季度"
        return f"{self.year}年{self.first}月"


def periods(kind: MeetingKind, year: int) -> list[Period]:
    """The kind's periods in `year`."""
    step = PERIODS[kind.period]
    return [Period(year, m, m + step - 1) for m in range(1, 13, step)]


def period_at(kind: MeetingKind, when: datetime) -> Period:
    """The kind's period containing `when`."""
    local = aware(when).astimezone(TZ)
    return next(p for p in periods(kind, local.year) if p.first <= local.month <= p.last)


@dataclass
class OrgInfo:
    """What compliance needs of an organisation (no personal data)."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    district: str | None
    group_id: int | None  # guidance group
    created_at: datetime | None
    dissolved_at: datetime | None
    has_groups: bool = False

    def exists_at(self, when: datetime) -> bool:
        if self.created_at is not None and aware(self.created_at) >= when:
            return False
        return self.dissolved_at is None or aware(self.dissolved_at) > when


@dataclass
class Grid:
    """A year's compliance in a scope: per organisation statuses, and rows by organisation, guidance group, 片区
    (RowSets: each Row made when read) and the total."""

    year: int
    statuses: dict[tuple[int, str], list[tuple[Period, str]]]  # (org id, kind key) → each period's status (read only)
    orgs: RowSet  # org id → Row
    groups: RowSet  # guidance group name ("" for none) → Row
    districts: RowSet  # 片区 ("" for none) → Row
    total: Row
    info: dict[int, OrgInfo]


def load_orgs(db: Session, root: Organisation | None = None) -> dict[int, OrgInfo]:
    """Every organisation in scope (dissolved ones too), with whether it has 党小组 under it."""
    o = Organisation
    query = select(
        o.id, o.code, o.name, o.kind, o.parent_id, o.path, o.district, o.guidance_group_id, o.created_at, o.dissolved_at
    )
    if root is not None:
        query = query.where(o.path.startswith(root.path))
    info = {r[0]: OrgInfo(*r) for r in db.connection().execute(query).all()}
    for org in info.values():
        if org.kind == GROUP_KIND and org.dissolved_at is None and org.parent_id in info:
            info[org.parent_id].has_groups = True
    return info


def held_masks(
    db: Session, cfg: OrgLifeConfig, year: int, root: Organisation | None = None
) -> dict[tuple[int, str], tuple[int, int]]:
    """Held meetings of `year`, aggregated in SQL to one row per organisation and kind: (org id, kind) → (held, early)
    month masks; bit m - 1 of held is set when a meeting started in China month m, of early when one of them was
    recorded by the end of the kind's period containing m (so a period is on time when any of its months is early)."""
    bounds = [month_start(year, m).astimezone(UTC) for m in range(1, 14)]  # SQLite compares UTC wall times
    sqlite = db.get_bind().dialect.name == "sqlite"
    starts: Any = Meeting.starts_at
    step = case({k.key: PERIODS[k.period] for k in cfg.kinds}, value=Meeting.kind, else_=1)
    if sqlite:  # one strftime() per row; a unary + keeps SQLite off the starts_at index (onto the covering one, 0019)
        starts = literal_column("+meetings.starts_at", DateTime)
        month: Any = func.cast(func.strftime("%m", Meeting.starts_at, "+8 hours"), Integer)
    else:  # the China month as a bucket between the months' first instants: 3x faster than timezone() + extract
        edges = literal(bounds, ARRAY(DateTime(timezone=True)))
        month = func.width_bucket(Meeting.starts_at, edges)  # 1..12 within the year
    last = ((month - 1) // step + 1) * step  # the last month of the kind's period containing the meeting
    if sqlite:  # recorded before that month's end: a text comparison with the end's UTC text (no second strftime)
        recorded = Meeting.created_at < case({m: bounds[m] for m in range(1, 13)}, value=last)
    else:
        recorded = func.width_bucket(Meeting.created_at, edges) <= last  # 0 before the year, 13 after it
    bit = literal(1).op("<<")(month - 1)
    early = case((recorded, bit), else_=0)
    if sqlite:  # a sum of distinct powers of two is their bitwise OR
        held_of, early_of = func.sum(bit.distinct()), func.sum(early.distinct())
    else:
        held_of, early_of = func.bit_or(bit), func.bit_or(early)
    query = (
        select(Meeting.organisation_id, Meeting.kind, held_of, early_of)
        .where(Meeting.status == HELD, starts >= bounds[0], starts < bounds[12])
        .group_by(Meeting.organisation_id, Meeting.kind)
    )
    if root is not None:
        query = query.join(Organisation, Organisation.id == Meeting.organisation_id).where(
            Organisation.path.startswith(root.path)
        )
    rows = db.connection().execute(query).all()  # one fetchall
    return {(org, kind): (int(held), int(early)) for org, kind, held, early in rows}


def rhythm_of(kind: MeetingKind, year: int, now: datetime) -> Rhythm:
    """The kind's periods of `year` that have begun by `now`, with their months' bit masks."""
    found = [p for p in periods(kind, year) if p.start <= now]
    masks = [((1 << p.last) - 1) ^ ((1 << (p.first - 1)) - 1) for p in found]
    return Rhythm(kind.key, found, masks, [p.last for p in found])


def mask_arrays(
    info: dict[int, OrgInfo], cfg: OrgLifeConfig, found: dict[tuple[int, str], tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Held and early masks as organisations × kinds arrays (info's order, cfg's kinds); a 党小组's own meetings count
    for its organisation."""
    at = {org_id: i for i, org_id in enumerate(info)}
    column = {kind.key: k for k, kind in enumerate(cfg.kinds)}
    rows, cols, held, early = [], [], [], []
    for (met_id, key), (h, e) in found.items():
        org = info.get(met_id)
        owner = org.parent_id if org is not None and org.kind == GROUP_KIND and org.parent_id is not None else met_id
        if owner in at and key in column:
            rows.append(at[owner])
            cols.append(column[key])
            held.append(h)
            early.append(e)
    shape = (len(info), len(cfg.kinds))
    out = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    index = (np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp))
    np.bitwise_or.at(out[0], index, np.array(held, dtype=np.int64))  # several 党小组 may meet in one month
    np.bitwise_or.at(out[1], index, np.array(early, dtype=np.int64))
    return out


def evaluate(
    db: Session,
    cfg: OrgLifeConfig,
    year: int,
    now: datetime,
    root: Organisation | None = None,
    group_names: Any = None,
    detail: bool = True,
) -> Grid:
    """The year's grid for the organisations in scope (`group_names`: guidance group id → name); with `detail`,
    each organisation's status per kind and period too (the reminders need them, the page does not)."""
    info = load_orgs(db, root)
    orgs, names = list(info.values()), group_names or {}
    held, early = mask_arrays(info, cfg, held_masks(db, cfg, year, root))
    kinds = np.array([o.kind for o in orgs], dtype=object)
    grouped = np.array([o.has_groups for o in orgs], dtype=bool)
    required_of = np.zeros((len(orgs), len(cfg.kinds)), dtype=bool)
    for k, kind in enumerate(cfg.kinds):
        required_of[:, k] = np.isin(kinds, list(kind.applies_to)) & (grouped | (not kind.requires_groups))
    rhythms = [rhythm_of(kind, year, now) for kind in cfg.kinds]
    found = compliance_tally.tally(orgs, required_of, held, early, rhythms, now)
    ids = list(info)
    by_org, by_group, by_district, total = compliance_tally.parts(
        found,
        ids,
        [o.code for o in orgs],
        [o.name for o in orgs],
        [names.get(o.group_id, "") if o.group_id else "" for o in orgs],
        [o.district or "" for o in orgs],
        [kind.key for kind in cfg.kinds],
    )
    statuses = compliance_tally.statuses(ids, rhythms, found) if detail else {}
    return Grid(year, statuses, by_org, by_group, by_district, total.row(0), info)


def guidance_group_names(db: Session) -> dict[int, str]:
    from bot.core.organisations import GuidanceGroup

    return {gid: name for gid, name in db.execute(select(GuidanceGroup.id, GuidanceGroup.name))}


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"
