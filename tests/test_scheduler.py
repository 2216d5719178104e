"""The scheduler: one active process through a Redis lease; each run claimed once; jobs persist."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.database import utcnow
from bot.scheduler import HEARTBEAT_KEY, LEASE_KEY, Scheduler, claim_run
from handlers.pushes.models import PushRun
from tests.helpers import poll
from tests.push_helpers import get, got, make, members


def test_two_schedulers_one_lease(services):
    a, b = Scheduler(services), Scheduler(services)
    try:
        assert a.hold_lease() and not b.hold_lease()
        assert a.hold_lease()  # renewing keeps it
        services.redis.delete(LEASE_KEY)  # a crashed holder's lease expires
        assert b.hold_lease() and not a.hold_lease()
    finally:
        a.aps.shutdown(wait=False) if a.aps.running else None
        b.aps.shutdown(wait=False) if b.aps.running else None


def test_a_run_is_claimed_once(services):
    Scheduler(services)
    when = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
    assert claim_run("push-1", when) and not claim_run("push-1", when)
    assert claim_run("push-1", when.replace(hour=21))


def test_started_scheduler_persists_jobs_and_ticks(services):
    sched = Scheduler(services)
    sched.start()
    try:
        poll(lambda: services.redis.get(LEASE_KEY) == sched.token)
        assert sched.aps.get_job("heartbeat") is not None
        sched.aps.get_job("heartbeat").modify(next_run_time=datetime.now(UTC))
        poll(lambda: services.redis.get(HEARTBEAT_KEY))
    finally:
        sched.stop()
    assert services.redis.get(LEASE_KEY) is None


@pytest.mark.config(push={"sync_interval": 1, "quiet_hours": ["00:00", "00:00"]})  # no quiet hours: any time of day
def test_live_scheduler_delivers_a_push_scheduled_seconds_ahead_once(live, services, emu):
    """The real path: the scheduler started in-process → sync_pushes adds the push's date job → run_push fans out."""
    people = members(emu, services, 3)
    sched = Scheduler(services)
    sched.start()
    try:
        poll(lambda: services.redis.get(LEASE_KEY) == sched.token)
        push_id = make(services, run_at=utcnow() + timedelta(seconds=3))  # saved after start, as the console does
        poll(lambda: sched.aps.get_job(f"push-{push_id}") is not None, timeout=5)  # the next sync picks it up
        poll(lambda: all(got(emu, p, "custom") for p in people), timeout=15)
        poll(lambda: get(services, push_id).status == "done")
        time.sleep(2.5)  # two more syncs: nothing fires again
        with services.sessions() as db:
            runs = db.scalars(select(PushRun).where(PushRun.push_id == push_id)).all()
        assert [len(got(emu, p, "custom")) for p in people] == [1, 1, 1]
        assert [(r.status, r.targeted) for r in runs] == [("done", 3)]
        assert [e["body"]["text"]["content"] for e in got(emu, people[0], "custom")] == ["今晚八点支部学习"]
        assert sched.aps.get_job(f"push-{push_id}") is None  # done: the sync removed its job
    finally:
        sched.aps.remove_all_jobs()
        sched.stop()


def test_started_scheduler_escalates_overdue_tickets(services):
    from handlers.tickets.models import StaffNotice
    from tests.ticket_helpers import account, new_ticket

    admin = account(services, "admin", "admin")
    new_ticket(services, now=utcnow() - timedelta(hours=3))  # nobody accepted it within the intake hours
    sched = Scheduler(services)
    sched.start()
    try:
        poll(lambda: services.redis.get(LEASE_KEY) == sched.token)
        sched.aps.get_job("ticket-escalation").modify(next_run_time=datetime.now(UTC))
        with services.sessions() as db:
            poll(lambda: db.scalars(select(StaffNotice.account_id)).all() == [admin])
    finally:
        sched.stop()


def test_started_scheduler_retries_ticket_media(services, emu, live):
    from handlers.tickets.models import TicketMedia
    from tests.factories import PNG
    from tests.ticket_helpers import new_ticket

    media_id = emu.add_media("image", PNG, "image/png")
    new_ticket(services, now=utcnow(), media=[{"type": "image", "media_id": media_id}])  # its first fetch never ran
    sched = Scheduler(services)
    sched.start()
    try:
        poll(lambda: services.redis.get(LEASE_KEY) == sched.token)
        sched.aps.get_job("ticket-media").modify(next_run_time=datetime.now(UTC))

        def copied() -> bytes | None:
            with services.sessions() as db:
                return db.scalar(select(TicketMedia.data))

        assert poll(copied) == PNG
    finally:
        sched.stop()
