"""Core: the fire-once claim a scheduled run takes in Redis, so two schedulers started by mistake fire it once."""

from __future__ import annotations

from datetime import datetime

import redis

from bot.core.keys import RUN_KEY

CLAIM_TTL = 86400  # seconds a run's claim is remembered by default


def claim_run(client: redis.Redis, job_id: str, run_time: datetime, ttl: int = CLAIM_TTL) -> bool:
    """True for the one process that may fire this run of the job."""
    return bool(client.set(RUN_KEY.format(job_id, int(run_time.timestamp())), "1", nx=True, ex=ttl))
