"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from typing import Any

from bot.core.feature import Feature, Job, NavEntry

EVERY_10_MIN = lambda _settings: {"trigger": "interval", "seconds": 600}  # noqa: E731 - a job trigger
ORG_ROLES = ("editor", "secretary", "instructor")  # (and admin) who see organisation life's console pages


def _check_every(settings: Any) -> dict[str, Any]:
    """The compliance job's interval: orglife.check_interval seconds (default an hour)."""
    return {"trigger": "interval", "seconds": int((settings.section("orglife") or {}).get("check_interval", 3600))}


def _daily(hour: int, minute: int) -> Any:
    """A cron trigger once a day (China time is the scheduler's zone)."""
    return lambda settings: {"trigger": "cron", "hour": hour, "minute": minute}


FEATURE = Feature(
    name="orglife",
    models=(
        "handlers.orglife.models",
        "handlers.orglife.media",  # meeting_media (photos)
        "handlers.orglife.task_models",
        "handlers.orglife.reminders",  # orglife_notices: 三会一课 reminders and escalations sent once
        "handlers.orglife.assessment_models",  # orglife_assessment_adjustments: the committee's adjusted scores
    ),
    routers=(
        "handlers.orglife.chat:router",  # 安排会议, 确认参加 / 请假, 上传会议材料
        "handlers.orglife.task_chat:router",  # 任务清单, 完成任务 N, then the report's photos
    ),
    blueprints=(
        "handlers.orglife.console:bp",  # /console/meetings: plan, notices, record, photos
        "handlers.orglife.checkin_console:bp",  # /console/meetings/checkin: a meeting's QR code, live counts
        "handlers.orglife.compliance_console:bp",  # 三会一课 completion by organisation, group, 片区
        "handlers.orglife.tasks_console:bp",  # /console/tasks: issue, report, accept/return, progress
        "handlers.orglife.assessment_console:bp",  # /console/assessment: yearly scorecards per 片区, adjust, export
    ),
    nav=(
        NavEntry("组织生活", "console.meetings.index", roles=ORG_ROLES, order=27),
        NavEntry("三会一课", "console.compliance.index", roles=ORG_ROLES, order=28),
        NavEntry("任务清单", "console.tasks.index", roles=ORG_ROLES, order=29),
        NavEntry("年度考核", "console.assessment.index", roles=ORG_ROLES, order=30),
    ),
    jobs=(
        # photos sent in chat that a failure or a restart left uncopied (every 10 minutes)
        Job("meeting-media", "handlers.orglife.media:retry_pending", EVERY_10_MIN),
        Job("task-reminders", "handlers.orglife.task_notify:remind", _daily(9, 0)),
        Job("orglife-compliance", "handlers.orglife.reminders:run", _check_every),
    ),
    help_hooks=("handlers.orglife.chat:still_open",),
    scene_hooks=("handlers.orglife.checkin:scene_hook",),  # a meeting's code (mt:<id>): check-in
    config_checks=("handlers.orglife.config:check", "handlers.orglife.assessment:check"),
    audit_actions={
        "meeting.plan": "安排会议",
        "meeting.view": "查看会议参会名单",
        "meeting.attendees": "增减参会人员",
        "meeting.mark": "手工标记出席",
        "meeting.correct": "修改会议记录",
        "meeting.media": "上传会议照片",
        "task.issue": "下发任务清单",
        "task.report": "上报任务完成情况",
        "task.accept": "任务验收通过",
        "task.return": "任务退回",
        "task.export": "导出任务清单进度",
        "meetings.compliance_export": "导出三会一课完成情况",
        "assessment.adjust": "调整年度考核得分",
        "assessment.export": "导出年度考核",
    },
    help=(
        (30, "书记回复「安排会议」安排组织生活，「上传会议材料」上传会议照片；党员回复「确认参加」或「请假 原因」"),
        (40, "「任务清单」党组织书记查看本组织的任务，「完成任务 序号 完成情况」上报"),
    ),
)
