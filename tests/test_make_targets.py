"""The everyday make targets run with the development settings `make run` uses (as the README shows them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.core.config import ROOT

PASSWORD = "correct horse 42 staple"


def make(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    """`make ARGS` in the project with this interpreter's venv (-o install: nothing is reinstalled here)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "SECRET", "METRICS"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", "install", f"BIN={Path(sys.executable).parent}", *args],
        cwd=ROOT,
        env={**base, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )  # no terminal: the password prompt reads stdin


def test_make_show_config_runs_in_development_and_masks_credentials():
    env = {
        "REDIS_URL": "redis://:redis-pass-123@127.0.0.1:1/0",
        "DATABASE_URL": "postgresql://bot:db-pass-456@127.0.0.1:1/bot",
    }
    proc = make("show-config", env=env)
    assert proc.returncode == 0, proc.stderr
    shown: dict[str, Any] = json.loads(proc.stdout)
    assert shown["env"] == "development"
    assert shown["redis_url"] == "redis://***@127.0.0.1:1/0" and shown["database_url"].endswith(
        "://***@127.0.0.1:1/bot"
    )
    assert "redis-pass-123" not in proc.stdout + proc.stderr and "db-pass-456" not in proc.stdout + proc.stderr
    assert shown["metrics_token"] == "unset"


def test_plain_show_config_is_production_and_says_what_is_missing():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "SECRET"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "show-config"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0 and "config error: WECHAT_TOKEN: missing" in proc.stderr


def test_make_create_admin_prompts_and_creates_the_account(redis_url: str, tmp_path: Path):
    env = {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'admin.db'}"}
    proc = make("create-admin", "ADMIN=wang", env=env, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "已创建管理员「wang」" in proc.stdout and PASSWORD not in proc.stdout
    again = make("create-admin", "ADMIN=wang", env=env, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.returncode != 0 and "已存在" in again.stderr


def test_make_shell_opens_the_app_in_development(redis_url: str, tmp_path: Path):
    env = {"REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'shell.db'}"}
    proc = make(
        "shell", env=env, stdin="from bot.console.web import services\nprint('env is', services().settings.env)\n"
    )
    assert proc.returncode == 0 and "env is development" in proc.stdout


@pytest.mark.parametrize("target", ["chat", "shell", "create-admin", "show-config"])
def test_every_everyday_target_is_listed_for_development(target: str):
    proc = subprocess.run(
        ["make", "-n", "-o", "install", target], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0 and "BOT_ENV=${BOT_ENV:-development}" in proc.stdout
