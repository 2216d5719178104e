"""Task lists' progress figures with 2,000 organisations and 48,000 reports (4 lists × 6 tasks, every organisation).

Run: python bench/task_progress.py [--orgs 2000] [--tasks 24] [--repeat 10]
A temp SQLite file; tables created from the models; organisations spread over 10 片区 and 40 guidance groups, reports
with mixed statuses. Times (median of --repeat runs, after one warm-up): the baseline (one GROUP BY status count of
every report), tasks.progress for the whole park, for one 片区, and for one list, and tasks.completion for a year.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import bot.core.accounts  # noqa: E402, F401 (tables)
from bot.core.database import Base  # noqa: E402
from bot.core.organisations import GuidanceGroup, Organisation  # noqa: E402
from handlers.orglife import tasks  # noqa: E402
from handlers.orglife.task_models import STATUSES, Task, TaskList, TaskReport  # noqa: E402


def seed(db: Session, orgs: int, n_tasks: int) -> None:
    rnd = random.Random(13)
    db.execute(insert(GuidanceGroup), [{"id": g, "name": f"测试第{g}指导小组"} for g in range(1, 41)])
    rows = [{"id": 1, "code": "B0", "name": "测试园区党工委", "kind": "党工委", "path": "/1/", "district": None}]
    for d in range(10):
        rows.append({"id": 2 + d, "code": f"B{2 + d}", "name": f"测试第{d}片区党委", "kind": "片区党委"})
        rows[-1].update(parent_id=1, path=f"/1/{2 + d}/", district=f"第{d}片区")
    for i in range(12, 12 + orgs):
        parent = 2 + i % 10
        rows.append({"id": i, "code": f"B{i}", "name": f"测试第{i}党支部", "kind": "党支部", "parent_id": parent})
        rows[-1].update(path=f"/1/{parent}/{i}/", district=f"第{i % 10}片区", guidance_group_id=1 + i % 40)
    db.execute(insert(Organisation), rows)
    start = date(2026, 1, 31)
    for lst in range(n_tasks // 6):
        db.execute(
            insert(TaskList),
            [{"id": lst + 1, "title": f"清单{lst}", "period": "p", "target": "全部", "issued_by": "bench"}],
        )
    db.execute(
        insert(Task),
        [
            {"id": t + 1, "list_id": t // 6 + 1, "position": t % 6 + 1, "title": f"任务{t}", "description": ""}
            | {"due_on": start + timedelta(days=60 * (t // 6))}
            for t in range(n_tasks)
        ],
    )
    reports = [
        {"task_id": t + 1, "organisation_id": o, "status": rnd.choice(STATUSES), "history": []}
        for t in range(n_tasks)
        for o in range(12, 12 + orgs)
    ]
    for i in range(0, len(reports), 20_000):
        db.execute(insert(TaskReport), reports[i : i + 20_000])
    db.commit()


def timed(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(engine)
        with Session(engine) as db:
            seed(db, args.orgs, args.tasks)
            district = db.get(Organisation, 2)
            today = date(2026, 6, 1)
            cases = {
                "baseline: count by status": lambda: db.execute(
                    select(TaskReport.status, func.count()).group_by(TaskReport.status)
                ).all(),
                "progress, whole park": lambda: tasks.progress(db, None, today),
                "progress, one 片区": lambda: tasks.progress(db, district, today),
                "progress, one list": lambda: tasks.progress(db, None, today, 1),
                "completion(2026)": lambda: tasks.completion(db, 2026),
            }
            total = db.scalar(select(func.count()).select_from(TaskReport))
            print(f"{args.orgs} organisations, {total} reports; median of {args.repeat} runs")
            base = None
            for name, fn in cases.items():
                ms = timed(fn, args.repeat)
                base = base or ms
                print(f"  {name:28s} {ms:8.1f} ms  ({ms / base:5.1f}× baseline)")


if __name__ == "__main__":
    main()
