"""三会一课 compliance: the SQL-aggregated fast path (month masks) equals a plain per-meeting reference computation on
random meetings, their 党小组's meetings included."""

from __future__ import annotations

import random
from datetime import timedelta

from bot.core.organisations import Organisation
from handlers.orglife import compliance
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.models import CANCELLED, HELD
from tests.handlers.orglife.comp_helpers import cn, grid, meeting, old_tree, statuses


def reference(held: list[tuple], kind: compliance.MeetingKind, year: int, now) -> dict[str, str]:  # type: ignore[type-arg]
    found = {}
    for period in compliance.periods(kind, year):
        if period.start > now:
            continue
        made = [m for s, m in held if period.start <= s < period.end]
        if not made:
            found[period.key] = compliance.MISSING if now >= period.end else compliance.OPEN
        else:
            found[period.key] = compliance.ON_TIME if min(made) < period.end else compliance.LATE
    return found


def test_fast_path_equals_reference(services):
    rng, now = random.Random(13), cn(2026, 8, 15)
    with services.sessions() as db:
        tree = old_tree(db)
        cfg = OrgLifeConfig.of(services.settings)
        orgs = {o.id: o for o in db.query(Organisation)}
        branches = [i for i, o in orgs.items() if o.kind == "党支部"]
        groups = {i: o.parent_id for i, o in orgs.items() if o.kind == compliance.GROUP_KIND}
        held: dict[tuple[int, str], list] = {}
        for _ in range(150):
            org_id = rng.choice(branches + list(groups))
            kind = rng.choice(cfg.kinds)
            starts = cn(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23))
            recorded = starts + timedelta(days=rng.choice([0, 0, 0, 20, 40, 100]), hours=rng.randint(0, 23))
            status = HELD if rng.random() < 0.9 else CANCELLED
            meeting(db, org_id, kind.key, starts, recorded, status)
            if status == HELD:
                owner = groups.get(org_id, org_id)
                held.setdefault((owner, kind.key), []).append((starts, recorded))
    found = grid(services, 2026, now)
    assert tree and found.statuses
    for (org_id, key), periods in found.statuses.items():
        kind = next(k for k in cfg.kinds if k.key == key)
        assert statuses(found, org_id, key) == reference(held.get((org_id, key), []), kind, 2026, now), (org_id, key)
        assert len(periods) > 0
