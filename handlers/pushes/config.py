"""Pushes feature: its `push` section of config.yaml: typed once, checked at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.sections import check_entries

if TYPE_CHECKING:
    from bot.core.config import Settings


@dataclass(frozen=True)
class PushConfig:
    """The `push` section of config.yaml, read once."""

    SECTION = "push"

    quiet_hours: tuple[str, ...]  # China time; a push due inside waits for their end
    rate_per_second: float  # per-user sends started per second at most
    concurrency: int  # per-user sends in flight at once
    resend_uncertain: bool  # after a crash: send the in-flight ones again (True) or report them (False)
    account_type: str  # service or subscription
    sync_interval: int  # seconds between the scheduler's syncs of push jobs
    preview_limit: int  # test openids a push may preview to
    templates: dict[str, str]  # content kind → template id (kinds without one left out)

    @classmethod
    def of(cls, settings: Settings) -> PushConfig:
        """The settings' push config, built on first use and kept on the settings."""
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any]) -> PushConfig:
        return cls(
            quiet_hours=tuple(cfg["quiet_hours"]),
            rate_per_second=float(cfg["rate_per_second"]),
            concurrency=int(cfg["concurrency"]),
            resend_uncertain=bool(cfg.get("resend_uncertain")),
            account_type=str(cfg.get("account_type", "service")),
            sync_interval=int(cfg["sync_interval"]),
            preview_limit=int(cfg["preview_limit"]),
            templates={k: str(v) for k, v in (cfg.get("templates") or {}).items() if v},
        )


# (section, key, type, minimum) of this section's numbers, checked at start-up (a config error names the key)
NUMBERS = [
    ("push", "rate_per_second", float, 0.1),
    ("push", "concurrency", int, 1),
    ("push", "sync_interval", int, 1),
    ("push", "preview_limit", int, 1),
]


def check(raw: Mapping[str, Any]) -> None:
    """The `push` section is usable: numbers at or above their minimums."""
    check_entries(raw, NUMBERS)
