"""Ticket console pages with 100,000 tickets: the queue and the dashboard on SQLite and PostgreSQL, under 200 ms.

Run: python bench/tickets_pages.py [--tickets 100000] [--requests 20] [--only sqlite|postgresql] [--export]
For each database (a temp SQLite file; PostgreSQL at --pg-url, a bench database created if missing and emptied):
migrate, bulk-insert the tickets (12 months, every category, department, 片区 and status, about 1/3 open, some
overdue), ANALYZE, then time pages through the Flask test client signed in as an admin and as a department
caseworker: the console home page (the baseline), the queue (/console/tickets/: default filters, then status,
category, overdue, text search) and the dashboard (/console/ticket-reports/: all months and the last 3), cold
(its Redis figures cache emptied before each request) and warm.
Each case gets 2 warm-up requests, then --requests timed ones; the cases take turns request by request so all
see the same background load. Prints median and p95 per case (target: each < 200 ms) and writes
bench/out/tickets_pages.json. --export also times one full Excel export as the admin (seconds, size, RSS growth).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from bench_db import (  # noqa: E402
    DISTRICTS,
    PASSWORD,
    analyze,
    database_args,
    each_database,
    in_turns,
    load_average,
    logged_in,
    save,
    summary,
    timed,
    timing_line,
    under_load,
)
from sqlalchemy import insert  # noqa: E402
from webhook_env import local_app  # noqa: E402

from bot.console.accounts import create_account  # noqa: E402
from handlers.tickets.models import OPEN_STATUSES, Ticket  # noqa: E402
from handlers.tickets.rules import TicketConfig, china  # noqa: E402
from handlers.tickets.stats import CACHE_KEY  # noqa: E402

OUT = ROOT / "bench" / "out" / "tickets_pages.json"  # results file
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bot_bench"  # the bench database (emptied each run)
TARGET_MS = 200.0  # median and p95 of every ticket page
PLACES = [
    "三一重工",
    "山河智能",
    "广汽三菱",
    "上汽大众长沙工厂",
    "蓝思科技",
    "铁建重工",
    "长沙经开区某电子厂",
    "星沙产业基地",
    "人才公寓",
    "园区食堂",
    "物流园",
    "创业大厦",
    "园区党群服务中心",
    "汽车零部件厂",
]
PROBLEMS = {  # category → what people write (a few words the queue's text search finds)
    "劳动权益": ["工资拖欠两个月没有发放", "加班费计算不对", "未签劳动合同", "社保没有按时缴纳", "工伤认定办理慢"],
    "用工招聘": ["招聘信息不实", "企业招工难需要对接", "实习生待遇问题"],
    "政务审批": ["营业执照变更办理时间长", "施工许可审批材料太多", "一件事一次办窗口排队久"],
    "住房保障": ["人才公寓申请进度查询", "公租房维修不及时", "租房补贴没有到账"],
    "交通出行": ["园区公交班次太少", "路口红绿灯时间太短", "上下班高峰拥堵"],
    "子女入学": ["随迁子女入学材料咨询", "学位紧张希望协调", "幼儿园入园难"],
    "水电气网": ["宿舍停水两天", "厂区频繁停电", "宽带网络信号差", "燃气报装慢"],
    "安全隐患": ["消防通道被占用", "厂房外墙有脱落风险", "危化品堆放不规范"],
    "环境卫生": ["垃圾清运不及时", "道路扬尘严重", "排水沟堵塞有异味"],
    "其他": ["希望增加篮球场", "建议开设夜校", "食堂价格偏高"],
}
CATEGORY_WEIGHTS = {
    "劳动权益": 24,
    "政务审批": 12,
    "用工招聘": 8,
    "住房保障": 9,
    "交通出行": 9,
    "子女入学": 6,
    "水电气网": 12,
    "安全隐患": 5,
    "环境卫生": 9,
    "其他": 6,
}


# ----- seeding ---------------------------------------------------------------------------------------------


def outcome(rng: random.Random, age: timedelta) -> str:
    """A status: mostly open when recent, mostly finished when old (about 1/3 open overall)."""
    days = age.total_seconds() / 86400
    p_open = 0.8 if days < 7 else 0.45 if days < 60 else 0.3
    if rng.random() < p_open:
        return rng.choices(OPEN_STATUSES, weights=[10, 15, 45, 30])[0]
    return rng.choices(["rejected", "merged", "resolved", "closed"], weights=[8, 4, 18, 70])[0]


def ticket(rng: random.Random, cfg: TicketConfig, i: int, now: datetime, seq: dict[str, int]) -> dict[str, Any]:
    """One ticket row, its derived columns consistent with its status."""
    created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    tier = cfg.categories[category]
    status = outcome(rng, now - created)
    day = china(created).strftime("%y%m%d")
    seq[day] = seq.get(day, 0) + 1
    late_answer = rng.random() < 0.12
    responded = (
        None
        if status == "new"
        else created + timedelta(hours=rng.uniform(2.1, 30) if late_answer else rng.uniform(0.1, 1.9))
    )
    assigned = status in ("assigned", "processing", "resolved", "closed")
    reopened = status == "assigned" and rng.random() < 0.1
    resolved = created + rng.uniform(0.2, 1.5) * cfg.tiers[tier][1] if status in ("resolved", "closed") else None
    due = created + cfg.tiers[tier][1] if not reopened else now + timedelta(days=rng.uniform(-3, 7))
    return {
        "number": f"{cfg.prefix}{day}{seq[day]:04d}",
        "submission_key": f"bench-{i}",
        "openid": f"oBench{rng.randrange(30000):022d}",
        "category": category,
        "tier": tier,
        "media": [],
        "description": f"{rng.choice(PROBLEMS[category])}，{rng.choice(PROBLEMS[category])}。希望尽快处理，谢谢！",
        "place": rng.choice(PLACES),
        "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
        "anonymous": rng.random() < 0.1,
        "district": rng.choice(DISTRICTS) if rng.random() < 0.9 else None,
        "status": status,
        "department": rng.choice(list(cfg.departments)) if assigned else None,
        "assignee_id": rng.choice([None, 3, 4, 5]) if assigned else None,
        "accepted_by_id": rng.choice([1, 2]) if responded else None,
        "merged_into_id": None,
        "reply": "已办理" if resolved else None,
        "reason": "不属于园区事务" if status == "rejected" else None,
        "rating": "unsatisfied"
        if reopened
        else rng.choices(["satisfied", "fair"], weights=[80, 20])[0]
        if status == "closed"
        else None,
        "rating_comment": None,
        "reopened": 1 if reopened else 0,
        "month": china(created).strftime("%Y-%m"),
        "responded_on_time": None if responded is None else not late_answer,
        "solved": status in ("resolved", "closed"),
        "created_at": created,
        "accept_due_at": created + cfg.intake,
        "due_at": due,
        "responded_at": responded,
        "resolved_at": resolved,
        "closed_at": resolved + timedelta(days=1) if status == "closed" else None,
        "intake_escalated_at": None,
        "escalated_at": None,
        "updated_at": resolved or responded or created,
    }


def seed(app: Any, count: int) -> float:
    """Bulk-insert `count` tickets in batches; ANALYZE; the seconds it took."""
    s = app.extensions["bot"]
    cfg, rng, now, seq = TicketConfig.of(s.settings), random.Random(20261122), datetime.now(UTC), {}
    started = time.perf_counter()
    rows = sorted((ticket(rng, cfg, i, now, seq) for i in range(count)), key=lambda r: r["created_at"])
    with s.engine.begin() as conn:
        for i in range(0, count, 10_000):
            conn.execute(insert(Ticket), rows[i : i + 10_000])
    analyze(s.engine, "tickets")
    return time.perf_counter() - started


# ----- app and clients -------------------------------------------------------------------------------------


def make_app(tmp: Path, database_url: str) -> Any:
    """The app on REDIS_URL when set (else an embedded Redis) and `database_url`, migrated, Redis emptied."""
    return local_app(tmp, 5998, database_url=database_url)


def signed_in(app: Any, username: str, roles: list[str], department: str | None = None) -> Any:
    """A test client signed in as a new account."""
    s = app.extensions["bot"]
    with s.sessions() as db:
        account = create_account(db, username, PASSWORD, roles)
        account.department = department
        db.commit()
    return logged_in(app, username)


# ----- timing ----------------------------------------------------------------------------------------------

CASES = {  # name → (path, query); "home" is the baseline; "cold" cases empty the figures cache before each request
    "home (baseline)": ("/console/", {}),
    "queue: default": ("/console/tickets/", {}),
    "queue: status=assigned": ("/console/tickets/", {"status": "assigned"}),
    "queue: category=劳动权益": ("/console/tickets/", {"category": "劳动权益"}),
    "queue: overdue": ("/console/tickets/", {"overdue": "1"}),
    "queue: search 工资": ("/console/tickets/", {"q": "工资"}),
    "queue: search, no match, all statuses": ("/console/tickets/", {"q": "无此内容", "status": "all"}),  # a whole scan
    "dashboard: all months, cold": ("/console/ticket-reports/", {}),
    "dashboard: last 3 months, cold": ("/console/ticket-reports/", "last3"),
    "dashboard: all months, warm": ("/console/ticket-reports/", {}),
    "dashboard: last 3 months, warm": ("/console/ticket-reports/", "last3"),
}


def last_months(n: int) -> dict[str, str]:
    today = china(datetime.now(UTC))
    first = (today.year * 12 + today.month - 1) - (n - 1)
    return {"from": f"{first // 12:04d}-{first % 12 + 1:02d}", "to": today.strftime("%Y-%m")}


def ready(client: Any, path: str) -> bool:
    """The page is real (not the stub that says 建设中)."""
    response = client.get(path)
    return response.status_code == 200 and "建设中" not in response.get_data(as_text=True)[:2000]


def uncached(cache: Any) -> None:
    """Empty the dashboard's figures cache (handlers.tickets.stats.cached_report)."""
    keys = list(cache.scan_iter(CACHE_KEY + "*"))
    if keys:
        cache.delete(*keys)


def measure(app: Any, clients: dict[str, Any], requests: int) -> dict[str, dict[str, Any]]:
    """Median and p95 (ms) of each case for each client, the cases taking turns request by request."""
    runs: dict[str, Callable[[], float]] = {}
    skipped = []
    cache = app.extensions["bot"].redis
    for who, client in clients.items():
        for name, (path, query) in CASES.items():
            if not ready(client, path):
                skipped.append(f"{who} · {name}")
                continue
            q = last_months(3) if query == "last3" else query
            if name.endswith("cold"):  # the figures computed: the cache emptied first (not timed)
                runs[f"{who} · {name}"] = lambda c=client, p=path, q=q: (uncached(cache), timed(c, p, q))[1]
            elif name.endswith("warm"):  # the figures from the cache: the same page asked for just before
                runs[f"{who} · {name}"] = lambda c=client, p=path, q=q: (c.get(p, query_string=q), timed(c, p, q))[1]
            else:
                runs[f"{who} · {name}"] = lambda c=client, p=path, q=q: timed(c, p, q)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    in_turns(runs, requests, samples)
    result = summary(samples)
    for name in skipped:
        result[name] = {"skipped": "page not built yet (stub)"}
    return result


def export_once(client: Any) -> dict[str, float]:
    """One full Excel export: seconds (wall and this process's CPU), megabytes, and the peak RSS growth while it
    ran (sampled every 20 ms; the seeding's garbage collected and handed back to the OS first)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the baseline RSS reads higher
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    proc, peak, done = psutil.Process(), [0], threading.Event()
    base = proc.memory_info().rss

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get("/console/ticket-reports/export.xlsx")
    size = len(response.data)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    sampler.join()
    assert response.status_code == 200
    return {"seconds": seconds, "cpu_s": cpu, "mb": size / 1e6, "peak_rss_growth_mb": (max(peak[0], base) - base) / 1e6}


def run(database: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    app = make_app(tmp, url)
    s = app.extensions["bot"]
    seed_s = seed(app, args.tickets)
    clients = {
        "admin": signed_in(app, "root", ["admin"]),
        "caseworker": signed_in(app, "li", ["caseworker"], department="renshe"),
    }
    result = {"database": database, "tickets": args.tickets, "seed_s": seed_s}
    under_load(result, "pages", lambda: measure(app, clients, args.requests))
    if args.export:
        result["export"] = export_once(clients["admin"])
    s.engine.dispose()
    return result


def report(r: dict[str, Any]) -> None:
    print(f"\n== {r['database']}: {r['tickets']:,} tickets (seeded in {r['seed_s']:.1f} s); {load_average(r)}")
    base = {
        who: v["median_ms"] for name, v in r["pages"].items() if "baseline" in name for who in [name.split(" · ")[0]]
    }
    for name, v in r["pages"].items():
        if "skipped" in v:
            print(f"  {name:<42} skipped: {v['skipped']}")
            continue
        if "baseline" in name:
            print(timing_line(name, v, 42))
            continue
        extra = f"  (+{v['median_ms'] - base.get(name.split(' · ')[0], 0):.1f} over baseline)"
        print(timing_line(name, v, 42, extra, TARGET_MS))
    if "export" in r:
        e = r["export"]
        print(
            f"  Excel export of all tickets (admin): {e['seconds']:.1f} s ({e['cpu_s']:.1f} s CPU), {e['mb']:.1f} MB, "
            f"peak RSS +{e['peak_rss_growth_mb']:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per case")
    database_args(parser, PG_URL)
    parser.add_argument("--export", action="store_true", help="also time one full Excel export")
    args = parser.parse_args()
    results = each_database(args, run, report)
    print(f"\ntarget: median and p95 < {TARGET_MS:.0f} ms for every queue and dashboard case")
    save(OUT, results)


if __name__ == "__main__":
    main()
