"""Meeting check-in benchmark: 500 confirmed members scan one meeting's QR code within a minute, WeChat's retries on.

Run: python bench/checkin.py [--members 500] [--threads 20] [--retry-share 0.1] [--twice-share 0.2]
     [--thrice-share 0.05] [--only sqlite|postgresql] [--pg-url ...]
For each database (a temp SQLite file; PostgreSQL at --pg-url, created if missing and emptied) the app is served over
HTTP (werkzeug, threaded, as the tests' live server) on REDIS_URL when set, else an embedded Redis. Seeded: one
党支部, --members roster members confirmed in WeChat (党员认证) and expected at its meeting, which starts in 5 minutes
(inside the check-in window). Each member sends one SCAN (EventKey mt:<id>) through SimClient (safe mode), their
order shuffled, `--threads` at a time. WeChat's retries are on: a share of first attempts give up after 1 ms (the
server still handles them) and SimClient sends the same request again; a share of scans are delivered twice at
the same moment (two threads, the identical event: WeChat's retry racing the first attempt) and a share three
times in a row. Checked: every member attended exactly once (0 lost, 0 duplicated, no extra row), every reply is
签到成功 / 您已签到 (or "success" for a racing retry still waiting). Baseline in the same run, alternating with the
scans slice by slice: as many 帮助 turns from the same users, and as many SCANs of a code no feature knows.
Prints the figures and writes bench/out/checkin.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import pg_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from tickets_chat import Client, serve  # noqa: E402
from tickets_pages import make_app  # noqa: E402

from bot.core.clock import utcnow  # noqa: E402
from bot.core.members import CONFIRMED, Membership  # noqa: E402
from bot.core.organisations import Organisation, RosterMember  # noqa: E402
from bot.emulator.client import new_openid  # noqa: E402
from handlers.orglife.models import EXPECTED, Attendance, Meeting  # noqa: E402

OUT = ROOT / "bench" / "out" / "checkin.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_scan"  # the bench database (emptied each run)
OK_REPLIES = ("签到成功", "您已签到")


@dataclass
class Tally:
    turns: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)  # a scan's first delivery (not a racing or repeated copy)
    single: list[float] = field(default_factory=list)  # scans delivered once (no racing or repeated copy)
    retried: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def note(
        self, seconds: float, attempts: int, problem: str | None = None, first: bool = True, alone: bool = False
    ) -> None:
        with self.guard:
            self.turns.append(seconds)
            if first:
                self.first.append(seconds)
            if alone:
                self.single.append(seconds)
            self.retried += attempts > 1
            self.sent += 1
            if problem:
                self.failed.append(problem)


def seed(app: Any, members: int) -> tuple[int, list[str]]:
    """One 党支部, `members` confirmed members expected at its meeting (starting in 5 minutes); (meeting, openids)."""
    with app.extensions["bot"].sessions() as db:
        org = Organisation(code="B1", name="基准测试党支部", kind="党支部", path="/")
        db.add(org)
        db.flush()
        org.path = f"/{org.id}/"
        meeting = Meeting(
            organisation_id=org.id,
            kind="zhuti_dangri",
            topic="基准测试主题党日",
            starts_at=utcnow() + timedelta(minutes=5),
            place="基准测试会议室",
            planned_by="bench",
        )
        db.add(meeting)
        people = [
            RosterMember(
                name=f"测试党员{i:04d}", sex="男", phone=f"199{i:08d}", organisation_id=org.id, category="正式党员"
            )
            for i in range(members)
        ]
        db.add_all(people)
        db.flush()
        openids = [new_openid() for _ in people]
        for openid, person in zip(openids, people, strict=True):
            db.add(
                Membership(
                    openid=openid,
                    organisation=org.code,
                    status=CONFIRMED,
                    member_id=person.id,
                    method="auto",
                    confirmed_at=utcnow(),
                    confirmed_by="auto",
                )
            )
            db.add(Attendance(meeting_id=meeting.id, member_id=person.id, role=EXPECTED))
        db.commit()
        return meeting.id, openids


def scan_one(client: Client, openid: str, scene: str, copies: int, twin: Any, tally: Tally) -> None:
    """One member's scan; `copies` 2: the identical event twice at once, 3: three times in a row."""
    fields = client.build(openid, "event", Event="SCAN", EventKey=scene)

    def post(c: Client, first: bool = True) -> None:
        t0 = time.perf_counter()
        ex = c.post(dict(fields))
        text = ex.text or ""
        ok = ex.status == 200 and (text.startswith(OK_REPLIES) or (copies > 1 and text == ""))
        problem = None if ok else f"{openid[-6:]}: {ex.status} {text[:30]!r}"
        tally.note(time.perf_counter() - t0, ex.attempts, problem, first, copies <= 1)

    if copies == 2:  # twin: (pool, a client of its own) — WeChat's retry racing the first attempt
        pool, other_client = twin
        other = pool.submit(post, other_client, False)
        post(client)
        other.result()
        return
    for n in range(max(1, copies)):
        post(client, n == 0)


def other_scene(client: Client, openid: str, tally: Tally) -> None:
    """The second baseline: a SCAN of a code no feature knows (欢迎回来): the event's own cost without check-in."""
    t0 = time.perf_counter()
    ex = client.post(client.build(openid, "event", Event="SCAN", EventKey="bench-poster"))
    ok = ex.status == 200 and "欢迎回来" in (ex.text or "")
    tally.note(time.perf_counter() - t0, ex.attempts, None if ok else f"SCAN: {ex.status}")


def help_one(client: Client, openid: str, tally: Tally) -> None:
    t0 = time.perf_counter()
    ex = client.post(client.build(openid, "text", Content="帮助"))
    ok = ex.status == 200 and "常用指令" in (ex.text or "")
    tally.note(time.perf_counter() - t0, ex.attempts, None if ok else f"帮助: {ex.status}")


def phase(users: list[str], threads: int, work: Any, make_client: Any) -> float:
    t0 = time.perf_counter()
    shares = [users[i::threads] for i in range(threads)]

    def worker(index: int) -> None:
        client = make_client(index)
        for openid in shares[index]:
            work(client, openid)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return time.perf_counter() - t0


def check(app: Any, meeting_id: int, members: int) -> dict[str, int]:
    with app.extensions["bot"].sessions() as db:
        where = Attendance.meeting_id == meeting_id
        rows = db.scalar(select(func.count()).select_from(Attendance).where(where)) or 0
        attended = db.scalar(
            select(func.count()).select_from(Attendance).where(where, Attendance.attended_at.is_not(None))
        )
        per_member = db.execute(select(Attendance.member_id, func.count()).where(where).group_by(Attendance.member_id))
        duplicated = sum(n - 1 for _m, n in per_member if n > 1)
    return {
        "records": int(attended or 0),
        "rows": int(rows),
        "lost": members - int(attended or 0),
        "duplicated": duplicated + max(0, int(rows) - members),
    }


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50_ms": statistics.median(values) * 1000, "p99_ms": values[max(0, int(len(values) * 0.99) - 1)] * 1000}


def run(name: str, database_url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    (tmp / name).mkdir()
    app = make_app(tmp / name, database_url)
    url, server = serve(app)
    settings = app.extensions["bot"].settings
    hook = url + settings.section("webhook")["path"]
    meeting_id, users = seed(app, args.members)
    warm = Client(hook, settings, 0.0, seed=99)
    for openid in users:  # a first message writes the follower row: kept out of both phases
        warm.post(warm.build(openid, "text", Content="帮助"))
    rng = random.Random(7)
    order = users[:]
    rng.shuffle(order)
    copies = {
        o: 2 if (r := rng.random()) < args.twice_share else 3 if r < args.twice_share + args.thrice_share else 1
        for o in order
    }
    scans, base, other, scan_s, base_s = Tally(), Tally(), Tally(), 0.0, 0.0
    twins = ThreadPoolExecutor(args.threads)
    scene = f"mt:{meeting_id}"
    for part in (order[i :: args.slices] for i in range(args.slices)):
        scan_s += phase(
            part,
            args.threads,
            lambda c, o: scan_one(c, o, scene, copies[o], (twins, Client(hook, settings, 0.0, seed=1)), scans),
            lambda i: Client(hook, settings, args.retry_share, seed=i),
        )
        base_s += phase(
            part, args.threads, lambda c, o: help_one(c, o, base), lambda i: Client(hook, settings, args.retry_share, i)
        )
        phase(
            part,
            args.threads,
            lambda c, o: other_scene(c, o, other),
            lambda i: Client(hook, settings, args.retry_share, i),
        )
    twins.shutdown()
    time.sleep(1)  # racing retries handed off to the background finish
    db = check(app, meeting_id, args.members)
    server.shutdown()
    app.extensions["bot"].engine.dispose()
    return {
        "database": name,
        "members": args.members,
        "threads": args.threads,
        "scans": {
            "turns": scans.sent,
            "seconds": scan_s,
            "turn": ms(scans.first),
            "turn_delivered_once": ms(scans.single),
            "every_delivery": ms(scans.turns),
            "retried_turns": scans.retried,
            "delivered_twice_at_once": sum(1 for n in copies.values() if n == 2),
            "delivered_three_times": sum(1 for n in copies.values() if n == 3),
            "failures": len(scans.failed),
            "failed": scans.failed[:10],
            **db,
        },
        "baseline": {"turns": base.sent, "seconds": base_s, "turn": ms(base.turns), "failures": len(base.failed)},
        "other_scene": {"turns": other.sent, "turn": ms(other.turns), "failures": len(other.failed)},
    }


def report(r: dict[str, Any]) -> None:
    s, b = r["scans"], r["baseline"]
    ok = s["records"] == r["members"] and s["lost"] == 0 and s["duplicated"] == 0 and s["failures"] == 0
    print(f"{r['database']}: {r['members']} members, {r['threads']} at a time")
    print(
        f"  scans: {s['turns']} deliveries in {s['seconds']:.1f} s; {s['retried_turns']} retried after a lost first "
        f"answer, {s['delivered_twice_at_once']} delivered twice at once, {s['delivered_three_times']} three times"
    )
    print(
        f"  attendance: {s['records']} records ({s['rows']} rows) for {r['members']} members; lost {s['lost']}, "
        f"duplicated {s['duplicated']}, unexpected replies {s['failures']}  [{'ok' if ok else 'FAILED'}]"
    )
    for line in s["failed"]:
        print(f"    {line}")
    print(
        f"  scan turn: p50 {s['turn']['p50_ms']:.1f} ms, p99 {s['turn']['p99_ms']:.1f} ms; "
        f"帮助 turn (baseline, {b['turns']} turns in {b['seconds']:.1f} s): p50 {b['turn']['p50_ms']:.1f} ms, "
        f"p99 {b['turn']['p99_ms']:.1f} ms; scan / 帮助 p50 {s['turn']['p50_ms'] / b['turn']['p50_ms']:.2f}x, "
        f"p99 {s['turn']['p99_ms'] / b['turn']['p99_ms']:.2f}x"
    )
    one = s["turn_delivered_once"]
    print(
        f"  scan turn, scans delivered once ({len_once(r)}): p50 {one['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms; "
        f"scan / 帮助 p50 {one['p50_ms'] / b['turn']['p50_ms']:.2f}x, p99 {one['p99_ms'] / b['turn']['p99_ms']:.2f}x"
    )
    o = r["other_scene"]
    print(
        f"  SCAN of a code no feature knows (欢迎回来, the event's own cost): p50 {o['turn']['p50_ms']:.1f} ms, "
        f"p99 {o['turn']['p99_ms']:.1f} ms; failures {o['failures']} + 帮助 {b['failures']}"
    )
    e = s["every_delivery"]
    print(f"  every delivery (racing and repeated copies too): p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms")


def len_once(r: dict[str, Any]) -> int:
    s = r["scans"]
    return int(r["members"] - s["delivered_twice_at_once"] - s["delivered_three_times"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--threads", type=int, default=20, help="simulated members scanning at a time")
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of first attempts that time out")
    parser.add_argument("--twice-share", type=float, default=0.2, help="share of scans delivered twice at once")
    parser.add_argument("--thrice-share", type=float, default=0.05, help="share of scans delivered three times")
    parser.add_argument("--slices", type=int, default=5, help="the run alternates scans and baseline this often")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL bench database (emptied)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "postgresql":
            results.append(run("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args, Path(tmp)))
            report(results[-1])
        if args.only != "sqlite":
            results.append(run("postgresql", pg_database(args.pg_url), args, Path(tmp)))
            report(results[-1])
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
