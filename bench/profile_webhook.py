"""Where ours spends a request, in one process: floor vs ours, webhook vs pipeline vs Redis, then cProfile."""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import webhook_env as wenv
from werkzeug.test import EnvironBuilder

from bot import create_app
from bot.inbound import wire as wechat
from bot.inbound.message import Message

Environ = dict[str, Any]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-n", "--requests", type=int, default=300, help="requests per timed repeat (default 300)")
    p.add_argument("--repeats", type=int, default=20, help="timed repeats; the fastest counts (default 20)")
    p.add_argument("--openids", type=int, default=100, help="size of the sender pool (default 100)")
    p.add_argument("--text", default="帮助", help="message text (default 帮助: common.show_help)")
    p.add_argument("--cpu", type=int, default=0, help="pin this process and the embedded Redis to one CPU (-1: no)")
    p.add_argument("--emulator", action="store_true", help="mount the emulator's routes (off, as in production)")
    p.add_argument("--profile", action="store_true", help="also print a cProfile of ours over --requests")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative...)")
    p.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    return p.parse_args()


def environs(n: int, users: list[str], text: str) -> list[Environ]:
    """WSGI environs of `n` distinct signed safe-mode requests, built ahead of time."""
    out = []
    for target, body in wenv.requests(wenv.client(), n, users, text):
        path, qs = target.split("?", 1)
        out.append(
            EnvironBuilder(
                path=path, query_string=qs, method="POST", data=body.encode(), content_type="text/xml"
            ).get_environ()
        )
    return out


def caller(wsgi: Callable[..., Any]) -> Callable[[Environ], None]:
    """Call a WSGI app as gunicorn's sync worker does; anything but 200 with an encrypted body is an error."""

    def call(environ: Environ) -> None:
        status: list[str] = []
        body = b"".join(wsgi(environ, lambda s, h, e=None: status.append(s)))
        if not status or not status[0].startswith("200") or b"<Encrypt>" not in body:
            raise RuntimeError(f"unexpected answer {status} {body[:120]!r}")

    return call


@dataclass
class Case:
    """One thing to time: items made fresh each repeat, one call per item, optional set-up and tear-down."""

    label: str
    make: Callable[[], list[Any]]
    run: Callable[[Any], Any]
    enter: Callable[[], None] = lambda: None
    leave: Callable[[], None] = lambda: None
    best: float = float("inf")

    def once(self) -> None:
        items = self.make()
        self.enter()
        try:
            t0 = time.perf_counter()
            for item in items:
                self.run(item)
            self.best = min(self.best, (time.perf_counter() - t0) / len(items) * 1e6)
        finally:
            self.leave()


def fastest(cases: list[Case], repeats: int) -> None:
    """Each case's fastest repeat (the least disturbed); repeats interleave the cases so all see the same noise."""
    for _ in range(repeats):
        for case in cases:
            case.once()


class RoundTrips:
    """Counts the commands sent on the client's kind of connection (the pipeline's per-thread ones included)."""

    def __init__(self, client: Any) -> None:
        self.calls: dict[str, int] = {}
        self.cls = client.connection_pool.connection_class
        self.original = self.cls.send_command
        counts, original = self.calls, self.original

        def counted(conn: Any, *args: Any, **kwargs: Any) -> Any:
            counts[str(args[0])] = counts.get(str(args[0]), 0) + 1
            return original(conn, *args, **kwargs)

        self.cls.send_command = counted

    def stop(self) -> None:
        self.cls.send_command = self.original


def pin(cpu: int, redis_pid: int | None) -> None:
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
        if redis_pid:
            os.sched_setaffinity(redis_pid, {cpu})


def messages(n: int, users: list[str], text: str) -> list[Message]:
    """Parsed messages with fresh MsgIds, for calling the pipeline directly."""
    ids = itertools.count(time.time_ns())
    fields = {k: str(v) for k, v in wenv.client().build(users[0], "text", Content=text).items()}  # as parsed XML
    base = wechat.to_message(fields)
    return [replace(base, openid=users[i % len(users)], msg_id=str(next(ids))) for i in range(n)]


def main() -> None:
    args = parse_args()
    env = wenv.bench_env()
    try:
        pin(args.cpu, getattr(env.redis_server, "pid", None))
        measure(args, env)
    finally:
        env.close()


def measure(args: argparse.Namespace, env: wenv.BenchEnv) -> None:
    import floor_app

    app = create_app(
        {"env": env.app_env(), "var_dir": env.tmp.name, "emulator": {"enabled_in_development": args.emulator}}
    )
    s = app.extensions["bot"]
    users = wenv.openids(args.openids)
    ours, floor = caller(app.wsgi_app), caller(floor_app.app.wsgi_app)
    for environ in environs(max(args.openids * 2, 300), users, args.text):  # warm-up: every user touched
        ours(environ)
    ctx = app.app_context()
    ctx.push()
    trips = RoundTrips(s.redis)
    for msg in messages(args.requests, users, args.text):
        canned = s.pipeline.handle(msg)
    trips.stop()
    batch = lambda: environs(args.requests, users, args.text)  # noqa: E731
    cases = [
        Case("floor (Flask + wechatpy echo)", batch, floor),
        Case("ours, whole request", batch, ours),
        *split_cases(s.pipeline, canned, ours, batch, lambda: messages(args.requests, users, args.text)),
    ]
    fastest(cases, args.repeats)
    ctx.pop()
    print(
        f"in-process µs per request, fastest of {args.repeats} interleaved repeats x {args.requests} "
        f"(Redis: {env.redis_where}; DB: {env.database_where}; CPU {args.cpu if args.cpu >= 0 else 'any'})"
    )
    for case in cases:
        print(f"  {case.label:46} {case.best:7.0f}")
    per = {k: round(v / args.requests, 2) for k, v in sorted(trips.calls.items())}
    print(f"Redis round trips per message: {sum(trips.calls.values()) / args.requests:.2f} {per}")
    if args.profile:
        profile(batch(), ours, args)


def split_cases(
    pipe: Any,
    canned: str | None,
    ours: Callable[[Environ], None],
    batch: Callable[[], list[Environ]],
    msgs: Callable[[], list[Message]],
) -> list[Case]:
    """Ours in parts: the webhook with a canned pipeline; the pipeline alone, with and without Redis."""
    handle, begin, finish, fast = pipe.handle, pipe.begin, pipe.finish, pipe.finish_fast

    def stub_pipeline() -> None:
        pipe.handle = lambda msg, started=None: canned

    def stub_redis() -> None:
        pipe.begin = lambda keys, args, client=None: [
            1,
            1,
            "",
            0,
        ]  # first attempt, lock taken, no dialog, seen recently
        pipe.finish = lambda keys, args, client=None: "pending"
        pipe.finish_fast = lambda keys, args: None

    def restore() -> None:
        pipe.handle, pipe.begin, pipe.finish, pipe.finish_fast = handle, begin, finish, fast

    return [
        Case("ours, webhook alone (pipeline stubbed)", batch, ours, stub_pipeline, restore),
        Case("ours, Pipeline.handle alone", msgs, handle),
        Case("ours, Pipeline.handle, Redis scripts stubbed", msgs, handle, stub_redis, restore),
    ]


def profile(items: list[Environ], call: Callable[[Environ], None], args: argparse.Namespace) -> None:
    prof = cProfile.Profile()
    prof.enable()
    for environ in items:
        call(environ)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
