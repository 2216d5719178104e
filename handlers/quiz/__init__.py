"""Quizzes: runs, points and leaderboards, the 错题本, review reminders."""

from typing import Any

from bot.core.feature import Feature, Job
from handlers.quiz.config import QuizConfig


def _daily_reminders(settings: Any) -> dict[str, Any]:
    """A cron trigger at quiz.reminder_time (HH:MM, China time)."""
    hour, minute = QuizConfig.of(settings).reminder_time.split(":")
    return {"trigger": "cron", "hour": int(hour), "minute": int(minute)}


FEATURE = Feature(
    name="quiz",
    routers=("handlers.quiz.chat:router",),  # quizzes, points, leaderboards, 错题本 (a running quiz owns the text)
    jobs=(Job("review-reminders", "handlers.quiz.reminders:send_review_reminders", _daily_reminders),),
    models=("handlers.quiz.models",),
    config_checks=("handlers.quiz.config:check",),
    setup=("handlers.quiz.points:attach",),
    help_hooks=("handlers.quiz.chat:still_open",),  # the open question, after 帮助
    cancel_hooks=("handlers.quiz.chat:cancel_run",),  # 取消 closes the run too
    help=((20, "「每日答题」「专项答题」「挑战答题」「复习」"), (21, "「我的积分」「排行榜」「组织排行」")),
)
