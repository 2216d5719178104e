"""Questions in members' own words in chat (#14), through the emulator: a quoted answer with its source that
「1」 opens, the best items otherwise, the menu for chit-chat, BM25 alone until the model is ready."""

from __future__ import annotations

import pytest

from bot.library import answer
from bot.library.dense import Encoder
from tests.library.answer_helpers import ready_asker


@pytest.fixture
def asker(services):
    return ready_asker(services.content.current())


def test_a_question_gets_the_sentence_that_answers_it_with_its_source(wx, user, asker):
    text = wx.text(user, "包产到户是谁先干的").text
    assert "小岗村18位农民" in text and "1978年" in text
    assert "新声第63集" in text and "回复「1」" in text
    assert len(text.encode("utf-8")) <= 2047
    opened = wx.text(user, "1").text
    assert "【新声·第63集｜小岗村“大包干”】" in opened


def test_the_other_top_items_are_numbered_after_the_answer(wx, user, asker):
    text = wx.text(user, "特区是怎么办起来的").text
    assert "深圳、珠海、汕头经济特区正式设立" in text and "新声第65集" in text
    if "2. " in text:
        assert "回复序号查看" in text


def test_the_party_birthday_is_not_answered_with_the_hongkong_episode(wx, user, asker):
    text = wx.text(user, "党的生日为什么是七月一日").text
    assert "香港回归" not in text.split("\n\n")[0]  # neither quoted nor listed first


def test_a_question_without_a_sure_answer_lists_the_best_three(wx, user, asker):
    text = wx.text(user, "新中国刚成立的时候国家是什么样子").text
    assert text.startswith("为您找到") and "1. " in text and "3. " in text


def test_chit_chat_gets_the_menu(wx, user, asker):
    text = wx.text(user, "今天天气怎么样").text
    assert "没有找到" in text and "菜单" in text


def test_keyword_search_is_unchanged(wx, user, asker):
    text = wx.text(user, "遵义会议").text
    assert "遵义会议" in text.split("\n\n")[0]
    assert len(text.encode("utf-8")) <= 2047


def test_before_the_model_is_ready_chat_searches_with_bm25(wx, user, monkeypatch):
    monkeypatch.setattr(answer, "_shared", answer.Asker(Encoder(), None))  # a process whose model has not loaded
    text = wx.text(user, "遵义会议").text
    assert text.startswith("为您找到") and "遵义会议" in text.splitlines()[1]


def test_members_names_for_people_and_events_find_the_episode(wx, user, asker):
    text = wx.text(user, "老蒋是在哪里被扣下的").text  # 老蒋: how members name 蒋介石
    assert "在西安扣留蒋介石" in text and "新声第21集" in text
    listed = wx.text(user, "文革是哪一年结束的").text  # 文革: the content says 文化大革命
    assert listed.startswith("为您找到") and "粉碎“四人帮”" in listed.splitlines()[1]
