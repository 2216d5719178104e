"""Quizzes in chat: 每日答题, 专项答题, 挑战答题, 复习 (错题本), 我的积分, 排行榜, 组织排行."""

from __future__ import annotations

import re
from typing import Any

from bot.core.database import utcnow
from bot.core.studying import record_study
from bot.inbound.choices import pick
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, state_is, text_is
from bot.library.loader import Episode, Library
from bot.library.questions import THEMES, Question
from handlers.quiz import boards
from handlers.quiz.config import QuizConfig
from handlers.quiz.models import QuizRun
from handlers.quiz.points import ALL, GROUP, WEEK, day_of, week_of
from handlers.quiz.runs import Outcome, Scorer, active_run, choose, due_mistakes, finish, parse_answer, start

router = Router("quiz")
STATE = "quiz:answering"  # dialog state while a run is open; the run itself lives in the database
ANSWER_LIKE = re.compile(
    r"^(我选|选择|选|答案是|答案|答)?[a-e,、]{1,9}$|^(对|错|√|×|✓|✗|正确|错误|是|否|跳过|退出)$"
)  # worth a DB look
POINTS_WORDS = ("我的积分", "积分")  # 我的积分 and 排行榜 are answered during a run too, then the question is repeated
BOARD_WORDS = ("排行榜", "积分排行", "排名")
ORG_BOARD_WORDS = ("组织排行", "组织排行榜", "片区排行")  # organisations and 片区 by average points per member
MODES = {"daily": "每日答题", "special": "专项答题", "challenge": "挑战答题", "review": "错题复习"}
ACTIVITY = {"daily": "每日答题", "special": "专项答题", "challenge": "挑战答题"}  # ledger activity names


def cfg(ctx: Context) -> QuizConfig:
    return QuizConfig.of(ctx.settings)


def bank(ctx: Context) -> Library:
    return ctx.services.content.current()


def scorer(ctx: Context) -> Scorer:
    return Scorer(ctx.services.points, cfg(ctx))


def begin(ctx: Context, mode: str, ids: list[str], theme: str | None = None, intro: str = "") -> str:
    """Open a run and ask its first question."""
    if not ids:
        return "题库暂时没有可用的题目，请稍后再试。"
    run = start(ctx.db, ctx.openid, mode, ids, theme)
    ctx.dialog.set(STATE, run=run.id, org=list(ctx.services.points.membership(ctx.db, ctx.openid)))
    if mode == "challenge":
        head = f"【挑战答题】答错即止，每题限时{int(cfg(ctx).challenge_seconds)}秒"
    else:
        head = intro or f"【{MODES[mode]}】共{len(ids)}题"
    return f"{head}\n\n{ask(ctx, run)}"


def ask(ctx: Context, run: QuizRun) -> str:
    q = bank(ctx).questions[run.question_ids[run.position]]
    number = f"第{run.position + 1}题" + ("" if run.mode == "challenge" else f"/共{len(run.question_ids)}题")
    return f"{number}\n{q.shown()}\n（「跳过」下一题，「退出」结束答题）"


@router.text("每日答题", "答题", "开始答题")
@router.click("QUIZ_DAILY")
def daily(msg: Message, ctx: Context) -> str:
    c = cfg(ctx)
    ids = choose(ctx.db, list(bank(ctx).questions.values()), ctx.openid, c.daily_size, c.repeat_after_days)
    return begin(ctx, "daily", ids)


@router.text("专项答题", "专项")
@router.click("QUIZ_SPECIAL")
def special(msg: Message, ctx: Context) -> str:
    ctx.dialog.set("quiz:theme")
    lines = [f"{i}. {t}" for i, t in enumerate(THEMES, 1)]
    return "\n".join(["【专项答题】请选择主题：", *lines, "", "回复序号或主题名称。"])


@router.on(state_is("quiz:theme"), lambda msg, ctx: msg.type == "text")
def special_theme(msg: Message, ctx: Context) -> str:
    theme = pick(msg.text.strip(), THEMES)
    if theme is None:
        return f"请回复 1 到 {len(THEMES)} 的序号选择主题，或回复「退出」。"
    pool = [q for q in bank(ctx).questions.values() if q.theme == theme]
    c = cfg(ctx)
    return begin(
        ctx,
        "special",
        choose(ctx.db, pool, ctx.openid, c.special_size, c.repeat_after_days),
        theme,
        f"【专项答题·{theme}】共{c.special_size}题",
    )


@router.text("挑战答题", "挑战")
@router.click("QUIZ_CHALLENGE")
def challenge(msg: Message, ctx: Context) -> str:
    pool = [q for q in bank(ctx).questions.values() if q.type == "single"]
    c = cfg(ctx)
    return begin(ctx, "challenge", choose(ctx.db, pool, ctx.openid, c.challenge_size, c.repeat_after_days))


@router.text("复习", "错题本", "错题复习")
@router.click("QUIZ_REVIEW")
def review(msg: Message, ctx: Context) -> str:
    ids = [i for i in due_mistakes(ctx.db, ctx.openid, limit=cfg(ctx).review_size) if i in bank(ctx).questions]
    if not ids:
        return "错题本里暂时没有到期需要复习的题目。答题时答错的题会按 1、2、4、8、16 天的间隔提醒您复习。"
    return begin(ctx, "review", ids, intro=f"【错题复习】今天有{len(ids)}道题到期")


def resumable(msg: Message, ctx: Context) -> bool:
    """In a run by the dialog, or (after Redis lost the dialog) an answer-like text with a run open in the database."""
    if msg.type != "text":
        return False
    if ctx.dialog.in_state(STATE):
        return True
    if ctx.dialog.state is not None or not ANSWER_LIKE.match(ctx.norm_text):
        return False
    run = active_run(ctx.db, ctx.openid)
    if run is None or run.position >= len(run.question_ids):
        return False
    q = bank(ctx).questions.get(run.question_ids[run.position])
    if q is None or (parse_answer(msg.text, q) is None and msg.text not in ("跳过", "退出")):
        return False
    ctx.dialog.set(STATE, run=run.id)
    return True


@router.on(state_is(STATE), text_is(*POINTS_WORDS, *BOARD_WORDS, *ORG_BOARD_WORDS))
def aside(msg: Message, ctx: Context) -> str:
    """我的积分, 排行榜 or 组织排行 in the middle of a run: answered, and the current question asked again."""
    if ctx.norm_text in POINTS_WORDS:
        return my_points(msg, ctx)
    return leaderboard(msg, ctx) if ctx.norm_text in BOARD_WORDS else org_leaderboard(msg, ctx)


def still_open(ctx: Context) -> str | None:
    """The run's current question, when the dialog holds an open run (shown after 帮助, 我的积分, 排行榜)."""
    if not ctx.dialog.in_state(STATE):
        return None
    run = ctx.db.get(QuizRun, int(ctx.dialog.data.get("run", 0)))
    if run is None or run.finished_at is not None or run.position >= len(run.question_ids):
        return None
    if run.question_ids[run.position] not in bank(ctx).questions:
        return None
    return f"—— 您正在{MODES[run.mode]}，请继续作答 ——\n{ask(ctx, run)}"


@router.on(resumable)
def answer(msg: Message, ctx: Context) -> str:
    run = ctx.db.get(QuizRun, int(ctx.dialog.data.get("run", 0)))
    if run is None or run.finished_at is not None or run.position >= len(run.question_ids):
        ctx.dialog.clear()
        return "本轮答题已结束。回复「每日答题」再来一组。"
    q = bank(ctx).questions.get(run.question_ids[run.position])
    if q is None:  # the bank changed under a running quiz: skip the vanished question
        run.position += 1
        ctx.db.commit()
        return answer(msg, ctx)
    if msg.text == "退出":
        return quit_run(ctx, run)
    given = "" if msg.text == "跳过" else parse_answer(msg.text, q)
    if given is None:
        hint = (
            "请回复「对」或「错」"
            if q.type == "judge"
            else "请回复选项字母，如「A」" + ("，多选如「AC」" if q.type == "multiple" else "")
        )
        return f"没看懂您的答案。{hint}。\n\n{q.shown()}"
    org = ctx.dialog.data.get("org")
    out = scorer(ctx).answer(ctx.db, run, q, given, membership=tuple(org) if org else None)
    if given:  # an answer (not 跳过) is a study day for 参学率
        record_study(ctx.db, ctx.openid, cache=ctx.services.redis)
    return after(ctx, out)


def cancel_run(ctx: Context) -> bool:
    """「取消」 during a quiz closes the run too, so it is not resumed later."""
    run = active_run(ctx.db, ctx.openid)
    if run is not None:
        finish(ctx.db, run)
    return run is not None


def quit_run(ctx: Context, run: QuizRun) -> str:
    finish(ctx.db, run)
    ctx.dialog.clear()
    return f"已退出{MODES[run.mode]}，本次答对 {run.correct} 题。回复「我的积分」查看积分。"


def verdict(ctx: Context, out: Outcome) -> str:
    q = out.question
    if out.timed_out:
        head = f"⏰ 超过{int(cfg(ctx).challenge_seconds)}秒未作答，按答错计。"
    elif out.given == "":
        head = "已跳过。"
    else:
        head = "✅ 回答正确！" if out.correct else "❌ 回答错误。"
    lines = [head, f"正确答案：{q.answer_text()}", f"解析：{q.explanation}", f"出处：{source_name(ctx, q)}"]
    if out.points:
        lines.append(f"积分 +{out.points}")
    elif out.suspicious:
        lines.append("（作答过快，本题不计积分）")
    return "\n".join(lines)


def source_name(ctx: Context, q: Question) -> str:
    item = bank(ctx).by_id.get(q.source)
    if isinstance(item, Episode):
        return f"新声第{item.number}集《{item.title}》（回复「新声{item.number}」收听）"
    return f"学习专辑《{item.title}》" if item else q.source


def after(ctx: Context, out: Outcome) -> str:
    run = out.run
    assert run is not None
    text = verdict(ctx, out)
    if not out.finished:
        return f"{text}\n\n{ask(ctx, run)}"
    ctx.dialog.clear()
    if run.mode == "challenge":
        summary = f"挑战结束，连续答对 {run.correct} 题。"
    else:
        summary = f"{MODES[run.mode]}完成，答对 {run.correct}/{len(run.question_ids)} 题。"
    return f"{text}\n\n{summary}\n回复「我的积分」查看积分，「复习」复习错题。"


@router.text("我的积分", "积分")
@router.click("QUIZ_POINTS")
def my_points(msg: Message, ctx: Context) -> str:
    member = boards.binding(ctx.db, ctx.openid)
    mine = member.organisation if member is not None and member.confirmed else None
    pts, week = ctx.services.points, this_week()
    s = pts.summary(  # the organisation's rank and place in the same round trip as the member's standing
        ctx.db,
        ctx.openid,
        group=GROUP.format("org", mine) if mine else None,
        more=(lambda pipe: boards.queue_checked(pipe, week, boards.place_reads(mine))) if mine else None,
    )
    today = "、".join(f"{ACTIVITY.get(a, a)} {p}分" for a, p in s["today"].items()) or "暂无"
    rank = f"第 {s['rank']} 名（共 {s['members']} 人）" if s["rank"] else "暂未上榜"
    lines = [f"【我的积分】总积分：{s['total']}", f"今日：{today}", f"连续学习：{s['streak']} 天", f"总排名：{rank}"]
    if member is not None and mine:
        reads = boards.checked(pts, week, s["more"])
        place = boards.as_place(reads) if reads is not None else boards.place(pts, ctx.db, week, mine)
        lines += my_organisation(member.name or "本组织", s, place)
    else:
        lines.append("回复「党员认证」确认党员身份，积分即计入所在党组织的排名。")
    text = "\n".join([*lines, "", "回复「排行榜」查看榜单，「组织排行」比较各组织。"])
    return with_question(ctx, text)


def my_organisation(name: str, s: dict[str, Any], place: boards.Place | None) -> list[str]:
    """我的积分's lines on a confirmed member's organisation: their rank in it and its place among organisations."""
    rank = s["group_rank"]
    lines = [f"组织排名：{name} 第 {rank} 名（共 {s['group_members']} 人）" if rank else f"组织排名：{name} 暂未上榜"]
    if place is not None:
        lines.append(f"本组织人均 {place.average:.1f} 分，在 {place.of} 个组织中列第 {place.rank} 名")
    return lines


def with_question(ctx: Context, text: str) -> str:
    """`text`, followed by the current question when a quiz run is open."""
    pending = still_open(ctx)
    return f"{text}\n\n{pending}" if pending else text


def this_week() -> str:
    return week_of(day_of(utcnow()))


@router.text(*BOARD_WORDS)
def leaderboard(msg: Message, ctx: Context) -> str:
    """The members' boards: overall, this week and the member's organisation (top 10 each)."""
    member = boards.binding(ctx.db, ctx.openid)
    keys = [ALL, WEEK.format(this_week())] + ([GROUP.format("org", member.organisation)] if member else [])
    tops = ctx.services.points.tops(keys)
    names = boards.member_names(ctx.services.points, ctx.db, {o for rows in tops for o, _ in rows if o != ctx.openid})
    parts = [board(tops[0], "总榜", ctx.openid, names), board(tops[1], "本周榜", ctx.openid, names)]
    if member is not None:
        parts.append(board(tops[2], f"{member.name or '本组织'}榜", ctx.openid, names))
    else:
        parts.append("回复「党员认证」加入所在党组织的榜单。")
    parts.append("回复「组织排行」查看各组织、各片区的人均积分。")
    return with_question(ctx, "\n\n".join(parts))


def board(rows: list[tuple[str, int]], title: str, me: str, names: dict[str, str]) -> str:
    """A members' board: the asker as 我, confirmed members by masked name, others as 党员 + 4 openid characters."""
    if not rows:
        return f"【{title}】暂无数据"
    lines = [f"{i}. {'我' if o == me else names.get(o) or '党员' + o[-4:]}　{p}分" for i, (o, p) in enumerate(rows, 1)]
    return "\n".join([f"【{title}】", *lines])


@router.text(*ORG_BOARD_WORDS)
def org_leaderboard(msg: Message, ctx: Context) -> str:
    """Organisations and 片区 compared by average points per roster member (top 5 each), and the member's own."""
    member = boards.binding(ctx.db, ctx.openid)
    mine = member.organisation if member is not None and member.confirmed else None
    avg = boards.averages(ctx.services.points, ctx.db, this_week(), mine)
    parts = [
        average_board(avg.orgs, "组织人均积分榜"),
        average_board(avg.orgs_week, "组织本周人均积分榜"),
        average_board(avg.districts[:5], "片区人均积分榜", dict(avg.districts_week)),
    ]
    if mine and avg.mine is not None:
        where = f"第 {avg.mine.rank} 名（共 {avg.mine.of} 个）"
        parts.append(f"我的组织：{short((member and member.name) or mine)} 人均 {avg.mine.average:.1f} 分，{where}")
    elif not mine:
        parts.append("回复「党员认证」确认党员身份，积分即计入所在党组织。")
    parts.append("人均积分 = 已认证党员的积分之和 ÷ 花名册在册党员数。")
    return with_question(ctx, "\n\n".join(parts))


def average_board(rows: list[tuple[str, float]], title: str, week: dict[str, float] | None = None) -> str:
    """An average board: organisation names or 片区 with their averages (and this week's, when given)."""
    if not rows:
        return f"【{title}】暂无数据"
    lines = []
    for i, (key, avg) in enumerate(rows, 1):
        extra = f"（本周 {week.get(key, 0.0):.1f}）" if week is not None else ""
        lines.append(f"{i}. {short(key)}　人均 {avg:.1f} 分{extra}")
    return "\n".join([f"【{title}】", *lines])


def short(name: str, limit: int = 20) -> str:
    """A long organisation name cut to `limit` characters, so the boards fit one reply."""
    return name if len(name) <= limit else name[: limit - 1] + "…"
