"""Pushes: chat opt-ins, scheduling, content, fan-out, and the console pages."""

from datetime import UTC, datetime

from bot.core.feature import Feature, Job, NavEntry
from handlers.pushes.config import PushConfig

FEATURE = Feature(
    name="pushes",
    routers=("handlers.pushes.chat:router",),  # 订阅提醒 / 退订提醒, 订阅新声 / 退订新声 (push opt-ins)
    blueprints=("handlers.pushes.console:bp",),
    nav=(NavEntry("推送", "console.pushes.index", order=10),),
    jobs=(
        Job(
            "sync-pushes",
            "handlers.pushes.jobs:sync_pushes",
            lambda settings: {
                "trigger": "interval",
                "seconds": PushConfig.of(settings).sync_interval,
                "next_run_time": datetime.now(UTC),
            },
        ),
    ),
    models=("handlers.pushes.models",),
    config_checks=("handlers.pushes.config:check",),
)
