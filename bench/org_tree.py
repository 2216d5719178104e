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
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, inspect, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.console.accounts import create_account  # noqa: E402
from bot.core.members import CONFIRMED, UNCONFIRMED, Membership  # noqa: E402
from bot.core.organisations import CATEGORIES, Organisation, RosterMember  # noqa: E402
from handlers.orgs.tree import bump  # noqa: E402

OUT = ROOT / "bench" / "out" / "org_tree.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_tree"  # the bench database (emptied each run)
TARGET_MS = 300.0  # median and p95 of the tree pages
PASSWORD = "bench password 42"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DISTRICTS = [f"第{n}片区" for n in "一二三四五六七八九十"]


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
        for table, rows in ((Organisation, tree), (RosterMember, roster), (Membership, bindings)):
            for i in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[i : i + 10_000])
        if s.engine.dialect.name == "postgresql":
            for table in ("organisations", "roster_members"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    with s.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if s.engine.dialect.name == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


# ----- app and clients -------------------------------------------------------------------------------------


def pg_database(url: str) -> str:
    """The bench database at `url`, created if missing and emptied."""
    name = url.rsplit("/", 1)[1]
    with create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT").connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in inspect(conn).get_table_names():
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()
    return url


def signed_in(app: Any, username: str, roles: list[str], organisation_id: int | None = None) -> Any:
    s = app.extensions["bot"]
    with s.sessions() as db:
        account = create_account(db, username, PASSWORD, roles)
        account.organisation_id = organisation_id
        db.commit()
    client = app.test_client()
    token = TOKEN.search(client.get("/console/login").get_data(as_text=True)).group(1)
    response = client.post("/console/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
    return client


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


def timed(client: Any, path: str, query: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, query_string=query)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, f"{path} {query}: {response.status_code}"
    return elapsed * 1000


def count_query(app: Any) -> float:
    """The bare baseline: SELECT count(*) FROM organisations on the app's engine (ms)."""
    s = app.extensions["bot"]
    started = time.perf_counter()
    with s.sessions() as db:
        db.execute(text("SELECT count(*) FROM organisations")).scalar_one()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


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
        for round_ in range(requests + 2):
            for name, run in group.items():
                ms = run()
                if round_ >= 2:
                    samples[name].append(ms)
    return {
        name: {"median_ms": statistics.median(v), "p95_ms": percentile(v, 95), "requests": len(v)}
        for name, v in samples.items()
    }


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
    result = {
        "database": database,
        "orgs": args.orgs,
        "members": args.members,
        "seed_s": seed_s,
        "load_before": os.getloadavg(),
        "pages": measure(app, clients, args.requests),
        "load_after": os.getloadavg(),
    }
    if args.export:
        result["export"] = export_once(clients["admin"])
    s.engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    load = " → ".join(f"{x[0]:.1f}" for x in (r["load_before"], r["load_after"]))
    print(
        f"\n== {r['database']}: {r['orgs']:,} organisations, {r['members']:,} members (seeded in {r['seed_s']:.1f} s); "
        f"load average {load} on {os.cpu_count()} CPUs"
    )
    home = r["pages"]["home page (baseline)"]["median_ms"]
    for name, v in r["pages"].items():
        target = name.startswith("tree") and not name.endswith("cold")
        verdict = ("  ok" if max(v["median_ms"], v["p95_ms"]) < TARGET_MS else "  MISSED") if target else ""
        extra = "" if "baseline" in name else f"  (+{v['median_ms'] - home:.1f} over the home page)"
        print(f"  {name:<46} median {v['median_ms']:7.1f} ms  p95 {v['p95_ms']:7.1f} ms{extra}{verdict}")
    if "export" in r:
        print(f"  masked Excel export of the whole roster: {r['export']['seconds']:.1f} s, {r['export']['mb']:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per case")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL bench database (emptied)")
    parser.add_argument("--export", action="store_true", help="also time one masked export of the whole roster")
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
    print(f"\ntarget: median and p95 < {TARGET_MS:.0f} ms for every warm tree page")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
