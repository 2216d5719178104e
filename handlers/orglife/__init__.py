"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from bot.core.feature import Feature

FEATURE = Feature(
    name="orglife",
    models=("handlers.orglife.models",),
    config_checks=("handlers.orglife.config:check",),
)
