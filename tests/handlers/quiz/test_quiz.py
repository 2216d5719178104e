"""Quizzes through the emulator: a whole daily quiz, caps, retries, challenge timeout, restarts, review,
leaderboards rebuilt after a Redis flush, reminders, and the bank checks."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.library.loader import CONTENT, ContentInvalid, load_library
from bot.library.questions import Question
from handlers.quiz.config import QuizConfig
from handlers.quiz.models import Mistake, QuizAnswer
from handlers.quiz.reminders import send_review_reminders
from handlers.quiz.runs import Scorer, parse_answer, start
from tests.handlers.quiz.quiz_helpers import FAST, current, points, right, wrong
from tests.helpers import make_app


@pytest.mark.config(**FAST)
def test_a_whole_daily_quiz(wx, user, services):
    first = wx.click(user, "QUIZ_DAILY").text
    assert "【每日答题】共5题" in first and "第1题/共5题" in first
    texts = []
    for i in range(5):
        q = current(services, user)
        texts.append(wx.text(user, right(q) if i < 3 else wrong(q)).text)
    assert "✅ 回答正确" in texts[0] and "解析：" in texts[0] and "出处：" in texts[0] and "积分 +1" in texts[0]
    assert "❌ 回答错误" in texts[3] and "正确答案：" in texts[3]
    assert "每日答题完成，答对 3/5 题" in texts[4]
    assert points(services, user) == 3
    mine = wx.text(user, "我的积分").text
    assert "总积分：3" in mine and "每日答题 3分" in mine and "连续学习：1 天" in mine and "第 1 名" in mine
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Mistake).where(Mistake.openid == user)) == 2


@pytest.mark.config(**FAST)
def test_daily_points_are_capped(wx, user, services):
    for _ in range(2):
        wx.text(user, "每日答题")
        for _ in range(5):
            wx.text(user, right(current(services, user)))
    assert points(services, user) == services.settings.section("quiz")["caps"]["daily"]


@pytest.mark.config(**FAST)
def test_a_retried_answer_scores_once(wx, user, services):
    wx.text(user, "每日答题")
    fields = wx.build(user, "text", Content=right(current(services, user)))
    replies = [wx.post(fields).text for _ in range(3)]
    assert len(set(replies)) == 1 and "积分 +1" in replies[0]
    assert points(services, user) == 1
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(QuizAnswer).where(QuizAnswer.openid == user)) == 1


def test_an_answer_faster_than_the_minimum_earns_nothing(wx, user, services):
    wx.text(user, "每日答题")
    text = wx.text(user, right(current(services, user))).text
    assert "✅" in text and "作答过快" in text and points(services, user) == 0
    with services.sessions() as db:
        assert db.scalar(select(QuizAnswer.suspicious).where(QuizAnswer.openid == user))


@pytest.mark.config(quiz={"min_answer_seconds": 0, "challenge_seconds": 1})
def test_challenge_timeout_counts_as_wrong(wx, user, services):
    assert "答错即止" in wx.text(user, "挑战答题").text
    assert "✅" in wx.text(user, right(current(services, user))).text
    time.sleep(1.3)
    text = wx.text(user, right(current(services, user))).text
    assert "超过1秒未作答" in text and "挑战结束，连续答对 1 题" in text


@pytest.mark.config(**FAST)
def test_tolerant_answers_and_a_bad_one_costs_nothing(wx, user, services):
    wx.text(user, "每日答题")
    q = current(services, user)
    assert "没看懂您的答案" in wx.text(user, "我不知道").text
    assert current(services, user) == q  # the same question is asked again
    assert "跳过" in wx.text(user, "跳过").text and current(services, user) != q
    assert "已退出每日答题" in wx.text(user, "退出").text


@pytest.mark.parametrize(
    "text,expected", [("A", "A"), ("a", "A"), ("Ａ", "A"), ("选A", "A"), ("我选 b", "B"), ("E", None)]
)
def test_parse_single(text, expected):
    q = Question("x", "single", "?", (("A", "1"), ("B", "2"), ("C", "3"), ("D", "4")), "A", "e", "xs001", "百年百事", 1)
    assert parse_answer(text, q) == expected


@pytest.mark.parametrize("text,expected", [("A C", "AC"), ("ac", "AC"), ("C、A", "AC"), ("AA", None), ("AZ", None)])
def test_parse_multiple(text, expected):
    q = Question(
        "x", "multiple", "?", (("A", "1"), ("B", "2"), ("C", "3"), ("D", "4")), "AC", "e", "xs001", "百年百事", 1
    )
    assert parse_answer(text, q) == expected


@pytest.mark.parametrize("text,expected", [("对", "正确"), ("√", "正确"), ("错", "错误"), ("×", "错误"), ("A", None)])
def test_parse_judge(text, expected):
    q = Question("x", "judge", "?", (), "正确", "e", "xs001", "百年百事", 1)
    assert parse_answer(text, q) == expected


@pytest.mark.config(**FAST)
def test_a_quiz_survives_an_app_restart_and_a_redis_flush(
    app, wx, user, services, redis_url, database_url, tmp_path, port
):
    wx.text(user, "每日答题")
    wx.text(user, right(current(services, user)))
    services.redis.flushdb()
    restarted = make_app(redis_url, database_url, tmp_path, port, **FAST)
    text = wx.text(user, right(current(services, user))).text
    assert "✅" in text and "第3题/共5题" in text
    restarted.extensions["bot"].content.stop()


def test_leitner_schedule_with_a_controlled_clock(services):
    bank = services.content.current().questions
    q = next(iter(bank.values()))
    scorer = Scorer(services.points, QuizConfig.of(services.settings))
    t0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

    def box_and_due():
        with services.sessions() as db:
            m = db.scalar(select(Mistake).where(Mistake.openid == "oLeitner"))
            return m.box, m.due_at.replace(tzinfo=UTC) if m.due_at.tzinfo is None else m.due_at, m.learned_at

    def answer(mode: str, correct: bool, now: datetime) -> None:
        with services.sessions() as db:
            run = start(db, "oLeitner", mode, [q.id])
            run.asked_at = now - timedelta(seconds=5)
            scorer.answer(
                db, run, q, q.answer if correct else wrong(q).replace("对", "正确").replace("错", "错误"), now
            )

    answer("daily", False, t0)
    assert box_and_due()[:2] == (1, t0 + timedelta(days=1))
    now = t0
    for box, days in [(2, 2), (3, 4), (4, 8), (5, 16)]:
        now += timedelta(days=1)
        answer("review", True, now)
        assert box_and_due()[:2] == (box, now + timedelta(days=days))
    answer("review", False, now + timedelta(days=1))
    assert box_and_due()[0] == 1
    for _ in range(5):
        now += timedelta(days=20)
        answer("review", True, now)
    assert box_and_due()[2] is not None  # right in the last box: learned, leaves the 错题本


@pytest.mark.config(**FAST)
def test_review_serves_due_mistakes(wx, user, services):
    wx.text(user, "每日答题")
    q = current(services, user)
    wx.text(user, wrong(q))
    wx.text(user, "退出")
    assert "暂时没有到期" in wx.text(user, "复习").text
    with services.sessions() as db:
        db.query(Mistake).update({Mistake.due_at: datetime.now(UTC) - timedelta(minutes=1)})
        db.commit()
    assert "【错题复习】今天有1道题到期" in wx.text(user, "复习").text
    assert "✅" in wx.text(user, right(q)).text


@pytest.mark.config(**FAST)
def test_ranks_identical_after_a_redis_flush_and_rebuild(wx, services, emu):
    users = [emu.create_user(subscribed=True)["openid"] for _ in range(3)]
    for n, openid in enumerate(users, 1):
        wx.text(openid, "每日答题")
        for _ in range(n):
            wx.text(openid, right(current(services, openid)))
    before = [services.points.summary(services.sessions(), u)["rank"] for u in users]
    assert before == [3, 2, 1]
    services.redis.flushdb()
    assert [services.points.summary(services.sessions(), u)["rank"] for u in users] == before
    assert "第 1 名" in wx.text(users[2], "我的积分").text


@pytest.mark.config(**FAST)
def test_binding_an_organisation_gives_its_leaderboard(wx, user, services):
    wx.text(user, "每日答题")
    wx.text(user, right(current(services, user)))
    wx.text(user, "退出")
    orgs = services.content.current().organisations
    assert orgs[0].name in wx.text(user, "绑定组织").text
    assert "已绑定" in wx.text(user, "1").text
    board = wx.text(user, "排行榜").text
    assert "【本组织榜】" in board and "1. 我　1分" in board  # names come from the organisation table now


def test_review_reminders_once_a_day_inside_the_window(wx, user, services, emu):
    wx.text(user, "你好")  # opens the 48 h window (and the emulator's)
    emu.inbound(wx.build(user, "text", Content="你好"))
    with services.sessions() as db:
        db.add(Mistake(openid=user, question_id="bn-001", box=1, due_at=datetime.now(UTC) - timedelta(hours=1)))
        db.add(Mistake(openid="oOutsideWindow", question_id="bn-001", box=1, due_at=datetime.now(UTC)))
        db.commit()
    noon = (datetime.now(UTC) + timedelta(days=1)).replace(hour=4, minute=0)  # 12:00 China time
    assert send_review_reminders(services, noon) == 1
    assert send_review_reminders(services, noon + timedelta(minutes=5)) == 0
    assert "1 道题到期" in emu.received(user, "custom")[0]["body"]["text"]["content"]
    assert send_review_reminders(services, noon.replace(hour=15)) == 0  # 23:00 China time: quiet hours


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def edit_bank(root: Path, change) -> None:
    path = root / "quiz" / "bainian.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["questions"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda qs: qs[1].update(id=qs[0]["id"]), "duplicate id"),
        (lambda qs: qs[1].update(stem=qs[0]["stem"] + " ？"), "duplicate stem"),
        (
            lambda qs: qs[next(i for i, q in enumerate(qs) if q["type"] == "single")].update(answer="E"),
            "is not among the options",
        ),
        (lambda qs: qs[2].update(explanation=""), "missing required field 'explanation'"),
        (lambda qs: qs[2].update(source="xs999"), "source 'xs999' is not an episode"),
    ],
)
def test_check_content_refuses_each_kind_of_bad_bank(bank_copy, change, message):
    edit_bank(bank_copy, change)
    with pytest.raises(ContentInvalid) as info:
        load_library(bank_copy, with_index=False)
    problem = info.value.problems[0]
    assert (
        problem.file == "content/quiz/bainian.yaml" and problem.line > 1 and problem.item and message in problem.message
    )
