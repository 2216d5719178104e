"""bench/bench_db.py: what the database benchmarks in bench/ share (bench database, run loop, seeding, timing)."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, insert, inspect, text
from sqlalchemy.exc import OperationalError

PASSWORD = "bench password 42"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
DISTRICTS = [f"第{n}片区" for n in "一二三四五六七八九十"]  # config.yaml's 10 党建工作片区

Run = Callable[[str, str, argparse.Namespace, Path], dict[str, Any]]


# ----- databases -------------------------------------------------------------------------------------------


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


def database_args(parser: argparse.ArgumentParser, pg_url: str) -> None:
    """The --only and --pg-url options `each_database` reads."""
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--pg-url", default=pg_url, help="PostgreSQL bench database (emptied)")


def each_database(
    args: argparse.Namespace, run: Run, report: Callable[[dict[str, Any]], None], tmp: Path | None = None
) -> list[dict[str, Any]]:
    """`run(database, url, args, tmp)` on a SQLite file in the temp dir `tmp` (a new one when None), then on the
    PostgreSQL bench database at args.pg_url unless it does not answer (`args.only` picks one); each result reported
    as it comes. The results in order."""
    if tmp is None:
        with tempfile.TemporaryDirectory() as new:
            return each_database(args, run, report, Path(new))
    results = []
    if args.only != "postgresql":
        results.append(run("sqlite", f"sqlite:///{tmp / 'bench.db'}", args, tmp))
        report(results[-1])
    if args.only != "sqlite":
        try:
            url = pg_database(args.pg_url)
        except OperationalError as exc:
            print(f"\n== postgresql: skipped, {args.pg_url} did not answer ({exc.__class__.__name__})")
        else:
            results.append(run("postgresql", url, args, tmp))
            report(results[-1])
    return results


def save(out: Path, results: list[dict[str, Any]], **dumps: Any) -> None:
    """The results as JSON at `out` (bench/out/<name>.json), its folder made if missing."""
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, **dumps))


# ----- seeding ---------------------------------------------------------------------------------------------


def bulk_insert(conn: Connection, tables: Iterable[tuple[Any, list[dict[str, Any]]]], batch: int = 10_000) -> None:
    """Insert each (table, rows) in batches of `batch` rows (Core executemany)."""
    for table, rows in tables:
        for i in range(0, len(rows), batch):
            conn.execute(insert(table), rows[i : i + batch])


def analyze(engine: Engine, *tables: str) -> None:
    """VACUUM ANALYZE `tables` (all when none) on PostgreSQL, no statement timeout; ANALYZE on SQLite."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET statement_timeout = 0"))  # the app's limit is for requests, not for seeding
            conn.execute(text(" ".join(["VACUUM ANALYZE", ", ".join(tables)]).strip()))
        else:
            conn.execute(text("ANALYZE"))


# ----- clients and timing ----------------------------------------------------------------------------------


def logged_in(app: Any, username: str) -> Any:
    """A test client signed in to the console as `username` (an account with PASSWORD)."""
    client = app.test_client()
    token = TOKEN.search(client.get("/console/login").get_data(as_text=True)).group(1)
    response = client.post("/console/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, f"login of {username} failed: {response.status_code}"
    return client


def timed(client: Any, path: str, query: dict[str, str]) -> float:
    """Milliseconds of one GET, which must answer 200."""
    started = time.perf_counter()
    response = client.get(path, query_string=query)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, f"{path} {query}: {response.status_code}"
    return elapsed * 1000


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def in_turns(runs: dict[str, Callable[[], float]], requests: int, samples: dict[str, list[float]]) -> None:
    """2 warm-up rounds, then `requests` timed ones, the runs taking turns request by request; ms into `samples`."""
    for round_ in range(requests + 2):
        for name, run in runs.items():
            ms = run()
            if round_ >= 2:
                samples[name].append(ms)


def summary(samples: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Median and p95 (ms) and the count of each case's samples."""
    return {
        name: {"median_ms": statistics.median(v), "p95_ms": percentile(v, 95), "requests": len(v)}
        for name, v in samples.items()
    }


def under_load(result: dict[str, Any], key: str, measure: Callable[[], Any]) -> dict[str, Any]:
    """`result` with `measure()` under `key` between the load averages before and after it."""
    result["load_before"] = os.getloadavg()
    result[key] = measure()
    result["load_after"] = os.getloadavg()
    return result


def load_average(r: dict[str, Any]) -> str:
    """'load average 1.2 → 1.5 on 2 CPUs': the 1-minute load average before and after the measuring."""
    load = " → ".join(f"{x[0]:.1f}" for x in (r["load_before"], r["load_after"]))
    return f"load average {load} on {os.cpu_count()} CPUs"


def timing_line(name: str, v: dict[str, Any], width: int, extra: str = "", target_ms: float | None = None) -> str:
    """A case's median and p95, then `extra`, then ok / MISSED against `target_ms` when given."""
    verdict = "" if target_ms is None else "  ok" if max(v["median_ms"], v["p95_ms"]) < target_ms else "  MISSED"
    return f"  {name:<{width}} median {v['median_ms']:7.1f} ms  p95 {v['p95_ms']:7.1f} ms{extra}{verdict}"
