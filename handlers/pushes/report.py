"""A push run's report for the console: targeted, each delivery status with its reasons, WeChat's mass-send counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.core.keys import WXJOB_KEY
from bot.core.services import Services
from handlers.pushes.fanout import FINISHED
from handlers.pushes.models import Delivery, PushRun


def report(services: Services, run_id: int) -> dict[str, Any]:
    """Targeted, and each status with its reasons; for a mass send WeChat's MASSSENDJOBFINISH counts."""
    with services.sessions() as db:
        run = db.get(PushRun, run_id)
        rows = db.execute(
            select(Delivery.status, Delivery.reason, func.count())
            .where(Delivery.run_id == run_id)
            .group_by(Delivery.status, Delivery.reason)
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for status, reason, n in rows:
        counts.setdefault(status, {})[reason or ""] = int(n)
    totals = {
        s: sum(counts.get(s, {}).values()) for s in ("pending", "sending", "sent", "skipped", "failed", "uncertain")
    }
    job_key = WXJOB_KEY.format("masssendjobfinish", run.mass_msg_id) if run and run.mass_msg_id else ""
    job = services.redis.hgetall(job_key) if job_key else {}
    done = sum(totals[s] for s in FINISHED)
    return {
        "run_id": run_id,
        "status": run.status if run else "missing",
        "targeted": run.targeted if run else 0,
        "totals": totals,
        "reasons": counts,
        "done": done,
        "note": run.note if run else None,
        "mass": {k: job.get(k) for k in ("Status", "TotalCount", "FilterCount", "SentCount", "ErrorCount")}
        if job
        else None,
        "mass_msg_id": run.mass_msg_id if run else None,
    }
