"""急难愁盼 tickets: the 我要反映 dialog, follow-up, workflow, deadlines, notices, media, console and reports."""

from typing import Any

from bot.core.feature import Feature, Job, NavEntry
from handlers.tickets.config import TicketConfig


def _every(key: str) -> Any:
    """An interval trigger of `tickets.<key>` seconds."""
    return lambda settings: {"trigger": "interval", "seconds": int(getattr(TicketConfig.of(settings), key))}


UNREAD = "handlers.tickets.console:unread_count"  # the signed-in account's unread staff notices

FEATURE = Feature(
    name="tickets",
    routers=(
        "handlers.tickets.followup:router",  # 我的诉求, 诉求 <编号>, ratings while a resolved ticket awaits one
        "handlers.tickets.chat:router",  # 我要反映: a running submission owns the user's text
    ),
    blueprints=("handlers.tickets.console:bp", "handlers.tickets.reports:bp"),
    nav=(
        NavEntry("诉求", "console.tickets.index", roles=("caseworker",), order=30),
        NavEntry("诉求统计", "console.ticket_reports.index", roles=("caseworker",), order=31),
        NavEntry(
            "提醒",
            "console.tickets.notices",
            order=40,
            badge="handlers.tickets.console:unread_count",
            html_id="notices",
        ),
    ),
    jobs=(
        Job("ticket-escalation", "handlers.tickets.notify:escalate", _every("escalation_interval")),
        Job("ticket-media", "handlers.tickets.media:retry_pending", _every("media_fetch_interval")),
    ),
    models=("handlers.tickets.models",),
    config_checks=("handlers.tickets.config:check",),
    window_observers=("handlers.tickets.notify:on_message",),  # status notices that waited for the window
    audit_actions={"account.ticketing": "设置诉求部门和主管", "ticket.export": "导出诉求"},
    cancel_hooks=("handlers.tickets.chat:drop_draft",),  # 取消 inside the dialog discards the draft too
    setup=("handlers.tickets.rules:attach",),  # the departments the console's account page offers
    help=((30, "「我要反映」反映急难愁盼问题，「我的诉求」查看办理进度，「诉求 编号」查看某条诉求"),),
)
