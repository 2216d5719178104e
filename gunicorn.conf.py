"""gunicorn settings, read from the project folder (`gunicorn -c gunicorn.conf.py ...`): an access log of paths
only. %(U)s is the path without the query string; %(r)s, %(q)s and the referer would log a webhook's signature."""

accesslog = "-"  # stdout; the process manager keeps it
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'  # no %(r)s, %(q)s, %(f)s: they carry query strings
)


# Metrics of every worker (prometheus_client's multiprocess mode) and scrubbed gunicorn logs --------------------------
# Nothing from `bot` is imported before on_starting has set PROMETHEUS_MULTIPROC_DIR: prometheus_client picks its
# value store when first imported.
import logging  # noqa: E402 - this block is self-contained
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set: each worker writes its metrics there and /metrics sums them
_created: list[str] = []  # the metrics folder made here (removed on exit)


def _guard_logs() -> None:
    """gunicorn's own loggers (errors, access) scrub like ours: no token, query string, phone or openid."""
    from bot.core.logs import guard

    for name in ("gunicorn.error", "gunicorn.access"):
        guard(logging.getLogger(name))


def on_starting(server: Any) -> None:
    """With several workers, multiprocess metrics in PROMETHEUS_MULTIPROC_DIR (a fresh folder when unset), emptied
    first: files of an earlier run would be summed in."""
    if not os.environ.get(MULTIPROC_ENV) and server.cfg.workers > 1:  # one worker: its registry is the whole picture
        _created.append(tempfile.mkdtemp(prefix="bot-metrics-"))
        os.environ[MULTIPROC_ENV] = _created[0]
    if os.environ.get(MULTIPROC_ENV):
        folder = Path(os.environ[MULTIPROC_ENV])
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        if server.cfg.preload_app:
            server.log.warning(
                "preload_app: set %s before gunicorn starts, or /metrics shows one worker", MULTIPROC_ENV
            )
    _guard_logs()


def post_worker_init(worker: Any) -> None:
    _guard_logs()


def child_exit(server: Any, worker: Any) -> None:
    """An exited worker's counters stay in the sum; its live gauges are dropped (prometheus_client's docs)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics folder made here (one the operator set is left alone)."""
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
