"""Every reply the bot gives fits WeChat's 2,047 bytes at its largest, driven through the emulator: long content
comes in pages (「继续」) or as several customer-service messages, and the user sees all of it, never WeChat's
notice."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select

from bot.emulator.client import FAULT
from bot.inbound import fit
from bot.inbound.router import Router
from handlers.pushes import service as pushes
from handlers.tickets import flow, notify as ticket_notify
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit
from tests.push_helpers import get, local, make, members
from tests.size_helpers import all_fit, custom_texts, nbytes, read_all

NOW = datetime.now(UTC)
# 5,000 characters: sentences with long numbers in them (a number must never be cut in two), no line breaks.
SENTENCE = "公司从去年开始拖欠工资，工号20231234567890的同事也一样，电话13800138000无人接听。"
LONG_DESCRIPTION = (SENTENCE * 200)[:5000]
KEPT = LONG_DESCRIPTION[:1000]  # tickets.description_max characters are kept


def seen(ex: Any) -> str:
    """The text the user saw, after checking WeChat would show it."""
    assert ex.ok and ex.text != FAULT, ex.text
    assert nbytes(ex.text) <= fit.LIMIT, nbytes(ex.text)
    return ex.text


def pages_of(wx: Any, user: str, first: Any) -> tuple[str, list[str]]:
    seen(first)
    text, pages = read_all(wx, user, first)
    assert all_fit(pages) and FAULT not in pages
    return text, pages


def no_number_cut(pages: list[str]) -> None:
    bodies = [p.split("\n\n（未完，第")[0] for p in pages]
    for a, b in pairwise(bodies):
        assert not (a[-1:].isdigit() and b[:1].isdigit()), (a[-20:], b[:20])


def test_summary_after_a_5000_character_description_comes_in_pages(wx, user, services):
    for answer in ("我要反映", "3"):
        seen(wx.text(user, answer))
    kept = seen(wx.text(user, LONG_DESCRIPTION))
    assert "只保留了前1000字" in kept and "企业名称或地点" in kept
    text, pages = pages_of(wx, user, wx.text(user, "上一步"))  # the description step shows 当前描述 in full
    assert KEPT in text and len(pages) == 2
    seen(wx.text(user, "下一步"))  # any other answer drops the waiting page and goes on
    for answer in ("某某电子厂", "跳过"):
        seen(wx.text(user, answer))
    text, pages = pages_of(wx, user, wx.text(user, "否"))
    assert len(pages) == 2 and KEPT in text and "某某电子厂" in text and "「确认」提交" in pages[-1]
    no_number_cut(pages)
    done = seen(wx.text(user, "确认"))
    assert "提交成功" in done
    with services.sessions() as db:
        assert db.scalars(select(Ticket.description).where(Ticket.openid == user)).one() == KEPT


def test_a_description_of_four_byte_characters_fits_too(wx, user):
    for answer in ("我要反映", "3", "😀" * 1200, "某某电子厂", "跳过"):
        seen(wx.text(user, answer))
    text, pages = pages_of(wx, user, wx.text(user, "否"))
    assert "😀" * 1000 in text and len(pages) == 3


def long_ticket(services: Any, openid: str, rounds: int = 6) -> Ticket:
    """A ticket with a long timeline: assigned, resolved with a 1,000-character answer and reopened, over and over."""
    cfg = TicketConfig.of(services.settings)
    with services.sessions() as db:
        ticket, _ = submit(
            db,
            cfg,
            Submission(key="long", openid=openid, category="劳动权益", description=KEPT, place="某某电子厂" * 10),
            NOW - timedelta(days=30),
        )
        at = NOW - timedelta(days=29)
        flow.assign(flow.Step.by(db, cfg, "staff", at), ticket, "renshe", None)
        for i in range(rounds):
            flow.resolve(
                flow.Step.by(db, cfg, "staff", at + timedelta(hours=2 * i + 1)),
                ticket,
                f"第{i + 1}次答复：" + "已协调处理" * 200,
            )
            flow.rate(
                flow.Step.by(db, cfg, "submitter", at + timedelta(hours=2 * i + 2)), ticket, "unsatisfied", "仍未解决"
            )
        db.commit()
        db.expunge(ticket)
        return ticket


def test_my_tickets_and_a_long_timeline_fit(wx, user, services):
    cfg = TicketConfig.of(services.settings)
    with services.sessions() as db:
        for i in range(15):
            submit(
                db, cfg, Submission(key=f"k{i}", openid=user, category="其他", description=f"第{i}件事", place="某地")
            )
    ticket = long_ticket(services, user)
    mine = seen(wx.text(user, "我的诉求"))
    assert mine.count("JK") >= 10
    text, pages = pages_of(wx, user, wx.text(user, f"诉求 {ticket.number}"))
    assert len(pages) >= 2 and text.count("不满意") == 6 and "第6次答复：" + "已协调处理" * 200 in text
    no_number_cut(pages)


def test_a_long_status_notice_arrives_as_several_messages_in_order(wx, user, services, emu):
    wx.observer = emu  # the emulator learns of the message: the 48-hour window opens
    seen(wx.text(user, "你好"))
    cfg = TicketConfig.of(services.settings)
    answer = "经核查，" + "企业已承诺补发全部工资并书面道歉，" * 58  # 990 characters: the console allows 1,000
    with services.sessions() as db:
        ticket, _ = submit(
            db, cfg, Submission(key="n", openid=user, category="劳动权益", description="欠薪", place="某地")
        )
        flow.assign(flow.Step.by(db, cfg, "staff"), ticket, "renshe", None)
        step = flow.Step.by(db, cfg, "staff")
        flow.resolve(step, ticket, answer)
        ids = step.notice_ids()
        db.commit()
    ticket_notify.deliver(services, ids)
    received = custom_texts(emu, user)
    resolved = received[[i for i, t in enumerate(received) if "已办结" in t][0] :]
    assert all_fit(received) and len(resolved) == 2  # the 办结 notice came in two parts, in order, nothing lost
    assert answer in "".join(resolved) and "请回复「满意」" in resolved[-1]


def test_help_catalogue_albums_search_points_and_leaderboards_fit(wx, user):
    for words in (
        "帮助",
        "新声目录",
        "下一页",
        "学习专辑",
        "1",
        "下一页",
        "我的积分",
        "排行榜",
        "我的认证",
        "专项答题",
        "订阅提醒",
        "我要反映",
        "取消",
        "遵义会议",
        "更多",
        "不知道说什么" * 40,
    ):
        seen(wx.text(user, words))
    seen(wx.click(user, "HELP"))
    seen(wx.click(user, "STUDY_XINSHENG"))


def swap_library(services: Any, **changes: Any) -> None:
    """Serve a changed copy of the content (the store swaps libraries the same way on reload)."""
    services.content.library = dataclasses.replace(services.content.current(), **changes)


def test_a_long_article_reads_in_pages_and_the_album_stays_open(wx, user, services):
    lib = services.content.current()
    album = lib.albums[0]
    body = "\n\n".join(f"第{i}段。" + "不忘初心，牢记使命，" * 40 for i in range(1, 9))  # about 6,600 bytes
    article = dataclasses.replace(album.articles[0], url=None, body=body)
    swap_library(
        services, albums=(dataclasses.replace(album, articles=(article, *album.articles[1:])), *lib.albums[1:])
    )
    seen(wx.text(user, "学习专辑"))
    seen(wx.text(user, "1"))
    text, pages = pages_of(wx, user, wx.text(user, "1"))
    assert len(pages) >= 4 and all(f"第{i}段。" in text for i in range(1, 9))
    assert article.title in pages[0] and "来源：" in pages[-1] and "回复「继续」" not in pages[-1]
    assert album.articles[1].title in seen(wx.text(user, "2"))  # the album is still open after reading


def test_a_long_episode_summary_and_a_long_quiz_question_fit(wx, user, services):
    lib = services.content.current()
    episodes = tuple(
        dataclasses.replace(e, media=None, summary="这一年，" + "党领导人民艰苦奋斗，" * 120) for e in lib.episodes
    )
    stem = "阅读材料：" + "中国共产党人的初心和使命，" * 60  # 2,300 bytes before the options
    long_q = {
        qid: dataclasses.replace(
            q,
            stem=stem,
            options=tuple((k, f"{k}项：" + "为中国人民谋幸福，" * 20) for k, _ in q.options),
            explanation="解析：" + "这是党的根本宗旨。" * 60,
        )
        for qid, q in lib.questions.items()
    }
    swap_library(services, episodes=episodes, questions=long_q)
    text, _ = pages_of(wx, user, wx.text(user, "新声1"))
    assert episodes[0].summary in text
    text, pages = pages_of(wx, user, wx.text(user, "每日答题"))
    assert len(pages) >= 2 and stem in text
    assert "回复「对」或「错」" in pages[-1] or ("A项：" in text and "回复选项字母作答" in pages[-1])
    reply = wx.text(user, "A" if "A项：" in text else "对")
    text, _ = pages_of(wx, user, reply)
    assert "解析：" in text and "第2题" in text


def test_the_safety_net_cuts_a_reply_that_skipped_the_pages_and_warns(app, wx, user, caplog):
    unfitted = Router("unfitted")  # added after start-up: its handler is not paged, only the renderer stands guard
    unfitted.on(lambda msg, ctx: ctx.norm_text == "长回复")(lambda msg, ctx: "第一句。" + "很长的内容，" * 600)
    app.extensions["bot"].dispatcher.routers.insert(0, unfitted)
    shown = seen(wx.text(user, "长回复"))
    assert shown.startswith("第一句。很长的内容") and shown.endswith(fit.CLIPPED)
    assert any("cut to WeChat's limit" in r.getMessage() for r in caplog.records)


def test_split_cuts_between_paragraphs_lines_and_sentences_never_inside_a_character_or_a_number():
    numbers = "金额1,000,000元，时间12:30:45，比例3.14159，电话13800138000；" * 80
    parts = fit.split(numbers)
    assert "".join(parts) == numbers and all_fit(parts) and len(parts) > 1
    assert all(p.endswith(("；", "，")) for p in parts[:-1])
    emoji = "😀" * 1000  # 4-byte characters and no boundary at all
    parts = fit.split(emoji)
    assert "".join(parts) == emoji and all_fit(parts)
    paragraphs = "\n\n".join("段" * 300 for _ in range(5))
    assert all(p.endswith("\n\n") for p in fit.split(paragraphs)[:-1])


def test_a_push_text_of_four_byte_characters_reaches_each_member_in_parts(live, services, emu):
    people = members(emu, services, 2)
    body = "🎉" * 600  # the console allows 600 characters: 2,400 bytes
    push_id = make(services, run_at=local(1, 12), body=body)
    at = get(services, push_id).next_run_at
    assert pushes.run_push(services, push_id, now=pushes.aware(at)) is not None
    for openid in people:
        received = custom_texts(emu, openid)
        assert len(received) == 2 and all_fit(received) and "".join(received) == body
