"""Quiz benchmark: what answering a question adds to the webhook's latency, and 我的积分 with 1,000,000 members.

Run: python bench/quiz.py [--members 1000000] [--answers 1000]
In-process through the real webhook (Flask test client, safe mode, real Redis and SQLite/PostgreSQL):
1. baseline: the simple handler (帮助) — median latency of the whole pipeline;
2. quiz: answering a daily-quiz question (lookup, scoring, ledger write, leaderboard update, next question);
3. 我的积分 with N members in the ledger and on the leaderboard; then a full rebuild from the ledger.
Prints the figures and writes bench/out/quiz.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.core.database import utcnow  # noqa: E402
from bot.emulator.client import SimClient, new_openid  # noqa: E402
from handlers.quiz.models import PointsEntry  # noqa: E402
from handlers.quiz.points import day_of  # noqa: E402
from handlers.quiz.runs import active_run  # noqa: E402

OUT = ROOT / "bench" / "out" / "quiz.json"  # results file


def make_app(tmp: Path):
    """The app for the bench (see webhook_env.local_app); answers may come at once."""
    return local_app(tmp, 5999, quiz={"min_answer_seconds": 0})


class Poster:
    """Posts signed, encrypted messages to the webhook through the test client; times each."""

    def __init__(self, app) -> None:
        s = app.extensions["bot"].settings
        self.client = app.test_client()
        self.sim = SimClient("http://unused", s.token, s.aes_key, s.appid, mode="safe")
        self.path = s.section("webhook")["path"]

    def text(self, openid: str, content: str) -> tuple[float, str]:
        query, body = self.sim.query_and_body(self.sim.build(openid, "text", Content=content))
        t0 = time.perf_counter()
        res = self.client.post(f"{self.path}?{urlencode(query)}", data=body.encode(), content_type="text/xml")
        elapsed = time.perf_counter() - t0
        reply = self.sim.open_reply(res.get_data(as_text=True), res.status_code) or {}
        return elapsed, str(reply.get("Content", ""))


def ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"median_ms": statistics.median(values) * 1000, "p99_ms": values[int(len(values) * 0.99) - 1] * 1000}


def baseline(poster: Poster, users: list[str], n: int) -> dict[str, float]:
    return ms([poster.text(users[i % len(users)], "帮助")[0] for i in range(n)])


def quiz(app, poster: Poster, users: list[str], n: int) -> dict[str, float]:
    """Median latency of answering daily-quiz questions (right answers: ledger + leaderboard writes)."""
    s = app.extensions["bot"]
    bank = s.content.current().questions
    times, correct = [], 0
    for i in range(n):
        openid = users[i % len(users)]
        with s.sessions() as db:
            run = active_run(db, openid)
            q = bank[run.question_ids[run.position]] if run else None
        if q is None:
            poster.text(openid, "每日答题")
            continue
        elapsed, reply = poster.text(openid, {"正确": "对", "错误": "错"}.get(q.answer, q.answer))
        times.append(elapsed)
        correct += "✅" in reply
    return {**ms(times), "answers": len(times), "correct": correct}


def fill_ledger(app, members: int) -> list[str]:
    """members ledger rows (one per member, random points) and their leaderboard entries."""
    s = app.extensions["bot"]
    day, now = day_of(utcnow()), utcnow()
    ids = [f"oBench{i:021d}" for i in range(members)]
    rng = random.Random(7)
    rows = [
        {
            "openid": o,
            "activity": "daily",
            "points": rng.randint(1, 500),
            "reason": "bench",
            "award_key": f"bench:{o}",
            "day": day - timedelta(days=rng.randint(0, 30)),
            "created_at": now,
        }
        for o in ids
    ]
    with s.engine.begin() as conn:
        for i in range(0, members, 50_000):
            conn.execute(insert(PointsEntry), rows[i : i + 50_000])
    return ids


def my_points(poster: Poster, ids: list[str], n: int) -> dict[str, float]:
    """Median 我的积分 of n sampled members, each warmed first (a first message writes the follower row)."""
    sample = random.Random(3).sample(ids, n)
    for openid in sample:
        poster.text(openid, "帮助")
    return ms([poster.text(openid, "我的积分")[0] for openid in sample])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="members in the ledger and on the leaderboard")
    parser.add_argument("--answers", type=int, default=1000, help="quiz answers timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        poster, users = Poster(app), [new_openid() for _ in range(200)]
        for u in users:  # warm-up: follower rows, content, index, caches
            poster.text(u, "帮助")
        base = baseline(poster, users, args.answers)
        answered = quiz(app, poster, users, args.answers + len(users))
        t0 = time.perf_counter()
        ids = fill_ledger(app, args.members)
        fill_s = time.perf_counter() - t0
        rebuild = app.extensions["bot"].points.rebuild()
        points = my_points(poster, ids, 500)
        result = {
            "baseline_help": base,
            "quiz_answer": answered,
            "added_median_ms": answered["median_ms"] - base["median_ms"],
            "members": args.members,
            "ledger_fill_s": fill_s,
            "rebuild": rebuild,
            "my_points": points,
            "database": app.extensions["bot"].engine.dialect.name,
        }
    report(result)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))


def report(r: dict) -> None:
    print(f"database: {r['database']}")
    print(
        f"baseline 帮助 (simple handler): median {r['baseline_help']['median_ms']:.2f} ms, "
        f"p99 {r['baseline_help']['p99_ms']:.2f} ms"
    )
    q = r["quiz_answer"]
    print(
        f"quiz answer: median {q['median_ms']:.2f} ms, p99 {q['p99_ms']:.2f} ms "
        f"over {q['answers']} answers ({q['correct']} right)"
    )
    verdict = "ok" if r["added_median_ms"] <= 3 else "MISSED"
    print(f"added by answering: {r['added_median_ms']:.2f} ms median  [target <= 3 ms: {verdict}]")
    print(
        f"ledger filled with {r['members']:,} members in {r['ledger_fill_s']:.1f} s; "
        f"leaderboard rebuild from the ledger: {r['rebuild']['seconds']:.1f} s"
    )
    p = r["my_points"]
    verdict = "ok" if p["median_ms"] < 5 else "MISSED"
    print(
        f"我的积分 with {r['members']:,} members: median {p['median_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms  "
        f"[target < 5 ms: {verdict}]"
    )


if __name__ == "__main__":
    main()
