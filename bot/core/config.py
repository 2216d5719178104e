"""Start-up: load config.yaml and the environment into one validated Settings object."""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from bot.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]  # the project folder
VAR = ROOT / "var"  # embedded Redis and SQLite data in development
WECHAT_API = "https://api.weixin.qq.com/cgi-bin/"  # production default for WECHAT_API_BASE_URL
ENVS = ("development", "production", "testing")  # accepted BOT_ENV values
# Development defaults: only ever used when BOT_ENV is development or testing.
DEV_SECRETS = {
    "WECHAT_TOKEN": "devtoken",
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECHAT_APPID": "wxdev0000000000001",
    "WECHAT_SECRET": "devsecret",
    "SECRET_KEY": "dev-secret-key-not-for-production",
}

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """Everything the app reads at start-up; `raw` keeps config.yaml's sections."""

    env: str
    token: str
    aes_key: str | None
    appid: str
    secret: str
    api_base_url: str
    redis_url: str | None
    database_url: str
    secret_key: str
    port: int
    raw: dict[str, Any] = field(default_factory=dict)
    defaults_used: list[str] = field(default_factory=list)
    metrics_token: str | None = None  # METRICS_TOKEN: a bearer token that opens /metrics

    def section(self, name: str) -> dict[str, Any]:
        """One section of config.yaml (webhook, dialog, ...)."""
        return self.raw.get(name, {})

    @property
    def emulator_enabled(self) -> bool:
        return self.env != "production" and bool(self.section("emulator").get("enabled_in_development"))


def load_yaml(path: Path) -> dict[str, Any]:
    """Read config.yaml; a syntax error names the file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return data


def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `over` into a copy of `base`."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# (section, key, type, minimum) of every numeric setting that must be checked.
NUMBERS = [
    ("webhook", "timestamp_window", int, 1),
    ("webhook", "max_body", int, 1024),
    ("webhook", "soft_limit", float, 0.1),
    ("webhook", "retry_wait", float, 0),
    ("webhook", "wechat_timeout", float, 0.1),
    ("dialog", "ttl", int, 1),
    ("dialog", "lock_timeout", int, 1),
    ("dialog", "lock_wait", float, 0),
    ("dedupe", "ttl", int, 1),
    ("followers", "touch_interval", int, 0),
    ("outbox", "timeout", float, 0.1),
    ("outbox", "workers", int, 1),
    ("outbox", "backoff", float, 0),
    ("redis", "connect_timeout", float, 0.05),
    ("redis", "timeout", float, 0.05),
    ("database", "busy_timeout", float, 0.05),
    ("database", "statement_timeout", float, 0),
    ("database", "connect_timeout", int, 1),
    ("database", "pool_timeout", float, 0.05),
    ("health", "timeout", float, 0.05),
    ("scheduler", "lease_ttl", int, 3),
    ("scheduler", "misfire_grace", int, 1),
    ("server", "trusted_proxies", int, 0),
    ("emulator", "latency_ms", int, 0),
    ("emulator", "failure_rate", float, 0),
    ("quiz", "daily_size", int, 1),
    ("quiz", "special_size", int, 1),
    ("quiz", "challenge_size", int, 1),
    ("quiz", "repeat_after_days", int, 0),
    ("quiz", "challenge_seconds", float, 1),
    ("quiz", "min_answer_seconds", float, 0),
    ("quiz", "review_size", int, 1),
    ("push", "rate_per_second", float, 0.1),
    ("push", "concurrency", int, 1),
    ("push", "sync_interval", int, 1),
    ("push", "preview_limit", int, 1),
    ("tickets", "intake_hours", float, 0.1),
    ("tickets", "draft_days", int, 1),
    ("tickets", "description_max", int, 10),
    ("tickets", "media_max", int, 0),
    ("tickets", "escalation_interval", int, 5),
    ("tickets", "duplicate_days", int, 1),
    ("tickets", "media_fetch_interval", int, 10),
    ("console", "login_max_failures", int, 1),
    ("console", "login_address_max_failures", int, 1),
    ("console", "login_global_max_failures", int, 1),
    ("console", "login_window", int, 1),
    ("console", "password_checks", int, 1),
    ("console", "password_check_wait", float, 0),
    ("console", "bind_max_attempts", int, 1),
    ("console", "bind_global_max_attempts", int, 1),
    ("console", "bind_window", int, 1),
]


def check_numbers(raw: dict[str, Any]) -> None:
    """Each numeric setting exists and is a number at or above its minimum."""
    for section, key, kind, minimum in NUMBERS:
        value = raw.get(section, {}).get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind is int and not isinstance(value, int))
        ):
            raise ConfigError(
                f"config.yaml {section}.{key}: expected {'an integer' if kind is int else 'a number'}, got {value!r}"
            )
        if value < minimum:
            raise ConfigError(f"config.yaml {section}.{key}: must be at least {minimum}, got {value!r}")
    path = raw.get("webhook", {}).get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"config.yaml webhook.path: must start with '/', got {path!r}")


def check_accepted_modes(webhook: dict[str, Any]) -> None:
    """webhook.accepted_modes: a non-empty list of aes and plain (absent: aes only)."""
    modes = webhook.get("accepted_modes", ["aes"])
    if not isinstance(modes, list) or not modes or any(m not in ("aes", "plain") for m in modes):
        raise ConfigError(
            f"config.yaml webhook.accepted_modes: expected a non-empty list of aes and plain, got {modes!r}"
        )


def check_menu(menu: Any) -> None:
    """The menu follows WeChat's shape: 1-3 buttons, at most 5 sub-buttons, keys on clicks."""
    buttons = (menu or {}).get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ConfigError("config.yaml menu.button: expected a list of 1 to 3 buttons")
    for i, button in enumerate(buttons):
        subs = button.get("sub_button") or []
        if len(subs) > 5:
            raise ConfigError(f"config.yaml menu.button[{i}]: at most 5 sub_button entries, got {len(subs)}")
        for j, sub in enumerate(subs or [button]):
            if not sub.get("name") or (sub.get("type") == "click" and not sub.get("key")):
                raise ConfigError(
                    f"config.yaml menu.button[{i}].sub_button[{j}]: needs a name, and a key for type click"
                )


def check_tickets(cfg: dict[str, Any]) -> None:
    """Ticket tiers, categories and departments: each category names a known tier, ids are unique."""
    tiers = cfg.get("tiers") or {}
    for key, tier in tiers.items():
        if (
            not isinstance(tier, dict)
            or not tier.get("name")
            or not isinstance(tier.get("hours"), (int, float))
            or tier["hours"] <= 0
        ):
            raise ConfigError(f"config.yaml tickets.tiers.{key}: expected {{name: ..., hours: a positive number}}")
    for i, cat in enumerate(cfg.get("categories") or []):
        if not isinstance(cat, dict) or not cat.get("name") or cat.get("tier") not in tiers:
            raise ConfigError(
                f"config.yaml tickets.categories[{i}]: expected {{name: ..., tier: one of {', '.join(tiers)}}}"
            )
    seen: set[str] = set()
    for i, dep in enumerate(cfg.get("departments") or []):
        if not isinstance(dep, dict) or not dep.get("id") or not dep.get("name") or dep["id"] in seen:
            raise ConfigError(
                f"config.yaml tickets.departments[{i}]: expected {{id: unique, name: ..., supervisor: username}}"
            )
        seen.add(dep["id"])


def check_aes_key(value: str) -> str:
    """The EncodingAESKey is 43 base64 characters decoding to 32 bytes."""
    if len(value) != 43:
        raise ConfigError(f"WECHAT_AES_KEY: must be 43 characters (the EncodingAESKey), got {len(value)}")
    try:
        key = base64.b64decode(value + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("WECHAT_AES_KEY: not valid base64 (letters, digits, + and / only)") from None
    if len(key) != 32:
        raise ConfigError("WECHAT_AES_KEY: does not decode to a 32-byte key")
    return value


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    """A URL with one of the accepted schemes."""
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise ConfigError(
            f"{name}: expected a URL starting with {' or '.join(s + '://' for s in schemes)}, got {value!r}"
        )
    return value


DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")  # accepted DATABASE_URL schemes


def read_env(env: Mapping[str, str], name: str, dev: bool, used: list[str]) -> str:
    """A secret from the environment; in development a default, noted in `used`."""
    value = env.get(name, "").strip()
    if value:
        return value if dev else not_a_dev_secret(name, value)
    if dev and name in DEV_SECRETS:
        used.append(name)
        return DEV_SECRETS[name]
    raise ConfigError(f"{name}: missing; set it in the environment (or BOT_ENV=development for development defaults)")


def database_url(env: Mapping[str, str], used: list[str], dev: bool = True) -> str:
    """DATABASE_URL, or SQLite under var/ in development; postgres:// is normalised to psycopg 3."""
    value = env.get("DATABASE_URL", "").strip()
    if not value and not dev:
        raise ConfigError(
            "DATABASE_URL: missing; production needs a database server (e.g. postgresql://user:password@host/bot)"
        )
    if not value:
        used.append("DATABASE_URL")
        return f"sqlite:///{VAR / 'bot.core.migrations'}"
    if value.startswith(("postgres://", "postgresql://")):
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    return check_url("DATABASE_URL", value, DB_SCHEMES)


def port(env: Mapping[str, str]) -> int:
    """PORT, default 5000."""
    value = env.get("PORT", "5000").strip() or "5000"
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"PORT: expected a number from 1 to 65535, got {value!r}")
    return int(value)


def load_settings(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from config.yaml, the environment and test overrides; raise ConfigError on the first fault."""
    env = dict(os.environ if env is None else env)
    overrides = dict(overrides or {})
    env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
    name = env.get("BOT_ENV", "production").strip() or "production"
    if name not in ENVS:
        raise ConfigError(f"BOT_ENV: expected one of {', '.join(ENVS)}, got {name!r}")
    dev = name != "production"
    raw = merge(load_yaml(Path(overrides.pop("config_file", ROOT / "config.yaml"))), overrides)
    check_numbers(raw)
    check_menu(raw.get("menu"))
    check_accepted_modes(raw.get("webhook") or {})
    check_tickets(raw.get("tickets") or {})
    check_server(raw.get("server") or {})
    used: list[str] = []
    aes = env.get("WECHAT_AES_KEY", "").strip() or (DEV_SECRETS["WECHAT_AES_KEY"] if dev else "")
    if dev and not env.get("WECHAT_AES_KEY", "").strip():
        used.append("WECHAT_AES_KEY")
    if aes and not dev:
        not_a_dev_secret("WECHAT_AES_KEY", aes)
    port_ = port(env)
    api = env.get("WECHAT_API_BASE_URL", "").strip()
    if not api:
        api = f"http://127.0.0.1:{port_}/emulator/cgi-bin/" if dev else WECHAT_API
        used.extend(["WECHAT_API_BASE_URL"] if dev else [])
    return Settings(
        env=name,
        token=check_token(read_env(env, "WECHAT_TOKEN", dev, used)),
        aes_key=check_aes_key(aes) if aes else None,
        appid=check_appid(read_env(env, "WECHAT_APPID", dev, used)),
        secret=read_env(env, "WECHAT_SECRET", dev, used),
        api_base_url=check_url("WECHAT_API_BASE_URL", api.rstrip("/") + "/", ("http", "https")),
        redis_url=redis_url(env, dev),
        database_url=database_url(env, used, dev),
        secret_key=check_secret_key(read_env(env, "SECRET_KEY", dev, used), dev),
        metrics_token=metrics_token(env, dev),
        port=port_,
        raw=raw,
        defaults_used=used,
    )


def check_token(value: str) -> str:
    """WeChat's Token is 3-32 letters and digits."""
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", value):
        raise ConfigError("WECHAT_TOKEN: must be 3 to 32 letters or digits (as in the WeChat admin console)")
    return value


def check_appid(value: str) -> str:
    """An AppID looks like wx followed by 16 hex characters (emulator ids are accepted too)."""
    if not re.fullmatch(r"wx[0-9A-Za-z]{14,30}", value):
        raise ConfigError(f"WECHAT_APPID: expected 'wx' and 16 characters, got {value!r}")
    return value


# Production refuses development defaults ------------------------------------------------------------------------
MIN_SECRET_KEY = 32  # bytes of SECRET_KEY production needs (it signs console sessions)
MIN_METRICS_TOKEN = 16  # characters of METRICS_TOKEN


def not_a_dev_secret(name: str, value: str) -> str:
    """In production, a secret must not be any of the published development values."""
    if value in DEV_SECRETS.values():
        raise ConfigError(f"{name}: a development default, published in the source; set a value of your own")
    return value


def check_secret_key(value: str, dev: bool) -> str:
    """SECRET_KEY: in production at least MIN_SECRET_KEY bytes (make one: `python -c 'import secrets;
    print(secrets.token_urlsafe(48))'`)."""
    size = len(value.encode("utf-8"))
    if not dev and size < MIN_SECRET_KEY:
        raise ConfigError(f"SECRET_KEY: at least {MIN_SECRET_KEY} bytes in production, got {size}")
    return value


def redis_url(env: Mapping[str, str], dev: bool) -> str | None:
    """REDIS_URL; in development None (the embedded Redis), in production required."""
    value = env.get("REDIS_URL", "").strip()
    if not value and not dev:
        raise ConfigError("REDIS_URL: missing; production needs a Redis server (e.g. redis://:password@host:6379/0)")
    return check_url("REDIS_URL", value, ("redis", "rediss", "unix")) if value else None


def metrics_token(env: Mapping[str, str], dev: bool) -> str | None:
    """METRICS_TOKEN (optional): the bearer token that opens /metrics."""
    value = env.get("METRICS_TOKEN", "").strip()
    if value and not dev and len(value) < MIN_METRICS_TOKEN:
        raise ConfigError(f"METRICS_TOKEN: at least {MIN_METRICS_TOKEN} characters in production, got {len(value)}")
    return value or None


def check_server(cfg: dict[str, Any]) -> None:
    """server.metrics_allow: a list of addresses or networks (trusted_proxies is checked with the numbers)."""
    allow = cfg.get("metrics_allow") or []
    if not isinstance(allow, list):
        raise ConfigError(f"config.yaml server.metrics_allow: expected a list of addresses or networks, got {allow!r}")
    for i, item in enumerate(allow):
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ConfigError(f"config.yaml server.metrics_allow[{i}]: not an address or network: {item!r}") from None
