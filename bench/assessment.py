"""The yearly assessment with 5,000 organisations: the scorecards computed, and the page warm under 300 ms, on
SQLite and PostgreSQL.

Run: python bench/assessment.py [--orgs 5000] [--members 20000] [--requests 20] [--only sqlite|postgresql]
     [--pg-url URL]
For each database (a temp SQLite file; PostgreSQL at --pg-url, created if missing and emptied): migrate, seed the
park and last year's meetings (as bench/compliance.py), then a roster with confirmed bindings and study days,
three tasks reported by every 党支部 and tickets tied to organisations (the tickets part weighted 10 so that every
part is computed); ANALYZE; then time
- the computation (handlers.orglife.assessment.scorecards for the whole park) against a baseline measured in the same
  run: the 三会一课 grid alone (handlers.orglife.compliance.evaluate), which the scorecards include;
- through the Flask test client: the console home page (baseline), the assessment page cold (its Redis cache
  emptied before each request) and warm, one 片区 warm, one organisation's card warm and a 片区 instructor warm
  (target < 300 ms warm).
Prints median and p95 per case and writes bench/out/assessment.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_db import percentile, pg_database, timed  # noqa: E402
from compliance import seconds, seed  # noqa: E402 (the park and its year of meetings, as that bench seeds them)
from org_figures import signed_in  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.core.clock import TZ  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember, StudyDay  # noqa: E402
from handlers.orglife import assessment, compliance  # noqa: E402
from handlers.orglife.config import OrgLifeConfig  # noqa: E402
from handlers.orglife.task_models import Task, TaskList, TaskReport  # noqa: E402
from handlers.tickets.models import Ticket  # noqa: E402

OUT = ROOT / "bench" / "out" / "assessment.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_assess"
PAGE_MS = 300.0
BATCH = 20_000
WEIGHTS = {"orglife": {"assessment_weights": {"compliance": 40, "tasks": 30, "study": 30, "tickets": 10}}}


def seed_all(app: Any, orgs: int, members: int, year: int) -> dict[str, int]:
    """The park and its meetings (bench/compliance.py), then roster, studies, tasks and tickets of `year`."""
    counts = seed(app, orgs, year)
    s, rng = app.extensions["bot"], random.Random(20261202)
    with s.sessions() as db:
        branches = [
            (i, c)
            for i, c in db.execute(select(Organisation.id, Organisation.code).where(Organisation.kind == "党支部"))
        ]
    roster, bindings, studies, reports, tickets = [], [], [], [], []
    for i in range(1, members + 1):
        org_id, code = rng.choice(branches)
        roster.append(
            {
                "id": i,
                "name": f"测试党员{i}",
                "sex": "男",
                "phone": f"199{i:08d}",
                "organisation_id": org_id,
                "category": "正式党员",
            }
        )
        if rng.random() < 0.8:
            openid = f"oAss{i:024d}"
            bindings.append(
                {"openid": openid, "organisation": code, "status": CONFIRMED, "member_id": i, "method": "auto"}
            )
            for day in {date(year, 1, 1) + timedelta(days=rng.randint(0, 364)) for _ in range(rng.randint(0, 3))}:
                studies.append({"openid": openid, "day": day})
    for task_id in (1, 2, 3):
        for org_id, _ in branches:
            reports.append(
                {"task_id": task_id, "organisation_id": org_id, "status": rng.choice(("accepted", "reported", "todo"))}
            )
    at = datetime(year, 6, 1, tzinfo=UTC)
    for n in range(1, 10_001):
        org_id, _ = rng.choice(branches)
        tickets.append(
            {
                "number": f"B{n:08d}",
                "submission_key": f"bench-{n}",
                "openid": "oBench",
                "category": "bench",
                "tier": "normal",
                "description": "测试",
                "place": "测试",
                "organisation_id": org_id,
                "status": rng.choice(("resolved", "accepted", "rejected")),
                "month": f"{year}-{rng.randint(1, 12):02d}",
                "responded_on_time": rng.random() < 0.9,
                "solved": rng.random() < 0.7,
                "rating": rng.choice((None, "satisfied", "fair", "unsatisfied")),
                "created_at": at,
                "accept_due_at": at,
                "due_at": at,
                "updated_at": at,
            }
        )
    pg = s.engine.dialect.name == "postgresql"
    with s.engine.begin() as conn:
        if pg:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(
            insert(TaskList),
            [{"id": 1, "title": "测试清单", "period": f"{year}年", "target": "全部", "issued_by": "bench"}],
        )
        conn.execute(
            insert(Task),
            [
                {"id": t, "list_id": 1, "position": t, "title": f"测试任务{t}", "due_on": date(year, 3 * t, 20)}
                for t in (1, 2, 3)
            ],
        )
        for table, rows in (
            (RosterMember, roster),
            (Membership, bindings),
            (StudyDay, studies),
            (TaskReport, reports),
            (Ticket, tickets),
        ):
            for j in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[j : j + BATCH])
    with s.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    return {
        **counts,
        "roster": len(roster),
        "study_days": len(studies),
        "task_reports": len(reports),
        "tickets": len(tickets),
    }


def compute(app: Any, year: int, repeat: int) -> dict[str, dict[str, float]]:
    s = app.extensions["bot"]
    cfg, now = OrgLifeConfig.of(s.settings), datetime.now(UTC)

    def grid() -> None:
        with s.sessions() as db:
            compliance.evaluate(db, cfg, year, now, None, detail=False)

    def cards() -> None:
        with s.sessions() as db:
            assessment.scorecards(db, s.settings, year, now)

    return {"三会一课 grid (baseline)": seconds(grid, repeat), "scorecards, whole park": seconds(cards, repeat)}


def pages(app: Any, year: int, requests: int) -> dict[str, dict[str, float]]:
    s = app.extensions["bot"]
    with s.sessions() as db:
        district_id, district = db.execute(
            select(Organisation.id, Organisation.district)
            .where(Organisation.kind == "片区党委")
            .order_by(Organisation.id)
        ).all()[1]
        branch = db.scalars(select(Organisation.id).where(Organisation.kind == "党支部").limit(1)).one()
    admin, instructor = signed_in(app, "root", ["admin"]), signed_in(app, "zhidao", ["instructor"], district_id)
    page, y = "/console/assessment/", {"year": str(year)}

    def cold() -> float:
        s.redis.delete(f"orglife:assessment:{year}:all:ready")
        return timed(admin, page, y)

    runs = {
        "home (baseline)": lambda: timed(admin, "/console/", {}),
        "assessment: park, cold": cold,
        "assessment: park, warm": lambda: timed(admin, page, y),
        "assessment: one 片区, warm": lambda: timed(admin, page, {**y, "district": district or ""}),
        "assessment: one card, warm": lambda: timed(admin, f"{page}org/{branch}", y),
        "assessment: 片区 instructor, warm": lambda: timed(instructor, page, y),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(requests + 2):
        for name, run_ in runs.items():
            ms = run_()
            if round_ >= 2:
                samples[name].append(ms)
    return {n: {"median_ms": statistics.median(v), "p95_ms": percentile(v, 95)} for n, v in samples.items()}


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = local_app(tmp, 5993, database_url=url, **WEIGHTS)
    year = datetime.now(TZ).year - 1
    started = time.perf_counter()
    counts = seed_all(app, args.orgs, args.members, year)
    result = {"database": database, **counts, "seed_s": time.perf_counter() - started, "year": year}
    result["compute"] = compute(app, year, args.repeat)
    result["pages"] = pages(app, year, args.requests)
    app.extensions["bot"].engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['organisations']:,} organisations, {r['meetings']:,} meetings, {r['roster']:,} "
        f"members, {r['task_reports']:,} task reports, {r['tickets']:,} tickets in {r['year']}"
    )
    base = r["compute"]["三会一课 grid (baseline)"]["median_s"]
    for name, v in r["compute"].items():
        ratio = "" if "baseline" in name else f"  ({v['median_s'] / base:.1f}x baseline)"
        print(f"  {name:<36} median {1000 * v['median_s']:7.1f} ms  max {1000 * v['max_s']:7.1f} ms{ratio}")
    home = r["pages"]["home (baseline)"]["median_ms"]
    for name, v in r["pages"].items():
        ok = max(v["median_ms"], v["p95_ms"]) < PAGE_MS
        verdict = ("  ok" if ok else "  MISSED") if name.endswith("warm") else ""
        extra = "" if "baseline" in name else f"  (+{v['median_ms'] - home:.1f} over baseline)"
        print(f"  {name:<36} median {v['median_ms']:7.1f} ms  p95 {v['p95_ms']:7.1f} ms{extra}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page case")
    parser.add_argument("--repeat", type=int, default=3, help="timed computations")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            results.append(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args, Path(tmp)))
            report(results[-1])
        if args.only != "sqlite":
            try:
                url = pg_database(args.pg_url)
            except OperationalError as exc:
                print(f"\n== postgresql: skipped, {args.pg_url} did not answer ({exc.__class__.__name__})")
            else:
                results.append(run("postgresql", url, args, Path(tmp)))
                report(results[-1])
    print(f"\ntarget: median and p95 < {PAGE_MS:.0f} ms for every warm page")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
