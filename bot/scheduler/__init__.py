"""The scheduler: APScheduler with a persistent job store, one active process (a Redis lease); jobs from features."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.core import claims
from bot.core.clock import TZ
from bot.core.feature import resolve
from bot.core.keys import HEARTBEAT_KEY, LEASE_KEY
from bot.core.services import Services

log = logging.getLogger(__name__)
_services: Services | None = None  # job functions take only ids and find services here
_scheduler: BackgroundScheduler | None = None  # the APScheduler instance, for jobs that manage jobs


def claim_run(job_id: str, run_time: datetime, ttl: int = 86400) -> bool:
    """True for the one process that may fire this run of the job (two schedulers by mistake fire once)."""
    assert _services is not None
    return claims.claim_run(_services.redis, job_id, run_time, ttl)


def run_job(func: str, *args: object) -> None:
    """Every feature job's entry point: `func` ("module:function") called with the services and `args`."""
    assert _services is not None
    resolve(func)(_services, *args)


def current() -> BackgroundScheduler:
    """The process's APScheduler, for feature jobs that manage jobs (the pushes' sync)."""
    assert _scheduler is not None
    return _scheduler


def heartbeat() -> None:
    """A job that proves the scheduler runs."""
    assert _services is not None
    _services.redis.set(HEARTBEAT_KEY, datetime.now(UTC).isoformat(), ex=600)


class Scheduler:
    """Wraps BackgroundScheduler; jobs run only while this process holds the lease."""

    def __init__(self, services: Services) -> None:
        global _services, _scheduler  # noqa: PLW0603 (jobs find the one scheduler of the process here)
        _services = services
        cfg = services.settings.scheduler
        self.services = services
        self.lease_ttl = cfg.lease_ttl
        self.token = uuid.uuid4().hex
        self.stopping = threading.Event()
        self.aps = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=services.engine)},
            job_defaults={"coalesce": True, "misfire_grace_time": cfg.misfire_grace, "max_instances": 1},
            timezone=TZ.key,  # schedules are written in China time
        )
        self.aps.add_listener(self.missed, EVENT_JOB_MISSED)
        _scheduler = self.aps

    def missed(self, event: JobExecutionEvent) -> None:
        """A run later than the grace: reported, never fired late."""
        log.warning(
            "scheduled run of %s at %s was missed (past the grace time)", event.job_id, event.scheduled_run_time
        )

    def hold_lease(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        r = self.services.redis
        if r.set(LEASE_KEY, self.token, nx=True, ex=self.lease_ttl):
            return True
        if r.get(LEASE_KEY) == self.token:
            r.expire(LEASE_KEY, self.lease_ttl)
            return True
        return False

    def start(self, block: bool = False) -> None:
        """Wait for the lease, start firing jobs, keep the lease renewed (pausing if it is lost)."""
        self.aps.start(paused=True)
        self.aps.add_job(heartbeat, "interval", seconds=60, id="heartbeat", replace_existing=True)
        for feature in self.services.features:
            for job in feature.jobs:
                trigger = dict(job.trigger(self.services.settings))
                self.aps.add_job(run_job, args=[job.func], id=job.id, replace_existing=True, **trigger)
        thread = threading.Thread(target=self.lease_loop, name="scheduler-lease", daemon=True)
        thread.start()
        if block:
            thread.join()

    def lease_loop(self) -> None:
        active = False
        while not self.stopping.is_set():
            held = self.hold_lease()
            if held and not active:
                log.info("scheduler active (lease held)")
                self.aps.resume()
            elif active and not held:
                log.warning("scheduler lease lost: pausing")
                self.aps.pause()
            active = held
            self.stopping.wait(self.lease_ttl / 3)

    def stop(self) -> None:
        self.stopping.set()
        if self.services.redis.get(LEASE_KEY) == self.token:
            self.services.redis.delete(LEASE_KEY)
        self.aps.shutdown(wait=False)


def run_forever(services: Services, sleep: Callable[[float], None] = time.sleep) -> None:
    """The scheduler as its own process (`python -m bot scheduler`)."""
    sched = Scheduler(services)
    sched.start()
    try:
        while True:
            sleep(3600)
    except KeyboardInterrupt:
        sched.stop()
