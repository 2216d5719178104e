"""Organisation and roster import at park scale: 5,000 organisations and 100,000 members, checked and applied.

Run: python bench/org_import.py [--orgs 5000] [--members 100000] [--only sqlite|postgresql] [--pg-url URL]
     [--format xlsx|csv]
For each database (a temp SQLite file; PostgreSQL at --pg-url, the bench database created if missing and emptied)
the app is built as in production (its engine, timeouts and Redis), then, on files generated once (a realistic
tree: 党工委 → 10 片区党委 → 党委 → 党支部 → some 党小组; members spread over the branches; fictional names and 199
phone numbers):
- baselines: just reading both files with openpyxl / csv (no checks), and a plain bulk insert of the same rows
  (Core executemany, no checks, no diff; then emptied again);
- the import: read + check + apply of the tree, then of the roster (all new rows), each timed, with the peak RSS
  growth (sampled) and the tracemalloc peak of the roster check in a separate pass;
- a re-import of the same roster (must change nothing) and an update (1% transferred, 1% changed, 1% removed).
Target: tree + roster check+apply under 60 s, memory bounded (RSS growth well under 1 GB). Prints a table and
writes bench/out/org_import.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402
from bench_db import DISTRICTS, database_args, each_database, save  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import delete, func, insert, select, text  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.core.organisations import (  # noqa: E402
    GuidanceGroup,
    Organisation,
    OrganisationsConfig,
    RosterMember,
    RosterTransfer,
)
from handlers.orgs import import_run, importing  # noqa: E402
from handlers.orgs.sheets import ORG, ORG_COLUMNS, ROSTER, ROSTER_COLUMNS, csv_bytes, read, xlsx_bytes  # noqa: E402

OUT = ROOT / "bench" / "out" / "org_import.json"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench_imp"
TARGET_S = 60.0
CATEGORIES = ["正式党员"] * 6 + ["预备党员", "发展对象", "入党积极分子"]
POSTS = ["书记", "副书记", "组织委员", "宣传委员", "纪检委员", "青年委员", "党小组长"]


# ----- data -------------------------------------------------------------------------------------------------


def tree_rows(count: int, rng: random.Random) -> list[list[str]]:
    """党工委, 10 片区党委, then per 片区 党委 each with 党支部 (some with a 党小组) up to `count` rows."""
    rows = [["R", "示例园区党工委", "党工委", "", "", "", "", "", ""]]
    for d, name in enumerate(DISTRICTS):
        rows.append([f"D{d}", f"示例{name}党委", "片区党委", "R", name, "", "", "", ""])
    per_district = (count - len(rows)) // len(DISTRICTS)
    for d in range(len(DISTRICTS)):
        made, c = 0, 0
        while made < per_district:
            code = f"D{d}C{c}"
            group = f"第{d + 1}片区第{c % 4 + 1}指导小组"
            rows.append([code, f"示例企业{d}-{c}党委", "党委", f"D{d}", "", f"示例企业{d}-{c}", "", "", group])
            made += 1
            for b in range(min(rng.randint(8, 30), per_district - made)):
                phone = f"198{d:02d}{c:03d}{b:03d}"[:11].ljust(11, "0")
                rows.append(
                    [f"{code}B{b}", f"示例企业{d}-{c}第{b + 1}党支部", "党支部", code, "", "", "", phone, group]
                )
                made += 1
                if b % 7 == 0 and made < per_district:
                    rows.append([f"{code}B{b}G", f"示例企业{d}-{c}第{b + 1}党支部第一党小组", "党小组", f"{code}B{b}"]
                                + [""] * 4 + [group])  # fmt: skip
                    made += 1
            c += 1
    return rows[:count]


def roster_rows(count: int, branches: list[str], rng: random.Random) -> list[list[str]]:
    rows = []
    for i in range(count):
        category = rng.choice(CATEGORIES)
        joined = f"{rng.randint(1960, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if i % 3 else ""
        post = rng.choice(POSTS) if i % 10 == 0 else ""
        rows.append(
            [f"示例党员{i}", "男" if i % 2 else "女", f"199{i:08d}", rng.choice(branches), category, joined, post]
        )
    return rows


def files(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    rng = random.Random(20261201)
    tree = tree_rows(args.orgs, rng)
    branches = [r[0] for r in tree if r[2] in ("党支部", "党小组")]
    roster = roster_rows(args.members, branches, rng)
    org_head = [zh for zh, _ in list(ORG_COLUMNS.values())[:9]]
    roster_head = [zh for zh, _ in list(ROSTER_COLUMNS.values())[:7]]
    made = {"tree_rows": tree, "roster_rows": roster}
    for name, head, rows in (("tree", org_head, tree), ("roster", roster_head, roster)):
        data = xlsx_bytes([head, *rows]) if args.format == "xlsx" else csv_bytes([head, *rows])
        made[name] = data
        (tmp / f"{name}.{args.format}").write_bytes(data)
    changed = [list(r) for r in roster]
    for i in range(0, len(changed), 100):  # 1% each: transferred, changed, removed
        changed[i][3] = branches[(branches.index(changed[i][3]) + 1) % len(branches)]
        if i + 1 < len(changed):
            changed[i + 1][4] = "正式党员" if changed[i + 1][4] != "正式党员" else "预备党员"
    changed = [r for i, r in enumerate(changed) if i % 100 != 50]
    made["roster_changed"] = (
        xlsx_bytes([roster_head, *changed]) if args.format == "xlsx" else csv_bytes([roster_head, *changed])
    )
    return made


# ----- measuring --------------------------------------------------------------------------------------------


@contextmanager
def measured(results: dict[str, Any], name: str) -> Iterator[None]:
    """Wall time, CPU time and peak RSS growth (sampled every 20 ms) of the block."""
    proc = psutil.Process()
    base, peak, stop = proc.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], proc.memory_info().rss)
        results[name] = {
            "seconds": round(time.perf_counter() - started, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
            "rss_growth_mb": round((peak[0] - base) / 2**20, 1),
        }


def read_only(data: bytes, fmt: str) -> int:
    """Baseline: just reading the file's cells (no checks)."""
    n = 0
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(data), read_only=True)
        for row in book.worksheets[0].iter_rows(values_only=True):
            n += len(row)
        book.close()
    else:
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
            n += len(row)
    return n


def plain_insert(s: Any, tree: list[list[str]], roster: list[list[str]]) -> None:
    """Baseline: the same rows bulk-inserted with no checks and no diff (then emptied)."""
    with s.engine.begin() as conn:
        for i in range(0, len(tree), 2000):
            conn.execute(insert(Organisation), [{"code": r[0], "name": r[1], "kind": r[2], "path": "/"}
                                                for r in tree[i : i + 2000]])  # fmt: skip
        ids = dict(conn.execute(select(Organisation.code, Organisation.id)).all())
        for i in range(0, len(roster), 2000):
            conn.execute(insert(RosterMember), [{"name": r[0], "sex": r[1], "phone": r[2], "organisation_id": ids[r[3]],
                                                 "category": r[4]} for r in roster[i : i + 2000]])  # fmt: skip


def empty(s: Any) -> None:
    with s.engine.begin() as conn:
        if s.engine.dialect.name == "postgresql":  # DELETE of 100,000 rows may pass the app's statement timeout
            conn.execute(text("TRUNCATE roster_transfers, roster_members, organisations, guidance_groups CASCADE"))
            return
        for table in (RosterTransfer, RosterMember, Organisation, GuidanceGroup):
            conn.execute(delete(table))


def imported(s: Any, cfg: OrganisationsConfig, data: bytes, kind: str, fmt: str) -> importing.Plan:
    with s.sessions() as db:
        plan = import_run.run(db, read(data, kind, f"x.{fmt}", 1 << 30), cfg, write=True, actor="bench")
    assert plan.ok, [str(p) for p in plan.problems[:5]]
    return plan


def run(name: str, url: str, args: argparse.Namespace, tmp: Path, made: dict[str, Any]) -> dict[str, Any]:
    (tmp / name).mkdir()
    app = local_app(tmp / name, 5997, database_url=url)
    s = app.extensions["bot"]
    cfg = OrganisationsConfig.of(s.settings)  # config.yaml's 片区 are the ten DISTRICTS
    r: dict[str, Any] = {"database": name, "orgs": args.orgs, "members": args.members, "format": args.format}
    t: dict[str, Any] = {}
    with measured(t, "baseline: read both files only"):
        read_only(made["tree"], args.format), read_only(made["roster"], args.format)
    with measured(t, "baseline: plain bulk insert"):
        plain_insert(s, made["tree_rows"], made["roster_rows"])
    empty(s)
    with measured(t, "import tree: read+check+apply"):
        tree_plan = imported(s, cfg, made["tree"], ORG, args.format)
    with measured(t, "import roster: read+check+apply"):
        roster_plan = imported(s, cfg, made["roster"], ROSTER, args.format)
    with measured(t, "re-import roster (no-op)"):
        again = imported(s, cfg, made["roster"], ROSTER, args.format)
    with measured(t, "roster update (1% moved/changed/left)"):
        update = imported(s, cfg, made["roster_changed"], ROSTER, args.format)
    tracemalloc.start()
    with s.sessions() as db:
        import_run.check(db, read(made["roster"], ROSTER, f"x.{args.format}", 1 << 30), cfg)
    r["tracemalloc_peak_mb_roster_read_check"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    with s.sessions() as db:
        r["rows_in_db"] = {
            "organisations": db.scalar(select(func.count(Organisation.id))),
            "members": db.scalar(select(func.count(RosterMember.id))),
            "transfers": db.scalar(select(func.count(RosterTransfer.id))),
        }
    r["plans"] = {"tree": tree_plan.counts, "roster": roster_plan.counts, "re-import": again.counts,
                  "update": update.counts}  # fmt: skip
    r["timings"] = t
    r["import_total_s"] = round(t["import tree: read+check+apply"]["seconds"]
                                + t["import roster: read+check+apply"]["seconds"], 2)  # fmt: skip
    s.content.stop()
    s.engine.dispose()
    return r


def report(r: dict[str, Any]) -> None:
    print(f"\n== {r['database']}: {r['orgs']:,} organisations, {r['members']:,} members ({r['format']})")
    print(f"  {'phase':<42} {'wall s':>8} {'CPU s':>8} {'RSS +MB':>9}")
    for name, v in r["timings"].items():
        print(f"  {name:<42} {v['seconds']:8.2f} {v['cpu_s']:8.2f} {v['rss_growth_mb']:9.1f}")
    verdict = "ok" if r["import_total_s"] < TARGET_S else "MISSED"
    print(f"  tree + roster import: {r['import_total_s']:.1f} s (target < {TARGET_S:.0f} s) {verdict}")
    print(f"  tracemalloc peak, roster read+check: {r['tracemalloc_peak_mb_roster_read_check']} MB")
    print(f"  plans: {r['plans']}")
    print(f"  in the database: {r['rows_in_db']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orgs", type=int, default=5_000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    database_args(parser, PG_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        made = files(args, Path(tmp))
        print(f"files generated in {time.perf_counter() - started:.1f} s: tree {len(made['tree']) / 2**20:.1f} MB, "
              f"roster {len(made['roster']) / 2**20:.1f} MB ({args.format})")  # fmt: skip
        results = each_database(args, lambda *job: run(*job, made), report, Path(tmp))
    save(OUT, results)


if __name__ == "__main__":
    main()
