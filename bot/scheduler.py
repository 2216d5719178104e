"""The scheduler: APScheduler with a persistent job store, one active process (a Redis lease), runs fire once."""

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
from bot.core.keys import HEARTBEAT_KEY, LEASE_KEY
from bot.core.services import Services

log = logging.getLogger(__name__)
_services: Services | None = None  # job functions take only ids and find services here
_scheduler: BackgroundScheduler | None = None  # the APScheduler instance, for jobs that manage jobs


def claim_run(job_id: str, run_time: datetime, ttl: int = 86400) -> bool:
    """True for the one process that may fire this run of the job (two schedulers by mistake fire once)."""
    assert _services is not None
    return claims.claim_run(_services.redis, job_id, run_time, ttl)


def review_reminders() -> None:
    """Daily job: review reminders (see handlers.quiz.reminders)."""
    from handlers.quiz.reminders import send_review_reminders

    assert _services is not None
    send_review_reminders(_services)


def run_push(push_id: int) -> None:
    """A push's job (id "push-<id>"): fire it if due and fan the run out (see handlers.pushes.service)."""
    from handlers.pushes.service import run_push as fire

    assert _services is not None
    fire(_services, push_id)


def sync_pushes() -> None:
    """Keep one date job per active push at its next run, and resume runs a crash or a pause left unfinished."""
    from handlers.pushes.fanout import resume, started_runs
    from handlers.pushes.service import JOB_ID, jobs

    assert _services is not None and _scheduler is not None
    wanted = {JOB_ID.format(pid): (pid, when) for pid, when in jobs(_services)}
    for job in _scheduler.get_jobs():
        if job.id.startswith(JOB_ID.format("")) and job.id not in wanted:
            job.remove()
    for job_id, (pid, when) in wanted.items():
        _scheduler.add_job(
            run_push, "date", run_date=when, args=[pid], id=job_id, replace_existing=True, misfire_grace_time=None
        )
    for run_id in started_runs(_services):
        resume(_services, run_id)  # "busy" when the process fanning it out is alive


def escalate_tickets() -> None:
    """Tell staff about tickets past a deadline (see handlers.tickets.notify)."""
    from handlers.tickets.notify import escalate

    assert _services is not None
    escalate(_services)


def fetch_ticket_media() -> None:
    """Copy ticket images and voice still missing (a WeChat hiccup, a crash) before their media ids expire."""
    from handlers.tickets.media import retry_pending

    assert _services is not None
    retry_pending(_services)


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
        from handlers.pushes.config import PushConfig
        from handlers.quiz.config import QuizConfig
        from handlers.tickets.config import TicketConfig

        self.aps.start(paused=True)
        self.aps.add_job(heartbeat, "interval", seconds=60, id="heartbeat", replace_existing=True)
        hour, minute = QuizConfig.of(self.services.settings).reminder_time.split(":")
        self.aps.add_job(
            review_reminders, "cron", hour=int(hour), minute=int(minute), id="review-reminders", replace_existing=True
        )
        self.aps.add_job(
            sync_pushes,
            "interval",
            seconds=PushConfig.of(self.services.settings).sync_interval,
            id="sync-pushes",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )
        self.aps.add_job(
            escalate_tickets,
            "interval",
            id="ticket-escalation",
            replace_existing=True,
            seconds=TicketConfig.of(self.services.settings).escalation_interval,
        )
        self.aps.add_job(
            fetch_ticket_media,
            "interval",
            id="ticket-media",
            replace_existing=True,
            seconds=TicketConfig.of(self.services.settings).media_fetch_interval,
        )
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
