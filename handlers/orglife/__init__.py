"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from bot.core.feature import Feature

FEATURE = Feature(
    name="orglife",
    models=("handlers.orglife.models",),
    blueprints=("handlers.orglife.checkin_console:bp",),  # /console/meetings/checkin/<id>: the code to print/project
    config_checks=("handlers.orglife.config:check",),
    scene_hooks=("handlers.orglife.checkin:scene_hook",),  # a meeting's code (mt:<id>) checks the scanner in
)
