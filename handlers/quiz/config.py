"""Quiz feature: its `quiz` section of config.yaml: typed once, checked at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.sections import check_entries

if TYPE_CHECKING:
    from bot.core.config import Settings


@dataclass(frozen=True)
class QuizConfig:
    """The `quiz` section of config.yaml, read once."""

    SECTION = "quiz"

    daily_size: int  # questions in a 每日答题 group
    special_size: int  # questions in a 专项答题 group
    challenge_size: int  # questions queued for a 挑战答题 run
    repeat_after_days: int  # no question twice within this many days while unseen ones remain
    challenge_seconds: float  # seconds to answer a challenge question
    min_answer_seconds: float  # a faster answer earns nothing and is suspicious
    caps: dict[str, int]  # activity → points a member can earn per day
    challenge_points: tuple[tuple[int, int], ...]  # (run length at least, points), longest first
    leitner_days: tuple[int, ...]  # days until a 错题本 item is due again in box 1..5
    review_size: int  # due items served per 复习 round
    reminder_time: str  # "HH:MM" China time of the daily review reminder
    quiet_hours: tuple[str, ...]  # ("HH:MM", "HH:MM") China time without reminders

    @classmethod
    def of(cls, settings: Settings) -> QuizConfig:
        """The settings' quiz config, built on first use and kept on the settings."""
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any]) -> QuizConfig:
        return cls(
            daily_size=int(cfg["daily_size"]),
            special_size=int(cfg["special_size"]),
            challenge_size=int(cfg["challenge_size"]),
            repeat_after_days=int(cfg["repeat_after_days"]),
            challenge_seconds=float(cfg["challenge_seconds"]),
            min_answer_seconds=float(cfg["min_answer_seconds"]),
            caps={str(k): int(v) for k, v in dict(cfg["caps"]).items()},
            challenge_points=tuple((int(need), int(points)) for need, points in cfg["challenge_points"]),
            leitner_days=tuple(int(d) for d in cfg["leitner_days"]),
            review_size=int(cfg["review_size"]),
            reminder_time=str(cfg["reminder_time"]),
            quiet_hours=tuple(cfg["quiet_hours"]),
        )


# (section, key, type, minimum) of this section's numbers, checked at start-up (a config error names the key)
NUMBERS = [
    ("quiz", "daily_size", int, 1),
    ("quiz", "special_size", int, 1),
    ("quiz", "challenge_size", int, 1),
    ("quiz", "repeat_after_days", int, 0),
    ("quiz", "challenge_seconds", float, 1),
    ("quiz", "min_answer_seconds", float, 0),
    ("quiz", "review_size", int, 1),
]


def check(raw: Mapping[str, Any]) -> None:
    """The `quiz` section is usable: numbers at or above their minimums."""
    check_entries(raw, NUMBERS)
