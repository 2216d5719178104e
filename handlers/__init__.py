"""The routers in priority order: the dispatcher tries them top to bottom, first match wins."""
from __future__ import annotations

from handlers import common

ROUTERS = [
    common.router,  # global commands (帮助, 取消) and follow/unfollow events: always first
    # feature routers go here, e.g. study.router, quiz.router, tickets.router
    common.fallback,  # unknown text, clicks and media: a helpful answer, always last
]
