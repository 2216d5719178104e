"""Quizzes: 我的积分, 排行榜, 组织排行 and 帮助 asked in the middle of a run are answered, the question asked again."""

from __future__ import annotations

import pytest

from tests.handlers.quiz.quiz_helpers import FAST, current, points, right


def question_line(services, openid: str) -> str:
    """The stem of the run's current question, as the user sees it."""
    return current(services, openid).shown().splitlines()[0]


@pytest.mark.config(**FAST)
@pytest.mark.parametrize(
    "aside, expected",
    [
        ("我的积分", "【我的积分】总积分：0"),
        ("排行榜", "【总榜】"),
        ("组织排行", "【组织人均积分榜】"),
        ("帮助", "常用指令"),
    ],
)
def test_an_aside_is_answered_and_the_question_repeated(wx, user, services, aside, expected):
    wx.click(user, "QUIZ_DAILY")
    stem = question_line(services, user)
    reply = wx.text(user, aside).text
    assert expected in reply and "没看懂您的答案" not in reply
    assert "您正在每日答题，请继续作答" in reply and stem in reply and "第1题/共5题" in reply
    assert "✅ 回答正确" in wx.text(user, right(current(services, user))).text  # the run goes on where it was
    assert points(services, user) == 1


@pytest.mark.config(**FAST)
def test_menu_clicks_during_a_run_repeat_the_question(wx, user, services):
    wx.click(user, "QUIZ_DAILY")
    stem = question_line(services, user)
    for key, expected in (("QUIZ_POINTS", "【我的积分】"), ("HELP", "常用指令")):
        reply = wx.click(user, key).text
        assert expected in reply and stem in reply


def test_no_question_is_repeated_outside_a_run(wx, user):
    assert "请继续作答" not in wx.text(user, "我的积分").text
    assert "请继续作答" not in wx.text(user, "帮助").text
