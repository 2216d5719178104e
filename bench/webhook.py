"""Webhook throughput and latency: a minimal Flask + wechatpy echo (the floor) against ours, both under gunicorn."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import webhook_env as wenv

WRK_SCRIPT = wenv.BENCH / "requests.lua"
READY_TIMEOUT = 30.0  # seconds for gunicorn's worker to answer
TARGET_RATIO, AIM_RATIO, TARGET_P99_MS = 1.0, 1.2, 10.0  # ours/floor req/s; ours' p99 at 4 connections


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--requests",
        type=int,
        default=20000,
        help="pre-signed requests per server and phase, split over the slices; grown to 1.5x "
        "what the warm-up rate needs so no MsgId repeats (default 20000)",
    )
    p.add_argument("--openids", type=int, default=100, help="fixed pool of senders (default 100)")
    p.add_argument("--text", default="帮助", help="message text; 帮助 is answered by handlers/common/chat.py")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--connections", type=int, default=30, help="connections for throughput (default 30)")
    p.add_argument("--latency-connections", type=int, default=4, help="connections for the p99 run (default 4)")
    p.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per server (default 3)")
    p.add_argument("--duration", type=float, default=15, help="seconds of throughput per server (default 15)")
    p.add_argument("--latency-duration", type=float, default=10, help="seconds of the p99 run per server (default 10)")
    p.add_argument(
        "--slices",
        type=int,
        default=5,
        help="each run is cut into this many slices, alternating floor and ours, so both see the same "
        "background load (default 5)",
    )
    p.add_argument(
        "--pin",
        choices=("server", "split", "off"),
        default="server",
        help="server: gunicorn and the embedded Redis on the first CPU, wrk on the others (default); "
        "split: gunicorn alone on the first CPU, wrk and Redis on the others; off: no pinning",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness for everything the bench starts (e.g. -10 on a busy shared machine; needs root)",
    )
    p.add_argument(
        "--emulator",
        choices=("off", "on"),
        default="off",
        help="mount ours' emulator routes (off, as in production: the default)",
    )
    p.add_argument("--only", choices=("both", "floor", "ours"), default="both", help="run one server only")
    p.add_argument("--out", type=Path, default=wenv.OUT / "webhook.json", help="JSON results file")
    return p.parse_args(argv)


# ----- CPUs -------------------------------------------------------------------------------------------


@dataclass
class Pinning:
    """Which CPUs gunicorn, the embedded Redis and wrk may use (empty: any), and their niceness."""

    mode: str = "off"
    server: list[int] = field(default_factory=list)
    redis: list[int] = field(default_factory=list)
    client: list[int] = field(default_factory=list)
    nice: int = 0

    def prefix(self, cpus: list[int]) -> list[str]:
        """taskset / nice in front of a command, as configured."""
        out = ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []
        return out + (["nice", "-n", str(self.nice)] if self.nice else [])

    def describe(self) -> str:
        where = (
            "not pinned"
            if not self.server
            else (
                f"pinned ({self.mode}): gunicorn on CPU {self.server}, embedded Redis on {self.redis}, "
                f"wrk on {self.client}"
            )
        )
        return where + (f", nice {self.nice}" if self.nice else "")


def pinning(mode: str, nice: int) -> Pinning:
    """Split the CPUs: the first for the server side, the rest for the load generator."""
    cpus = sorted(os.sched_getaffinity(0))
    if mode == "off" or len(cpus) < 2 or not shutil.which("taskset"):
        return Pinning(nice=nice)
    first, rest = [cpus[0]], cpus[1:]
    return Pinning(mode, first, first if mode == "server" else rest, rest, nice)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 when there is none)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU time the whole machine has used so far (/proc/stat), in seconds."""
    with open("/proc/stat", encoding="ascii") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fh.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU time of the bench's finished children (each wrk run, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pct(seconds: float, wall: float) -> float:
    return round(100 * seconds / wall, 1) if wall > 0 else 0.0


# ----- servers ----------------------------------------------------------------------------------------


@dataclass
class Target:
    """A server to measure: its gunicorn app spec and what its replies must say."""

    name: str
    app: str
    extra: list[str]
    env: dict[str, str]
    expect: Callable[[str], bool]
    ours: bool = False  # ours has /metrics (handled messages, dedupe hits) and uses Redis


@dataclass
class Server:
    """One gunicorn master with one sync worker."""

    target: Target
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    rate: float = 0.0  # req/s seen in the warm-up: sizes the request files

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def worker(self) -> int:
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children", encoding="ascii") as fh:
                kids = [int(x) for x in fh.read().split()]
        except OSError:
            kids = []
        return kids[0] if kids else self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    """The worker is up: any HTTP answer to GET / (the master alone accepts but never answers)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def start_server(target: Target, pin: Pinning) -> Server:
    """gunicorn -w 1 -k sync for the target; returns once its worker answers HTTP."""
    port = free_port()
    log = wenv.OUT / f"webhook-gunicorn-{target.name}.log"
    cmd = [
        *pin.prefix(pin.server),
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "1",
        "-k",
        "sync",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *target.extra,
        target.app,
    ]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=wenv.ROOT, env={**os.environ, **target.env}, stdout=fh, stderr=subprocess.STDOUT
        )
    server = Server(target, port, proc, log)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{target.name}: gunicorn exited ({proc.returncode}); see {log}")
        if answers(port):
            return server
        time.sleep(0.1)
    server.stop()
    raise SystemExit(f"{target.name}: gunicorn did not answer within {READY_TIMEOUT:.0f} s; see {log}")


def ours_app(emulator: bool) -> str:
    """gunicorn's app spec for ours (gunicorn passes the literal config overrides to the factory)."""
    return "bot:create_app()" if emulator else 'bot:create_app({"emulator": {"enabled_in_development": False}})'


def targets(args: argparse.Namespace, env: wenv.BenchEnv) -> list[Target]:
    """The floor and ours, as --only selects."""
    floor = Target(
        "floor",
        "floor_app:app",
        ["--pythonpath", str(wenv.BENCH)],
        {**wenv.SECRETS, "BENCH_PATH": wenv.PATH},
        lambda content: content == args.text,
    )
    ours = Target(
        "ours",
        ours_app(args.emulator == "on"),
        [],
        env.app_env(),
        lambda content: bool(content) and content != args.text,
        ours=True,
    )
    return [t for t in (floor, ours) if args.only in ("both", t.name)]


# ----- requests, sanity checks, ours' own counts ------------------------------------------------------


@contextmanager
def request_file(server: Server, label: str, count: int, args: argparse.Namespace) -> Iterator[Path]:
    """`count` fresh requests (new MsgIds, timestamps of now) in a file for wrk, removed afterwards."""
    path = wenv.OUT / f"webhook-requests-{server.name}-{label}.txt"
    wenv.write_requests(path, wenv.requests(wenv.client(), count, wenv.openids(args.openids), args.text))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def post(port: int, target: str, body: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", target, body.encode(), {"Content-Type": "text/xml"})
        res = conn.getresponse()
        return res.status, res.read().decode()
    finally:
        conn.close()


def sanity(server: Server, args: argparse.Namespace, samples: int = 3) -> str:
    """A few real requests: 200, an encrypted reply whose signature verifies, the expected content."""
    sim = wenv.client()
    content = ""
    for target, body in wenv.requests(sim, samples, wenv.openids(args.openids), args.text):
        status, text = post(server.port, target, body)
        if status != 200 or "<Encrypt>" not in text:
            raise SystemExit(f"{server.name}: expected 200 with an encrypted reply, got {status}: {text[:200]!r}")
        content = str((sim.open_reply(text, status) or {}).get("Content", ""))
        if not server.target.expect(content):
            raise SystemExit(f"{server.name}: unexpected reply content {content[:200]!r}")
    return content


METRIC = re.compile(r"^(bot_replies_total|bot_dedupe_hits_total)(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)


def bot_counts(port: int) -> dict[str, float]:
    """Messages handled and dedupe hits so far, from ours' /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    out: dict[str, float] = {"bot_replies_total": 0.0, "bot_dedupe_hits_total": 0.0}
    for name, value in METRIC.findall(text):
        out[name] += float(value)
    return out


def script_calls(redis_url: str) -> int | None:
    """EVALSHA + EVAL calls Redis has served (INFO commandstats), or None if it cannot say."""
    import redis

    try:
        stats = redis.Redis.from_url(redis_url).info("commandstats")
    except redis.RedisError:
        return None
    return sum(int(stats.get(k, {}).get("calls", 0)) for k in ("cmdstat_evalsha", "cmdstat_eval"))


@dataclass
class Snapshot:
    """Ours' counters at one moment."""

    counts: dict[str, float]
    scripts: int | None

    @classmethod
    def take(cls, server: Server, redis_url: str) -> Snapshot:
        return cls(bot_counts(server.port), script_calls(redis_url))

    def since(self, before: Snapshot, sent: int) -> dict[str, Any]:
        """What ours says it did between two snapshots, checked against what wrk saw answered."""
        handled = int(self.counts["bot_replies_total"] - before.counts["bot_replies_total"])
        out: dict[str, Any] = {
            "handled": handled,
            "dedupe_hits": int(self.counts["bot_dedupe_hits_total"] - before.counts["bot_dedupe_hits_total"]),
        }
        if self.scripts is not None and before.scripts is not None and handled:
            out["redis_scripts_per_message"] = round((self.scripts - before.scripts) / handled, 2)
        if handled < sent:
            out["warning"] = f"wrk counted {sent} answers but ours handled only {handled} messages"
        return out


# ----- wrk --------------------------------------------------------------------------------------------


@dataclass
class Load:
    """One wrk configuration."""

    phase: str
    connections: int
    seconds: float


def run_wrk(
    server: Server, load: Load, batch: Path, args: argparse.Namespace, pin: Pinning, redis_pid: int | None
) -> dict[str, Any]:
    """One wrk run cycling through `batch`: its BENCH_JSON figures plus the CPU each side used."""
    threads = min(args.threads, load.connections)
    cmd = [
        *pin.prefix(pin.client),
        "wrk",
        f"-t{threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(load.seconds))}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{server.port}",
        "--",
        str(batch),
        str(threads),
    ]
    worker = server.worker
    redis_pid = redis_pid if server.target.ours else None
    before = cpu_seconds(worker), children_cpu(), cpu_seconds(redis_pid), busy_seconds()
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    after = cpu_seconds(worker), children_cpu(), cpu_seconds(redis_pid), busy_seconds()
    with open(wenv.OUT / f"webhook-wrk-{server.name}-{load.phase}.txt", "a", encoding="utf-8") as fh:
        fh.write(" ".join(cmd) + "\n" + res.stdout + res.stderr + "\n")
    found = re.search(r"^BENCH_JSON (.*)$", res.stdout, re.M)
    if res.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({res.returncode}): {res.stderr.strip() or res.stdout[-500:]}")
    data: dict[str, Any] = json.loads(found.group(1))
    data["rps"] = round(data["requests"] / (data["duration_us"] / 1e6), 1)
    used = [b - a for a, b in zip(before, after, strict=True)]
    data["cpu_pct"] = {
        "worker": pct(used[0], wall),
        "wrk": pct(used[1], wall),
        "redis": pct(used[2], wall),
        "everything_else": pct(max(0.0, used[3] - sum(used[:3])), wall),
    }  # background noise
    if not redis_pid:
        del data["cpu_pct"]["redis"]
    data["server_cpu_s"] = round(used[0] + used[2], 4)  # the worker's and Redis' CPU time: the server side's cost
    return data


# ----- phases -----------------------------------------------------------------------------------------


def warm_up(server: Server, args: argparse.Namespace, pin: Pinning, redis_pid: int | None) -> None:
    """Load every code path, connection and user (first message per openid writes the followers table)."""
    load = Load("warmup", args.connections, args.warmup)
    with request_file(server, "warmup", max(args.requests // 2, args.openids * 2), args) as batch:
        server.rate = run_wrk(server, load, batch, args, pin, redis_pid)["rps"]


def run_phase(
    servers: list[Server], load: Load, args: argparse.Namespace, pin: Pinning, env: wenv.BenchEnv
) -> dict[str, dict[str, Any]]:
    """`load` cut into slices that alternate between the servers (ABBA order); per-server aggregates."""
    redis_pid = getattr(env.redis_server, "pid", None)
    slice_s = load.seconds / args.slices
    snapshots = {s.name: Snapshot.take(s, env.redis_url) for s in servers if s.target.ours}
    slices: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
    for i in range(args.slices):
        for server in servers if i % 2 == 0 else servers[::-1]:
            count = max(args.requests // args.slices, int(server.rate * slice_s * 1.5))
            with request_file(server, load.phase, count, args) as batch:
                part = Load(load.phase, load.connections, slice_s)
                slices[server.name].append({**run_wrk(server, part, batch, args, pin, redis_pid), "batch": count})
    out = {name: aggregate(parts) for name, parts in slices.items()}
    for server in servers:
        if server.name in snapshots:
            out[server.name].update(
                Snapshot.take(server, env.redis_url).since(snapshots[server.name], out[server.name]["requests"])
            )
    return out


def aggregate(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over slices; latency percentiles as the median (and worst) slice."""
    requests = sum(p["requests"] for p in parts)
    seconds = sum(p["duration_us"] for p in parts) / 1e6
    errors = {k: sum(p["errors"][k] for p in parts) for k in parts[0]["errors"]}
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1),
        "p50_ms": round(statistics.median(p["latency_us"]["p50"] for p in parts) / 1000, 2),
        "p99_ms": round(statistics.median(p["latency_us"]["p99"] for p in parts) / 1000, 2),
        "p99_ms_worst_slice": round(max(p["latency_us"]["p99"] for p in parts) / 1000, 2),
        "non_2xx": errors["status"],
        "socket_errors": sum(v for k, v in errors.items() if k != "status"),
        "wraps": sum(p["wraps"] for p in parts),
        "server_cpu_us_per_request": round(sum(p["server_cpu_s"] for p in parts) / max(1, requests) * 1e6),
        "cpu_pct": {k: round(statistics.mean(p["cpu_pct"][k] for p in parts), 1) for k in parts[0]["cpu_pct"]},
        "slices": parts,
    }


# ----- results ----------------------------------------------------------------------------------------


def figures(phases: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The headline: req/s at full load, p99 at light load, the ratio (overall and median of paired slices)."""
    thr, lat = phases["throughput"], phases["latency"]
    out: dict[str, Any] = {
        name: {
            "rps": thr[name]["rps"],
            "p50_ms": lat[name]["p50_ms"],
            "p99_ms": lat[name]["p99_ms"],
            "server_cpu_us_per_request": thr[name]["server_cpu_us_per_request"],
        }
        for name in thr
    }
    if "floor" in thr and "ours" in thr:
        out["ratio"] = round(thr["ours"]["rps"] / thr["floor"]["rps"], 3)
        pairs = zip(thr["ours"]["slices"], thr["floor"]["slices"], strict=False)  # as many as both ran
        out["ratio_median_of_slices"] = round(statistics.median(o["rps"] / f["rps"] for o, f in pairs), 3)
        out["cpu_ratio"] = round(
            thr["floor"]["server_cpu_us_per_request"] / max(1, thr["ours"]["server_cpu_us_per_request"]), 3
        )
    return out


def setup_info(args: argparse.Namespace, env: wenv.BenchEnv, pin: Pinning) -> dict[str, Any]:
    return {
        "redis": env.redis_where,
        "database": env.database_where,
        "pinning": pin.describe(),
        "cpus": len(os.sched_getaffinity(0)),
        "gunicorn": "1 sync worker each",
        "text": args.text,
        "emulator_routes": args.emulator,
        "openids": args.openids,
        "wrk_threads": args.threads,
        "connections": args.connections,
        "latency_connections": args.latency_connections,
        "duration_s": args.duration,
        "latency_duration_s": args.latency_duration,
        "slices": args.slices,
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(result: dict[str, Any], out: Path) -> None:
    """The summary on stdout."""
    f, setup, phases = result["figures"], result["setup"], result["phases"]
    print(
        f"\nWebhook bench: gunicorn, {setup['gunicorn']}, safe (AES) mode, text {setup['text']!r}; {setup['pinning']}"
    )
    print(f"  ours' Redis: {setup['redis']}; database: {setup['database']}")
    for name in ("floor", "ours"):
        if name not in f:
            continue
        thr, lat = phases["throughput"][name], phases["latency"][name]
        print(
            f"  {name:5}  {f[name]['rps']:7.1f} req/s at {setup['connections']} connections | "
            f"p50 {f[name]['p50_ms']:.2f} ms, p99 {f[name]['p99_ms']:.2f} ms "
            f"(worst slice {lat['p99_ms_worst_slice']:.2f}) "
            f"at {setup['latency_connections']} | non-2xx {thr['non_2xx'] + lat['non_2xx']}, "
            f"socket errors {thr['socket_errors'] + lat['socket_errors']}"
        )
        print(
            f"         CPU % during throughput: {thr['cpu_pct']}; server-side CPU "
            f"{thr['server_cpu_us_per_request']} µs per request"
        )
        if "handled" in thr:
            print(
                f"         ours handled {thr['handled'] + lat['handled']} messages, dedupe hits "
                f"{thr['dedupe_hits'] + lat['dedupe_hits']}, "
                f"Redis scripts per message {thr.get('redis_scripts_per_message')}"
            )
            for warning in filter(None, (thr.get("warning"), lat.get("warning"))):
                print(f"         WARNING: {warning}")
    if "ratio" in f:
        print(
            f"  ratio ours/floor {f['ratio']:.3f} (median of paired slices {f['ratio_median_of_slices']:.3f}; "
            f"by server CPU per request {f['cpu_ratio']:.3f}); target >= {TARGET_RATIO}, aim {AIM_RATIO}: "
            f"{verdict(f['ratio'] >= TARGET_RATIO)}"
        )
    if "ours" in f:
        print(
            f"  ours p99 at {setup['latency_connections']} connections {f['ours']['p99_ms']:.2f} ms; "
            f"target < {TARGET_P99_MS} ms: {verdict(f['ours']['p99_ms'] < TARGET_P99_MS)}"
        )
    noise = max(p[n]["cpu_pct"]["everything_else"] for p in phases.values() for n in p)
    if noise > 10:
        print(f"  note: other processes used up to {noise:.0f}% of a CPU during the runs; figures are noisy")
    print(f"  JSON: {out}")


def clear_outputs() -> None:
    """wrk logs of an earlier run (each run appends its slices)."""
    for path in wenv.OUT.glob("webhook-wrk-*.txt"):
        path.unlink()


def run(args: argparse.Namespace, env: wenv.BenchEnv, pin: Pinning) -> dict[str, dict[str, dict[str, Any]]]:
    """Start the servers, check and warm them up, then the throughput and latency phases."""
    servers: list[Server] = []
    try:
        for target in targets(args, env):
            servers.append(start_server(target, pin))
        redis_pid = getattr(env.redis_server, "pid", None)
        for server in servers:
            print(
                f"[{time.strftime('%H:%M:%S')}] {server.name}: sample reply {sanity(server, args)[:40]!r}...",
                flush=True,
            )
            warm_up(server, args, pin, redis_pid)
        phases = {}
        for load in (
            Load("throughput", args.connections, args.duration),
            Load("latency", args.latency_connections, args.latency_duration),
        ):
            print(
                f"[{time.strftime('%H:%M:%S')}] {load.phase}: {load.connections} connections, "
                f"{args.slices} slices per server",
                flush=True,
            )
            phases[load.phase] = run_phase(servers, load, args, pin, env)
        return phases
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found on PATH")
    wenv.OUT.mkdir(parents=True, exist_ok=True)
    clear_outputs()
    pin = pinning(args.pin, args.nice)
    env = wenv.bench_env()
    try:
        if env.redis_server is not None:
            if pin.redis:
                os.sched_setaffinity(env.redis_server.pid, pin.redis)
            if pin.nice:
                os.setpriority(os.PRIO_PROCESS, env.redis_server.pid, pin.nice)
        phases = run(args, env, pin)
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "figures": figures(phases),
            "targets": {"ratio_min": TARGET_RATIO, "ratio_aim": AIM_RATIO, "ours_p99_ms_max": TARGET_P99_MS},
            "setup": setup_info(args, env, pin),
            "phases": phases,
        }
    finally:
        env.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report(result, args.out)


if __name__ == "__main__":
    main()
