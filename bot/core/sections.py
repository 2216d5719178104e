"""Start-up: the checks on config.yaml's sections, and the platform's sections as typed frozen views."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

from bot.core.errors import ConfigError

CASTS = {"int": int, "float": float, "bool": bool, "str": str}  # annotation → cast applied to the raw value
MINIMUM = "minimum"  # field metadata: load_settings checks the key is a number at least this


def at_least(minimum: float, default: Any = MISSING) -> Any:
    """A numeric field: load_settings checks it is present, a number (an integer for int fields), at least `minimum`."""
    return field(default=default, metadata={MINIMUM: minimum})


class Section:
    """A config.yaml section read into a frozen dataclass: each field from the key of its name, cast to its type.

    The values were validated by load_settings (config.check_numbers and the section checks) before this runs;
    a key absent from config.yaml takes the field's default.
    """

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any] | None) -> Self:
        raw = raw or {}
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in raw or raw[f.name] is None:
                if f.default is MISSING and f.default_factory is MISSING:
                    raise KeyError(f.name)
                continue
            cast = CASTS.get(str(f.type))
            value = raw[f.name]
            values[f.name] = cast(value) if cast else (tuple(value) if isinstance(value, list) else value)
        return cls(**values)


@dataclass(frozen=True)
class WebhookConfig(Section):
    path: str
    timestamp_window: int = at_least(1)
    max_body: int = at_least(1024)
    soft_limit: float = at_least(0.1)
    retry_wait: float = at_least(0)
    wechat_timeout: float = at_least(0.1)
    accepted_modes: tuple[str, ...] = ("aes",)


@dataclass(frozen=True)
class DialogConfig(Section):
    ttl: int = at_least(1)
    lock_timeout: int = at_least(1)
    lock_wait: float = at_least(0)


@dataclass(frozen=True)
class DedupeConfig(Section):
    ttl: int = at_least(1)


@dataclass(frozen=True)
class FollowersConfig(Section):
    touch_interval: int = at_least(0)
    welcome: str = ""


@dataclass(frozen=True)
class OutboxConfig(Section):
    timeout: float = at_least(0.1)
    workers: int = at_least(1)
    backoff: float = at_least(0)
    use_stable_token: bool = False


@dataclass(frozen=True)
class RedisConfig(Section):
    connect_timeout: float = at_least(0.05)
    timeout: float = at_least(0.05)


@dataclass(frozen=True)
class DatabaseConfig(Section):
    busy_timeout: float = at_least(0.05, 1.5)
    statement_timeout: float = at_least(0, 2.0)  # 0: no limit
    connect_timeout: int = at_least(1, 2)
    pool_timeout: float = at_least(0.05, 1.0)


@dataclass(frozen=True)
class HealthConfig(Section):
    timeout: float = at_least(0.05)


@dataclass(frozen=True)
class SchedulerConfig(Section):
    lease_ttl: int = at_least(3)
    misfire_grace: int = at_least(1)
    enabled: bool = False


@dataclass(frozen=True)
class ServerConfig(Section):
    trusted_proxies: int = at_least(0, 0)
    metrics_allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggingConfig(Section):
    level: str = "INFO"


@dataclass(frozen=True)
class EmulatorConfig(Section):
    latency_ms: int = at_least(0, 0)
    failure_rate: float = at_least(0, 0.0)
    enabled_in_development: bool = False
    account_type: str = "service"
    account_name: str = ""


@dataclass(frozen=True)
class ConsoleConfig(Section):
    login_max_failures: int = at_least(1)
    login_address_max_failures: int = at_least(1)
    login_global_max_failures: int = at_least(1)
    login_window: int = at_least(1)
    password_checks: int = at_least(1)
    password_check_wait: float = at_least(0)
    bind_max_attempts: int = at_least(1)
    bind_global_max_attempts: int = at_least(1)
    bind_window: int = at_least(1)


# section name → its typed view, in the order the numbers are checked
PLATFORM: dict[str, type[Section]] = {
    "webhook": WebhookConfig,
    "dialog": DialogConfig,
    "dedupe": DedupeConfig,
    "followers": FollowersConfig,
    "outbox": OutboxConfig,
    "redis": RedisConfig,
    "database": DatabaseConfig,
    "health": HealthConfig,
    "scheduler": SchedulerConfig,
    "server": ServerConfig,
    "emulator": EmulatorConfig,
    "console": ConsoleConfig,
}


# The checks load_settings runs on config.yaml's sections --------------------------------------------------------------
def numbers() -> list[tuple[str, str, type, float]]:
    """(section, key, type, minimum) of every numeric setting that must be checked."""
    platform = [
        (name, f.name, CASTS[str(f.type)], f.metadata[MINIMUM])
        for name, cls in PLATFORM.items()
        for f in fields(cls)  # type: ignore[arg-type]
        if MINIMUM in f.metadata
    ]
    return platform


def check_numbers(raw: dict[str, Any]) -> None:
    """Each of the platform's numeric settings exists and is a number at or above its minimum; webhook.path."""
    check_entries(raw, numbers())
    path = raw.get("webhook", {}).get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"config.yaml webhook.path: must start with '/', got {path!r}")


def check_entries(raw: Mapping[str, Any], entries: Iterable[tuple[str, str, type, float]]) -> None:
    """Each (section, key, type, minimum) names a number at or above its minimum (features check theirs too)."""
    for section, key, kind, minimum in entries:
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
