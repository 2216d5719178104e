"""三会一课 compliance: on time, late, missing and open per kind and rhythm (China time), the 党小组 rule, dissolved and
new organisations, completion rates and the sums by guidance group and 片区."""

from __future__ import annotations

from datetime import UTC

import pytest

from bot.core.organisations import GuidanceGroup, Organisation
from handlers.orglife.compliance import LATE, MISSING, ON_TIME, OPEN, Cell
from handlers.orglife.models import CANCELLED, PLANNED
from tests.handlers.orglife.comp_helpers import cn, grid, meeting, old_tree, statuses

NOW = cn(2026, 12, 1, 8)  # November has ended, December is open


@pytest.fixture
def tree(services):
    with services.sessions() as db:
        return old_tree(db)


def test_a_monthly_kind_on_time_late_missing_and_open(services, tree):
    with services.sessions() as db:
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 1, 10))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 2, 10), recorded=cn(2026, 3, 2))  # recorded afterwards
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 3, 10), status=PLANNED)  # never held
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 4, 10), status=CANCELLED)
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 5, 31, 23, 30))  # 31 May in China, still May
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 7, 1, 0, 30))  # 30 June in UTC, July in China
    found = statuses(grid(services, 2026, NOW), tree["a2"], "zhiwei_hui")
    assert found["2026-01"] == ON_TIME and found["2026-02"] == LATE
    assert found["2026-03"] == found["2026-04"] == MISSING
    assert found["2026-05"] == ON_TIME and found["2026-06"] == MISSING and found["2026-07"] == ON_TIME
    assert found["2026-12"] == OPEN and len(found) == 12


def test_quarterly_and_yearly_kinds(services, tree):
    with services.sessions() as db:
        meeting(db, tree["a2"], "dangyuan_dahui", cn(2026, 2, 1))
        meeting(db, tree["a2"], "dangyuan_dahui", cn(2026, 6, 30, 15), recorded=cn(2026, 7, 1, 9))
        meeting(db, tree["a2"], "zuzhi_shenghuohui", cn(2025, 12, 20), recorded=cn(2026, 1, 5))
    this_year = grid(services, 2026, NOW)
    assert statuses(this_year, tree["a2"], "dangyuan_dahui") == {
        "2026-Q1": ON_TIME,
        "2026-Q2": LATE,
        "2026-Q3": MISSING,
        "2026-Q4": OPEN,
    }
    assert statuses(this_year, tree["a2"], "zuzhi_shenghuohui") == {"2026": OPEN}
    last_year = grid(services, 2025, NOW)
    assert statuses(last_year, tree["a2"], "zuzhi_shenghuohui") == {"2025": LATE}
    assert statuses(last_year, tree["a2"], "minzhu_pingyi") == {"2025": MISSING}
    row = this_year.orgs[tree["a2"]]  # quarters sit in their last month, the year in December
    assert row.kinds["dangyuan_dahui"] == Cell(on_time=1, late=1, missing=1, open=1)
    assert row.months[3].on_time >= 1 and row.months[6].late == 1 and row.months[12].open >= 2


def test_kinds_apply_by_organisation_kind_and_the_group_rule(services, tree):
    with services.sessions() as db:
        meeting(db, tree["g"], "dangxiaozu_hui", cn(2026, 1, 12))  # recorded on the 党小组: counts for its 党支部
    found = grid(services, 2026, NOW)
    assert statuses(found, tree["a1"], "dangxiaozu_hui")["2026-01"] == ON_TIME  # a1 has a 党小组
    assert statuses(found, tree["a1"], "dangxiaozu_hui")["2026-02"] == MISSING
    assert (tree["a2"], "dangxiaozu_hui") not in found.statuses  # no 党小组 under a2
    assert not any(org in (tree["root"], tree["d1"], tree["a"], tree["g"]) for org, _ in found.statuses)
    with services.sessions() as db:
        db.get(Organisation, tree["g"]).dissolved_at = cn(2026, 1, 1).astimezone(UTC)
        db.commit()
    assert (tree["a1"], "dangxiaozu_hui") not in grid(services, 2026, NOW).statuses


def test_dissolved_and_new_organisations(services, tree):
    with services.sessions() as db:
        db.get(Organisation, tree["a2"]).dissolved_at = cn(2026, 6, 15).astimezone(UTC)
        db.get(Organisation, tree["b"]).created_at = cn(2026, 9, 10).astimezone(UTC)
        db.commit()
    found = grid(services, 2026, NOW)
    monthly = statuses(found, tree["a2"], "zhiwei_hui")
    assert sorted(monthly) == [f"2026-{m:02d}" for m in range(1, 6)]  # dissolved in June: not required from June
    assert statuses(found, tree["a2"], "dangyuan_dahui") == {"2026-Q1": MISSING}
    assert sorted(statuses(found, tree["b"], "zhiwei_hui")) == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert statuses(found, tree["b"], "dangyuan_dahui") == {"2026-Q3": MISSING, "2026-Q4": OPEN}
    assert (tree["b"], "zhiwei_hui") not in grid(services, 2025, NOW).statuses


def test_rates_and_sums_by_guidance_group_and_district(services, tree):
    with services.sessions() as db:
        group = GuidanceGroup(name="测试第一指导小组")
        db.add(group)
        db.flush()
        db.get(Organisation, tree["a2"]).guidance_group_id = group.id
        db.commit()
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 1, 10))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2026, 2, 10), recorded=cn(2026, 3, 2))
    found = grid(services, 2026, NOW)
    assert Cell(on_time=1, late=1, missing=2).rate == 0.375  # late counts as half
    assert Cell().rate is None
    a2 = found.orgs[tree["a2"]]
    assert a2.kinds["zhiwei_hui"] == Cell(on_time=1, late=1, missing=9, open=1)
    assert found.groups["测试第一指导小组"].year == a2.year
    district = found.districts["第一片区"]
    a1 = found.orgs[tree["a1"]]
    assert district.year.required == a1.year.required + a2.year.required
    assert found.total.year.required == district.year.required + found.districts["第二片区"].year.required
    assert found.total.months[1].on_time == 1 and found.total.months[2].late == 1
    with services.sessions() as db:
        scoped = grid(services, 2026, NOW, db.get(Organisation, tree["a2"]))
    assert set(scoped.orgs) == {tree["a2"]}
