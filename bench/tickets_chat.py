"""Ticket chat benchmark: 1,000 我要反映 submissions through the emulator with WeChat retries, none lost or doubled.

Run: python bench/tickets_chat.py [--users 1000] [--threads 10] [--retry-share 0.1]
The app is served over HTTP (werkzeug, threaded, as the tests' live server) on REDIS_URL / DATABASE_URL when
set, else an embedded Redis and a temp SQLite file. `--threads` simulated WeChat clients (SimClient, safe mode)
each walk their share of users through the whole dialog (我要反映 → category → description, sometimes with an
image → place → phone or 跳过 → 是/否 → 确认). WeChat's retries are on: a share of first attempts give up
after 1 ms (the server still handles them) and SimClient sends the message again; some 确认 are delivered
twice with the same MsgId, and some users send 确认 once more as a new message.
Checked: every turn answered, one ticket per user and none extra, each user's reply number = the database's.
Baseline, in the same run with the same threads and retry share, alternating with the submissions slice by
slice (same users, same load): as many turns of the simple handler (帮助).
Prints the figures and writes bench/out/tickets_chat.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from webhook_env import local_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bot.core import metrics  # noqa: E402
from bot.emulator.client import Exchange, SimClient, new_openid  # noqa: E402
from handlers.tickets.models import Ticket  # noqa: E402

OUT = ROOT / "bench" / "out" / "tickets_chat.json"  # results file
NUMBER = re.compile(r"[A-Z]{1,4}\d{10}")  # a ticket number in a reply
EXPECT = ["第1步", "第2步", "第3步", "第4步", "第5步", "请核对", "提交成功"]  # what each turn's reply holds


class Flaky(requests.Session):
    """HTTP for one simulated client: when `drop` is set, the next attempt gives up after 1 ms (a lost answer)."""

    drop = False

    def post(self, url: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.drop:
            self.drop = False
            kwargs["timeout"] = (5.0, 0.001)
        return super().post(url, **kwargs)


class Client(SimClient):
    """SimClient whose first attempts fail at `share` (then WeChat's retry goes out at once, not after 5 s)."""

    def __init__(self, url: str, settings: Any, share: float, seed: int) -> None:
        super().__init__(url, settings.token, settings.aes_key, settings.appid, mode="safe", http=Flaky())
        self.share, self.rng = share, random.Random(seed)

    def post(self, fields: dict[str, Any]) -> Exchange:
        self.http.drop = self.rng.random() < self.share  # type: ignore[attr-defined]
        return super().post(fields)


@dataclass
class Tally:
    """What one phase saw: per-turn and per-user latencies, retried turns, failures, numbers per user."""

    turns: list[float] = field(default_factory=list)
    users: list[float] = field(default_factory=list)
    retried: int = 0
    resent: int = 0
    failed: list[str] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def add(self, other: Tally) -> None:
        with self.guard:
            self.turns += other.turns
            self.users += other.users
            self.retried += other.retried
            self.resent += other.resent
            self.failed += other.failed
            self.numbers.update(other.numbers)


def serve(app: Any) -> tuple[str, Any]:
    """The app on a free local port, threaded like the tests' live server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def make_app(tmp: Path) -> Any:
    """The app for the bench (see webhook_env.local_app), with no tickets left from an earlier run."""
    app = local_app(tmp, 5998)
    with app.extensions["bot"].engine.begin() as conn:
        conn.execute(Ticket.__table__.delete())
    return app


def turn(client: Client, fields: dict[str, Any], tally: Tally) -> Exchange:
    t0 = time.perf_counter()
    ex = client.post(fields)
    tally.turns.append(time.perf_counter() - t0)
    tally.retried += ex.attempts > 1
    return ex


def submit_one(client: Client, openid: str, rng: random.Random, args: argparse.Namespace) -> Tally:
    """One user's whole submission; what went wrong is noted in the tally."""
    tally, t0 = Tally(), time.perf_counter()
    answers = [
        "我要反映",
        str(rng.randint(1, 10)),
        f"第{rng.randint(1, 999)}号问题：工资拖欠，已两个月未发放",
        f"某某电子厂{rng.randint(1, 50)}号车间",
        rng.choice(["跳过", f"139{rng.randint(0, 99999999):08d}"]),
        rng.choice(["是", "否"]),
        "确认",
    ]
    for i, text in enumerate(answers):
        if i == 2 and rng.random() < args.image_share:
            photo = client.build(
                openid, "image", MediaId=f"m{rng.randint(0, 10**9)}", PicUrl="http://example.invalid/p.jpg"
            )
            if "已收到图片" not in turn(client, photo, tally).text:
                tally.failed.append(f"{openid}: image not taken")
        fields = client.build(openid, "text", Content=text)
        ex = turn(client, fields, tally)
        if ex.status != 200 or EXPECT[i] not in ex.text:
            tally.failed.append(f"{openid} turn {i + 1} ({text}): {ex.status} {ex.text[:40]!r}")
            return tally
    number = NUMBER.search(ex.text)
    tally.numbers[openid] = number.group() if number else ""
    if rng.random() < args.dup_share:  # the same 确认 delivered twice (same MsgId)
        tally.resent += 1
        if turn(client, fields, tally).text != ex.text:
            tally.failed.append(f"{openid}: duplicate delivery answered differently")
    if rng.random() < args.again_share:  # the user sends 确认 once more
        again = turn(client, client.build(openid, "text", Content="确认"), tally).text
        if tally.numbers[openid] not in again:
            tally.failed.append(f"{openid}: second 确认 without the same number: {again[:40]!r}")
    tally.users.append(time.perf_counter() - t0)
    return tally


def help_turns(client: Client, openid: str, n: int) -> Tally:
    """The baseline: n turns of 帮助 from one user."""
    tally, t0 = Tally(), time.perf_counter()
    for _ in range(n):
        ex = turn(client, client.build(openid, "text", Content="帮助"), tally)
        if ex.status != 200 or "常用指令" not in ex.text:
            tally.failed.append(f"{openid}: 帮助 answered {ex.status} {ex.text[:40]!r}")
    tally.users.append(time.perf_counter() - t0)
    return tally


def run_phase(url: str, settings: Any, users: list[str], args: argparse.Namespace, work: Any) -> tuple[Tally, float]:
    """`work(client, openid, rng)` for every user, `args.threads` users at a time; the tally and wall time."""
    total, t0 = Tally(), time.perf_counter()
    shares = [users[i :: args.threads] for i in range(args.threads)]

    def worker(index: int) -> None:
        client = Client(url, settings, args.retry_share, seed=index)
        rng = random.Random(1000 + index)
        for openid in shares[index]:
            total.add(work(client, openid, rng))

    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(worker, range(args.threads)))
    return total, time.perf_counter() - t0


def check_database(app: Any, tally: Tally, users: list[str]) -> dict[str, Any]:
    """Tickets in the database against the users and the numbers their replies carried."""
    with app.extensions["bot"].sessions() as db:
        rows = db.execute(select(Ticket.openid, Ticket.number)).all()
        per_user = dict(db.execute(select(Ticket.openid, func.count()).group_by(Ticket.openid)).all())
    by_user = {o: n for o, n in rows}
    return {
        "tickets": len(rows),
        "users": len(users),
        "lost": sum(1 for u in users if per_user.get(u, 0) == 0),
        "duplicated": sum(c - 1 for c in per_user.values() if c > 1),
        "number_mismatch": sum(1 for u in users if tally.numbers.get(u) != by_user.get(u)),
        "unique_numbers": len({n for _, n in rows}),
    }


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"median_ms": statistics.median(values) * 1000, "p99_ms": values[max(0, int(len(values) * 0.99) - 1)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="submissions (one per simulated user)")
    parser.add_argument("--threads", type=int, default=10, help="simulated users at a time")
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of first attempts that time out")
    parser.add_argument("--dup-share", type=float, default=0.1, help="share of users whose 确认 is delivered twice")
    parser.add_argument("--again-share", type=float, default=0.05, help="share of users who send 确认 again")
    parser.add_argument("--slices", type=int, default=5, help="the run alternates submissions and baseline this often")
    parser.add_argument("--image-share", type=float, default=0.2, help="share of users adding a photo")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        url, server = serve(app)
        settings = app.extensions["bot"].settings
        hook = url + settings.section("webhook")["path"]
        users = [new_openid() for _ in range(args.users)]
        warm = Client(hook, settings, 0.0, seed=99)
        for openid in users:  # a first message writes the follower row: kept out of both phases
            warm.post(warm.build(openid, "text", Content="帮助"))
        subs, base, subs_s, base_s, dedupe_subs = Tally(), Tally(), 0.0, 0.0, 0.0
        for part in (users[i :: args.slices] for i in range(args.slices)):  # alternate, so both see the same load
            before = metrics.DEDUPE_HITS._value.get()
            tally, seconds = run_phase(hook, settings, part, args, lambda c, o, r: submit_one(c, o, r, args))
            subs.add(tally)
            subs_s, dedupe_subs = subs_s + seconds, dedupe_subs + metrics.DEDUPE_HITS._value.get() - before
            n = max(1, round(len(tally.turns) / max(1, len(part))))
            tally, seconds = run_phase(hook, settings, part, args, lambda c, o, r, n=n: help_turns(c, o, n))
            base.add(tally)
            base_s += seconds
        db = check_database(app, subs, users)
        server.shutdown()
        result = {
            "database": app.extensions["bot"].engine.dialect.name,
            "threads": args.threads,
            "submissions": {
                "turns": len(subs.turns),
                "seconds": subs_s,
                "turn": ms(subs.turns),
                "submission": ms(subs.users),
                "retried_turns": subs.retried,
                "resent_confirms": subs.resent,
                "dedupe_hits": int(dedupe_subs),
                "failed": subs.failed[:20],
                "failures": len(subs.failed),
                **db,
            },
            "baseline": {
                "turns": len(base.turns),
                "seconds": base_s,
                "turn": ms(base.turns),
                "per_user": ms(base.users),
                "retried_turns": base.retried,
                "failures": len(base.failed),
            },
        }
    report(result)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False))


def report(r: dict[str, Any]) -> None:
    s, b = r["submissions"], r["baseline"]
    print(f"database: {r['database']}, {r['threads']} simulated users at a time")
    print(
        f"submissions: {s['users']} users, {s['turns']} turns in {s['seconds']:.1f} s "
        f"({s['turns'] / s['seconds']:.0f} turns/s); {s['retried_turns']} turns retried after a lost first answer, "
        f"{s['resent_confirms']} 确认 delivered twice; {s['dedupe_hits']} retries answered from the first attempt"
    )
    print(
        f"  per turn: median {s['turn']['median_ms']:.1f} ms, p99 {s['turn']['p99_ms']:.1f} ms; "
        f"per submission ({s['turns'] / max(1, s['users']):.1f} turns): median {s['submission']['median_ms']:.0f} ms, "
        f"p99 {s['submission']['p99_ms']:.0f} ms"
    )
    ok = (
        s["lost"] == 0
        and s["duplicated"] == 0
        and s["number_mismatch"] == 0
        and s["failures"] == 0
        and s["tickets"] == s["users"] == s["unique_numbers"]
    )
    print(
        f"  tickets in the database: {s['tickets']} for {s['users']} users; lost {s['lost']}, "
        f"duplicated {s['duplicated']}, reply number != database {s['number_mismatch']}, "
        f"unexpected replies {s['failures']}  [{'ok' if ok else 'FAILED'}]"
    )
    for line in s["failed"]:
        print(f"    {line}")
    print(
        f"baseline 帮助: {b['turns']} turns in {b['seconds']:.1f} s ({b['turns'] / b['seconds']:.0f} turns/s), "
        f"{b['retried_turns']} retried; per turn: median {b['turn']['median_ms']:.1f} ms, "
        f"p99 {b['turn']['p99_ms']:.1f} ms; "
        f"failures {b['failures']}"
    )
    print(
        f"submission turn / 帮助 turn (median): {s['turn']['median_ms'] / b['turn']['median_ms']:.2f}x; "
        f"total time {s['seconds'] / b['seconds']:.2f}x"
    )


if __name__ == "__main__":
    main()
