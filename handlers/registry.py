"""The registry of features: their chat routers in priority order (tried top to bottom, first match wins)."""

from __future__ import annotations

from bot.inbound import paging
from handlers.common import chat as common
from handlers.pushes import chat as subscriptions
from handlers.quiz import chat as quiz
from handlers.staff import chat as staff
from handlers.study import chat as study
from handlers.tickets import chat as tickets, followup as ticket_followup

ROUTERS = [
    common.router,  # global commands (帮助, 取消) and follow/unfollow events: always first
    staff.router,  # 绑定后台 <code> / 解绑后台: console staff receive ticket alerts in WeChat
    ticket_followup.router,  # 我的诉求, 诉求 <编号>, ratings (满意/不满意) while a resolved ticket awaits one
    tickets.router,  # 我要反映: a running submission owns the user's text
    subscriptions.router,  # 订阅提醒 / 退订提醒, 订阅新声 / 退订新声 (push opt-ins)
    quiz.router,  # quizzes, points, leaderboards, 错题本 (before study: a running quiz owns the text)
    study.router,  # 新声 episodes, albums, catalogue, and search for any other text
    common.fallback,  # unknown text, clicks and media: a helpful answer, always last
]
paging.install(ROUTERS)  # 「继续」 first of all; every text reply fitted to 2,047 bytes (bot.inbound.fit)
