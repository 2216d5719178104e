"""The orgs console with 5,000 organisations and 100,000 roster members: the tree page under 300 ms warm, on SQLite
and PostgreSQL, against baselines measured in the same run.

Run: python bench/org_tree.py [--orgs 5000] [--members 100000] [--requests 15] [--only sqlite|postgresql] [--export]
For each database (a temp SQLite file; PostgreSQL at --pg-url, a bench database created if missing and emptied):
migrate, bulk-insert the tree (党工委 → 10 片区党委 → 150 党委/党总支 → 1,500 党支部 → 党小组, 2% 撤销), the
members (invented: 测试 names, 199 numbers) and their bindings (60% confirmed), ANALYZE, then time through the Flask
test client: the baselines (the console home page; a bare `SELECT count(*) FROM organisations` on the same engine),
the tree page as an admin, an editor (masked) and a 片区 secretary (scoped), opened 6 levels deep (600 rows), a
search, and the roster pages. Each case gets 2 warm-up requests, then --requests timed ones; the cases take turns
request by request. Prints median and p95 per case (target: warm tree pages < 300 ms; the cold ones, their counts
computed afresh, are shown too) and writes bench/out/org_tree.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
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
from sqlalchemy import text  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.console.accounts import create_account  # noqa: E402
from bot.core.members import CONFIRMED, UNCONFIRMED, Membership  # noqa: E402
from bot.core.organisations import CATEGORIES, Organisation, RosterMember  # noqa: E402
from handlers.orgs.tree import bump  # noqa: E402

OUT = ROOT / "bench" / "out" / "org_tree.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_tree"  # the bench database (emptied each run)
TARGET_MS = 300.0  # median and p95 of the tree pages


# ----- seeding ---------------------------------------------------------------------------------------------


def org_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` organisations in tree order with explicit ids and paths."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []

    def add(kind: str, parent: dict[str, Any] | None, district: str | None) -> dict[str, Any]:
        oid = len(rows) + 1
        row = {
            "id": oid,
            "code": f"B{oid:05d}",
            "name": f"测试{kind}{oid}",
            "kind": kind,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{oid}/",
            "district": district,
            "enterprise": f"测试企业{oid}" if kind in ("党委", "党总支", "党支部") else None,
            "secretary": f"测试书记{oid}",
            "phone": f"1990{oid:07d}",
            "guidance_group_id": None,
            "dissolved_at": now if kind == "党小组" and rng.random() < 0.02 else None,
            "created_at": now,
            "updated_at": now,
        }
        rows.append(row)
        return row

    root = add("党工委", None, None)
    branches = []
    for district in DISTRICTS:
        d = add("片区党委", root, district)
        for i in range(15):
            c = add("党委" if i % 3 else "党总支", d, district)
            branches.extend(add("党支部", c, district) for _ in range(10))
    i = 0
    while len(rows) < count:
        add("党小组", branches[i % len(branches)], branches[i % len(branches)]["district"])
        i += 1
    return rows[:count]


def seed(app: Any, orgs: int, members: int) -> float:
    """Bulk-insert the tree, the roster and the bindings; ANALYZE; the seconds it took."""
    s = app.extensions["bot"]
    rng, started, now = random.Random(20261201), time.perf_counter(), datetime.now(UTC)
    tree = org_rows(orgs, rng)
    leaves = [o for o in tree if o["kind"] in ("党支部", "党小组")]
    roster, bindings = [], []
    for i in range(members):
        org = rng.choice(leaves)
        roster.append(
            {
                "id": i + 1,
                "name": f"测试党员{i}",
                "sex": rng.choice(["男", "女"]),
                "phone": f"199{i:08d}",
                "organisation_id": org["id"],
                "category": rng.choices(CATEGORIES, weights=[80, 8, 6, 6])[0],
                "joined_on": date(1980 + i % 45, 7, 1),
                "post": None,
                "left_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        bound = rng.random() < 0.7
        if bound:
            confirmed = rng.random() < 0.85
            bindings.append(
                {
                    "openid": f"oBench{i:022d}",
                    "organisation": org["code"],
                    "district": org["district"],
                    "bound_at": now,
                    "status": CONFIRMED if confirmed else UNCONFIRMED,
                    "member_id": i + 1 if confirmed else None,
                    "method": "auto" if confirmed else None,
                    "confirmed_at": now if confirmed else None,
                    "confirmed_by": "auto" if confirmed else None,
                }
            )
    with s.engine.begin() as conn:
        bulk_insert(conn, ((Organisation, tree), (RosterMember, roster), (Membership, bindings)))
        if s.engine.dialect.name == "postgresql":
            for table in ("organisations", "roster_members"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    analyze(s.engine)
    return time.perf_counter() - started


# ----- app and clients -------------------------------------------------------------------------------------


def signed_in(app: Any, username: str, roles: list[str], organisation_id: int | None = None) -> Any:
    s = app.extensions["bot"]
    with s.sessions() as db:
        create_account(db, username, PASSWORD, roles, organisation_id=organisation_id)  # scoped roles need theirs
        db.commit()
    return logged_in(app, username)


# ----- timing ----------------------------------------------------------------------------------------------

CASES = {  # name → (who, path, query); "cold": the counts cache invalidated before each request (not timed)
    "home page (baseline)": ("admin", "/console/", {}),
    "tree: admin, default, cold": ("admin", "/console/orgs/", {}),
    "tree: 片区 secretary, 6 levels, cold": ("secretary", "/console/orgs/", {"depth": "6"}),
    "tree: admin, default (3 levels)": ("admin", "/console/orgs/", {}),
    "tree: admin, 6 levels (600 rows)": ("admin", "/console/orgs/", {"depth": "6"}),
    "tree: admin, search 党支部1": ("admin", "/console/orgs/", {"q": "党支部1"}),
    "tree: editor (masked), default": ("editor", "/console/orgs/", {}),
    "tree: 片区 secretary, 6 levels": ("secretary", "/console/orgs/", {"depth": "6"}),
    "roster: admin, page 1": ("admin", "/console/orgs/roster", {}),
    "roster: admin, 预备党员 page 5": ("admin", "/console/orgs/roster", {"category": "预备党员", "page": "5"}),
    "roster: 片区 secretary, page 1": ("secretary", "/console/orgs/roster", {}),
    "member page": ("admin", "/console/orgs/roster/4242", {}),
}


def count_query(app: Any) -> float:
    """The bare baseline: SELECT count(*) FROM organisations on the app's engine (ms)."""
    s = app.extensions["bot"]
    started = time.perf_counter()
    with s.sessions() as db:
        db.execute(text("SELECT count(*) FROM organisations")).scalar_one()
    return (time.perf_counter() - started) * 1000


def measure(app: Any, clients: dict[str, Any], requests: int) -> dict[str, dict[str, Any]]:
    runs: dict[str, Callable[[], float]] = {"SELECT count(*) FROM organisations (baseline)": lambda: count_query(app)}
    cache = app.extensions["bot"].redis
    cold: dict[str, Callable[[], float]] = {}
    for name, (who, path, query) in CASES.items():
        if name.endswith("cold"):  # timed in rounds of their own: their invalidation would make the others cold
            cold[name] = lambda c=clients[who], p=path, q=query: (bump(cache), timed(c, p, q))[1]
        else:
            runs[name] = lambda c=clients[who], p=path, q=query: timed(c, p, q)
    samples: dict[str, list[float]] = {name: [] for name in [*runs, *cold]}
    for group in (runs, cold):
        in_turns(group, requests, samples)
    return summary(samples)


def export_once(client: Any) -> dict[str, float]:
    """One masked export of the whole roster as an admin: seconds and megabytes."""
    started = time.perf_counter()
    response = client.get("/console/orgs/roster/export.xlsx")
    assert response.status_code == 200
    return {"seconds": time.perf_counter() - started, "mb": len(response.data) / 1e6}


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = local_app(tmp, 5997, database_url=url)
    s = app.extensions["bot"]
    seed_s = seed(app, args.orgs, args.members)
    clients = {
        "admin": signed_in(app, "root", ["admin"]),
        "editor": signed_in(app, "wang", ["editor"]),
        "secretary": signed_in(app, "pq", ["secretary"], organisation_id=2),  # the first 片区党委
    }
    result = {"database": database, "orgs": args.orgs, "members": args.members, "seed_s": seed_s}
    under_load(result, "pages", lambda: measure(app, clients, args.requests))
    if args.export:
        result["export"] = export_once(clients["admin"])
    s.engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['orgs']:,} organisations, {r['members']:,} members (seeded in {r['seed_s']:.1f} s); "
        + load_average(r)
    )
    home = r["pages"]["home page (baseline)"]["median_ms"]
    for name, v in r["pages"].items():
        target = TARGET_MS if name.startswith("tree") and not name.endswith("cold") else None
        extra = "" if "baseline" in name else f"  (+{v['median_ms'] - home:.1f} over the home page)"
        print(timing_line(name, v, 46, extra, target))
    if "export" in r:
        print(f"  masked Excel export of the whole roster: {r['export']['seconds']:.1f} s, {r['export']['mb']:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per case")
    database_args(parser, PG_URL)
    parser.add_argument("--export", action="store_true", help="also time one masked export of the whole roster")
    args = parser.parse_args()
    results = each_database(args, run, report)
    print(f"\ntarget: median and p95 < {TARGET_MS:.0f} ms for every warm tree page")
    save(OUT, results)


if __name__ == "__main__":
    main()
