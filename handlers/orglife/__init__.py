"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from typing import Any

from bot.core.feature import Feature, Job, NavEntry


def _check_every(settings: Any) -> dict[str, Any]:
    """The compliance job's interval: orglife.check_interval seconds (default an hour)."""
    return {"trigger": "interval", "seconds": int((settings.section("orglife") or {}).get("check_interval", 3600))}


FEATURE = Feature(
    name="orglife",
    models=("handlers.orglife.models", "handlers.orglife.reminders"),  # reminders: orglife_notices
    config_checks=("handlers.orglife.config:check",),
    blueprints=("handlers.orglife.compliance_console:bp",),  # 三会一课 completion by organisation, group, 片区
    nav=(NavEntry("三会一课", "console.compliance.index", roles=("editor", "secretary", "instructor"), order=28),),
    jobs=(Job("orglife-compliance", "handlers.orglife.reminders:run", _check_every),),
    window_observers=("handlers.orglife.reminders:on_message",),  # reminders that waited for the 48 h window
    audit_actions={"meetings.compliance_export": "导出三会一课完成情况"},
)
