"""The instructor account linked to a guidance group: told of its organisations' reports (at their next message when
outside the 48 h window), sees and reviews those reports even outside its own scope, gets a copy of the reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.organisations import GuidanceGroup
from bot.outbound import pending
from handlers.orglife import task_notify
from handlers.orglife.task_models import ACCEPTED
from tests.console.console_helpers import submit
from tests.handlers.orglife.task_helpers import account, issue, reports, sign_in, tree


def linked_instructor(services, ids: dict[str, int], openid: str) -> int:
    """An instructor scoped to 测试甲公司第二党支部 (covering neither of the group's organisations), linked to it."""
    account_id = account(services, "zhidao", "instructor", "T112", openid)
    with services.sessions() as db:
        db.get(GuidanceGroup, ids["group"]).instructor_account_id = account_id
        db.commit()
    return account_id


def texts(emu, openid: str) -> list[str]:
    return [m["body"]["text"]["content"] for m in emu.received(openid, "custom")]


def test_the_linked_instructor_is_told_of_reports_and_reviews_them(app, services, emu, wxo, wait_for):
    ids = tree(services)
    boss, guide = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    account(services, "shuji", "secretary", "T111", boss)
    account(services, "yishuji", "secretary", "T21", None)
    linked_instructor(services, ids, guide)  # has not written for 48 h
    wxo.text(boss, "你好")
    list_id = issue(services)
    row = reports(services, list_id)[("T111", 1)]
    url = f"/console/tasks/report/{row.id}"
    secretary, instructor = sign_in(app, "shuji"), sign_in(app, "zhidao")

    assert submit(secretary, url, {"action": "report", "text": "已组织集中学习"}).status_code == 302
    wait_for(lambda: pending.waiting(services, guide) == 1)  # outside the window: kept for the next message
    assert texts(emu, guide) == []
    wxo.text(guide, "你好")
    wait_for(lambda: texts(emu, guide))
    [told] = texts(emu, guide)
    assert told.startswith(pending.RESENT) and "测试甲公司第一党支部已上报任务「测试任务1」" in told

    page = instructor.get(url).get_data(as_text=True)  # outside its scope, but its group's organisation
    assert "已组织集中学习" in page and "验收" in page
    assert submit(instructor, url, {"action": "review", "verdict": "accept"}).status_code == 302
    assert reports(services, list_id)[("T111", 1)].status == ACCEPTED
    assert "已通过验收" in texts(emu, boss)[-1]
    listing = instructor.get(f"/console/tasks/{list_id}").get_data(as_text=True)
    assert "测试甲公司第一党支部" in listing and "测试乙公司党支部" in listing  # the group's two organisations
    assert "测试甲公司第二党支部" in listing  # and its own scope
    outside = reports(services, list_id)[("T11", 1)]  # 测试甲公司党委: neither in the group nor in its scope
    assert instructor.get(f"/console/tasks/report/{outside.id}").status_code == 404

    wxo.text(boss, "任务清单")  # a report in chat reaches the instructor too (now inside the window)
    wxo.text(boss, "完成任务1 已走访")
    wait_for(lambda: len(texts(emu, guide)) == 2)
    assert "已上报任务「测试任务2」" in texts(emu, guide)[1] and not texts(emu, guide)[1].startswith(pending.RESENT)


def test_reminders_send_the_linked_instructor_a_copy(services, emu, wxo):
    ids = tree(services)
    boss, guide = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    account(services, "shuji", "secretary", "T111", boss)
    linked_instructor(services, ids, guide)
    wxo.text(boss, "你好")
    wxo.text(guide, "你好")
    issue(services, due=date(2026, 12, 20), n=1)
    now = datetime(2026, 12, 18, 1, 0, tzinfo=UTC)
    task_notify.remind(services, now)
    [to_boss] = texts(emu, boss)
    assert "测试任务1" in to_boss and "请按时完成" in to_boss
    copies = texts(emu, guide)
    assert len(copies) == 2  # the group's two organisations, one message each
    assert any("您指导的测试甲公司第一党支部" in c for c in copies) and any("测试乙公司党支部" in c for c in copies)
    assert task_notify.remind(services, now) == 0 and len(texts(emu, guide)) == 2  # once
