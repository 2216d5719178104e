"""党员认证 benchmark: matching a name and phone against a roster of 100,000 members in 5,000 organisations, finding
the secretaries to tell, a secretary's pending list, and whole chat dialogs through the webhook.

Run: python bench/auth.py [--members 100000] [--orgs 5000] [--users 200]
REDIS_URL / DATABASE_URL when set (PostgreSQL: a database nothing else uses; its tables are emptied), else an embedded
Redis and a temp SQLite file. Invented data only (测试 names, 199 phone numbers).
Baselines in the same run: a primary-key read of one roster member (for the lookups), and as many 帮助 turns as the
dialogs have (for the chat: 党员认证 → name → phone, auto-confirmed).
Prints the figures and writes bench/out/auth.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import bulk_insert  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from webhook_env import local_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bot.core.accounts import Account  # noqa: E402
from bot.core.database import Base, utcnow  # noqa: E402
from bot.core.members import CONFIRMED, PENDING, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember  # noqa: E402
from bot.emulator.client import SimClient, new_openid  # noqa: E402
from handlers.orgs import binding  # noqa: E402

OUT = ROOT / "bench" / "out" / "auth.json"
PHONE0 = 19900000000  # member i has phone PHONE0 + i
GIVEN = "甲乙丙丁戊己庚辛壬癸"


def name_of(i: int) -> str:
    return "测试" + GIVEN[i % 10] + GIVEN[(i // 10) % 10]


def seed(services: Any, n_orgs: int, n_members: int) -> dict[str, Any]:
    """The invented tree (root → 10 片区 → 党委 → 党支部), the roster, half of it confirmed, 1% pending."""
    with services.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    orgs: list[dict[str, Any]] = [
        dict(id=1, code="B0", name="测试园区党工委", kind="党工委", parent_id=None, path="/1/")
    ]
    districts = [(i + 2, f"第{i + 1}片区") for i in range(10)]
    for oid, d in districts:
        orgs.append(dict(id=oid, code=f"B{oid}", name=f"测试{d}党委", kind="片区党委", parent_id=1, path=f"/1/{oid}/"))
    n_committees = max(10, (n_orgs - 11) // 10)
    committees = []
    for k in range(n_committees):
        oid, (did, _d) = len(orgs) + 1, districts[k % 10]
        committees.append(oid)
        orgs.append(
            dict(id=oid, code=f"B{oid}", name=f"测试{oid}党委", kind="党委", parent_id=did, path=f"/1/{did}/{oid}/")
        )
    branches = []
    while len(orgs) < n_orgs:
        oid, parent = len(orgs) + 1, orgs[committees[len(orgs) % len(committees)] - 1]
        branches.append(oid)
        orgs.append(
            dict(
                id=oid,
                code=f"B{oid}",
                name=f"测试{oid}党支部",
                kind="党支部",
                parent_id=parent["id"],
                path=f"{parent['path']}{oid}/",
            )
        )
    now = utcnow()
    by_id = {o["id"]: o for o in orgs}
    for o in orgs:
        o.update(
            created_at=now,
            updated_at=now,
            district=districts[int(o["path"].split("/")[2]) - 2][1] if o["parent_id"] else None,
        )
    members = [
        dict(
            id=i + 1,
            name=name_of(i),
            sex="男",
            phone=str(PHONE0 + i),
            organisation_id=branches[i % len(branches)],
            category="正式党员",
            created_at=now,
            updated_at=now,
        )
        for i in range(n_members)
    ]
    rows = []
    for i in range(0, n_members, 2):  # half confirmed, 1 in 100 pending
        org = by_id[members[i]["organisation_id"]]
        rows.append(
            dict(
                openid=f"oBench{i:08d}",
                organisation=org["code"],
                district=org["district"],
                bound_at=now,
                status=PENDING if i % 100 == 0 else CONFIRMED,
                member_id=i + 1,
                method="auto",
            )
        )
    with services.engine.begin() as conn:
        bulk_insert(conn, ((Organisation, orgs), (RosterMember, members), (Membership, rows)))
        conn.execute(
            insert(Account),
            [
                dict(
                    username="bench-shuji",
                    password_hash="-",
                    roles=["secretary"],
                    organisation_id=committees[0],
                    openid="oBenchSecretary",
                    created_at=now,
                )
            ],
        )
    return {"branches": branches, "committee": committees[0], "members": n_members}


def timed(fn: Callable[[int], Any], n: int, repeats: int = 5) -> float:
    """Median µs per call over `repeats` runs of `n` calls (arguments 0..n-1)."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        runs.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(runs)


def lookups(services: Any, world: dict[str, Any], n: int) -> dict[str, float]:
    rng = random.Random(7)
    picks = [rng.randrange(1, world["members"], 2) for _ in range(n)]  # odd indices: not bound to anyone yet
    with services.sessions() as db:
        committee = db.get(Organisation, world["committee"])
        branch = db.get(Organisation, world["branches"][0])
        assert committee is not None and branch is not None
        found = binding.find(db, "oNew", name_of(picks[0]), str(PHONE0 + picks[0]))
        assert found.member is not None and found.problem == "", found

        def baseline(i: int) -> Any:
            db.expunge_all()
            return db.execute(select(RosterMember).where(RosterMember.id == picks[i] + 1)).scalar_one()

        def match(i: int) -> Any:
            db.expunge_all()
            return binding.find(db, "oNew", name_of(picks[i]), str(PHONE0 + picks[i]))

        def miss(i: int) -> Any:
            db.expunge_all()
            return binding.find(db, "oNew", "测试无此人", str(PHONE0 + picks[i]))

        def secretaries(i: int) -> Any:
            db.expunge_all()
            return binding.nearest_secretaries(db, branch)

        def pending(i: int) -> Any:
            db.expunge_all()
            return db.execute(binding.scoped(PENDING, committee).limit(200)).all()

        def pending_all(i: int) -> Any:
            db.expunge_all()
            return db.execute(binding.scoped(PENDING, None).order_by(Membership.bound_at).limit(200)).all()

        return {
            "baseline_pk_read_us": timed(baseline, n),
            "match_us": timed(match, n),
            "no_match_us": timed(miss, n),
            "nearest_secretaries_us": timed(secretaries, n),
            "pending_list_scoped_us": timed(pending, max(5, n // 20)),
            "pending_list_park_us": timed(pending_all, max(5, n // 20)),
        }


def dialogs(app: Any, world: dict[str, Any], users: int) -> dict[str, float]:
    """Whole dialogs through the webhook (HTTP, safe mode) vs as many 帮助 turns, alternating in 4 slices."""
    s = app.extensions["bot"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wx = SimClient(
        f"http://127.0.0.1:{port}{s.settings.section('webhook')['path']}",
        s.settings.token,
        s.settings.aes_key,
        s.settings.appid,
        mode="safe",
    )
    rng = random.Random(11)
    picks = rng.sample(range(1, world["members"], 2), users)
    dialog_ms: list[float] = []
    help_ms: list[float] = []
    for slice_ in range(4):
        for i in picks[slice_::4]:
            openid = new_openid()
            t0 = time.perf_counter()
            wx.text(openid, "党员认证")
            wx.text(openid, name_of(i))
            reply = wx.text(openid, str(PHONE0 + i)).text
            dialog_ms.append((time.perf_counter() - t0) * 1000 / 3)
            assert "认证成功" in reply, reply
            t0 = time.perf_counter()
            for _ in range(3):
                wx.text(openid, "帮助")
            help_ms.append((time.perf_counter() - t0) * 1000 / 3)
    server.shutdown()
    return {
        "dialog_turn_ms_p50": statistics.median(dialog_ms),
        "dialog_turn_ms_p95": statistics.quantiles(dialog_ms, n=20)[-1],
        "baseline_help_turn_ms_p50": statistics.median(help_ms),
        "baseline_help_turn_ms_p95": statistics.quantiles(help_ms, n=20)[-1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--orgs", type=int, default=5_000)
    ap.add_argument("--users", type=int, default=200, help="whole dialogs through the webhook")
    ap.add_argument("--lookups", type=int, default=2_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = local_app(Path(tmp), 8099, organisations={"max_attempts": 1_000_000})
        services = app.extensions["bot"]
        t0 = time.perf_counter()
        world = seed(services, args.orgs, args.members)
        seeded = time.perf_counter() - t0
        result: dict[str, Any] = {
            "database": services.engine.dialect.name,
            "organisations": args.orgs,
            "members": args.members,
            "seed_s": round(seeded, 1),
            **lookups(services, world, args.lookups),
            **dialogs(app, world, args.users),
        }
        services.pool.shutdown(wait=True)
        services.engine.dispose()
    for key, value in result.items():
        print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    print(f"{'match / baseline':28} {result['match_us'] / result['baseline_pk_read_us']:.2f}x")
    print(f"{'dialog turn / 帮助 turn':28} {result['dialog_turn_ms_p50'] / result['baseline_help_turn_ms_p50']:.2f}x")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
