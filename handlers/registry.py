"""The registry of features, in chat priority order; adding a feature is its package plus one line here."""

from __future__ import annotations

from typing import Any

from bot.core.feature import Feature, resolve
from handlers import common, orglife, orgs, pushes, quiz, staff, study, tickets

FEATURES: list[Feature] = [
    common.FEATURE,  # global commands (帮助, 取消) and follower events first; the fallback answer last of all
    staff.FEATURE,  # 绑定后台 / 解绑后台 and the alerts bound staff receive
    orglife.FEATURE,  # meetings: 请假 replies, 上传会议材料, meeting QR check-in (before orgs' scene hook)
    orgs.FEATURE,  # 党员认证 and organisation QR scans; a running confirmation owns the user's text
    tickets.FEATURE,  # follow-up (我的诉求, ratings) before the 我要反映 dialog
    pushes.FEATURE,  # push opt-ins in chat, the push pages and the sync job
    quiz.FEATURE,  # before study: a running quiz owns the text
    study.FEATURE,  # 新声 and search for any other text
]


def routers() -> list[Any]:
    """Every feature's chat routers in priority order (tried top to bottom, first match wins), fallbacks last."""
    from bot.inbound import paging

    found = [resolve(ref) for feature in FEATURES for ref in feature.routers]
    found += [resolve(f.fallback) for f in FEATURES if f.fallback]
    paging.install(found)  # 「继续」 first of all; every text reply fitted to 2,047 bytes (bot.inbound.fit)
    return found


ROUTERS = routers()
