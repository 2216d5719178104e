"""Tickets feature: its `tickets` section of config.yaml: typed once, checked at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.core.errors import ConfigError
from bot.core.sections import check_entries

if TYPE_CHECKING:
    from bot.core.config import Settings


@dataclass(frozen=True)
class TicketConfig:
    """The `tickets` section of config.yaml, read once."""

    SECTION = "tickets"

    prefix: str
    intake: timedelta
    tiers: dict[str, tuple[str, timedelta]]  # key → (name, deadline)
    categories: dict[str, str]  # name → starting tier
    departments: dict[str, tuple[str, str]]  # id → (name, supervisor username)
    draft_days: int
    description_max: int
    media_max: int
    duplicate_days: int
    template_id: str
    staff_template_id: str
    alert_new: bool
    category_departments: dict[str, str] = field(default_factory=dict)  # category → its usual department id
    category_cues: dict[str, tuple[str, ...]] = field(default_factory=dict)  # category → words pointing to it
    department_cues: dict[str, tuple[str, ...]] = field(default_factory=dict)  # department id → words
    escalation_interval: int = 60  # seconds between the scheduler's deadline checks
    media_fetch_interval: int = 600  # seconds between the scheduler's media fetch retries

    @classmethod
    def of(cls, settings: Settings) -> TicketConfig:
        """The settings' ticket config, built on first use and kept on the settings."""
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any]) -> TicketConfig:
        return cls(
            prefix=str(cfg.get("number_prefix") or "JK"),
            intake=timedelta(hours=float(cfg["intake_hours"])),
            tiers={k: (v["name"], timedelta(hours=float(v["hours"]))) for k, v in cfg["tiers"].items()},
            categories={c["name"]: c["tier"] for c in cfg["categories"]},
            departments={d["id"]: (d["name"], str(d.get("supervisor") or "")) for d in cfg.get("departments") or []},
            draft_days=int(cfg["draft_days"]),
            description_max=int(cfg["description_max"]),
            media_max=int(cfg["media_max"]),
            duplicate_days=int(cfg["duplicate_days"]),
            template_id=str(cfg.get("template_id") or ""),
            staff_template_id=str(cfg.get("staff_template_id") or ""),
            alert_new=bool(cfg.get("alert_new", True)),
            escalation_interval=int(cfg.get("escalation_interval", 60)),
            media_fetch_interval=int(cfg.get("media_fetch_interval", 600)),
            category_departments={c["name"]: str(c.get("department") or "") for c in cfg["categories"]},
            category_cues={c["name"]: tuple(map(str, c.get("cues") or ())) for c in cfg["categories"]},
            department_cues={d["id"]: tuple(map(str, d.get("cues") or ())) for d in cfg.get("departments") or []},
        )

    def tier_name(self, tier: str) -> str:
        return self.tiers.get(tier, (tier, timedelta()))[0]

    def department_name(self, dep: str | None) -> str:
        return self.departments.get(dep or "", (dep or "", ""))[0]


# (section, key, type, minimum) of this section's numbers, checked at start-up (a config error names the key)
NUMBERS = [
    ("tickets", "intake_hours", float, 0.1),
    ("tickets", "draft_days", int, 1),
    ("tickets", "description_max", int, 10),
    ("tickets", "media_max", int, 0),
    ("tickets", "escalation_interval", int, 5),
    ("tickets", "duplicate_days", int, 1),
    ("tickets", "media_fetch_interval", int, 10),
]


def check(raw: Mapping[str, Any]) -> None:
    """The `tickets` section: numbers at their minimums; tiers, categories and departments well formed."""
    check_entries(raw, NUMBERS)
    check_shapes(raw.get("tickets") or {})


def check_shapes(cfg: Mapping[str, Any]) -> None:
    """Ticket tiers, categories and departments: each category names a known tier and department, ids are unique,
    dispatch cue words are lists of words."""
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
        check_cues(dep.get("cues"), f"tickets.departments[{i}].cues")
    for i, cat in enumerate(cfg.get("categories") or []):
        if cat.get("department") is not None and cat["department"] not in seen:
            raise ConfigError(
                f"config.yaml tickets.categories[{i}].department: expected one of {', '.join(sorted(seen))}"
            )
        check_cues(cat.get("cues"), f"tickets.categories[{i}].cues")


def check_cues(cues: Any, key: str) -> None:
    """Cue words of the dispatch suggestion: a list of non-empty words without spaces."""
    if cues is None:
        return
    if not isinstance(cues, list):
        raise ConfigError(f"config.yaml {key}: expected a list of words, e.g. [营业执照, 许可]")
    for j, cue in enumerate(cues):
        if not isinstance(cue, (str, int)) or not str(cue).strip() or any(c.isspace() for c in str(cue)):
            raise ConfigError(f"config.yaml {key}[{j}]: expected a word without spaces, got {cue!r}")
