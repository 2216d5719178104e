"""Organisation life: 三会一课 planned, noticed and checked in by QR code; compliance; task lists; the assessment."""

from bot.core.feature import Feature, Job, NavEntry

EVERY_10_MIN = lambda _settings: {"trigger": "interval", "seconds": 600}  # noqa: E731 - a job trigger

FEATURE = Feature(
    name="orglife",
    models=("handlers.orglife.models", "handlers.orglife.media"),  # media: meeting_media (photos)
    routers=("handlers.orglife.chat:router",),  # 安排会议, 确认参加 / 请假, 上传会议材料
    blueprints=("handlers.orglife.console:bp",),  # /console/meetings: plan, notices, record, photos
    nav=(NavEntry("组织生活", "console.meetings.index", roles=("editor", "secretary", "instructor"), order=27),),
    jobs=(  # photos sent in chat that a failure or a restart left uncopied (every 10 minutes)
        Job("meeting-media", "handlers.orglife.media:retry_pending", EVERY_10_MIN),
    ),
    window_observers=("handlers.orglife.notices:on_message",),  # meeting notices that waited for the 48 h window
    help_hooks=("handlers.orglife.chat:still_open",),
    config_checks=("handlers.orglife.config:check",),
    audit_actions={
        "meeting.plan": "安排会议",
        "meeting.view": "查看会议参会名单",
        "meeting.attendees": "增减参会人员",
        "meeting.mark": "手工标记出席",
        "meeting.correct": "修改会议记录",
        "meeting.media": "上传会议照片",
    },
    help=((30, "书记回复「安排会议」安排组织生活，「上传会议材料」上传会议照片；党员回复「确认参加」或「请假 原因」"),),
)
