"""三会一课 grid rows: the month-by-month rows by organisation, guidance group, 片区 and total, and the console's
ordered parts, equal a plain count of each period's status (organisations created and dissolved during the year,
党小组 that meet, several meetings in one month) — the counts are summed as arrays, the rows made only when read."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from bot.core.clock import aware
from bot.core.organisations import GuidanceGroup, Organisation
from handlers.orglife import compliance
from handlers.orglife.compliance_console import encode_row
from handlers.orglife.config import OrgLifeConfig
from tests.handlers.orglife.comp_helpers import LONG_AGO, cn, grid, meeting
from tests.org_helpers import add_org

YEAR = 2026


def park(db, rng: random.Random) -> list[Organisation]:  # type: ignore[no-untyped-def]
    """Two 片区, three guidance groups (one 党支部 in none), 党支部 with and without 党小组; some created or dissolved
    during the year."""
    groups = []
    for name in ("测试第一指导小组", "测试第二指导小组", "测试第三指导小组"):
        groups.append(GuidanceGroup(name=name))
        db.add(groups[-1])
    db.flush()
    root = add_org(db, "T0", "测试园区党工委", "党工委")
    orgs = [root]
    for d in (1, 2):
        district = add_org(db, f"T{d}", f"测试第{d}片区党委", "片区党委", root, f"第{d}片区")
        committee = add_org(db, f"T{d}1", f"测试{d}号公司党委", "党委", district)
        orgs += [district, committee]
        for b in range(1, 7):
            branch = add_org(db, f"T{d}1{b}", f"测试{d}号公司第{b}党支部", "党支部", committee)
            branch.guidance_group_id = groups[(d + b) % 3].id if b != 6 else None
            orgs.append(branch)
            if b <= 2:
                orgs.append(add_org(db, f"T{d}1{b}1", f"测试{d}号公司第{b}党小组", "党小组", branch))
    for org in orgs:
        org.created_at = LONG_AGO
    for org in rng.sample(orgs[3:], 4):
        org.created_at = cn(YEAR, rng.randint(2, 11), rng.randint(1, 28))
    for org in rng.sample(orgs[3:], 4):
        org.dissolved_at = cn(YEAR, rng.randint(2, 11), rng.randint(1, 28))
    db.commit()
    return orgs


def reference(orgs: list[Organisation], cfg: OrgLifeConfig, held: dict, now) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """Per organisation id: a Counter of (month, status) and one of (kind, status), counted period by period."""
    with_groups = {o.parent_id for o in orgs if o.kind == compliance.GROUP_KIND and o.dissolved_at is None}
    by_month: dict[int, Counter] = {}  # type: ignore[type-arg]
    by_kind: dict[int, Counter] = {}  # type: ignore[type-arg]
    for org in orgs:
        for kind in cfg.kinds:
            if org.kind not in kind.applies_to or (kind.requires_groups and org.id not in with_groups):
                continue
            for period in compliance.periods(kind, YEAR):
                at = min(period.end, now)
                gone = org.dissolved_at is not None and aware(org.dissolved_at) <= at
                if period.start > now or aware(org.created_at) >= at or gone:
                    continue
                made = [m for s, m in held.get((org.id, kind.key), []) if period.start <= s < period.end]
                if made:
                    status = compliance.ON_TIME if min(made) < period.end else compliance.LATE
                else:
                    status = compliance.MISSING if now >= period.end else compliance.OPEN
                by_month.setdefault(org.id, Counter())[(period.last, status)] += 1
                by_kind.setdefault(org.id, Counter())[(kind.key, status)] += 1
    return by_month, by_kind


def cells(counts: Counter, keys: list) -> dict:  # type: ignore[type-arg]
    return {
        k: [counts[(k, s)] for s in compliance.STATUSES]
        for k in keys
        if any(counts[(k, s)] for s in compliance.STATUSES)
    }


def test_rows_equal_a_period_by_period_count(services):
    rng, now = random.Random(31), cn(YEAR, 8, 15, 10)
    with services.sessions() as db:
        orgs = park(db, rng)
        cfg = OrgLifeConfig.of(services.settings)
        groups = {g.id: g.name for g in db.query(GuidanceGroup)}
        branches = [o for o in orgs if o.kind in ("党支部", compliance.GROUP_KIND)]
        parent = {o.id: o.parent_id for o in orgs if o.kind == compliance.GROUP_KIND}
        held: dict[tuple[int, str], list] = {}  # type: ignore[type-arg]
        for _ in range(400):
            org, kind = rng.choice(branches), rng.choice(cfg.kinds)
            starts = cn(YEAR, rng.randint(1, 8), rng.randint(1, 28), rng.randint(0, 23))
            recorded = starts + timedelta(days=rng.choice([0, 0, 0, 25, 50, 120]))
            meeting(db, org.id, kind.key, starts, recorded)
            held.setdefault((parent.get(org.id, org.id), kind.key), []).append((starts, recorded))
        orgs = list(db.query(Organisation))
        by_month, by_kind = reference(orgs, cfg, held, now)
        info = {o.id: o for o in orgs}
    found = grid(services, YEAR, now)
    kinds = [k.key for k in cfg.kinds]
    assert set(found.orgs) == set(by_month) and len(found.orgs) > 10
    sums: dict[str, dict[str, Counter]] = {"group": {}, "district": {}, "total": {}}  # type: ignore[type-arg]
    for org_id, row in found.orgs.items():
        org = info[org_id]
        months = [[by_month[org_id][(m, s)] for s in compliance.STATUSES] for m in range(1, 13)]
        assert encode_row(row) == [
            org.code,
            org.name,
            months,
            [sum(c[i] for c in months) for i in range(4)],
            cells(by_kind[org_id], kinds),
        ]
        for part, key in (
            ("group", groups.get(org.guidance_group_id, "")),
            ("district", org.district or ""),
            ("total", ""),
        ):
            sums[part].setdefault(key, Counter()).update(
                by_month[org_id] + Counter({("kind",) + k: n for k, n in by_kind[org_id].items()})
            )
    for part, rows in (("group", found.groups), ("district", found.districts)):
        assert set(rows) == set(sums[part])
        for key, row in rows.items():
            expected = sums[part][key]
            assert [[c.on_time, c.late, c.missing, c.open] for c in row.months.values()] == [
                [expected[(m, s)] for s in compliance.STATUSES] for m in range(1, 13)
            ]
            assert {k: [c.on_time, c.late, c.missing, c.open] for k, c in row.kinds.items()} == cells(
                Counter({k[1:]: n for k, n in expected.items() if k[0] == "kind"}), kinds
            )
    total = sums["total"][""]
    assert found.total.year == compliance.Cell(*[sum(total[(m, s)] for m in range(1, 13)) for s in compliance.STATUSES])


def test_the_console_parts_are_the_rows_lowest_completion_first(services):
    rng = random.Random(7)
    with services.sessions() as db:
        orgs = park(db, rng)
        cfg = OrgLifeConfig.of(services.settings)
        for org in [o for o in orgs if o.kind == "党支部"]:
            for kind in rng.sample(cfg.kinds, 3):
                meeting(db, org.id, kind.key, cn(YEAR, rng.randint(1, 6), 10), cn(YEAR, rng.randint(1, 9), 10))
    found = grid(services, YEAR, cn(YEAR, 7, 1, 10))

    def ordered(rows: list[compliance.Row]) -> list[list[object]]:
        rows = sorted(rows, key=lambda r: (r.year.rate is None, r.year.rate or 0, r.key))
        return [encode_row(r) for r in rows]

    for part in (found.orgs, found.groups, found.districts):
        assert len(part) > 1 and part.encoded() == ordered(list(part.values()))
