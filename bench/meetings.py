"""Organisation life's meeting page and planning for a large 党支部 (default 500 members, all bound in WeChat).

Run: python bench/meetings.py [--members 500] [--requests 20]
A temp SQLite database and the app (embedded Redis unless REDIS_URL): one 党支部 with a 党小组 and --members roster
members, each confirmed in WeChat; a secretary scoped to it. Times through the Flask test client: the console home
page (the baseline, same run), the 组织生活 list, and one meeting's page (every member an attendee, names and
counts); then planning a meeting of every member (meetings.create) and sending its notices (nobody in the 48 h
window: every notice waits in Redis). Prints median and p95 per page case (target: < 300 ms) and the planning times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tickets_pages import make_app, percentile, signed_in, timed  # noqa: E402

from bot.core.clock import utcnow  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember, path_of  # noqa: E402
from handlers.orglife import meetings, notices  # noqa: E402
from handlers.orglife.config import OrgLifeConfig  # noqa: E402


def seed(app, members: int) -> tuple[int, int]:
    """The branch, its members bound; (organisation id, one meeting id)."""
    s = app.extensions["bot"]
    with s.sessions() as db:
        org = Organisation(code="B1", name="基准测试党支部", kind="党支部", path="/")
        db.add(org)
        db.flush()
        org.path = path_of(None, org.id)
        group = Organisation(code="B11", name="基准测试党小组", kind="党小组", parent_id=org.id, path="/")
        db.add(group)
        db.flush()
        group.path = path_of(org, group.id)
        for i in range(members):
            member = RosterMember(
                name=f"测试党员{i:04d}",
                sex="男",
                phone=f"199{i:08d}",
                organisation_id=group.id if i % 5 == 0 else org.id,
                category="正式党员",
                post="书记" if i == 0 else None,
            )
            db.add(member)
            db.flush()
            db.add(Membership(openid=f"bench-{i:06d}", organisation="B1", member_id=member.id, status=CONFIRMED))
        db.commit()
        cfg = OrgLifeConfig.of(s.settings)
        kind = cfg.kind("zhuti_dangri")
        assert kind is not None
        plan = meetings.Plan(org, kind, "基准测试主题", utcnow() + timedelta(days=2), "基准测试会议室")
        meeting = meetings.create(db, cfg, plan, "bench")
        return org.id, meeting.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), f"sqlite:///{tmp}/bench.db")
        org_id, meeting_id = seed(app, args.members)
        with app.extensions["bot"].sessions() as db:
            from bot.console.accounts import create_account

            account = create_account(db, "bench-sec", "correct horse 42", ["secretary"], organisation_id=org_id)
            db.commit()
            del account
        client = signed_in(app, "bench-admin", ["admin"])
        cases = {
            "home (baseline)": "/console/",
            "meetings list": "/console/meetings/",
            f"meeting page ({args.members} attendees)": f"/console/meetings/{meeting_id}",
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(2):
            for path in cases.values():
                timed(client, path, {})
        for _ in range(args.requests):
            for name, path in cases.items():
                times[name].append(timed(client, path, {}))
        print(f"{'case':40} {'median ms':>10} {'p95 ms':>8}")
        for name, values in times.items():
            print(f"{name:40} {statistics.median(values):10.1f} {percentile(values, 95):8.1f}")
        s = app.extensions["bot"]
        with s.sessions() as db:
            cfg = OrgLifeConfig.of(s.settings)
            org = db.get(Organisation, org_id)
            kind = cfg.kind("zhuti_dangri")
            assert org is not None and kind is not None
            started = time.perf_counter()
            plan = meetings.Plan(org, kind, "基准测试主题二", utcnow() + timedelta(days=3), "基准测试会议室")
            second = meetings.create(db, cfg, plan, "bench")
            planned = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        tally = notices.send_all(s, second.id, kind.name, meetings.shown(second.starts_at))
        sent = (time.perf_counter() - started) * 1000
        print(f"plan a meeting of {args.members}: {planned:.1f} ms; notices {tally}: {sent:.1f} ms")


if __name__ == "__main__":
    main()
