"""Fan-out of one push run: a delivery row per recipient written before the send, marked after; resumable."""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from redis.exceptions import LockError
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from bot.core.database import Follower, utcnow
from bot.core.services import Services
from bot.outbound.outbox import SendResult
from handlers.pushes.config import PushConfig
from handlers.pushes.content import (
    Payload,
    audience_openids,
    custom_body,
    is_dynamic,
    mass_text,
    needs_library,
    payload,
    recipients,
    template_data,
)
from handlers.pushes.models import Delivery, Push, PushRun

LOCK = "push:run:{}:lock"  # Redis lock held by the one process fanning out a run
LOCK_TTL = 10  # seconds; a killed fan-out's lock frees itself after this, then the run can resume
LOCK_RENEW = 1.0  # seconds: a claim renews the lock when it was last renewed longer ago than this (< LOCK_TTL)
STOP_CHECK = 0.5  # seconds between looks at the run's status (pause / cancel in mid-send)
SLEEP_MIN = 0.002  # seconds: the limiter lets starts run this far ahead of (or behind) schedule before sleeping
DEPTH = 4  # chunks in flight at once; chunk size = concurrency // DEPTH, so at most `concurrency` rows are 'sending'
INSERT_CHUNK = 1000  # delivery rows inserted per statement
SKIP_KINDS = frozenset({"unsubscribed", "blocked", "refused", "window"})  # SendResult kinds that mean "skipped"
FINISHED = frozenset({"sent", "skipped", "failed", "uncertain"})  # delivery statuses that never change again
MASS_SENDING = "mass:sending"  # run.note while a mass send's API call is in flight
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    """How fast and how safely per-user sends go (config push:)."""

    rate: float  # sends started per second at most
    concurrency: int  # sends in flight at once; also the most rows left 'sending' by a crash
    resend_uncertain: bool  # after a crash: send the in-flight ones again (True) or report them (False)
    templates: dict[str, str]

    @classmethod
    def of(cls, services: Services) -> Policy:
        cfg = PushConfig.of(services.settings)
        return cls(cfg.rate_per_second, cfg.concurrency, cfg.resend_uncertain, cfg.templates)


class Limiter:
    """Spaces send starts at `rate` per second (the main thread waits)."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.next = time.monotonic()

    def wait(self) -> None:
        """Sleeps only once ahead by SLEEP_MIN: one syscall per few sends at high rates, the same average rate."""
        now = time.monotonic()
        if self.next - now > SLEEP_MIN:
            time.sleep(self.next - now)
        self.next = max(self.next, now - SLEEP_MIN) + self.gap


class FanOut:
    """Runs one PushRun to the end (or to pause / cancel); any process may resume it after a crash."""

    def __init__(self, services: Services, run_id: int, policy: Policy | None = None) -> None:
        self.services = services
        self.run_id = run_id
        self.policy = policy or Policy.of(services)
        self.checked = 0.0
        self.stopped: str | None = None
        self.renewed = 0.0  # monotonic time the lock was last taken or renewed
        table = Delivery.__table__
        # Claim: the next pending rows become 'sending' in one statement (UPDATE ... RETURNING, SQLite >= 3.35).
        self.claim_sql = (
            table.update()
            .where(
                table.c.id.in_(
                    select(table.c.id)
                    .where(table.c.run_id == run_id, table.c.status == "pending")
                    .order_by(table.c.id)
                    .limit(bindparam("n"))
                )
            )
            .values(status="sending", updated_at=bindparam("now"))
            .returning(table.c.id, table.c.openid)
        )
        # Outcomes: one statement per distinct (status, reason, errcode) in a chunk; nearly always one ("sent").
        self.outcome_sql = (
            table.update()
            .where(table.c.id.in_(bindparam("ids", expanding=True)))
            .values(
                status=bindparam("st"), reason=bindparam("why"), errcode=bindparam("code"), updated_at=bindparam("now")
            )
        )

    # Entry ---------------------------------------------------------------------------
    def execute(self, wait: float = 0.0) -> str:
        """Fan the run out; returns its status afterwards ("busy" when another process holds it)."""
        lock = self.services.redis.lock(
            LOCK.format(self.run_id), timeout=LOCK_TTL, blocking_timeout=wait or None, blocking=wait > 0
        )
        if not lock.acquire():
            return "busy"
        self.lock, self.renewed = lock, time.monotonic()
        try:
            return self.run_locked()
        finally:
            try:
                lock.release()
            except LockError:  # the lock expired while we ran: nothing to free
                log.warning("run %s: lock already gone", self.run_id)

    def run_locked(self) -> str:
        with self.services.sessions() as db:
            run, push = db.get(PushRun, self.run_id), None
            if run is None or run.status not in ("running",):
                return run.status if run else "missing"
            push = db.get(Push, run.push_id)
            db.expunge_all()
        self.push, self.run = push, run
        if push.channel == "mass":
            self.mass_send()
        else:
            if not run.materialized:
                self.materialize()
            self.recover_in_flight()
            self.send_all()
        return self.finish()

    # Recipients --------------------------------------------------------------------------
    def materialize(self) -> None:
        """Write every recipient's row (skips decided now), then mark the run materialized: sends start after."""
        now = utcnow()
        with self.services.sessions() as db:
            db.execute(Delivery.__table__.delete().where(Delivery.run_id == self.run_id))  # a crash mid-way: start over
            rows = [
                {
                    "run_id": self.run_id,
                    "openid": o,
                    "status": "skipped" if why else "pending",
                    "reason": why,
                    "updated_at": now,
                }
                for o, why in recipients(db, self.push, now)
            ]
            for i in range(0, len(rows), INSERT_CHUNK):
                db.execute(insert(Delivery), rows[i : i + INSERT_CHUNK])
            db.execute(update(PushRun).where(PushRun.id == self.run_id).values(materialized=True, targeted=len(rows)))
            db.commit()
        log.info("run %s: %d recipients written", self.run_id, len(rows))

    def recover_in_flight(self) -> None:
        """Rows left 'sending' by a crash: uncertain (reported) or, by policy, pending again (resent)."""
        values = (
            {"status": "pending"} if self.policy.resend_uncertain else {"status": "uncertain", "reason": "in_flight"}
        )
        with self.services.sessions() as db:
            done = db.execute(
                update(Delivery)
                .where(Delivery.run_id == self.run_id, Delivery.status == "sending")
                .values(updated_at=utcnow(), **values)
            )
            db.commit()
        if done.rowcount:
            log.warning(
                "run %s: %d sends were in flight at a crash: %s",
                self.run_id,
                done.rowcount,
                "sending again" if self.policy.resend_uncertain else "reported as uncertain, not resent",
            )

    # Sending ------------------------------------------------------------------------------
    def send_all(self) -> None:
        """Claim small chunks (status 'sending'), send on the pool, write outcomes; at most `concurrency` in flight.

        A finished chunk's outcomes and the next chunk's claim share one transaction (committed before any of the
        claimed rows is sent), so a crash leaves at most `concurrency` rows 'sending'.
        """
        depth = min(DEPTH, self.policy.concurrency)
        chunk = max(1, self.policy.concurrency // depth)
        limiter = Limiter(self.policy.rate)
        static = None if is_dynamic(self.push) else payload(self.push, self.library(), self.run.episode_no)
        inflight: deque[list[tuple[int, Future]]] = deque()
        with ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="fanout") as pool:
            done: list[tuple[int, Future]] | None = None
            while not self.should_stop():
                if len(inflight) >= depth:
                    done = inflight.popleft()
                batch = self.claim(chunk, done)
                done = None
                if not batch:
                    break
                futures = []
                for row_id, openid in batch:
                    limiter.wait()
                    futures.append((row_id, pool.submit(self.send_one, openid, static)))
                inflight.append(futures)
            if done:
                self.write(done)
            while inflight:
                self.write(inflight.popleft())
        if self.stopped == "cancelled":
            self.close_pending("cancelled")

    def library(self) -> Any:
        """content/ when the message needs it (loading it and its search index costs memory)."""
        return self.services.content.current() if needs_library(self.push) else None

    def claim(self, size: int, done: list[tuple[int, Future]] | None = None) -> list[tuple[int, str]]:
        """The next pending rows, marked 'sending' and committed before any of them is sent.

        `done`: a sent chunk whose outcomes are written in the same transaction (waits for its sends first).
        """
        outcomes = self.outcomes(done) if done else []
        self.keep_lock()  # before claiming: a lost lock must not leave rows 'sending'
        with self.services.engine.begin() as conn:
            self.write_outcomes(conn, outcomes)
            rows = conn.execute(self.claim_sql, {"n": size, "now": utcnow()}).all()
        return sorted((r.id, r.openid) for r in rows)

    def keep_lock(self) -> None:
        """Renew the run's lock when it was renewed more than LOCK_RENEW ago (raises LockError if it was lost).

        Renewed within LOCK_RENEW, it still has at least LOCK_TTL - LOCK_RENEW seconds: no one else can hold it.
        """
        now = time.monotonic()
        if now - self.renewed >= LOCK_RENEW:
            self.lock.extend(LOCK_TTL, replace_ttl=True)
            self.renewed = now

    def send_one(self, openid: str, static: Payload | None) -> tuple[str, str | None, int | None]:
        """One per-user send → (status, reason, errcode)."""
        message = static
        if message is None:
            try:
                with self.services.sessions() as db:
                    message = payload(self.push, self.services.content.current(), self.run.episode_no, db, openid)
            except SQLAlchemyError:
                log.exception("run %s: could not compose the message", self.run_id)
                return "failed", "database", None
        if message is None:
            return "skipped", "nothing_left", None
        try:
            if self.push.channel == "template":
                result = self.services.outbox.send_template(
                    openid,
                    self.policy.templates.get(self.push.content_kind, ""),
                    template_data(message),
                    url=message.url,
                )
            else:
                result = self.services.outbox.send_custom(openid, custom_body(message))
        except Exception:  # noqa: BLE001  (one recipient's failure must not stop the run)
            # The outbox turns WeChat's answers and transport errors into a SendResult; what escapes it comes before
            # the request (the access token from Redis), so nothing went out: failed, not uncertain.
            log.exception("run %s: send failed before reaching WeChat", self.run_id)
            return "failed", "error", None
        return outcome(result)

    @staticmethod
    def outcomes(futures: list[tuple[int, Future]]) -> list[tuple[int, tuple[str, str | None, int | None]]]:
        """One chunk's results as (row id, (status, reason, errcode)) (waits for its sends)."""
        return [(row_id, future.result()) for row_id, future in futures]

    def write_outcomes(self, conn: Any, outcomes: list[tuple[int, tuple[str, str | None, int | None]]]) -> None:
        """Rows with the same outcome in one UPDATE."""
        groups: dict[tuple[str, str | None, int | None], list[int]] = {}
        for row_id, result in outcomes:
            groups.setdefault(result, []).append(row_id)
        now = utcnow()
        for (status, reason, errcode), ids in groups.items():
            conn.execute(self.outcome_sql, {"ids": ids, "st": status, "why": reason, "code": errcode, "now": now})

    def write(self, futures: list[tuple[int, Future]]) -> None:
        """Outcomes of one chunk, in one commit."""
        outcomes = self.outcomes(futures)
        with self.services.engine.begin() as conn:
            self.write_outcomes(conn, outcomes)

    def should_stop(self) -> bool:
        """Every STOP_CHECK seconds: has an editor paused or cancelled the run?"""
        now = time.monotonic()
        if now - self.checked < STOP_CHECK:
            return False
        self.checked = now
        with self.services.sessions() as db:
            status = db.scalar(select(PushRun.status).where(PushRun.id == self.run_id))
        if status != "running":
            self.stopped = status
            log.info("run %s: %s in mid-send", self.run_id, status)
        return status != "running"

    def close_pending(self, reason: str) -> None:
        with self.services.sessions() as db:
            db.execute(
                update(Delivery)
                .where(Delivery.run_id == self.run_id, Delivery.status == "pending")
                .values(status="skipped", reason=reason, updated_at=utcnow())
            )
            db.commit()

    # Mass -----------------------------------------------------------------------------------
    def mass_send(self) -> None:
        """One sendall by tag or to all; clientmsgid makes a resend after a crash harmless (45065 = already sent)."""
        if self.run.mass_msg_id:
            return
        message = payload(self.push, self.library(), self.run.episode_no)
        tag = int(self.push.audience_ref) if self.push.audience_kind == "tag" else None
        self.set_run(note=MASS_SENDING)
        result = self.services.outbox.send_mass_text(
            mass_text(message), tag, client_msg_id=f"push{self.push.id}run{self.run_id}"
        )
        msg_id = str((result.response or {}).get("msg_id", "")) or None
        note = (
            "已群发"
            if result.ok and result.kind == "sent"
            else ("重复的 clientmsgid：此前已发出" if result.ok else f"群发失败：{result.kind} {result.errcode or ''}")
        )
        self.set_run(mass_msg_id=msg_id, note=note, targeted=self.mass_targeted(tag))

    def mass_targeted(self, tag: int | None) -> int:
        with self.services.sessions() as db:
            ids = audience_openids(db, self.push).subquery()
            return int(
                db.scalar(
                    select(func.count())
                    .select_from(Follower)
                    .join(ids, ids.c.openid == Follower.openid)
                    .where(Follower.subscribed.is_(True))
                )
                or 0
            )

    # End -------------------------------------------------------------------------------------
    def set_run(self, **values: Any) -> None:
        with self.services.sessions() as db:
            db.execute(update(PushRun).where(PushRun.id == self.run_id).values(**values))
            db.commit()

    def finish(self) -> str:
        """Done when nothing is pending or sending (a paused run stays paused)."""
        with self.services.sessions() as db:
            run = db.get(PushRun, self.run_id)
            left = db.scalar(
                select(func.count()).where(Delivery.run_id == self.run_id, Delivery.status.in_(("pending", "sending")))
            )
            if run.status == "running" and not left:
                run.status, run.finished_at = "done", utcnow()
            elif run.status == "cancelled" and run.finished_at is None:
                run.finished_at = utcnow()
            db.commit()
            return run.status


def outcome(result: SendResult) -> tuple[str, str | None, int | None]:
    """A SendResult as a delivery row's (status, reason, errcode)."""
    if result.ok:
        return "sent", None if result.kind == "sent" else result.kind, result.errcode
    if result.kind in SKIP_KINDS:
        return "skipped", result.kind, result.errcode
    return "failed", result.kind, result.errcode


def started_runs(services: Services) -> list[int]:
    """Runs still 'running' (a crash left them, or they are running now): the scheduler tries to resume them."""
    with services.sessions() as db:
        return list(db.scalars(select(PushRun.id).where(PushRun.status == "running")))


def resume(services: Services, run_id: int, wait: float = 0.0) -> str:
    """Continue a run after a crash or a pause (its lock must be free)."""
    return FanOut(services, run_id).execute(wait=wait)
