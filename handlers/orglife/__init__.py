"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from typing import Any

from bot.core.feature import Feature, Job, NavEntry


def _daily(hour: int, minute: int) -> Any:
    """A cron trigger once a day (China time is the scheduler's zone)."""
    return lambda settings: {"trigger": "cron", "hour": hour, "minute": minute}


FEATURE = Feature(
    name="orglife",
    routers=("handlers.orglife.task_chat:router",),  # 任务清单, 完成任务 N, then the report's photos
    blueprints=("handlers.orglife.tasks_console:bp",),  # /console/tasks: issue, report, accept/return, progress
    nav=(NavEntry("任务清单", "console.tasks.index", roles=("editor", "secretary", "instructor"), order=29),),
    jobs=(Job("task-reminders", "handlers.orglife.tasks:remind", _daily(9, 0)),),
    models=("handlers.orglife.models", "handlers.orglife.task_models"),
    config_checks=("handlers.orglife.config:check",),
    audit_actions={
        "task.issue": "下发任务清单",
        "task.report": "上报任务完成情况",
        "task.accept": "任务验收通过",
        "task.return": "任务退回",
        "task.export": "导出任务清单进度",
    },
    help=((40, "「任务清单」党组织书记查看本组织的任务，「完成任务 序号 完成情况」上报"),),
)
