"""Push fan-out bench: 100,000 customer-service sends to the emulator (20 ms latency), kill -9 halfway, resume, count.

Prints the figures and writes bench/out/fanout.json. The app (with the emulator) runs under gunicorn gthread workers;
the fan-out runs in a child process that is killed with SIGKILL at about half and started again. The baseline, in the
same run against the same emulator, is the least a fan-out does: as many threads as ours, each with a keep-alive
urllib3 connection, posting the same message to other users with no delivery records (one slice before ours, one
after). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent  # the project folder
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS = int(os.environ.get("FANOUT_BENCH_USERS", "100000"))  # recipients (env override for quick runs)
BASELINE = int(
    os.environ.get("FANOUT_BENCH_BASELINE", str(max(1000, min(20_000, USERS // 5))))
)  # baseline sends, 2 slices
LATENCY_MS = 20  # simulated WeChat API latency (config emulator.latency_ms)
RATE = 100_000.0  # push.rate_per_second: set high, the bench measures throughput
CONCURRENCY = int(
    os.environ.get("FANOUT_BENCH_CONCURRENCY", "128")
)  # push.concurrency: sends in flight, and the most a crash can leave uncertain
WORKERS = int(os.environ.get("FANOUT_BENCH_WORKERS", "2"))  # gunicorn gthread workers serving the emulator
THREADS = int(
    os.environ.get("FANOUT_BENCH_THREADS", "96")
)  # and threads each (>= CONCURRENCY / WORKERS: a send never queues)
KILL_AT = 0.5  # share of sends after which the fan-out is killed
TEXT = "基准测试推送"  # the push's text (and the baseline's)
OUT = ROOT / "bench" / "out" / "fanout.json"


def app() -> Any:
    """gunicorn's app: ours, with the emulator's latency set."""
    from bot import create_app

    return create_app({"emulator": {"latency_ms": LATENCY_MS}, "logging": {"level": "WARNING"}})


def child_services() -> Any:
    from bot import services_for as build_services
    from bot.core.config import load_settings

    overrides = {"push": {"rate_per_second": RATE, "concurrency": CONCURRENCY}, "logging": {"level": "WARNING"}}
    return build_services(load_settings(overrides))


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's own RSS high-water mark (VmHWM, MB): per address space, so not inherited over fork + exec."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child(run_id: int) -> None:
    """The fan-out process: run (or resume) the run, print its status, duration and peak RSS."""
    from handlers.pushes.fanout import FanOut

    services = child_services()
    began = time.monotonic()
    status = FanOut(services, run_id).execute(wait=30)
    print(json.dumps({"status": status, "seconds": time.monotonic() - began, "vmhwm_mb": peak_rss_mb()}), flush=True)


def baseline_child(path: str) -> None:
    """The baseline: CONCURRENCY threads post the push's message to the openids in `path` as fast as answers come."""
    import urllib3

    services = child_services()
    token = services.wx.access_token  # the token ours uses (a new one would retire it)
    url = services.settings.api_base_url + "message/custom/send?access_token=" + token
    openids = json.loads(Path(path).read_text())
    take, errors, lock = itertools.count(), [], threading.Lock()

    def worker() -> None:
        http = urllib3.PoolManager(maxsize=1, retries=False)
        while (i := next(take)) < len(openids):
            body = json.dumps({"touser": openids[i], "msgtype": "text", "text": {"content": TEXT}}, ensure_ascii=False)
            try:
                answer = json.loads(http.request("POST", url, body=body.encode(), timeout=10).data)
                code = answer.get("errcode")
            except (urllib3.exceptions.HTTPError, ValueError) as exc:
                code = type(exc).__name__
            if code:
                with lock:
                    errors.append(code)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    began, cpu = time.monotonic(), time.process_time()
    [t.start() for t in threads]
    [t.join() for t in threads]
    seconds, cpu = time.monotonic() - began, time.process_time() - cpu
    print(
        json.dumps(
            {
                "sends": len(openids),
                "errors": len(errors),
                "seconds": seconds,
                "sends_per_s": len(openids) / seconds,
                "client_cpu_ms_per_send": 1000 * cpu / len(openids),
                "vmhwm_mb": peak_rss_mb(),
            }
        ),
        flush=True,
    )


def seed(services: Any) -> tuple[int, list[str]]:
    """USERS followers (ours and the emulator's) who wrote just now, and a started run of a push to all of them;
    and BASELINE other emulator users (not followers) with open windows, for the baseline."""
    from sqlalchemy import insert

    from bot.core.database import Follower, utcnow
    from bot.emulator.keys import MSG_BUDGET, MSG_WINDOW, WINDOW
    from bot.emulator.state import EmulatorState
    from handlers.pushes import service as pushes
    from handlers.pushes.models import Push

    emu = EmulatorState(services.redis)
    openids, others = emu.create_users(USERS), emu.create_users(BASELINE)
    now, pipe = time.time(), services.redis.pipeline(transaction=False)
    for i, openid in enumerate(openids + others):
        pipe.hset(WINDOW.format(openid), mapping={"msg_until": now + MSG_WINDOW, "msg_left": MSG_BUDGET})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    stamp = utcnow()
    with services.sessions() as db:
        rows = [
            {"openid": o, "subscribed": True, "first_seen": stamp, "last_interaction": stamp, "tags": []}
            for o in openids
        ]
        for i in range(0, len(rows), 5000):
            db.execute(insert(Follower), rows[i : i + 5000])
        push = Push(
            title="bench",
            content_kind="text",
            body=TEXT,
            audience_kind="all",
            channel="custom",
            timing="once",
            run_at=stamp + timedelta(seconds=1),
            test_openids=[],
        )
        assert pushes.plan(db, services, push, stamp) == []
        db.add(push)
        db.commit()
        due = pushes.aware(push.next_run_at)
        push_id = push.id
    run_id = pushes.run_push(services, push_id, now=due, execute=False)
    assert run_id is not None
    return run_id, others


def sent_count(services: Any, run_id: int) -> int:
    from sqlalchemy import func, select

    from handlers.pushes.models import Delivery

    with services.sessions() as db:
        return int(db.scalar(select(func.count()).where(Delivery.run_id == run_id, Delivery.status == "sent")) or 0)


def start_child(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE, text=True)


def last_json(proc: subprocess.Popen) -> dict[str, Any]:
    out = proc.stdout.read() if proc.stdout else ""
    lines = out.strip().splitlines()
    if proc.wait() != 0 or not lines:
        raise SystemExit(f"bench child failed (exit {proc.returncode})")
    return json.loads(lines[-1])


def baseline(
    openids: list[str], env: dict[str, str], tmp: str, slice_no: int, server: subprocess.Popen
) -> dict[str, Any]:
    path = Path(tmp) / f"baseline-{slice_no}.json"
    path.write_text(json.dumps(openids))
    cpu = cpu_seconds(server.pid)
    result = last_json(start_child(["--baseline", str(path)], env))
    result["emulator_cpu_ms_per_send"] = 1000 * (cpu_seconds(server.pid) - cpu) / len(openids)  # incl. start-up
    if result["errors"]:
        print(f"warning: baseline slice {slice_no}: {result['errors']} sends answered an error", flush=True)
    return result


def watch(
    services: Any, run_id: int, proc: subprocess.Popen, stop_at: int | None, server: subprocess.Popen
) -> dict[str, Any]:
    """Poll the run's sent count (every 0.2 s), the child's memory and CPU and the emulator's CPU until the child ends
    or `stop_at` rows are sent.

    sends/s and CPU per send: from the first poll that saw a new send to the last poll that saw one, so start-up, the
    wait for a dead run's lock and the process's exit are left out (the same way in both phases).
    """
    start_n = sent_count(services, run_id)
    began, peak, first, last, hwm = time.monotonic(), 0.0, None, None, 0.0
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid))
        hwm = max(hwm, peak_rss_mb(proc.pid))
        n, cpu = sent_count(services, run_id), (cpu_seconds(proc.pid), cpu_seconds(server.pid))
        if n > (last[1] if last else start_n):
            last = (time.monotonic(), n, *cpu)
            first = first or last
        if stop_at is not None and n >= stop_at:
            hwm = max(hwm, peak_rss_mb(proc.pid))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.2)
    n = sent_count(services, run_id)
    window = last[0] - first[0] if first and last else 0.0
    sends = last[1] - first[1] if first and last else 0
    return {
        "sent_before": start_n,
        "sent_after": n,
        "seconds": time.monotonic() - began,
        "sending_seconds": window,
        "sends_in_window": sends,
        "sends_per_s": sends / window if window else 0.0,
        "client_cpu_ms_per_send": 1000 * (last[2] - first[2]) / sends if sends else 0.0,
        "emulator_cpu_ms_per_send": 1000 * (last[3] - first[3]) / sends if sends else 0.0,
        "peak_rss_mb_sampled": peak,
        "peak_rss_mb_vmhwm": hwm,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process `pid` and its children (0 when it is gone)."""
    import psutil

    total = 0.0
    try:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    except psutil.NoSuchProcess:
        pass
    return total


def rss_mb(pid: int) -> float:
    """RSS of the process `pid` and its children (MB); 0 when it is gone."""
    import psutil

    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for kid in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += kid.memory_info().rss
        return total / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def count(services: Any, run_id: int) -> dict[str, int]:
    """From the emulator's own record: duplicates, misses and uncertain sends."""
    from sqlalchemy import select

    from bot.emulator.keys import LOG
    from handlers.pushes.models import Delivery

    with services.sessions() as db:
        rows = db.execute(select(Delivery.openid, Delivery.status).where(Delivery.run_id == run_id)).all()
    uncertain = {o for o, s in rows if s == "uncertain"}
    got: list[int] = []
    for i in range(0, len(rows), 5000):
        pipe = services.redis.pipeline(transaction=False)
        for openid, _ in rows[i : i + 5000]:
            pipe.llen(LOG.format(openid))
        got += pipe.execute()
    counts = dict(zip((o for o, _ in rows), got, strict=True))
    return {
        "recipients": len(rows),
        "received_once": sum(1 for n in got if n == 1),
        "duplicates": sum(1 for o, n in counts.items() if n > 1 and o not in uncertain),
        "misses": sum(1 for o, n in counts.items() if n == 0 and o not in uncertain),
        "uncertain": len(uncertain),
        "uncertain_received": sum(1 for o in uncertain if counts[o] == 1),
        "statuses_sent": sum(1 for _, s in rows if s == "sent"),
    }


def server_kind() -> str:
    """gevent (gunicorn's gevent worker: a 20 ms sleep is a timer, not a parked thread) when installed, else gthread."""
    kind = os.environ.get("FANOUT_BENCH_SERVER", "")
    if kind:
        return kind
    try:
        import gevent  # noqa: F401
    except ImportError:
        return "gthread"
    return "gevent"


def serve(port: int, env: dict[str, str], kind: str) -> subprocess.Popen:
    """The app with the emulator under gunicorn (`kind` worker), keep-alive, WORKERS x THREADS."""
    how = (
        ["-k", "gevent", "--worker-connections", str(THREADS)]
        if kind == "gevent"
        else ["-k", "gthread", "--threads", str(THREADS)]
    )
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        *how,
        "-w",
        str(WORKERS),
        "--keep-alive",
        "30",
        "-b",
        f"127.0.0.1:{port}",
        "--pythonpath",
        f"{ROOT},{ROOT / 'bench'}",
        "--log-level",
        "warning",
        "fanout:app()",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT))
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def machine_busy() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of this bench's own process tree) so far."""
    import psutil

    t, own = psutil.cpu_times(), os.times()
    ended_children = own.children_user + own.children_system  # the killed and finished children, once waited for
    return t.user + t.nice + t.system + t.irq + t.softirq, cpu_seconds(os.getpid()) + ended_children


def main() -> None:
    from bench.webhook_env import bench_env
    from bot import services_for as build_services
    from bot.core.config import load_settings

    port, kind = 5077, server_kind()
    benv = bench_env()
    env = {
        **os.environ,
        **benv.app_env(),
        "PORT": str(port),
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{port}/emulator/cgi-bin/",
        "BOT_ENV": "development",
    }
    os.environ.update(env)
    server, services = serve(port, env, kind), None
    try:
        services = build_services(load_settings({"logging": {"level": "WARNING"}}))
        began = time.monotonic()
        run_id, others = seed(services)
        print(
            f"fan-out bench: {USERS} recipients, emulator latency {LATENCY_MS} ms, push.concurrency {CONCURRENCY}, "
            f"rate limit {RATE:.0f}/s; emulator on gunicorn {kind} {WORKERS}x{THREADS}; {os.cpu_count()} CPUs\n"
            f"redis: {benv.redis_where}; database: {benv.database_where}",
            flush=True,
        )
        print(
            f"seeded {USERS} followers and {BASELINE} baseline users in {time.monotonic() - began:.1f} s; "
            f"fan-out run {run_id}",
            flush=True,
        )
        busy0, wall0 = machine_busy(), time.monotonic()
        half = len(others) // 2
        base1 = baseline(others[:half], env, benv.tmp.name, 1, server)
        print(f"baseline slice 1: {base1['sends']} sends, {base1['sends_per_s']:.0f} sends/s", flush=True)
        one = watch(services, run_id, start_child(["--child", str(run_id)], env), int(USERS * KILL_AT), server)
        print(
            f"ours, phase 1: killed (-9) after {one['sent_after']} sent; {one['sends_per_s']:.0f} sends/s; "
            f"peak RSS {one['peak_rss_mb_vmhwm']:.0f} MB",
            flush=True,
        )
        proc = start_child(["--child", str(run_id)], env)
        two = watch(services, run_id, proc, None, server)
        two.update(last_json(proc))
        two["peak_rss_mb_vmhwm"] = max(two["peak_rss_mb_vmhwm"], two.pop("vmhwm_mb"))
        print(
            f"ours, phase 2 (restarted): {two['status']}; {two['sent_after'] - two['sent_before']} sent; "
            f"{two['sends_per_s']:.0f} sends/s; {two['seconds']:.1f} s in all (incl. the wait for the killed run's "
            f"lock); peak RSS {two['peak_rss_mb_vmhwm']:.0f} MB",
            flush=True,
        )
        base2 = baseline(others[half:], env, benv.tmp.name, 2, server)
        print(f"baseline slice 2: {base2['sends']} sends, {base2['sends_per_s']:.0f} sends/s", flush=True)
        busy1, wall = machine_busy(), time.monotonic() - wall0
        others_share = max(0.0, (busy1[0] - busy0[0]) - (busy1[1] - busy0[1])) / (wall * (os.cpu_count() or 1))
        counted = count(services, run_id)

        sends = one["sends_in_window"] + two["sends_in_window"]
        ours = sends / (one["sending_seconds"] + two["sending_seconds"])
        base = (base1["sends"] + base2["sends"]) / (base1["seconds"] + base2["seconds"])

        def per_send(key: str, a: dict[str, Any], b: dict[str, Any], n_a: int, n_b: int) -> float:
            return (a[key] * n_a + b[key] * n_b) / (n_a + n_b)

        cpu = {
            "ours_client": per_send("client_cpu_ms_per_send", one, two, one["sends_in_window"], two["sends_in_window"]),
            "ours_emulator": per_send(
                "emulator_cpu_ms_per_send", one, two, one["sends_in_window"], two["sends_in_window"]
            ),
            "baseline_client": per_send("client_cpu_ms_per_send", base1, base2, base1["sends"], base2["sends"]),
            "baseline_emulator": per_send("emulator_cpu_ms_per_send", base1, base2, base1["sends"], base2["sends"]),
        }
        peak = max(one["peak_rss_mb_vmhwm"], two["peak_rss_mb_vmhwm"])
        ok = {
            "rate": ours >= 1000,
            "memory": peak < 200,
            "duplicates": counted["duplicates"] == 0,
            "misses": counted["misses"] == 0,
            "uncertain": counted["uncertain"] <= CONCURRENCY,
            "done": two["status"] == "done",
        }
        figures = {
            "users": USERS,
            "latency_ms": LATENCY_MS,
            "concurrency": CONCURRENCY,
            "rate_per_second": RATE,
            "server": f"gunicorn {kind} {WORKERS}x{THREADS}",
            "cpus": os.cpu_count(),
            "redis": benv.redis_where,
            "database": benv.database_where,
            "baseline": [base1, base2],
            "phase_one": one,
            "phase_two": two,
            "ours_sends_per_s": ours,
            "baseline_sends_per_s": base,
            "ratio": ours / base,
            "cpu_ms_per_send": cpu,
            "peak_rss_mb": peak,
            "count": counted,
            "other_processes_cpu_share": others_share,
            "checks": ok,
        }
        print(
            f"""
                         sends/s   CPU ms per send: sender  emulator
baseline (no records)    {base:7.0f}                    {cpu["baseline_client"]:6.2f}  {cpu["baseline_emulator"]:8.2f}
ours (both phases)       {ours:7.0f}                    {cpu["ours_client"]:6.2f}  {cpu["ours_emulator"]:8.2f}
ratio ours/baseline      {ours / base:7.2f}                                    target: ours >= 1000 sends/s
peak RSS of the fan-out process: {peak:.0f} MB (target < 200)
from the emulator's record: {counted["recipients"]} recipients, {counted["received_once"]} received exactly once;
  duplicates {counted["duplicates"]}, misses {counted["misses"]} (outside the uncertain; target 0 and 0);
  uncertain {counted["uncertain"]} (at most {CONCURRENCY}), of which {counted["uncertain_received"]} had arrived
other processes used {100 * others_share:.0f}% of the machine's CPU meanwhile; load average {os.getloadavg()[0]:.1f}
{"PASS" if all(ok.values()) else "FAIL: " + ", ".join(k for k, v in ok.items() if not v)}""",
            flush=True,
        )
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(figures, indent=1, ensure_ascii=False))
        print(f"written to {OUT.relative_to(ROOT)}")
    finally:
        if services is not None:
            services.content.stop()
        server.terminate()
        server.wait(10)
        benv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=int, help="internal: fan out this run id")
    parser.add_argument("--baseline", help="internal: the baseline's sends to the openids in this JSON file")
    args = parser.parse_args()
    if args.child:
        child(args.child)
    elif args.baseline:
        baseline_child(args.baseline)
    else:
        main()
