"""Organisation life: the `orglife` section of config.yaml (meeting kinds and their rhythm), typed and checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.errors import ConfigError
from bot.core.organisations import KINDS

if TYPE_CHECKING:
    from bot.core.config import Settings

PERIODS = {"monthly": 1, "quarterly": 3, "yearly": 12}  # a rhythm → months per period
ATTENDEES = ("all", "committee", "group")  # all members, the committee (posts), the members of a 党小组


@dataclass(frozen=True)
class MeetingKind:
    """One kind of meeting: its name, how often it is required, where it applies and who attends."""

    key: str
    name: str
    period: str  # a key of PERIODS
    applies_to: tuple[str, ...]  # organisation kinds (KINDS) that must hold it
    attendees: str  # one of ATTENDEES
    requires_groups: bool = False  # only where the organisation has 党小组 under it


@dataclass(frozen=True)
class OrgLifeConfig:
    """The `orglife` section, read once."""

    SECTION = "orglife"

    kinds: tuple[MeetingKind, ...]
    checkin_before: int  # minutes before the start a meeting's code starts recording attendance
    checkin_after: int  # minutes after the start it stops
    remind_days: int  # days before a period ends that a secretary with nothing held is reminded

    @classmethod
    def of(cls, settings: Settings) -> OrgLifeConfig:
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any] | None) -> OrgLifeConfig:
        cfg = cfg or {}
        kinds = tuple(
            MeetingKind(
                key=str(k["key"]),
                name=str(k["name"]),
                period=str(k["period"]),
                applies_to=tuple(k.get("applies_to") or ("党委", "党总支", "党支部")),
                attendees=str(k.get("attendees") or "all"),
                requires_groups=bool(k.get("requires_groups", False)),
            )
            for k in cfg.get("kinds") or ()
        )
        return cls(
            kinds=kinds,
            checkin_before=int(cfg.get("checkin_before", 30)),
            checkin_after=int(cfg.get("checkin_after", 60)),
            remind_days=int(cfg.get("remind_days", 7)),
        )

    def kind(self, key: str) -> MeetingKind | None:
        return next((k for k in self.kinds if k.key == key), None)


def check(raw: Mapping[str, Any]) -> None:
    """The `orglife` section is usable: each kind has a unique key, a name, a known period, kinds and attendees."""
    cfg = raw.get("orglife") or {}
    seen: set[str] = set()
    for i, k in enumerate(cfg.get("kinds") or [], 1):
        where = f"config.yaml orglife.kinds[{i}]"
        if not isinstance(k, dict) or not k.get("key") or not k.get("name"):
            raise ConfigError(f"{where}: expected a mapping with key and name")
        if k["key"] in seen:
            raise ConfigError(f"{where}: key {k['key']!r} is listed twice")
        seen.add(k["key"])
        if k.get("period") not in PERIODS:
            raise ConfigError(f"{where}.period: expected one of {', '.join(PERIODS)}")
        if any(kind not in KINDS for kind in k.get("applies_to") or ()):
            raise ConfigError(f"{where}.applies_to: expected organisation kinds among {', '.join(KINDS)}")
        if (k.get("attendees") or "all") not in ATTENDEES:
            raise ConfigError(f"{where}.attendees: expected one of {', '.join(ATTENDEES)}")
    for key in ("checkin_before", "checkin_after", "remind_days", "material_days", "task_remind_days", "escalate_days"):
        value = cfg.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"config.yaml orglife.{key}: expected a whole number at least 0, got {value!r}")
    interval = cfg.get("check_interval", 3600)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 60:
        raise ConfigError(f"config.yaml orglife.check_interval: expected seconds, at least 60, got {interval!r}")
    if not isinstance(cfg.get("notice_template") or "", str):
        raise ConfigError("config.yaml orglife.notice_template: expected a template id (text) or empty")
