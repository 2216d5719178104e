"""Under `gunicorn -w 2` (gunicorn.conf.py), /metrics counts the requests of every worker, whichever answers it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bot.core.config import DEV_SECRETS, ROOT
from bot.emulator.client import SimClient, new_openid
from tests.production_helpers import closed_port

REQUESTS = 40  # webhook messages sent, 8 at a time
READY = 60.0  # seconds for both workers to boot
COUNTED = re.compile(r'^bot_webhook_requests_total\{outcome="ok"\} (\d+(?:\.\d+)?)$', re.M)


@pytest.fixture
def gunicorn(redis_url: str, database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """gunicorn -w 2 on the app (testing settings), started from the project folder as the README says."""
    port = closed_port()
    access = tmp_path / "access.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "SECRET", "PROMETHEUS"))}
    env.update(BOT_ENV="testing", REDIS_URL=redis_url, DATABASE_URL=database_url, PORT=str(port))
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--access-logfile",
        str(access),
        "--access-logformat",
        "%(p)s %(U)s",
        "--log-level",
        "warning",
        f'bot:create_app({{"var_dir": "{tmp_path / "var"}"}})',
    ]
    with open(tmp_path / "err.log", "wb") as err:  # the child keeps its own copy of the file
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, base, tmp_path)
        yield base, access
    finally:
        proc.terminate()
        proc.wait(20)


def wait_ready(proc: subprocess.Popen, base: str, tmp_path: Path) -> None:
    deadline = time.monotonic() + READY
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / "err.log").read_text()
        try:
            if requests.get(base + "/metrics", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError("gunicorn did not answer in time")


def served(access: Path, skip: int = 0) -> list[tuple[str, str]]:
    """(worker pid, path) of each request in the access log, after the first `skip`."""
    rows = [line.split() for line in access.read_text().splitlines() if line.strip()]
    return [(row[0], row[1]) for row in rows[skip:]]


def metrics_from_both_workers(base: str, access: Path) -> list[float]:
    """The webhook count of /metrics answers, asked in parallel until both workers have answered some."""
    before = len(served(access))
    values: list[float] = []
    with ThreadPoolExecutor(4) as pool:
        for _ in range(25):
            values += pool.map(lambda _: counted(base), range(4))
            if len({pid for pid, path in served(access, before) if path == "/metrics"}) == 2:
                return values
    raise AssertionError("one worker answered every /metrics request")


def counted(base: str) -> float:
    found = COUNTED.search(requests.get(base + "/metrics", timeout=5).text)
    return float(found.group(1)) if found else 0.0


def test_metrics_sum_every_worker(gunicorn):
    base, access = gunicorn
    wx = SimClient(
        base + "/wechat",
        DEV_SECRETS["WECHAT_TOKEN"],
        DEV_SECRETS["WECHAT_AES_KEY"],
        DEV_SECRETS["WECHAT_APPID"],
        mode="safe",
    )

    def send(openid: str) -> bool:
        return wx.post(wx.build(openid, "text", Content="帮助")).ok

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(send, [new_openid() for _ in range(REQUESTS)]))
    values = metrics_from_both_workers(base, access)
    assert values == [REQUESTS] * len(values)  # each worker reports every worker's requests
