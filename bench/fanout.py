"""Push fan-out bench: 100,000 customer-service sends to the emulator (20 ms latency), kill -9 halfway, resume, count.

Prints the figures and writes bench/out/fanout.json. The app (with the emulator) runs under gunicorn gthread workers;
the fan-out runs in a child process that is killed with SIGKILL at about half and started again.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the project folder
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS = int(os.environ.get("FANOUT_BENCH_USERS", "100000"))  # recipients (env override for quick runs)
LATENCY_MS = 20  # simulated WeChat API latency (config emulator.latency_ms)
RATE = 100_000.0  # push.rate_per_second: set high, the bench measures throughput
CONCURRENCY = int(os.environ.get("FANOUT_BENCH_CONCURRENCY", "64"))  # push.concurrency: worker threads, and the most sends a crash can leave uncertain
WORKERS = int(os.environ.get("FANOUT_BENCH_WORKERS", "2"))  # gunicorn gthread workers
THREADS = int(os.environ.get("FANOUT_BENCH_THREADS", "64"))  # and threads each (2 x 64 beat 3 x 48 on 2 cores: fewer processes to schedule)
KILL_AT = 0.5  # share of sends after which the fan-out is killed
OUT = ROOT / "bench" / "out" / "fanout.json"


def app() -> Any:
    """gunicorn's app: ours, with the emulator's latency set."""
    from bot import create_app

    return create_app({"emulator": {"latency_ms": LATENCY_MS}, "logging": {"level": "WARNING"}})


def child_services() -> Any:
    from bot.config import load_settings
    from bot.extensions import build_services

    overrides = {"push": {"rate_per_second": RATE, "concurrency": CONCURRENCY}, "logging": {"level": "WARNING"}}
    return build_services(load_settings(overrides))


def child(run_id: int) -> None:
    """The fan-out process: run (or resume) the run, print its status and duration.

    Peak memory is sampled by the parent (psutil RSS of this process): ru_maxrss would carry the bench parent's
    high-water mark over fork + exec, so it is not this process's own figure.
    """
    from bot.fanout import FanOut

    services = child_services()
    began = time.monotonic()
    status = FanOut(services, run_id).execute(wait=30)
    print(json.dumps({"status": status, "seconds": time.monotonic() - began}), flush=True)


def seed(env: Any, services: Any) -> int:
    """USERS followers (ours and the emulator's) who wrote just now, and a started run of a push to all of them."""
    from sqlalchemy import insert

    from bot import push as pushes
    from bot.emulator.keys import MSG_BUDGET, MSG_WINDOW, WINDOW
    from bot.emulator.state import EmulatorState
    from bot.models import Follower, utcnow
    from bot.push_models import Push

    emu = EmulatorState(services.redis)
    openids = emu.create_users(USERS)
    now, pipe = time.time(), services.redis.pipeline(transaction=False)
    for i, openid in enumerate(openids):
        pipe.hset(WINDOW.format(openid), mapping={"msg_until": now + MSG_WINDOW, "msg_left": MSG_BUDGET})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    stamp = utcnow()
    with services.sessions() as db:
        rows = [{"openid": o, "subscribed": True, "first_seen": stamp, "last_interaction": stamp, "tags": []} for o in openids]
        for i in range(0, len(rows), 5000):
            db.execute(insert(Follower), rows[i:i + 5000])
        push = Push(title="bench", content_kind="text", body="基准测试推送", audience_kind="all", channel="custom",
                    timing="once", run_at=stamp + timedelta(seconds=1), test_openids=[])
        assert pushes.plan(db, services, push, stamp) == []
        db.add(push)
        db.commit()
        due = pushes.aware(push.next_run_at)
        push_id = push.id
    run_id = pushes.run_push(services, push_id, now=due, execute=False)
    assert run_id is not None
    return run_id


def sent_count(services: Any, run_id: int) -> int:
    from sqlalchemy import func, select

    from bot.push_models import Delivery

    with services.sessions() as db:
        return int(db.scalar(select(func.count()).where(Delivery.run_id == run_id, Delivery.status == "sent")) or 0)


def start_child(run_id: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--child", str(run_id)], env=env, stdout=subprocess.PIPE, text=True)


def phase_one(services: Any, run_id: int, env: dict[str, str]) -> dict[str, Any]:
    """Run the fan-out until about half is sent, then SIGKILL it; RSS sampled meanwhile."""
    import psutil

    proc, began, peak, first = start_child(run_id, env), time.monotonic(), 0.0, None
    while True:
        if not psutil.pid_exists(proc.pid):
            break
        peak = max(peak, rss_mb(proc.pid))
        n = sent_count(services, run_id)
        if n and first is None:
            first = (time.monotonic(), n)
        if n >= USERS * KILL_AT or proc.poll() is not None:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end, n = time.monotonic(), sent_count(services, run_id)
    rate = (n - first[1]) / (end - first[0]) if first and end > first[0] else 0.0
    return {"sent_before_kill": n, "seconds": end - began, "sends_per_s": rate, "peak_rss_mb_sampled": peak}


def rss_mb(pid: int) -> float:
    """RSS of the process `pid` and its children (MB); 0 when it is gone."""
    import psutil

    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for kid in proc.children(recursive=True):
            try:
                total += kid.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def phase_two(run_id: int, env: dict[str, str]) -> dict[str, Any]:
    """Resume the run to the end; RSS of the fan-out process sampled meanwhile (every 0.1 s)."""
    proc, peak = start_child(run_id, env), 0.0
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid))
        time.sleep(0.1)
    out = proc.stdout.read() if proc.stdout else ""
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb_sampled"] = peak
    return result


def count(services: Any, run_id: int) -> dict[str, int]:
    """From the emulator's own record: duplicates, misses and uncertain sends."""
    from sqlalchemy import select

    from bot.emulator.keys import LOG
    from bot.push_models import Delivery

    with services.sessions() as db:
        rows = db.execute(select(Delivery.openid, Delivery.status).where(Delivery.run_id == run_id)).all()
    uncertain = {o for o, s in rows if s == "uncertain"}
    got: list[int] = []
    for i in range(0, len(rows), 5000):
        pipe = services.redis.pipeline(transaction=False)
        for openid, _ in rows[i:i + 5000]:
            pipe.llen(LOG.format(openid))
        got += pipe.execute()
    counts = dict(zip((o for o, _ in rows), got))
    return {"recipients": len(rows), "received_once": sum(1 for n in got if n == 1),
            "duplicates": sum(1 for o, n in counts.items() if n > 1 and o not in uncertain),
            "misses": sum(1 for o, n in counts.items() if n == 0 and o not in uncertain),
            "uncertain": len(uncertain), "uncertain_received": sum(1 for o in uncertain if counts[o] == 1),
            "statuses_sent": sum(1 for _, s in rows if s == "sent")}


def serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(WORKERS), "--threads", str(THREADS),
           "-b", f"127.0.0.1:{port}", "--pythonpath", f"{ROOT},{ROOT / 'bench'}", "--log-level", "warning", "fanout:app()"]
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT))
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    from bench.webhook_env import bench_env
    from bot.config import load_settings
    from bot.extensions import build_services

    port = 5077
    benv = bench_env()
    env = {**os.environ, **benv.app_env(), "PORT": str(port), "WECHAT_API_BASE_URL": f"http://127.0.0.1:{port}/emulator/cgi-bin/",
           "BOT_ENV": "development"}
    os.environ.update(env)
    server = serve(port, env)
    try:
        services = build_services(load_settings({"logging": {"level": "WARNING"}}))
        began = time.monotonic()
        run_id = seed(benv, services)
        print(f"seeded {USERS} followers in {time.monotonic() - began:.1f} s; fan-out run {run_id}", flush=True)
        one = phase_one(services, run_id, env)
        print(f"killed (-9) after {one['sent_before_kill']} sent; {one['sends_per_s']:.0f} sends/s; "
              f"peak RSS {one['peak_rss_mb_sampled']:.0f} MB", flush=True)
        two = phase_two(run_id, env)
        print(f"resumed: {two['status']} in {two['seconds']:.1f} s (incl. waiting for the dead lock); "
              f"peak RSS {two['peak_rss_mb_sampled']:.0f} MB", flush=True)
        figures = {"users": USERS, "latency_ms": LATENCY_MS, "concurrency": CONCURRENCY, "gunicorn": f"{WORKERS}x{THREADS} gthread",
                   "cpus": os.cpu_count(), "phase_one": one, "phase_two": two, "count": count(services, run_id)}
        print(json.dumps(figures["count"], indent=1))
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
    finally:
        server.terminate()
        server.wait(10)
        benv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int, help="internal: fan out this run id")
    args = parser.parse_args()
    child(args.child) if args.child else main()
