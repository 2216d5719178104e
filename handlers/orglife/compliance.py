"""三会一课 compliance: for each organisation, meeting kind and period of a year, on time, late, missing or still
open — one grouped SQL count of held meetings, then Python over the periods. Read by the console page, the Excel
export and the reminder job.

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

import operator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Integer, case, func, literal, literal_column, select
from sqlalchemy.orm import Session

from bot.core.clock import TZ, aware
from bot.core.organisations import Organisation
from handlers.orglife.config import PERIODS, MeetingKind, OrgLifeConfig
from handlers.orglife.models import HELD, Meeting

ON_TIME, LATE, MISSING, OPEN, NONE = "on_time", "late", "missing", "open", "none"
STATUSES = (ON_TIME, LATE, MISSING, OPEN)  # the order of Cell's counts
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


@dataclass(slots=True)
class Cell:
    """Counts of periods: on time, late, missing, open."""

    on_time: int = 0
    late: int = 0
    missing: int = 0
    open: int = 0

    @property
    def required(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def rate(self) -> float | None:
        return (self.on_time + self.late / 2) / self.required if self.required else None

    def add(self, status: str) -> None:
        if status == ON_TIME:
            self.on_time += 1
        elif status == MISSING:
            self.missing += 1
        elif status == LATE:
            self.late += 1
        elif status == OPEN:
            self.open += 1

    def merge(self, other: Cell) -> None:
        self.on_time += other.on_time
        self.late += other.late
        self.missing += other.missing
        self.open += other.open


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
class Row:
    """One line of the grid (an organisation, a guidance group, a 片区 or the total): months 1..12 and the year."""

    key: str
    label: str
    months: dict[int, Cell] = field(default_factory=lambda: {m: Cell() for m in range(1, 13)})
    year: Cell = field(default_factory=Cell)
    kinds: dict[str, Cell] = field(default_factory=dict)

    def add(self, kind: str, month: int, status: str) -> None:
        self.months[month].add(status)
        self.year.add(status)
        self.kinds.setdefault(kind, Cell()).add(status)

    def merge(self, other: Row) -> None:
        for m, cell in other.months.items():
            self.months[m].merge(cell)
        self.year.merge(other.year)
        for k, cell in other.kinds.items():
            self.kinds.setdefault(k, Cell()).merge(cell)


@dataclass
class Grid:
    """A year's compliance in a scope: per organisation statuses, and rows by organisation, guidance group, 片区."""

    year: int
    statuses: dict[tuple[int, str], list[tuple[Period, str]]]  # (org id, kind key) → each period's status
    orgs: dict[int, Row]
    groups: dict[str, Row]
    districts: dict[str, Row]
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
    info = {r[0]: OrgInfo(*r) for r in db.connection().execute(query)}
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
    first, after = (month_start(year, m).astimezone(UTC) for m in (1, 13))  # SQLite compares UTC wall times
    starts: Any = Meeting.starts_at
    if db.get_bind().dialect.name == "sqlite":  # one strftime() per column and row; a unary + keeps SQLite off the
        starts = literal_column("+meetings.starts_at", DateTime)  # starts_at index: scanning is 3-5x faster
        month = func.cast(func.strftime("%m", Meeting.starts_at, "+8 hours"), Integer)
        made = func.cast(func.strftime("%Y%m", Meeting.created_at, "+8 hours"), Integer)
    else:
        month = func.cast(func.extract("month", func.timezone("Asia/Shanghai", Meeting.starts_at)), Integer)
        local = func.timezone("Asia/Shanghai", Meeting.created_at)
        made = func.cast(func.extract("year", local), Integer) * 100 + func.cast(func.extract("month", local), Integer)
    step = case({k.key: PERIODS[k.period] for k in cfg.kinds}, value=Meeting.kind, else_=1)
    bit = literal(1).op("<<")(month - 1)
    last = ((month - 1) // step + 1) * step  # the last month of the kind's period containing the meeting
    early = case((made <= last + year * 100, bit), else_=0)  # recorded by the end of that month (YYYYMM numbers)
    # a sum of distinct powers of two is their bitwise OR (several meetings may share a month)
    query = (
        select(Meeting.organisation_id, Meeting.kind, func.sum(bit.distinct()), func.sum(early.distinct()))
        .where(Meeting.status == HELD, starts >= first, starts < after)
        .group_by(Meeting.organisation_id, Meeting.kind)
    )
    if root is not None:
        query = query.join(Organisation, Organisation.id == Meeting.organisation_id).where(
            Organisation.path.startswith(root.path)
        )
    return {(org, kind): (int(held), int(early)) for org, kind, held, early in db.connection().execute(query)}


def required(org: OrgInfo, kind: MeetingKind) -> bool:
    return org.kind in kind.applies_to and (org.has_groups or not kind.requires_groups)


# A kind's periods up to now, each as (Period, its months' bit mask, index of its month-0 slot in the flat counts)
Rhythm = list[tuple[Period, int, int]]
Outcome = tuple[list[int], list[int], list[tuple[Period, str]]]  # flat count indices, tally, statuses


def outcome(rhythm: Rhythm, held: int, early: int, now: datetime) -> Outcome:
    """The statuses of every period of `rhythm` given held/early masks (see held_masks)."""
    indices, tally, found = [], [0, 0, 0, 0], []
    for period, mask, at in rhythm:
        if early & mask:
            slot = 0  # on time
        elif held & mask:
            slot = 1  # late
        else:
            slot = 2 if now >= period.end else 3  # missing, open
        indices.append(at + slot)
        tally[slot] += 1
        found.append((period, STATUSES[slot]))
    return indices, tally, found


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
    masks: dict[tuple[int, str], tuple[int, int]] = {}  # (org id, kind) → held and early month masks
    for (met_id, key), (held, early) in held_masks(db, cfg, year, root).items():
        org = info.get(met_id)
        owner = org.parent_id if org is not None and org.kind == GROUP_KIND and org.parent_id is not None else met_id
        was = masks.get((owner, key), (0, 0))  # a 党小组's own meeting counts for its organisation
        masks[(owner, key)] = (was[0] | held, was[1] | early)
    rhythm: dict[str, Rhythm] = {
        kind.key: [
            (p, ((1 << p.last) - 1) ^ ((1 << (p.first - 1)) - 1), 4 * p.last)
            for p in periods(kind, year)
            if p.start <= now
        ]
        for kind in cfg.kinds
    }
    year_start, year_end = month_start(year, 1), month_start(year, 13)
    statuses: dict[tuple[int, str], list[tuple[Period, str]]] = {}
    tallies: dict[int, Tally] = {}
    memo: dict[tuple[str, int, int], Outcome] = {}  # organisations existing all year share outcomes by masks
    for org in info.values():
        kinds = [kind for kind in cfg.kinds if required(org, kind)]
        if not kinds:
            continue
        always = org.exists_at(year_start) and org.exists_at(year_end)  # no creation or dissolution this year
        counts = [0] * 52  # month m's on time, late, missing, open at 4 * m + 0..3 (month 0 unused)
        per_kind: dict[str, list[int]] = {}
        for kind in kinds:
            held, early = masks.get((org.id, kind.key), (0, 0))
            if always:
                key = (kind.key, held, early)
                result = memo.get(key) or memo.setdefault(key, outcome(rhythm[kind.key], held, early, now))
            else:
                kept = [r for r in rhythm[kind.key] if org.exists_at(r[0].end if r[0].end < now else now)]
                result = outcome(kept, held, early, now)
            indices, tally, found = result
            for i in indices:
                counts[i] += 1
            if detail and found:
                statuses[(org.id, kind.key)] = list(found)
            if indices:
                per_kind[kind.key] = list(tally)
        if per_kind:
            tallies[org.id] = (counts, per_kind)
    return assemble(year, statuses, tallies, info, group_names or {})


Tally = tuple[list[int], dict[str, list[int]]]  # flat month counts (4 per month) and counts per kind


def row_of(key: str, label: str, tally: Tally) -> Row:
    counts, kinds = tally
    months = {m: Cell(*counts[4 * m : 4 * m + 4]) for m in range(1, 13)}
    year = Cell(*(sum(counts[i::4]) for i in range(4)))
    return Row(key, label, months, year, {k: Cell(*v) for k, v in kinds.items()})


def add_into(into: Tally, tally: Tally) -> None:
    into[0][:] = map(operator.add, into[0], tally[0])
    for key, counts in tally[1].items():
        found = into[1].get(key)
        into[1][key] = list(map(operator.add, found, counts)) if found else list(counts)


def assemble(
    year: int,
    statuses: dict[tuple[int, str], list[tuple[Period, str]]],
    tallies: dict[int, Tally],
    info: dict[int, OrgInfo],
    group_names: dict[int, str],
) -> Grid:
    """Organisation rows, and their sums by guidance group, 片区 and the total."""
    groups: dict[str, Tally] = {}
    districts: dict[str, Tally] = {}
    total: Tally = ([0] * 52, {})
    for org_id, tally in tallies.items():
        org = info[org_id]
        group = group_names.get(org.group_id, "") if org.group_id else ""
        add_into(groups.setdefault(group, ([0] * 52, {})), tally)
        add_into(districts.setdefault(org.district or "", ([0] * 52, {})), tally)
        add_into(total, tally)
    return Grid(
        year,
        statuses,
        {i: row_of(info[i].code, info[i].name, t) for i, t in tallies.items()},
        {g: row_of(g, g or "（未划入指导小组）", t) for g, t in groups.items()},
        {d: row_of(d, d or "（未分片区）", t) for d, t in districts.items()},
        row_of("", "合计", total),
        info,
    )


def guidance_group_names(db: Session) -> dict[int, str]:
    from bot.core.organisations import GuidanceGroup

    return {gid: name for gid, name in db.execute(select(GuidanceGroup.id, GuidanceGroup.name))}


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"
