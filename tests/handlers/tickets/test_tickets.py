"""Ticket core: numbers, idempotent submission, every workflow step and its event, notices, escalation, privacy,
and the retries that copy a ticket's media from WeChat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot.core.accounts import Account
from bot.core.errors import AppendOnlyError, UserFacingError
from handlers.tickets import flow
from handlers.tickets.media import retry_pending
from handlers.tickets.models import StaffNotice, Ticket, TicketEvent, TicketMedia, TicketNotice
from handlers.tickets.notify import PENDING_KEY, deliver, escalate
from handlers.tickets.rules import (
    TicketConfig,
    can_see_phone,
    can_see_submitter,
    mask_phone,
    own_ticket,
    submit,
    valid_phone,
)
from tests.ticket_helpers import NOW, account, new_ticket, sub


def step(
    services: Any, ticket_id: int, action: Any, *args: Any, now: datetime = NOW, actor: str = "staff"
) -> list[int]:
    """Run one workflow step on a fresh session and commit; the notice ids it queued."""
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), actor, now)
        action(s, db.get(Ticket, ticket_id), *args)
        ids = s.notice_ids()
        db.commit()
        return ids


def events(services: Any, ticket_id: int) -> list[str]:
    with services.sessions() as db:
        return [
            e.kind
            for e in db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))
        ]


def test_numbers_follow_the_china_date_and_a_daily_sequence(services):
    first = new_ticket(services, key="a")
    second = new_ticket(services, key="b")
    late = new_ticket(services, key="c", now=datetime(2026, 11, 21, 16, 30, tzinfo=UTC))  # 00:30 on the 22nd
    assert (first.number, second.number, late.number) == ("JK2611210001", "JK2611210002", "JK2611220001")
    assert first.month == "2026-11" and first.tier == "general"
    assert first.due_at == NOW + timedelta(days=7) and first.accept_due_at == NOW + timedelta(hours=2)


def test_the_same_draft_confirmed_twice_makes_one_ticket(services):
    cfg = TicketConfig.of(services.settings)
    with services.sessions() as db:
        one, created = submit(db, cfg, sub(), NOW)
        again, created_again = submit(db, cfg, sub(), NOW)
    assert created and not created_again and one.number == again.number
    with services.sessions() as db:
        assert len(db.scalars(select(Ticket)).all()) == 1


def test_a_category_starts_in_its_tier(services):
    ticket = new_ticket(services, category="安全隐患")
    assert ticket.tier == "emergency" and ticket.due_at == NOW + timedelta(hours=2)


def test_the_whole_workflow_appends_an_event_per_step(services):
    t = new_ticket(services)
    step(services, t.id, flow.accept, None)
    step(services, t.id, flow.assign, "renshe", None)
    step(services, t.id, flow.return_, "不属于本部门职责")
    step(services, t.id, flow.assign, "zhengwu", None)
    step(services, t.id, flow.start)
    step(services, t.id, flow.resolve, "已协调企业补发工资")
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), "submitter", NOW + timedelta(days=1))
        flow.rate(s, db.get(Ticket, t.id), "satisfied", "谢谢")
        db.commit()
        done = db.get(Ticket, t.id)
        assert done.status == "closed" and done.solved and done.responded_on_time and done.rating == "satisfied"
    assert events(services, t.id) == ["submit", "accept", "assign", "return", "assign", "process", "resolve", "rate"]


def test_a_step_the_status_does_not_allow_is_refused_in_chinese(services):
    t = new_ticket(services)
    with pytest.raises(UserFacingError, match="待受理"):
        step(services, t.id, flow.resolve, "x")
    with pytest.raises(UserFacingError, match="原因"):
        step(services, t.id, flow.reject, "  ")


def test_unsatisfied_reopens_with_a_new_deadline(services):
    t = new_ticket(services)
    step(services, t.id, flow.assign, "renshe", None)
    step(services, t.id, flow.resolve, "已处理")
    later = NOW + timedelta(days=3)
    step(services, t.id, flow.rate, "unsatisfied", "还没发", now=later, actor="submitter")
    with services.sessions() as db:
        again = db.get(Ticket, t.id)
        assert (again.status, again.reopened, again.solved) == ("assigned", 1, False)
        assert again.due_at.replace(tzinfo=UTC) == later + timedelta(days=7)
    assert events(services, t.id)[-2:] == ["rate", "reopen"]


def test_a_late_answer_counts_against_the_response_rate(services):
    t = new_ticket(services)
    step(services, t.id, flow.reject, "不属于园区事务", now=NOW + timedelta(hours=3))
    with services.sessions() as db:
        assert db.get(Ticket, t.id).responded_on_time is False


def test_merge_sends_later_updates_to_both_submitters(services):
    first = new_ticket(services, openid="o_a", key="a")
    dup = new_ticket(services, openid="o_b", key="b")
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), "staff", NOW)
        flow.merge(s, db.get(Ticket, dup.id), db.get(Ticket, first.id))
        db.commit()
    ids = step(services, first.id, flow.accept, None)
    with services.sessions() as db:
        told = sorted(n.openid for n in db.scalars(select(TicketNotice).where(TicketNotice.id.in_(ids))))
    assert told == ["o_a", "o_b"]


def test_events_are_append_only(services):
    t = new_ticket(services)
    with services.sessions() as db:
        row = db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).first()
        row.note = "changed"
        with pytest.raises(AppendOnlyError):
            db.commit()


def test_a_user_reads_only_their_own_ticket(services):
    t = new_ticket(services, openid="o_owner")
    with services.sessions() as db:
        assert own_ticket(db, "o_owner", t.number.lower()) is not None
        assert own_ticket(db, "o_other", t.number) is None


def test_notices_go_out_in_the_window_and_otherwise_wait_for_the_next_message(services, emu, live):
    inside = emu.create_user("窗口内", subscribed=True)["openid"]
    outside = emu.create_user("窗口外", subscribed=True)["openid"]
    services.followers.subscribe(inside)
    services.followers.touch(inside)
    emu.open_window(inside)
    services.followers.subscribe(outside)
    a = new_ticket(services, openid=inside, key="a")
    b = new_ticket(services, openid=outside, key="b")
    ids = step(services, a.id, flow.accept, None, now=datetime.now(UTC)) + step(
        services, b.id, flow.accept, None, now=datetime.now(UTC)
    )
    assert deliver(services, ids) == 1
    assert "已受理" in emu.received(inside)[-1]["body"]["text"]["content"]
    assert services.redis.sismember(PENDING_KEY, outside)
    services.followers.touch(outside)
    emu.open_window(outside)
    from handlers.tickets.notify import deliver_pending

    assert deliver_pending(services, outside) == 1
    assert "已受理" in emu.received(outside)[-1]["body"]["text"]["content"]


@pytest.mark.config(tickets={"template_id": "TM_TICKET"})
def test_outside_the_window_a_configured_template_is_used(services, emu, live):
    openid = emu.create_user("模板", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    t = new_ticket(services, openid=openid)
    assert deliver(services, step(services, t.id, flow.accept, None)) == 1
    with services.sessions() as db:
        assert db.scalars(select(TicketNotice.channel)).all() == ["template"]


def media_state(services: Any, ticket_id: int) -> list[tuple[str, int, bool]]:
    with services.sessions() as db:
        rows = db.scalars(select(TicketMedia).where(TicketMedia.ticket_id == ticket_id).order_by(TicketMedia.id))
        return [(r.kind, r.attempts, r.fetched_at is not None) for r in rows]


def test_a_submission_queues_one_row_per_image_or_voice(services):
    media = [
        {"type": "image", "media_id": "m1"},
        {"type": "voice", "media_id": "m2", "text": "识别"},
        {"type": "image", "media_id": "m1"},
    ]  # the same id twice: one row
    t = new_ticket(services, media=media)
    assert media_state(services, t.id) == [("image", 0, False), ("voice", 0, False)]
    with services.sessions() as db:
        again, created = submit(db, TicketConfig.of(services.settings), sub(media=media))
    assert not created and len(media_state(services, again.id)) == 2


def test_the_retry_job_skips_tickets_past_wechats_three_days(services, emu, live):
    fresh_id, old_id = (emu.add_media("image", b"\xff\xd8\xff jpeg", "image/jpeg") for _ in range(2))
    now = datetime.now(UTC)
    fresh = new_ticket(
        services, key="fresh", now=now - timedelta(days=2), media=[{"type": "image", "media_id": fresh_id}]
    )
    old = new_ticket(
        services, key="old", now=now - timedelta(days=3, minutes=1), media=[{"type": "image", "media_id": old_id}]
    )
    assert retry_pending(services, now) == 1
    assert media_state(services, fresh.id) == [("image", 1, True)]
    assert media_state(services, old.id) == [("image", 0, False)]  # WeChat has forgotten it: not even asked


def test_the_retry_job_adds_rows_for_tickets_submitted_before_the_table(services, emu, live):
    media_id = emu.add_media("voice", b"#!AMR\n", "audio/amr")
    t = new_ticket(services, now=datetime.now(UTC), media=[{"type": "voice", "media_id": media_id}])
    with services.sessions() as db:
        db.execute(delete(TicketMedia))
        db.commit()
    assert retry_pending(services) == 1
    assert media_state(services, t.id) == [("voice", 1, True)]


def test_escalation_tells_the_assignee_and_supervisor_once(services):
    boss = account(services, "boss", "caseworker")
    worker = account(services, "worker", "caseworker", supervisor_id=boss)
    account(services, "other", "caseworker")
    root = account(services, "root", "admin")  # only an admin or a supervisor names a person
    t = new_ticket(services)
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), "staff", NOW)
        flow.assign(s, db.get(Ticket, t.id), None, worker, "worker", account_id=root)
        db.commit()
    assert escalate(services, NOW + timedelta(days=6)) == 0
    assert escalate(services, NOW + timedelta(days=7, minutes=1)) == 1
    assert escalate(services, NOW + timedelta(days=8)) == 0
    with services.sessions() as db:
        assert sorted(n.account_id for n in db.scalars(select(StaffNotice))) == sorted([boss, worker])
    assert events(services, t.id)[-1] == "escalate"


def test_a_submission_not_accepted_in_two_hours_goes_to_the_admins(services):
    admin = account(services, "admin", "admin")
    new_ticket(services)
    assert escalate(services, NOW + timedelta(hours=2, minutes=1)) == 1
    with services.sessions() as db:
        assert [n.account_id for n in db.scalars(select(StaffNotice))] == [admin]


def test_phones_and_anonymous_submitters_are_hidden_from_the_wrong_people(services):
    intake = Account(id=1, username="intake", roles=["caseworker"])
    assignee = Account(id=2, username="assignee", roles=["caseworker"])
    admin = Account(id=3, username="admin", roles=["admin"])
    open_ticket = Ticket(phone="13812345678", anonymous=False, accepted_by_id=1, assignee_id=2)
    hidden = Ticket(phone="13812345678", anonymous=True, accepted_by_id=1, assignee_id=2)
    assert can_see_phone(intake, open_ticket) and can_see_phone(assignee, open_ticket)
    assert not can_see_phone(admin, open_ticket)
    assert can_see_submitter(intake, hidden) and not can_see_submitter(assignee, hidden)
    assert mask_phone("13812345678") == "138****5678"
    assert valid_phone("138 1234-5678") == "13812345678" and valid_phone("12812345678") is None
