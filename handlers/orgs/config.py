"""Orgs feature: checks the `organisations` section of config.yaml at start-up (the section is typed in the core)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.errors import ConfigError
from bot.core.sections import check_entries

NUMBERS = [("organisations", "max_attempts", int, 1), ("organisations", "attempt_window", int, 60)]
OPTIONAL = [("organisations", "import_max_mb", int, 1)]  # the import's upload limit (default 10)
CONFIRM = ("auto", "secretary")
MASKS = ("middle", "given", "none")


def check(raw: Mapping[str, Any]) -> None:
    """The `organisations` section is usable: distinct 片区 names, known confirm and mask modes, numbers."""
    cfg = raw.get("organisations") or {}
    districts = cfg.get("districts") or []
    if not isinstance(districts, list) or not all(isinstance(d, str) and d.strip() for d in districts):
        raise ConfigError("config.yaml organisations.districts: expected a list of 片区 names")
    if len(set(districts)) != len(districts):
        raise ConfigError("config.yaml organisations.districts: a 片区 is listed twice")
    if cfg.get("confirm", "auto") not in CONFIRM:
        raise ConfigError(f"config.yaml organisations.confirm: expected one of {', '.join(CONFIRM)}")
    if cfg.get("name_mask", "middle") not in MASKS:
        raise ConfigError(f"config.yaml organisations.name_mask: expected one of {', '.join(MASKS)}")
    check_entries(raw, NUMBERS)
    check_entries(raw, [entry for entry in OPTIONAL if entry[1] in cfg])
