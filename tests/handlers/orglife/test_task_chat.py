"""Task lists in chat and the reminders: a bound secretary lists the open tasks, reports one with a photo (copied from
WeChat), reports again after a return; reminders before the due date go once, even with two scheduler runs."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handlers.orglife import task_notify, tasks
from handlers.orglife.task_models import REPORTED, TaskNotice, TaskPhoto
from tests.handlers.orglife.task_helpers import account, issue, reports, tree

JPEG = b"\xff\xd8\xff\xe0 test jpeg"


def test_a_secretary_reports_in_chat_with_a_photo(wxo, services, emu, wait_for):
    tree(services)
    boss, stranger = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    account(services, "shuji", "secretary", "T111", boss)
    list_id = issue(services)
    assert "党组织书记" in wxo.text(stranger, "任务清单").text
    listing = wxo.text(boss, "任务清单").text
    assert "测试甲公司第一党支部" in listing and "1. 测试任务1" in listing and "2. 测试任务2" in listing
    assert "没有这个序号" in wxo.text(boss, "完成任务 5 做完了").text
    reply = wxo.text(boss, "完成任务 2 已组织全体党员学习").text
    assert "已上报任务「测试任务2」" in reply
    row = reports(services, list_id)[("T111", 2)]
    assert (row.status, row.text, row.reported_by) == (REPORTED, "已组织全体党员学习", "wechat:shuji")
    media_id = emu.add_media("image", JPEG, "image/jpeg")
    assert "已收到图片" in wxo.post(wxo.build(boss, "image", MediaId=media_id, PicUrl="http://example.invalid/a")).text

    def fetched():
        with services.sessions() as db:
            return db.scalar(select(TaskPhoto.data).where(TaskPhoto.report_id == row.id))

    wait_for(fetched)
    assert fetched() == JPEG
    assert "上报完成" in wxo.text(boss, "好了").text
    assert "已上报" in wxo.text(boss, "任务清单").text  # still listed until accepted


def test_returned_tasks_show_the_comment_and_can_be_reported_again(wxo, services, emu):
    tree(services)
    boss = emu.create_user(subscribed=True)["openid"]
    account(services, "shuji", "secretary", "T111", boss)
    list_id = issue(services, n=1)
    wxo.text(boss, "任务清单")
    wxo.text(boss, "完成任务1 完成")
    with services.sessions() as db:
        row = db.get(type(reports(services, list_id)[("T111", 1)]), reports(services, list_id)[("T111", 1)].id)
        tasks.review(db, row, False, "测试：缺少记录", "zhidao")
        db.commit()
    listing = wxo.text(boss, "任务清单").text
    assert "已退回" in listing and "测试：缺少记录" in listing
    assert "已上报" in wxo.text(boss, "完成任务 1 已补充记录").text
    assert reports(services, list_id)[("T111", 1)].status == REPORTED
    with services.sessions() as db:
        row = db.get(type(reports(services, list_id)[("T111", 1)]), reports(services, list_id)[("T111", 1)].id)
        tasks.review(db, row, True, "", "zhidao")
        db.commit()
    assert "没有未完成的任务" in wxo.text(boss, "任务清单").text


def notices(services) -> int:
    with services.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(TaskNotice)) or 0)


@pytest.mark.config(orglife={"task_remind_days": 3})
def test_reminders_go_once_even_with_two_scheduler_runs(wxo, services, emu):
    tree(services)
    boss, other = (emu.create_user(subscribed=True)["openid"] for _ in range(2))
    account(services, "shuji", "secretary", "T111", boss)
    account(services, "yishuji", "secretary", "T21", other)
    wxo.text(boss, "你好")
    wxo.text(other, "你好")
    now = datetime(2026, 12, 18, 1, 0, tzinfo=UTC)  # 09:00 in China, 18 December
    soon = issue(services, due=date(2026, 12, 20))  # within 3 days
    issue(services, due=date(2026, 12, 31))  # not yet
    done = reports(services, soon)[("T21", 1)]
    with services.sessions() as db:
        row = db.get(type(done), done.id)
        tasks.submit(db, row, "完成", "test")
        db.commit()

    results: list[int] = []
    runs = [threading.Thread(target=lambda: results.append(task_notify.remind(services, now))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert notices(services) == 2 * 4 - 1  # 4 organisations × 2 tasks, less the one reported
    to_boss = [m["body"]["text"]["content"] for m in emu.received(boss, "custom")]
    assert len(to_boss) == 1 and "测试任务1" in to_boss[0] and "测试任务2" in to_boss[0] and "12月20日" in to_boss[0]
    to_other = [m["body"]["text"]["content"] for m in emu.received(other, "custom")]
    assert len(to_other) == 1 and "测试任务1" not in to_other[0] and "测试任务2" in to_other[0]
    assert task_notify.remind(services, now + timedelta(hours=1)) == 0  # a later run sends nothing again
    assert len(emu.received(boss, "custom")) == 1
