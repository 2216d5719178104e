"""The pushes' scheduler jobs: one date job per active push, kept in step with the database by a periodic sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot import scheduler
from handlers.pushes.fanout import resume, started_runs
from handlers.pushes.service import jobs

if TYPE_CHECKING:
    from bot.core.services import Services

RUN_PUSH = "handlers.pushes.service:run_push"  # a push's date job (id "push-<id>"): fire it if due and fan out


def sync_pushes(services: Services) -> None:
    """Keep one date job per active push at its next run, and resume runs a crash or a pause left unfinished."""
    aps = scheduler.current()
    wanted = {f"push-{pid}": (pid, when) for pid, when in jobs(services)}
    for job in aps.get_jobs():
        if job.id.startswith("push-") and job.id not in wanted:
            job.remove()
    for job_id, (pid, when) in wanted.items():
        aps.add_job(
            scheduler.run_job,
            "date",
            run_date=when,
            args=[RUN_PUSH, pid],
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )
    for run_id in started_runs(services):
        resume(services, run_id)  # "busy" when the process fanning it out is alive
