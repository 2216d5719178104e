"""Study days (参学率): one row per member per China day, idempotent, race-safe, guarded by Redis, and recorded by
the quiz (an answer), an episode opened and an article opened."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import redis
from sqlalchemy import func, select

from bot.core.organisations import StudyDay
from bot.core.studying import GUARD_KEY, record_study
from tests.handlers.quiz.quiz_helpers import FAST, current, right

LATE = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in China


def days(services, openid: str) -> list[date]:
    with services.sessions() as db:
        return list(db.scalars(select(StudyDay.day).where(StudyDay.openid == openid).order_by(StudyDay.day)))


def test_recording_twice_keeps_one_row_on_the_china_day(services):
    with services.sessions() as db:
        assert record_study(db, "o-study-1", LATE)
        assert record_study(db, "o-study-1", LATE)  # no guard: the INSERT itself ignores the second
        assert record_study(db, "o-study-1", LATE.replace(hour=23))  # 07:30 on 1 December: the same day
    assert days(services, "o-study-1") == [date(2026, 12, 1)]


def test_the_redis_guard_lets_only_the_first_call_of_the_day_reach_the_database(services):
    with services.sessions() as db:
        assert record_study(db, "o-study-2", LATE, cache=services.redis)
        assert not record_study(db, "o-study-2", LATE, cache=services.redis)
        assert services.redis.ttl(GUARD_KEY.format("2026-12-01", "o-study-2")) > 86400
        services.redis.flushdb()  # a flushed guard only costs one harmless INSERT
        assert record_study(db, "o-study-2", LATE, cache=services.redis)
        assert record_study(db, "o-study-2", LATE.replace(day=28), cache=services.redis)  # another day
    assert days(services, "o-study-2") == [date(2026, 11, 29), date(2026, 12, 1)]


def test_racing_requests_write_one_row_without_an_error(services):
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def study() -> None:
        try:
            with services.sessions() as db:
                start.wait()
                record_study(db, "o-study-race", LATE)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=study) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(StudyDay).where(StudyDay.openid == "o-study-race")) == 1


def test_without_redis_the_day_is_still_recorded(services):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with services.sessions() as db:
        assert record_study(db, "o-study-3", LATE, cache=dead)
    assert days(services, "o-study-3") == [date(2026, 12, 1)]


@pytest.mark.config(**FAST)
def test_a_quiz_answer_is_a_study_day_but_a_skip_is_not(wx, user, services):
    wx.text(user, "每日答题")
    wx.text(user, "跳过")
    assert days(services, user) == []
    wx.text(user, right(current(services, user)))
    assert len(days(services, user)) == 1


def test_opening_an_episode_is_a_study_day(wx, user, services):
    wx.text(user, "新声37")
    assert len(days(services, user)) == 1


def test_opening_an_article_is_a_study_day(wx, user, services):
    wx.click(user, "STUDY_ALBUMS")
    wx.text(user, "1")
    assert days(services, user) == []  # an album's list is not an article
    wx.text(user, "1")
    assert len(days(services, user)) == 1
