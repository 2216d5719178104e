"""Start-up: load config.yaml and the environment into one validated Settings object."""

from __future__ import annotations

import base64
import binascii
import copy
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import yaml

from bot.core.errors import ConfigError
from bot.core.sections import (
    ConsoleConfig,
    DatabaseConfig,
    DedupeConfig,
    DialogConfig,
    EmulatorConfig,
    FollowersConfig,
    HealthConfig,
    LoggingConfig,
    OutboxConfig,
    RedisConfig,
    SchedulerConfig,
    ServerConfig,
    WebhookConfig,
    check_accepted_modes,
    check_menu,
    check_numbers,
    check_server,
)

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


T = TypeVar("T")


@dataclass
class Settings:
    """Everything the app reads at start-up: typed platform sections; `raw` keeps config.yaml's sections."""

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
    features: dict[type, Any] = field(default_factory=dict, repr=False)  # feature sections, each read once
    # The platform's sections, typed once in __post_init__ (the values were validated by load_settings).
    webhook: WebhookConfig = field(init=False)
    dialog: DialogConfig = field(init=False)
    dedupe: DedupeConfig = field(init=False)
    followers: FollowersConfig = field(init=False)
    outbox: OutboxConfig = field(init=False)
    scheduler: SchedulerConfig = field(init=False)
    redis: RedisConfig = field(init=False)
    database: DatabaseConfig = field(init=False)
    health: HealthConfig = field(init=False)
    server: ServerConfig = field(init=False)
    logging: LoggingConfig = field(init=False)
    emulator: EmulatorConfig = field(init=False)
    console: ConsoleConfig = field(init=False)

    def __post_init__(self) -> None:
        self.webhook = WebhookConfig.from_raw(self.section("webhook"))
        self.dialog = DialogConfig.from_raw(self.section("dialog"))
        self.dedupe = DedupeConfig.from_raw(self.section("dedupe"))
        self.followers = FollowersConfig.from_raw(self.section("followers"))
        self.outbox = OutboxConfig.from_raw(self.section("outbox"))
        self.scheduler = SchedulerConfig.from_raw(self.section("scheduler"))
        self.redis = RedisConfig.from_raw(self.section("redis"))
        self.database = DatabaseConfig.from_raw(self.section("database"))
        self.health = HealthConfig.from_raw(self.section("health"))
        self.server = ServerConfig.from_raw(self.section("server"))
        self.logging = LoggingConfig.from_raw(self.section("logging"))
        self.emulator = EmulatorConfig.from_raw(self.section("emulator"))
        self.console = ConsoleConfig.from_raw(self.section("console"))

    def section(self, name: str) -> dict[str, Any]:
        """One section of config.yaml as written (the menu; a feature's section before it is typed)."""
        return self.raw.get(name, {})

    def feature(self, cls: type[T]) -> T:
        """A feature's typed section (cls.SECTION read by cls.from_raw), built on first use and kept here."""
        found = self.features.get(cls)
        if found is None:
            found = self.features[cls] = cls.from_raw(self.section(cls.SECTION))  # type: ignore[attr-defined]
        return found

    @property
    def menu(self) -> dict[str, Any]:
        """The custom menu as WeChat takes it (checked by load_settings, sent as written)."""
        return self.section("menu")

    @property
    def emulator_enabled(self) -> bool:
        return self.env != "production" and self.emulator.enabled_in_development


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
