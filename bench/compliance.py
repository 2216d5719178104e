"""三会一课 compliance with 5,000 organisations and a year of meetings: the computation under 1 s, the page under
300 ms warm, on SQLite and PostgreSQL.

Run: python bench/compliance.py [--orgs 5000] [--requests 20] [--only sqlite|postgresql] [--pg-url URL]
For each database (a temp SQLite file; PostgreSQL at --pg-url, created if missing and emptied): migrate, bulk-insert
the park of bench/org_figures.py and, for last year, every required meeting of every 党支部 per config.yaml's kinds
(85% held on time, 5% recorded late, the rest missing); ANALYZE; then time
- the computation (handlers.orglife.compliance.evaluate for the whole park) against a baseline measured in the same
  run: a plain count of held meetings grouped by organisation (target < 1 s);
- through the Flask test client: the console home page (baseline), the 三会一课 page cold (its Redis cache emptied
  before each request) and warm, by 片区 warm, and an instructor scoped to one 片区 warm (target < 300 ms warm).
Prints median and p95 per case and writes bench/out/compliance.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_db import percentile, pg_database, timed  # noqa: E402
from org_figures import organisations, signed_in  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from tickets_pages import make_app  # noqa: E402

from bot.core.clock import TZ  # noqa: E402
from bot.core.organisations import Organisation  # noqa: E402
from handlers.orglife import compliance  # noqa: E402
from handlers.orglife.config import OrgLifeConfig  # noqa: E402
from handlers.orglife.models import HELD, Meeting  # noqa: E402

OUT = ROOT / "bench" / "out" / "compliance.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_comp"
PAGE_MS, COMPUTE_S = 300.0, 1.0
BATCH = 20_000


def seed(app: Any, orgs: int, year: int) -> dict[str, int]:
    """The park (created long ago) and last year's meetings; row counts."""
    s = app.extensions["bot"]
    cfg, rng = OrgLifeConfig.of(s.settings), random.Random(20261201)
    tree = organisations(orgs)
    for row in tree:
        row["created_at"] = datetime(year - 2, 1, 1, tzinfo=UTC)
    with_groups = {o["parent_id"] for o in tree if o["kind"] == "党小组"}
    rows = []
    for org in tree:
        for kind in cfg.kinds:
            if org["kind"] not in kind.applies_to or (kind.requires_groups and org["id"] not in with_groups):
                continue
            for period in compliance.periods(kind, year):
                luck = rng.random()
                if luck >= 0.9:
                    continue
                starts = period.start + timedelta(days=rng.randint(0, 25), hours=10)
                made = starts if luck < 0.85 else period.end + timedelta(days=3)
                rows.append(
                    {
                        "organisation_id": org["id"],
                        "kind": kind.key,
                        "topic": "测试会议",
                        "starts_at": starts.astimezone(UTC),
                        "place": "测试会议室",
                        "status": HELD,
                        "planned_by": "bench",
                        "created_at": made.astimezone(UTC),
                        "updated_at": made.astimezone(UTC),
                    }
                )
    pg = s.engine.dialect.name == "postgresql"
    with s.engine.begin() as conn:
        if pg:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(insert(Organisation), tree)
        for j in range(0, len(rows), BATCH):
            conn.execute(insert(Meeting), rows[j : j + BATCH])
    with s.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    return {"organisations": len(tree), "meetings": len(rows)}


def seconds(fn: Any, repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    samples = samples[1:]  # the first one warms the caches
    return {"median_s": statistics.median(samples), "max_s": max(samples)}


def compute(app: Any, year: int, repeat: int) -> dict[str, dict[str, float]]:
    s = app.extensions["bot"]
    cfg, now = OrgLifeConfig.of(s.settings), datetime.now(UTC)

    def baseline() -> None:
        with s.sessions() as db:
            db.execute(
                select(Meeting.organisation_id, func.count())
                .where(Meeting.status == HELD)
                .group_by(Meeting.organisation_id)
            ).all()

    def evaluate(detail: bool) -> None:
        with s.sessions() as db:
            compliance.evaluate(db, cfg, year, now, None, compliance.guidance_group_names(db), detail=detail)

    return {
        "count by organisation (baseline)": seconds(baseline, repeat),
        "grid, whole park (the page)": seconds(lambda: evaluate(False), repeat),
        "grid + statuses (the reminder job)": seconds(lambda: evaluate(True), repeat),
    }


def pages(app: Any, year: int, requests: int) -> dict[str, dict[str, float]]:
    s = app.extensions["bot"]
    with s.sessions() as db:
        district = list(
            db.scalars(select(Organisation.id).where(Organisation.kind == "片区党委").order_by(Organisation.id))
        )[1]
    admin, instructor = signed_in(app, "root", ["admin"]), signed_in(app, "zhidao", ["instructor"], district)
    page, y = "/console/meetings/compliance/", {"year": str(year)}

    def cold() -> float:
        for key in s.redis.scan_iter(f"orglife:compliance:{year}:all:*"):  # the park's only
            s.redis.delete(key)
        return timed(admin, page, y)

    runs = {
        "home (baseline)": lambda: timed(admin, "/console/", {}),
        "compliance: park, cold": cold,
        "compliance: park, warm": lambda: timed(admin, page, y),
        "compliance: by 片区, warm": lambda: timed(admin, page, {**y, "view": "district"}),
        "compliance: one 片区's instructor, warm": lambda: timed(instructor, page, y),
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(requests + 2):
        for name, run in runs.items():
            ms = run()
            if round_ >= 2:
                samples[name].append(ms)
    return {n: {"median_ms": statistics.median(v), "p95_ms": percentile(v, 95)} for n, v in samples.items()}


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = make_app(tmp, url)
    year = datetime.now(TZ).year - 1
    started = time.perf_counter()
    counts = seed(app, args.orgs, year)
    result = {"database": database, **counts, "seed_s": time.perf_counter() - started, "year": year}
    result["compute"] = compute(app, year, args.repeat)
    result["pages"] = pages(app, year, args.requests)
    app.extensions["bot"].engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(f"\n== {r['database']}: {r['organisations']:,} organisations, {r['meetings']:,} meetings in {r['year']}")
    base = r["compute"]["count by organisation (baseline)"]["median_s"]
    for name, v in r["compute"].items():
        ratio = "" if "baseline" in name else f"  ({v['median_s'] / base:.1f}x baseline)"
        verdict = "" if "baseline" in name else ("  ok" if v["max_s"] < COMPUTE_S else "  MISSED")
        print(f"  {name:<40} median {1000 * v['median_s']:7.1f} ms  max {1000 * v['max_s']:7.1f} ms{ratio}{verdict}")
    home = r["pages"]["home (baseline)"]["median_ms"]
    for name, v in r["pages"].items():
        verdict = (
            ("  ok" if max(v["median_ms"], v["p95_ms"]) < PAGE_MS else "  MISSED") if name.endswith("warm") else ""
        )
        extra = "" if "baseline" in name else f"  (+{v['median_ms'] - home:.1f} over baseline)"
        print(f"  {name:<40} median {v['median_ms']:7.1f} ms  p95 {v['p95_ms']:7.1f} ms{extra}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page case")
    parser.add_argument("--repeat", type=int, default=5, help="timed computations")
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
    print(f"\ntarget: computation < {COMPUTE_S:.0f} s; median and p95 < {PAGE_MS:.0f} ms for every warm page")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
