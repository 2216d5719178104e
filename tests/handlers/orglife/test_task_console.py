"""Task lists in the console: issuing to a 片区 / a guidance group / all, reporting with a photo, accepting and
returning, progress and its Excel export, and scope refusals (404 outside the subtree)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from handlers.orglife import tasks
from handlers.orglife.task_models import ACCEPTED, REPORTED, RETURNED, TODO
from tests.console.console_helpers import submit
from tests.handlers.orglife.task_helpers import account, audits, issue, reports, sign_in, tree

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
ITEMS = "测试学习任务｜2026-12-20｜组织集中学习\n测试走访任务|2026-12-31"


def codes(services, list_id):
    return sorted({code for code, _ in reports(services, list_id)})


def issue_in_console(client, how, **extra):
    data = {"title": "测试清单", "period": "2026年11-12月", "how": how, "items": ITEMS, **extra}
    return submit(client, "/console/tasks/new", data)


def test_the_committee_issues_to_all_a_district_or_a_group(app, services, make_account):
    ids = tree(services)
    make_account("wang", "editor")
    editor = sign_in(app, "wang")
    page = issue_in_console(editor, "all")
    assert page.status_code == 302
    list_id = int(page.headers["Location"].rstrip("/").split("/")[-1])
    assert codes(services, list_id) == ["T11", "T111", "T112", "T21"]  # 党委 and 党支部, not 党小组 nor 片区党委
    assert len(reports(services, list_id)) == 8 and all(r.status == TODO for r in reports(services, list_id).values())
    [entry] = audits(services, "task.issue")
    assert entry.details["orgs"] == 4 and entry.details["tasks"] == 2

    district = issue_in_console(editor, "district", district="第二片区")
    assert codes(services, int(district.headers["Location"].split("/")[-1])) == ["T21"]
    group = issue_in_console(editor, "group", group=str(ids["group"]))
    assert codes(services, int(group.headers["Location"].split("/")[-1])) == ["T111", "T21"]
    bad = issue_in_console(editor, "all", items="没有日期的任务")
    assert bad.status_code == 200 and "截止日期" in bad.get_data(as_text=True)


def test_a_district_issues_inside_its_subtree_and_a_secretary_cannot(app, services):
    tree(services)
    account(services, "pianqu", "secretary", "T1")  # scoped to 第一片区党委
    account(services, "shuji", "secretary", "T111")
    district = sign_in(app, "pianqu")
    page = issue_in_console(district, "all")
    assert page.status_code == 302
    assert codes(services, int(page.headers["Location"].split("/")[-1])) == ["T11", "T111", "T112"]
    assert sign_in(app, "shuji").get("/console/tasks/new").status_code == 403


def test_report_accept_return_and_report_again(app, services, emu, wxo):
    tree(services)
    boss = emu.create_user(subscribed=True)["openid"]
    account(services, "shuji", "secretary", "T111", boss)
    account(services, "zhidao", "instructor", "T11")
    wxo.text(boss, "你好")  # the secretary's 48 h window is open
    list_id = issue(services)
    row = reports(services, list_id)[("T111", 1)]
    url = f"/console/tasks/report/{row.id}"
    secretary, instructor = sign_in(app, "shuji"), sign_in(app, "zhidao")

    assert "上报完成情况" not in instructor.get(url).get_data(as_text=True)  # an instructor does not report
    data = {"action": "report", "text": "已组织集中学习", "photos": (io.BytesIO(PNG), "a.png", "image/png")}
    done = submit(secretary, url, data, content_type="multipart/form-data")
    assert done.status_code == 302
    assert reports(services, list_id)[("T111", 1)].status == REPORTED
    page = instructor.get(url).get_data(as_text=True)
    assert "已组织集中学习" in page and "验收" in page
    photo = page.split("/console/tasks/photo/")[1].split('"')[0]
    assert instructor.get(f"/console/tasks/photo/{photo}").data == PNG

    assert "请填写意见" in submit(instructor, url, {"action": "review", "verdict": "return"}).get_data(as_text=True)
    back = submit(instructor, url, {"action": "review", "verdict": "return", "comment": "测试：请补充照片"})
    assert back.status_code == 302 and reports(services, list_id)[("T111", 1)].status == RETURNED
    told = emu.received(boss, "custom")[-1]["body"]["text"]["content"]
    assert "被退回" in told and "请补充照片" in told

    assert submit(secretary, url, {"action": "report", "text": "已补充"}).status_code == 302
    assert submit(instructor, url, {"action": "review", "verdict": "accept"}).status_code == 302
    assert reports(services, list_id)[("T111", 1)].status == ACCEPTED
    assert "已通过验收" in emu.received(boss, "custom")[-1]["body"]["text"]["content"]
    assert [len(audits(services, a)) for a in ("task.report", "task.return", "task.accept")] == [2, 1, 1]
    closed = submit(secretary, url, {"action": "report", "text": "再改"}).get_data(as_text=True)
    assert "不能再修改" in closed and reports(services, list_id)[("T111", 1)].text == "已补充"


def test_scope_refusals(app, services):
    tree(services)
    account(services, "shuji", "secretary", "T111")
    account(services, "zhidao", "instructor", "T2")
    list_id = issue(services)
    rows = reports(services, list_id)
    secretary, instructor = sign_in(app, "shuji"), sign_in(app, "zhidao")
    assert secretary.get(f"/console/tasks/report/{rows[('T21', 1)].id}").status_code == 404
    assert secretary.get(f"/console/tasks/report/{rows[('T111', 1)].id}").status_code == 200
    assert instructor.get(f"/console/tasks/report/{rows[('T111', 1)].id}").status_code == 404
    refused = submit(instructor, f"/console/tasks/report/{rows[('T21', 1)].id}", {"action": "report", "text": "x"})
    assert refused.status_code == 403  # an instructor reviews, never reports
    page = secretary.get("/console/tasks/progress").get_data(as_text=True)
    assert "测试甲公司第一党支部" in page and "测试乙公司党支部" not in page
    assert secretary.get(f"/console/tasks/{list_id}").status_code == 200
    other = issue(services, "district", "第二片区")
    assert secretary.get(f"/console/tasks/{other}").status_code == 404


def test_progress_figures_export_and_completion(app, services, admin):
    ids = tree(services)
    list_id = issue(services, due=date(2026, 1, 10))
    rows = reports(services, list_id)
    with services.sessions() as db:
        for key, (status, text) in {
            ("T111", 1): ("a", "完成"),
            ("T111", 2): ("r", "完成"),
            ("T21", 1): ("x", ""),
        }.items():
            row = db.get(type(rows[key]), rows[key].id)
            if text:
                tasks.submit(db, row, text, "test")
            if status == "a":
                tasks.review(db, row, True, "", "test")
        db.commit()
    by_org, by_group = tasks.progress(services.sessions(), None, date(2026, 2, 1))
    first = next(c for c in by_org if c.key == str(ids["a1"]))
    assert (first.counts[ACCEPTED], first.counts[REPORTED], first.overdue, first.rate) == (1, 1, 0, 0.5)
    second = next(c for c in by_org if c.key == str(ids["b"]))
    assert (second.counts[TODO], second.overdue, second.rate) == (2, 2, 0.0)
    group = next(c for c in by_group if c.key == str(ids["group"]))
    assert (group.issued, group.counts[ACCEPTED]) == (4, 1)
    assert tasks.completion(services.sessions(), 2026)[ids["a1"]] == 0.5
    assert tasks.completion(services.sessions(), 2025) == {}
    assert "50.0%" in admin.get("/console/tasks/progress").get_data(as_text=True)
    book = load_workbook(io.BytesIO(admin.get("/console/tasks/progress.xlsx").data))
    assert book.sheetnames == ["按组织", "按指导小组"] and book["按组织"].max_row == 5
    assert audits(services, "task.export")
