"""Push audience bench: resolve tree audiences of 100,000 confirmed members as the fan-out reads them, under 1 s.

Run: python bench/audience.py [--orgs 5000] [--members 100000] [--rounds 5] [--only sqlite|postgresql]
For each database (a temp SQLite file; PostgreSQL at --pg-url, a bench database created if missing and emptied):
migrate, bulk-insert a tree of --orgs organisations (党工委 → 10 片区党委 → 党委 / 党总支 → 党支部 → 党小组) and
--members roster members spread over the 党支部 and 党小组, every one a follower and a confirmed member, ANALYZE;
then stream `handlers.pushes.content.recipients` to the end (what the fan-out reads, skip reasons included) for:
the `all` audience over the same followers (the baseline), the root organisation's subtree (every member), one
片区, one 党委's subtree, a category inside a 片区党委, the secretaries of the park; and the size query the push
form shows for the root. The cases take turns round by round so all see the same background load. Prints the median
and worst wall time of each and the median CPU time of this process (the whole work on SQLite; PostgreSQL's server
works apart), target: every tree audience < 1 s; writes bench/out/audience.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import DISTRICTS, analyze, database_args, each_database, load_average, save, under_load  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.core.database import Follower  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import CATEGORIES, Organisation, RosterMember  # noqa: E402
from handlers.pushes import audience  # noqa: E402
from handlers.pushes.content import audience_openids, recipients  # noqa: E402
from handlers.pushes.models import Push  # noqa: E402

OUT = ROOT / "bench" / "out" / "audience.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_aud"  # the bench database (emptied each run)
TARGET_S = 1.0  # every tree audience streamed to the end
BATCH = 10_000  # rows per bulk insert


def tree(count: int) -> list[dict[str, Any]]:
    """`count` organisations: the root, 10 片区党委, then per 片区 党委 (each with 党支部 and their 党小组) and
    党总支 (each with 党支部), filled round-robin over the 片区 until `count`."""
    rows: list[dict[str, Any]] = []

    def add(kind: str, parent: dict[str, Any] | None, district: str | None) -> dict[str, Any]:
        org_id = len(rows) + 1
        row = {
            "id": org_id,
            "code": f"B{org_id:05d}",
            "name": f"基准测试{kind}{org_id}",
            "kind": kind,
            "parent_id": parent["id"] if parent else None,
            "path": f"{parent['path'] if parent else '/'}{org_id}/",
            "district": district,
        }
        rows.append(row)
        return row

    root = add("党工委", None, None)
    districts = [add("片区党委", root, d) for d in DISTRICTS]
    n = 0
    while len(rows) < count:
        d = districts[n % len(districts)]
        top = add("党委" if n % 3 else "党总支", d, d["district"])
        for _ in range(8):
            if len(rows) >= count:
                break
            branch = add("党支部", top, d["district"])
            if len(rows) < count and top["kind"] == "党委":
                add("党小组", branch, d["district"])
        n += 1
    return rows[:count]


def seed(s: Any, orgs: int, members: int) -> tuple[float, dict[str, Any]]:
    """Bulk-insert the tree, the roster, the followers and the confirmed memberships; ANALYZE; (seconds, picks)."""
    rng, now, started = random.Random(20261201), datetime.now(UTC), time.perf_counter()
    rows = tree(orgs)
    leaves = [r for r in rows if r["kind"] in ("党支部", "党小组")]
    by_id = {r["id"]: r for r in rows}
    secretaries: set[int] = set()
    with s.engine.begin() as conn:
        conn.execute(insert(Organisation), [{**r, "created_at": now, "updated_at": now} for r in rows])
        for lo in range(0, members, BATCH):
            roster, followers, bindings = [], [], []
            for i in range(lo, min(lo + BATCH, members)):
                org = leaves[i % len(leaves)]
                post = "书记" if org["kind"] == "党支部" and org["id"] not in secretaries else None
                secretaries.add(org["id"])
                openid = f"o_bench_{i:07d}"
                roster.append(
                    {
                        "id": i + 1,
                        "name": f"测试党员{i}",
                        "sex": "男" if i % 2 else "女",
                        "phone": f"199{i:08d}",
                        "organisation_id": org["id"],
                        "category": rng.choices(CATEGORIES, (70, 10, 10, 10))[0],
                        "joined_on": date(2000 + i % 25, 7, 1),
                        "post": post,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                followers.append({"openid": openid, "subscribed": True, "first_seen": now, "last_interaction": now})
                bindings.append(
                    {
                        "openid": openid,
                        "organisation": org["code"],
                        "district": org["district"],
                        "bound_at": now,
                        "status": CONFIRMED,
                        "member_id": i + 1,
                        "method": "auto",
                        "confirmed_at": now,
                        "confirmed_by": "auto",
                    }
                )
            conn.execute(insert(RosterMember), roster)
            conn.execute(insert(Follower), followers)
            conn.execute(insert(Membership), bindings)
    analyze(s.engine)
    party = next(r for r in rows if r["kind"] == "党委")
    return time.perf_counter() - started, {"party": party["code"], "district_org": by_id[2]["code"]}


def cases(picks: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """name → (audience kind, ref); the first is the baseline."""
    return {
        "all (baseline)": ("all", None),
        "organisation: root subtree": ("organisation", "B00001"),
        f"district: {DISTRICTS[0]}": ("district", DISTRICTS[0]),
        f"organisation: one 党委 ({picks['party']})": ("organisation", picks["party"]),
        f"category: 正式党员@{picks['district_org']}": ("category", f"正式党员@{picks['district_org']}"),
        "secretaries: root subtree": ("secretaries", "B00001"),
    }


def stream(s: Any, kind: str, ref: str | None) -> tuple[float, float, int]:
    """Seconds (wall, this process' CPU) to read the audience to the end as the fan-out does (a fresh session), and
    how many were read."""
    push = Push(audience_kind=kind, audience_ref=ref, content_kind="text", channel="custom", test_openids=[])
    began, cpu = time.perf_counter(), time.process_time()
    with s.sessions() as db:
        n = sum(1 for _ in recipients(db, push, datetime.now(UTC)))
    return time.perf_counter() - began, time.process_time() - cpu, n


def sized(s: Any, kind: str, ref: str | None) -> tuple[float, float, int]:
    """Seconds (wall, CPU) of the push form's size query, and the size."""
    push = Push(audience_kind=kind, audience_ref=ref, test_openids=[])
    began, cpu = time.perf_counter(), time.process_time()
    with s.sessions() as db:
        total, _ = audience.size(db, audience_openids(db, push))
    return time.perf_counter() - began, time.process_time() - cpu, total


def measure(s: Any, picks: dict[str, Any], rounds: int) -> dict[str, Any]:
    timed: dict[str, Callable[[], tuple[float, float, int]]] = {
        name: (lambda k=kind, r=ref: stream(s, k, r)) for name, (kind, ref) in cases(picks).items()
    }
    timed["size query: root subtree"] = lambda: sized(s, "organisation", "B00001")
    timed["size query: all (baseline)"] = lambda: sized(s, "all", None)
    for fn in timed.values():  # warm-up
        fn()
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    cpu: dict[str, list[float]] = {name: [] for name in timed}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for name, fn in timed.items():
            took, used, counts[name] = fn()
            seconds[name].append(took)
            cpu[name].append(used)
    return {
        name: {
            "median_s": statistics.median(v),
            "max_s": max(v),
            "cpu_median_s": statistics.median(cpu[name]),
            "rows": counts[name],
        }
        for name, v in seconds.items()
    }


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = local_app(tmp, 5997, database_url=url)
    s = app.extensions["bot"]
    seed_s, picks = seed(s, args.orgs, args.members)
    result = {"database": database, "organisations": args.orgs, "members": args.members, "seed_s": seed_s}
    under_load(result, "cases", lambda: measure(s, picks, args.rounds))
    s.engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['database']}: {r['organisations']:,} organisations, {r['members']:,} confirmed members "
        f"(seeded in {r['seed_s']:.1f} s); {load_average(r)}"
    )
    base = r["cases"]["all (baseline)"]["median_s"]
    for name, v in r["cases"].items():
        streamed = not name.startswith("size") and "baseline" not in name
        verdict = ("  ok" if v["max_s"] < TARGET_S else "  MISSED") if streamed else ""
        ratio = f"  ×{v['median_s'] / base:.2f} of baseline" if not name.startswith("size") else ""
        print(
            f"  {name:<38} {v['rows']:>7,} rows  median {v['median_s'] * 1000:7.1f} ms  "
            f"max {v['max_s'] * 1000:7.1f} ms  CPU {v['cpu_median_s'] * 1000:6.1f} ms{ratio}{verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per case")
    database_args(parser, PG_URL)
    args = parser.parse_args()
    results = each_database(args, run, report)
    print(f"\ntarget: every tree audience streamed to the end in < {TARGET_S:.0f} s (max of the rounds)")
    save(OUT, results)


if __name__ == "__main__":
    main()
