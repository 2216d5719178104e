"""Start-up validation: every setting checked, one line naming the key at fault."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import create_app
from bot.core.config import ROOT, WECHAT_API, load_settings
from bot.core.errors import ConfigError

PROD = {
    "BOT_ENV": "production",
    "WECHAT_TOKEN": "prodtoken1",
    "WECHAT_AES_KEY": "cHJvZC1hZXMta2V5LWZvci10ZXN0cy1vbmx5LTMyYnk",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "s3cret",
    "SECRET_KEY": "k" * 32,
    "DATABASE_URL": "postgresql://u:p@db/bot",
    "REDIS_URL": "redis://cache:6379/0",
}


def test_production_settings_load():
    s = load_settings(env=PROD)
    assert s.api_base_url == WECHAT_API and s.database_url.startswith("postgresql+psycopg://")
    assert s.defaults_used == [] and not s.emulator_enabled


@pytest.mark.parametrize("key", ["WECHAT_TOKEN", "WECHAT_APPID", "WECHAT_SECRET", "SECRET_KEY"])
def test_missing_secret_in_production_names_the_key(key):
    env = {k: v for k, v in PROD.items() if k != key}
    with pytest.raises(ConfigError, match=f"^{key}: missing"):
        load_settings(env=env)


@pytest.mark.parametrize(
    "key,value,fault",
    [
        ("WECHAT_AES_KEY", "short", "must be 43 characters"),
        ("WECHAT_AES_KEY", "!" * 43, "not valid base64"),
        ("WECHAT_TOKEN", "has space", "3 to 32 letters"),
        ("WECHAT_APPID", "notanappid", "expected 'wx'"),
        ("WECHAT_API_BASE_URL", "ftp://x", "expected a URL"),
        ("REDIS_URL", "http://x", "expected a URL"),
        ("DATABASE_URL", "mysql://x", "expected a URL"),
        ("PORT", "99999", "from 1 to 65535"),
        ("BOT_ENV", "staging", "expected one of"),
    ],
)
def test_malformed_values_name_the_key(key, value, fault):
    with pytest.raises(ConfigError) as info:
        load_settings(env={**PROD, key: value})
    assert str(info.value).startswith(f"{key}: ") and fault in str(info.value)
    assert "\n" not in str(info.value)


def test_development_runs_with_nothing_set_and_says_so():
    s = load_settings(env={"BOT_ENV": "development"})
    assert {"WECHAT_TOKEN", "WECHAT_AES_KEY", "DATABASE_URL", "WECHAT_API_BASE_URL"} <= set(s.defaults_used)
    assert s.api_base_url == "http://127.0.0.1:5000/emulator/cgi-bin/" and s.redis_url is None
    assert s.emulator_enabled


@pytest.mark.parametrize(
    "override,fault",
    [
        ({"webhook": {"soft_limit": "fast"}}, "webhook.soft_limit: expected a number"),
        ({"dialog": {"ttl": 0}}, "dialog.ttl: must be at least 1"),
        ({"webhook": {"path": "wechat"}}, "webhook.path: must start with '/'"),
        ({"menu": {"button": []}}, "menu.button: expected a list of 1 to 3"),
    ],
)
def test_bad_config_yaml_values_name_the_key(override, fault):
    with pytest.raises(ConfigError, match=re.escape(fault)):
        load_settings(override, env=PROD)


@pytest.mark.parametrize(
    "override,fault",
    [
        ({"tickets": {"categories": [{"name": "住房", "tier": "soon"}]}}, "tickets.categories[0]: expected {name"),
        ({"tickets": {"tiers": {"general": {"name": "一般", "hours": 0}}}}, "tickets.tiers.general: expected {name"),
        ({"tickets": {"intake_hours": "two"}}, "tickets.intake_hours: expected a number"),
        ({"quiz": {"daily_size": 0}}, "quiz.daily_size: must be at least 1"),
        ({"push": {"concurrency": "many"}}, "push.concurrency: expected an integer"),
    ],
)
def test_a_features_bad_section_stops_start_up_naming_the_key(override, fault):
    """Each feature checks its own section (FEATURE.config_checks) before anything connects."""
    with pytest.raises(SystemExit, match="^config error: " + re.escape("config.yaml " + fault)):
        create_app({**override, "env": PROD})


def test_broken_yaml_names_the_line(tmp_path: Path):
    bad = tmp_path / "config.yaml"
    bad.write_text("webhook:\n  path: /wechat\n   bad: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yaml line \d+: invalid YAML"):
        load_settings({"config_file": str(bad)}, env=PROD)


def test_create_app_stops_with_one_line():
    with pytest.raises(SystemExit, match="^config error: WECHAT_TOKEN: missing"):
        create_app({"env": {"BOT_ENV": "production", "WECHAT_TOKEN": ""}})


def test_command_line_start_prints_one_line_and_fails():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "SECRET"))}
    env.update(BOT_ENV="production", WECHAT_AES_KEY="tooshort")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "show-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("config error: ")
