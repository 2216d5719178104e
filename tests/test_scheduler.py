"""The scheduler: one active process through a Redis lease; each run claimed once; jobs persist."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.conftest import poll
from bot.scheduler import HEARTBEAT_KEY, LEASE_KEY, Scheduler, claim_run


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
    when = datetime(2026, 11, 21, 20, 0, tzinfo=timezone.utc)
    assert claim_run("push-1", when) and not claim_run("push-1", when)
    assert claim_run("push-1", when.replace(hour=21))


def test_started_scheduler_persists_jobs_and_ticks(services):
    sched = Scheduler(services)
    sched.start()
    try:
        poll(lambda: services.redis.get(LEASE_KEY) == sched.token)
        assert sched.aps.get_job("heartbeat") is not None
        sched.aps.get_job("heartbeat").modify(next_run_time=datetime.now(timezone.utc))
        poll(lambda: services.redis.get(HEARTBEAT_KEY))
    finally:
        sched.stop()
    assert services.redis.get(LEASE_KEY) is None
