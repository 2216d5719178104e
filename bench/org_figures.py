"""The 党建数据 page with 5,000 organisations and 100,000 roster members: under 300 ms warm on SQLite and PostgreSQL.

Run: python bench/org_figures.py [--orgs 5000] [--members 100000] [--requests 20] [--only sqlite|postgresql] [--export]
For each database (a temp SQLite file; PostgreSQL at --pg-url, created if missing and emptied): migrate, bulk-insert
a park (1 党工委, 10 片区党委, 党委 and 党总支 under them, 党支部 under those, a few 党小组), the roster spread over
them (5% off the roster), 80% of it confirmed, and for last month and this month's days so far a study day and a
points-ledger row for about a quarter of the confirmed members each day; ANALYZE; then time through the Flask test
client: the console home page (the baseline), the figures page for last month cold (its Redis cache emptied before
each request) and warm, a week warm, every 党支部 sorted by 参学率 warm, and an instructor scoped to one 片区 warm.
Each case gets 2 warm-up requests, then --requests timed ones, the cases taking turns request by request.
Prints median and p95 per case (target: warm ones < 300 ms) and writes bench/out/org_figures.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import (  # noqa: E402
    DISTRICTS,
    PASSWORD,
    analyze,
    bulk_insert,
    database_args,
    each_database,
    in_turns,
    load_average,
    logged_in,
    save,
    summary,
    timed,
    timing_line,
    under_load,
)
from sqlalchemy import insert, select, text  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.console.accounts import create_account  # noqa: E402
from bot.core.clock import day_of  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember, StudyDay  # noqa: E402
from handlers.orgs.figures import Period  # noqa: E402
from handlers.orgs.figures_cache import forget  # noqa: E402
from handlers.quiz.models import PointsEntry  # noqa: E402

OUT = ROOT / "bench" / "out" / "org_figures.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_fig"  # the bench database (emptied each run)
TARGET_MS = 300.0  # median and p95 of every warm case
BATCH = 20_000


# ----- seeding ---------------------------------------------------------------------------------------------
def organisations(total: int) -> list[dict[str, Any]]:
    """A park of about `total` organisations with explicit ids and materialised paths."""
    rows: list[dict[str, Any]] = []

    def add(name: str, kind: str, parent: dict[str, Any] | None, district: str | None) -> dict[str, Any]:
        org_id = len(rows) + 1
        row = {
            "id": org_id,
            "code": f"B{org_id:05d}",
            "name": name,
            "kind": kind,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{org_id}/",
            "district": district,
        }
        rows.append(row)
        return row

    root = add("园区党工委（测试）", "党工委", None, None)
    per_district = (total - 11) // 10
    middles = max(1, per_district // 12)  # 党委 / 党总支 per 片区, each with about 11 党支部 and a 党小组 or two
    for name in DISTRICTS:
        district = add(f"{name}党委（测试）", "片区党委", root, name)
        budget = per_district - middles
        for m in range(middles):
            middle = add(f"{name}测试企业{m + 1}党委", "党委" if m % 3 else "党总支", district, name)
            branches = budget // (middles - m)
            for b in range(branches):
                kind = "党小组" if b == branches - 1 and b > 1 else "党支部"
                parent = rows[-1] if kind == "党小组" else middle
                add(f"{middle['name']}第{b + 1}{kind}", kind, parent, name)
            budget -= branches
    return rows


def seed(app: Any, orgs: int, members: int) -> tuple[float, dict[str, int]]:
    """Bulk-insert the park, roster, bindings, study days and points; ANALYZE; (seconds, row counts)."""
    s = app.extensions["bot"]
    rng, now = random.Random(20261201), datetime.now(UTC)
    started = time.perf_counter()
    tree = organisations(orgs)
    leaves = [o for o in tree if o["kind"] in ("党支部", "党小组")] or tree
    today = day_of(now)
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # last month's first day
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    counts = {"organisations": len(tree), "roster": members, "confirmed": 0, "study_days": 0, "points_rows": 0}
    pg = s.engine.dialect.name == "postgresql"
    with s.engine.begin() as conn:
        if pg:  # the app's statement_timeout is for requests, not for seeding
            conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(insert(Organisation), tree)
        roster, bindings, studies, ledger = [], [], [], []
        for i in range(1, members + 1):
            org = rng.choice(leaves)
            left = now - timedelta(days=40) if rng.random() < 0.05 else None
            roster.append(
                {
                    "id": i,
                    "name": f"测试党员{i}",
                    "sex": "男",
                    "phone": f"199{i:08d}",
                    "organisation_id": org["id"],
                    "category": "正式党员",
                    "left_at": left,
                }
            )
            if rng.random() < 0.8:
                openid = f"oFig{i:024d}"
                bindings.append(
                    {
                        "openid": openid,
                        "organisation": org["code"],
                        "district": org["district"],
                        "status": CONFIRMED,
                        "member_id": i,
                        "method": "auto",
                        "confirmed_at": now,
                        "confirmed_by": "auto",
                    }
                )
                for day in days:
                    if rng.random() < 0.25:
                        studies.append({"openid": openid, "day": day})
                        ledger.append(
                            {
                                "openid": openid,
                                "activity": "daily",
                                "points": rng.choice((5, 10, 15)),
                                "reason": "bench",
                                "award_key": f"b{i}:{day}",
                                "day": day,
                                "created_at": now,
                            }
                        )
        studies.sort(key=lambda r: r["day"])  # written day by day, as members study
        ledger.sort(key=lambda r: r["day"])
        tables = ((RosterMember, roster), (Membership, bindings), (StudyDay, studies), (PointsEntry, ledger))
        bulk_insert(conn, tables, BATCH)
        counts.update(confirmed=len(bindings), study_days=len(studies), points_rows=len(ledger))
    analyze(s.engine)
    return time.perf_counter() - started, counts


# ----- timing ----------------------------------------------------------------------------------------------
def signed_in(app: Any, username: str, roles: list[str], scope: int | None = None) -> Any:
    """A test client signed in as a new account (scoped to the organisation `scope`)."""
    with app.extensions["bot"].sessions() as db:
        create_account(db, username, PASSWORD, roles, organisation_id=scope)
        db.commit()
    return logged_in(app, username)


def cases(last_month: str, week: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """name → (client, path, query); "home" is the baseline; "cold" empties the figures' cache before each request."""
    page = "/console/orgs/figures/"
    return {
        "home (baseline)": ("admin", "/console/", {}),
        "figures: last month, cold": ("admin", page, {"period": last_month}),
        "figures: last month, warm": ("admin", page, {"period": last_month}),
        "figures: this month (default), warm": ("admin", page, {}),
        "figures: a week, warm": ("admin", page, {"period": week}),
        "figures: every 党支部 by 参学率, warm": ("admin", page, {"period": last_month, "kind": "党支部"}),
        "figures: one 片区's instructor, warm": ("instructor", page, {"period": last_month}),
    }


def measure(app: Any, clients: dict[str, Any], requests: int) -> dict[str, dict[str, Any]]:
    cache = app.extensions["bot"].redis
    today = day_of(datetime.now(UTC))
    last_month = Period.month_of(today.replace(day=1) - timedelta(days=1))
    week = Period.week_of(today - timedelta(days=7))
    runs: dict[str, Callable[[], float]] = {}
    for name, (who, path, query) in cases(last_month.key, week.key).items():
        client = clients[who]
        if name.endswith("cold"):  # this period's figures only: the other cases stay warm
            runs[name] = lambda c=client, p=path, q=query: (forget(cache, last_month), timed(c, p, q))[1]
        else:
            runs[name] = lambda c=client, p=path, q=query: timed(c, p, q)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    in_turns(runs, requests, samples)
    return summary(samples)


def export_once(client: Any) -> dict[str, float]:
    started = time.perf_counter()
    response = client.get("/console/orgs/figures/export.xlsx")
    assert response.status_code == 200
    return {"seconds": time.perf_counter() - started, "kb": len(response.data) / 1e3}


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = local_app(tmp, 5998, database_url=url)
    s = app.extensions["bot"]
    seed_s, counts = seed(app, args.orgs, args.members)
    with s.sessions() as db:  # the instructor guides the second 片区
        second = db.scalars(select(Organisation.id).where(Organisation.kind == "片区党委").order_by(Organisation.id))
        district = list(second)[1]
    clients = {
        "admin": signed_in(app, "root", ["admin"]),
        "instructor": signed_in(app, "zhidao", ["instructor"], district),
    }
    result = {"database": database, **counts, "seed_s": seed_s}
    under_load(result, "pages", lambda: measure(app, clients, args.requests))
    if args.export:
        result["export"] = export_once(clients["admin"])
    s.engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['organisations']:,} organisations, {r['roster']:,} roster members "
        f"({r['confirmed']:,} confirmed), {r['study_days']:,} study days, {r['points_rows']:,} points rows "
        f"(seeded in {r['seed_s']:.1f} s); {load_average(r)}"
    )
    base = r["pages"]["home (baseline)"]["median_ms"]
    for name, v in r["pages"].items():
        extra = "" if "baseline" in name else f"  (+{v['median_ms'] - base:.1f} over baseline)"
        print(timing_line(name, v, 40, extra, TARGET_MS if name.endswith("warm") else None))
    if "export" in r:
        print(f"  Excel export, whole park, this month: {r['export']['seconds']:.2f} s, {r['export']['kb']:.0f} kB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per case")
    database_args(parser, PG_URL)
    parser.add_argument("--export", action="store_true", help="also time one Excel export")
    args = parser.parse_args()
    results = each_database(args, run, report)
    print(f"\ntarget: median and p95 < {TARGET_MS:.0f} ms for every warm case")
    save(OUT, results, default=str)


if __name__ == "__main__":
    main()
