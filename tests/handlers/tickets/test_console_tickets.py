"""Console ticket pages: queue filters and order, visibility per role, every workflow step (event, submitter notice,
audit entry), privacy of phone and submitter, escaping, media copies, likely duplicates, staff notices, caseworker
departments."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.accounts import Account
from bot.core.database import utcnow
from handlers.tickets.media import fetch_ticket
from handlers.tickets.models import StaffNotice, Ticket, TicketEvent, TicketMedia, TicketNotice
from handlers.tickets.notify import escalate
from tests.console.console_helpers import login, submit as post_form
from tests.factories import AMR, PNG
from tests.handlers.tickets.console_ticket_helpers import PHONE, audit_entries, fresh, new_ticket, page, signed_in, step


@pytest.fixture
def caseworker(app: Any, make_account: Any) -> Any:
    """A client signed in as the caseworker "chen" (no department)."""
    return signed_in(app, make_account, "chen", "caseworker")


def numbers(html: str) -> list[str]:
    """Ticket numbers of the queue's rows, in order."""
    return re.findall(r'<tr class="[^"]*" data-number="([A-Z0-9]+)"', html)


def kinds(services: Any, ticket: Ticket) -> list[str]:
    with services.sessions() as db:
        return list(
            db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))
        )


def notices(services: Any, ticket: Ticket) -> list[str]:
    with services.sessions() as db:
        return list(
            db.scalars(select(TicketNotice.text).where(TicketNotice.ticket_id == ticket.id).order_by(TicketNotice.id))
        )


def test_queue_is_sorted_by_deadline_and_filtered(caseworker: Any, services: Any):
    general = new_ticket(services, description="宿舍漏水", place="一号宿舍", district="东片区")
    urgent = new_ticket(services, category="水电气网", description="停电三天", place="二号厂房", district="西片区")
    emergency = new_ticket(services, category="安全隐患", description="消防通道堵塞", place="三号仓库")
    late = new_ticket(services, now=utcnow() - timedelta(days=8), description="欠薪", place="旧厂")
    done = new_ticket(services, description="已办完的事", status="closed")
    renshe = new_ticket(services, description="社保断缴", department="renshe")  # not visible to chen (no department)
    html = page(caseworker, "/console/tickets/")
    assert numbers(html) == [late.number, emergency.number, urgent.number, general.number]
    assert f'<tr class="late" data-number="{late.number}"' in html and "已超期" in html
    assert numbers(page(caseworker, "/console/tickets/?status=all")) == [
        late.number,
        emergency.number,
        urgent.number,
        general.number,
        done.number,
    ]
    assert numbers(page(caseworker, "/console/tickets/?status=closed")) == [done.number]
    assert numbers(page(caseworker, "/console/tickets/?category=水电气网")) == [urgent.number]
    assert numbers(page(caseworker, "/console/tickets/?district=东片区")) == [general.number]
    assert numbers(page(caseworker, "/console/tickets/?overdue=1")) == [late.number]
    assert numbers(page(caseworker, "/console/tickets/?overdue=1&status=closed")) == []
    assert numbers(page(caseworker, "/console/tickets/?q=消防")) == [emergency.number]
    assert numbers(page(caseworker, "/console/tickets/?q=二号")) == [urgent.number]
    assert numbers(page(caseworker, f"/console/tickets/?q={general.number.lower()}")) == [general.number]
    assert numbers(page(caseworker, "/console/tickets/?q=100%25")) == []  # % is searched for, not a wildcard
    assert numbers(page(caseworker, "/console/tickets/?department=none")) == numbers(html)
    assert renshe.number not in page(caseworker, "/console/tickets/?status=all&department=renshe")


def test_queue_pages_without_counting_everything(caseworker: Any, services: Any):
    made = [new_ticket(services, now=utcnow() - timedelta(minutes=i)) for i in range(23)]
    first = page(caseworker, "/console/tickets/")
    assert len(numbers(first)) == 20 and 'rel="next"' in first
    second = page(caseworker, "/console/tickets/?page=2")
    assert len(numbers(second)) == 3 and 'rel="prev"' in second and 'rel="next"' not in second
    assert set(numbers(first) + numbers(second)) == {t.number for t in made}


def test_who_sees_which_ticket(app: Any, make_account: Any, services: Any, client: Any):
    other = make_account("li", "caseworker")
    renshe_caseworker = signed_in(app, make_account, "zhao", "caseworker", department="renshe")
    plain = signed_in(app, make_account, "chen", "caseworker")
    admin = signed_in(app, make_account, "root", "admin")
    editor = signed_in(app, make_account, "wang", "editor")
    queue = new_ticket(services, description="未交办")
    renshe = new_ticket(services, description="人社局的", department="renshe", status="assigned")
    zhengwu = new_ticket(services, description="政务中心的", department="zhengwu", status="assigned")
    mine = new_ticket(services, description="交给陈的", assignee_id=plain.account_id, status="assigned")
    accepted = new_ticket(
        services, description="陈受理的", accepted_by_id=plain.account_id, department="zhengwu", status="assigned"
    )
    someone = new_ticket(services, description="交给李的", assignee_id=other, status="assigned")
    everything = {t.number for t in (queue, renshe, zhengwu, mine, accepted, someone)}
    assert set(numbers(page(admin, "/console/tickets/"))) == everything
    assert set(numbers(page(plain, "/console/tickets/"))) == {queue.number, mine.number, accepted.number}
    assert set(numbers(page(renshe_caseworker, "/console/tickets/"))) == {queue.number, renshe.number}
    assert set(numbers(page(plain, "/console/tickets/?mine=1"))) == {mine.number, accepted.number}
    assert plain.get(f"/console/tickets/{zhengwu.number}").status_code == 403
    assert renshe_caseworker.get(f"/console/tickets/{renshe.number}").status_code == 200
    assert plain.get("/console/tickets/JK0000000000").status_code == 404
    assert editor.get("/console/tickets/").status_code == 403
    assert "诉求" not in re.sub(r"<main.*", "", page(editor, "/console/"), flags=re.S)
    refused = post_form(
        plain, "/console/tickets/", {"note": "看一看"}, action=f"/console/tickets/{zhengwu.number}/note"
    )
    assert refused.status_code == 403


def test_every_step_appends_its_event_tells_the_submitter_and_is_audited(
    caseworker: Any, services: Any, make_account: Any
):
    t = new_ticket(services)
    detail = page(caseworker, f"/console/tickets/{t.number}")
    assert 'id="do-accept"' in detail and 'id="do-reject"' in detail and 'id="do-resolve"' not in detail
    assert step(caseworker, t, "accept", tier="urgent").status_code == 302
    accepted = fresh(services, t)
    assert (accepted.status, accepted.tier, accepted.accepted_by_id) == ("accepted", "urgent", caseworker.account_id)
    assert accepted.due_at.replace(tzinfo=None) == (accepted.created_at + timedelta(hours=24)).replace(tzinfo=None)
    assert step(caseworker, t, "assign", department="renshe").status_code == 302  # a caseworker names no person
    assert (fresh(services, t).department, fresh(services, t).assignee_id) == ("renshe", None)
    assert "交办至 人力资源和社会保障局" in page(caseworker, f"/console/tickets/{t.number}")
    step(caseworker, t, "start")
    step(caseworker, t, "note", note="已电话联系企业")
    step(caseworker, t, "resolve", reply="企业已补发工资")
    done = fresh(services, t)
    assert (done.status, done.reply) == ("resolved", "企业已补发工资")
    assert kinds(services, t) == ["submit", "tier", "accept", "assign", "process", "note", "resolve"]
    told = notices(services, t)
    assert [text.split("，")[0].split("。")[0] for text in told] == [
        f"您的诉求 {t.number} 已受理",
        f"您的诉求 {t.number} 已交办至人力资源和社会保障局办理",
        f"您的诉求 {t.number} 正在办理中",
        f"您的诉求 {t.number} 已办结",
    ]
    assert "企业已补发工资" in told[-1]
    assert [
        e.action
        for e in audit_entries(services)
        if e.action.startswith("ticket.") and e.action != "ticket.view_personal"
    ] == ["ticket.accept", "ticket.assign", "ticket.start", "ticket.note", "ticket.resolve"]
    resolve_entry = audit_entries(services, "ticket.resolve")[0]
    assert (resolve_entry.actor, resolve_entry.target, resolve_entry.details) == (
        "chen",
        t.number,
        {"reply": "企业已补发工资"},
    )
    final = page(caseworker, f"/console/tickets/{t.number}")
    assert 'id="do-note"' in final and 'id="do-resolve"' not in final and 'id="do-accept"' not in final


def test_return_reject_tier_and_merge(caseworker: Any, services: Any):
    wrong = new_ticket(services, department="renshe", accepted_by_id=caseworker.account_id, status="assigned")
    step(caseworker, wrong, "return", return_reason="不属于本部门职责")
    back = fresh(services, wrong)
    assert (back.status, back.department, back.reason) == ("accepted", None, "不属于本部门职责")
    assert kinds(services, wrong)[-1] == "return" and notices(services, wrong) == []  # the submitter is not told
    step(caseworker, wrong, "tier", new_tier="complex")
    assert fresh(services, wrong).tier == "complex" and kinds(services, wrong)[-1] == "tier"

    refused = new_ticket(services)
    step(caseworker, refused, "reject", reject_reason="不属于园区事务")
    assert fresh(services, refused).status == "rejected" and "原因：不属于园区事务" in notices(services, refused)[-1]

    first = new_ticket(services, openid="o_a")
    dup = new_ticket(services, openid="o_b")
    step(caseworker, dup, "merge", into=first.number.lower())
    assert (fresh(services, dup).status, fresh(services, dup).merged_into_id) == ("merged", first.id)
    assert "已合并办理" in notices(services, dup)[-1]
    assert audit_entries(services, "ticket.merge")[0].details == {"into": first.number}
    assert f'已合并到诉求 <a href="/console/tickets/{first.number}">' in page(
        caseworker, f"/console/tickets/{dup.number}"
    )


def test_a_refused_step_is_a_message_on_the_page(caseworker: Any, services: Any):
    t = new_ticket(services)
    res = step(caseworker, t, "resolve", reply="x")
    assert res.status_code == 302
    html = page(caseworker, f"/console/tickets/{t.number}")
    assert "当前状态为「待受理」，不能进行此操作" in html
    step(caseworker, t, "merge", into="JK9999999999")
    assert "找不到诉求 JK9999999999" in page(caseworker, f"/console/tickets/{t.number}")
    step(caseworker, t, "reject", reject_reason="   ")
    assert "请填写此项" in page(caseworker, f"/console/tickets/{t.number}")
    assert fresh(services, t).status == "new" and kinds(services, t) == ["submit"]
    assert not [e for e in audit_entries(services) if e.action.startswith("ticket.")]


def test_phone_and_submitter_follow_the_privacy_rules_and_views_are_audited(
    app: Any, make_account: Any, caseworker: Any, services: Any
):
    admin = signed_in(app, make_account, "root", "admin")
    t = new_ticket(services, openid="o_secret_worker")
    html = page(admin, f"/console/tickets/{t.number}")
    assert "138****5678" in html and PHONE not in html and "o_secret_worker" not in html
    assert audit_entries(services, "ticket.view_personal") == []
    step(caseworker, t, "accept")
    html = page(caseworker, f"/console/tickets/{t.number}")
    assert PHONE in html and "o_secret_worker" in html
    entry = audit_entries(services, "ticket.view_personal")[-1]
    assert (entry.actor, entry.target, entry.details) == ("chen", t.number, {"fields": ["submitter", "phone"]})
    assert PHONE not in page(admin, f"/console/tickets/{t.number}")  # an admin is not the caseworker of record


def test_an_anonymous_ticket_hides_the_submitter_from_the_assignee(
    app: Any, make_account: Any, caseworker: Any, services: Any
):
    assignee = signed_in(app, make_account, "xu", "caseworker")
    admin = signed_in(app, make_account, "root", "admin")
    t = new_ticket(services, openid="o_hidden_worker", anonymous=True)
    step(caseworker, t, "accept")
    step(admin, t, "assign", assignee=str(assignee.account_id))  # only an admin or a supervisor names a person
    assert fresh(services, t).assignee_id == assignee.account_id
    html = page(assignee, f"/console/tickets/{t.number}")
    assert "o_hidden_worker" not in html and PHONE not in html and "138****5678" in html and "匿名诉求" in html
    assert [e.actor for e in audit_entries(services, "ticket.view_personal")] == []
    html = page(caseworker, f"/console/tickets/{t.number}")  # the caseworker of record who accepted it
    assert "o_hidden_worker" in html and PHONE in html
    assert [e.actor for e in audit_entries(services, "ticket.view_personal")] == ["chen"]


def test_what_users_typed_is_escaped(caseworker: Any, services: Any):
    t = new_ticket(services, description="<script>alert(1)</script>工资", place="<b>厂</b>", district="<i>片</i>")
    step(caseworker, t, "accept")
    step(caseworker, t, "note", note="<img src=x onerror=alert(2)>")
    for url in ("/console/tickets/", f"/console/tickets/{t.number}"):
        html = page(caseworker, url)
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
        assert "<b>厂</b>" not in html and "<i>片</i>" not in html
    html = page(caseworker, f"/console/tickets/{t.number}")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html


def copied(
    services: Any,
    ticket: Ticket,
    media_id: str,
    data: bytes | None = None,
    content_type: str = "",
    error: str | None = None,
) -> int:
    """Record what fetching one of the ticket's media ids gave (as handlers.tickets.media would); the row id."""
    with services.sessions() as db:
        row = db.scalars(
            select(TicketMedia).where(TicketMedia.ticket_id == ticket.id, TicketMedia.media_id == media_id)
        ).one()
        row.attempts, row.error = 1, error
        if data is not None:
            row.data, row.size, row.content_type, row.fetched_at = data, len(data), content_type, utcnow()
        db.commit()
        return row.id


def test_images_show_inline_and_voice_is_a_download(caseworker: Any, services: Any):
    media = [
        {"type": "image", "media_id": "img"},
        {"type": "voice", "media_id": "amr", "text": "老板不发工资"},
        {"type": "image", "media_id": "later"},
        {"type": "voice", "media_id": "gone"},
        {"type": "image", "media_id": "busy"},
    ]
    t = new_ticket(services, media=media, anonymous=True)  # an anonymous ticket's evidence is shown all the same
    image, voice = copied(services, t, "img", PNG, "image/png"), copied(services, t, "amr", AMR, "audio/amr")
    copied(services, t, "gone", error="expired")
    copied(services, t, "busy", error="errcode -1")
    html = page(caseworker, f"/console/tickets/{t.number}")
    base = f"/console/tickets/{t.number}/media"
    assert f'<img class="ticket-image" src="{base}/{image}"' in html
    assert f'<a href="{base}/{voice}" download>语音（AMR，下载后播放）</a>' in html and "语音识别：老板不发工资" in html
    states = re.findall(r'<li data-kind="(\w+)" data-state="(\w+)">', html)
    assert states == [
        ("image", "image"),
        ("voice", "file"),
        ("image", "pending"),
        ("voice", "expired"),
        ("image", "pending"),
    ]
    assert html.count("尚未取回") == 2 and "上次取回失败" in html and "已过期，未能取回" in html
    res = caseworker.get(f"{base}/{image}")
    assert (res.status_code, res.data, res.mimetype) == (200, PNG, "image/png")
    assert res.headers["Content-Disposition"] == f'inline; filename="{t.number}-{image}.png"'
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    res = caseworker.get(f"{base}/{voice}")
    assert (res.status_code, res.data, res.mimetype) == (200, AMR, "audio/amr")
    assert res.headers["Content-Disposition"] == f'attachment; filename="{t.number}-{voice}.amr"'


def test_only_plain_image_types_are_shown_inline(caseworker: Any, services: Any):
    t = new_ticket(services, media=[{"type": "image", "media_id": "svg"}, {"type": "image", "media_id": "html"}])
    svg = copied(services, t, "svg", b"<svg onload=alert(1)>", "image/svg+xml")
    html_row = copied(services, t, "html", b"<script>alert(1)</script>", "text/html")
    page_html = page(caseworker, f"/console/tickets/{t.number}")
    assert "<img" not in page_html.split('id="ticket-media"')[1].split("</ul>")[0]
    assert page_html.count("图片（下载查看）") == 2
    res = caseworker.get(f"/console/tickets/{t.number}/media/{svg}")
    assert res.mimetype == "image/svg+xml" and res.headers["Content-Disposition"].startswith("attachment;")
    res = caseworker.get(f"/console/tickets/{t.number}/media/{html_row}")
    assert res.mimetype == "application/octet-stream" and res.headers["Content-Disposition"].startswith("attachment;")


def test_media_is_served_only_to_who_may_see_the_ticket(app: Any, make_account: Any, services: Any):
    plain = signed_in(app, make_account, "chen", "caseworker")
    zhengwu_caseworker = signed_in(app, make_account, "zhao", "caseworker", department="zhengwu")
    editor = signed_in(app, make_account, "wang", "editor")
    t = new_ticket(
        services,
        department="zhengwu",
        status="assigned",
        media=[{"type": "image", "media_id": "m"}, {"type": "image", "media_id": "n"}],
    )
    other = new_ticket(services, media=[{"type": "image", "media_id": "m"}])
    row, pending = copied(services, t, "m", PNG, "image/png"), copied(services, t, "n")
    theirs = copied(services, other, "m", PNG, "image/png")
    url = f"/console/tickets/{t.number}/media"
    assert zhengwu_caseworker.get(f"{url}/{row}").data == PNG
    assert plain.get(f"{url}/{row}").status_code == 403  # not their ticket: as its page
    assert plain.get(f"/console/tickets/{t.number}").status_code == 403
    assert editor.get(f"{url}/{row}").status_code == 403
    assert app.test_client().get(f"{url}/{row}").status_code == 302  # signed out: to the login page
    assert zhengwu_caseworker.get(f"{url}/{theirs}").status_code == 404  # another ticket's row under this number
    assert zhengwu_caseworker.get(f"{url}/{pending}").status_code == 404  # not fetched yet
    assert zhengwu_caseworker.get(f"/console/tickets/JK0000000000/media/{row}").status_code == 404


def test_a_media_id_wechat_no_longer_knows_is_shown_as_expired(caseworker: Any, services: Any, emu: Any, live: str):
    kept = emu.add_media("image", PNG, "image/png")
    t = new_ticket(services, media=[{"type": "image", "media_id": kept}, {"type": "voice", "media_id": "unknown"}])
    assert fetch_ticket(services, t.id) == 1
    html = page(caseworker, f"/console/tickets/{t.number}")
    assert re.findall(r'data-state="(\w+)"', html) == ["image", "expired"] and "已过期，未能取回" in html
    old = new_ticket(services, now=utcnow() - timedelta(days=4), media=[{"type": "image", "media_id": "never-tried"}])
    html = page(caseworker, f"/console/tickets/{old.number}")  # past WeChat's 3 days and never fetched
    assert re.findall(r'data-state="(\w+)"', html) == ["expired"]


def test_likely_duplicates_are_suggested_and_merged_in_one_click(
    app: Any, make_account: Any, caseworker: Any, services: Any
):
    older = new_ticket(services, description="某某电子厂拖欠工资三个月了", place="某某电子厂")
    unrelated = new_ticket(services, description="小区门口路灯坏了", place="科技大道")
    hidden = new_ticket(services, description="某某电子厂拖欠工资两个月", place="某某电子厂", department="zhengwu")
    t = new_ticket(services, description="某某电子厂拖欠工资两个月", place="某某电子厂")
    html = page(caseworker, f"/console/tickets/{t.number}")
    section = html.split('id="duplicates"', 1)[1].split("</section>", 1)[0]
    assert older.number in section and unrelated.number not in section
    assert hidden.number not in section  # another department's ticket is not shown to this caseworker
    assert f'data-merge="{older.number}"' in section
    step(caseworker, t, "merge", into=older.number)
    assert fresh(services, t).merged_into_id == older.id


def test_staff_notices_show_with_a_badge_and_are_marked_read(app: Any, make_account: Any, services: Any):
    worker = signed_in(app, make_account, "xu", "caseworker")
    t = new_ticket(services, now=utcnow() - timedelta(days=8), assignee_id=worker.account_id, status="assigned")
    new_ticket(services, now=utcnow() - timedelta(days=9), assignee_id=worker.account_id, status="assigned")
    assert escalate(services) == 2
    home = page(worker, "/console/")
    assert 'id="nav-notices"' in home and '<span class="badge">2</span>' in home
    queue = page(worker, "/console/tickets/")
    assert 'id="unread-count">2<' in queue
    listing = page(worker, "/console/tickets/notices")
    assert t.number in listing and "已超过办理时限" in listing
    with services.sessions() as db:
        first = db.scalars(select(StaffNotice).order_by(StaffNotice.id)).first()
    post_form(worker, "/console/tickets/notices", {"notice": str(first.id)}, action="/console/tickets/notices/read")
    assert '<span class="badge">1</span>' in page(worker, "/console/")
    post_form(worker, "/console/tickets/notices", {}, action="/console/tickets/notices/read")
    assert 'id="nav-notices"' not in page(worker, "/console/")
    assert "没有未读提醒" in page(worker, "/console/tickets/notices")
    assert [e.details["count"] for e in audit_entries(services, "ticket.notices_read")] == [1, 1]


def test_admin_sets_a_caseworkers_department_and_supervisor(admin: Any, make_account: Any, services: Any, app: Any):
    boss = make_account("boss", "caseworker")
    zhao = make_account("zhao", "caseworker")
    url = f"/console/accounts/{zhao}"
    assert "诉求处理" in page(admin, url)
    res = post_form(admin, url, {"department": "renshe", "supervisor": str(boss)}, action=url + "/ticketing")
    assert res.status_code == 302
    with services.sessions() as db:
        row = db.get(Account, zhao)
        assert (row.department, row.supervisor_id) == ("renshe", boss)
    entry = audit_entries(services, "account.ticketing")[-1]
    assert entry.target == "zhao" and entry.details == {
        "before": {"department": None, "supervisor": None},
        "after": {"department": "renshe", "supervisor": "boss"},
    }
    assert "人力资源和社会保障局" in page(admin, url)
    bad = post_form(admin, url, {"department": "nowhere", "supervisor": ""}, action=url + "/ticketing")
    assert bad.status_code == 400 and "请从列表中选择" in bad.get_data(as_text=True)
    t = new_ticket(services, department="renshe", status="assigned")
    client = app.test_client()
    login(client, "zhao")
    assert t.number in page(client, "/console/tickets/")
