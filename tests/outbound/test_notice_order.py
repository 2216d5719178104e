"""Out-of-band notices to one user arrive in the order they were made (受理 before 交办 before 办理中), while
notices to many users still go out side by side."""

from __future__ import annotations

import time
from typing import Any

import pytest

from handlers.tickets import flow
from handlers.tickets.models import Ticket
from handlers.tickets.notify import deliver_later
from handlers.tickets.rules import Submission, TicketConfig, submit
from tests.helpers import poll

STEPS = [(flow.accept, (None,), "已受理"), (flow.assign, ("renshe", None), "已交办"), (flow.start, (), "正在办理中")]


def follower(services: Any, emu: Any) -> str:
    """A follower who wrote a moment ago (customer-service messages can reach them)."""
    openid = emu.create_user("提交人", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    services.followers.touch(openid)
    emu.open_window(openid)
    return openid


def new_ticket(services: Any, openid: str) -> int:
    sub = Submission(key=f"order-{openid}", openid=openid, category="劳动权益", description="拖欠工资", place="某厂")
    with services.sessions() as db:
        return submit(db, TicketConfig.of(services.settings), sub)[0].id


def act(services: Any, ticket_id: int, action: Any, *args: Any) -> None:
    """One console step as the console takes it: commit, then the notices go out in the background."""
    with services.sessions() as db:
        step = flow.Step.by(db, TicketConfig.of(services.settings), "staff")
        action(step, db.get(Ticket, ticket_id), *args)
        ids = step.notice_ids()
        db.commit()
    deliver_later(services, ids)


def received(emu: Any, openid: str) -> list[str]:
    return [str(m["body"].get("text", {}).get("content", "")) for m in emu.received(openid)]


def order_of(texts: list[str]) -> list[str]:
    return [next((mark for _, _, mark in STEPS if mark in t), t) for t in texts]


@pytest.mark.config(emulator={"latency_ms": 20})
@pytest.mark.parametrize("round_", range(3))
def test_one_users_notices_arrive_in_the_order_they_were_made(services, emu, live, round_):
    users = [follower(services, emu) for _ in range(6)]
    tickets = {u: new_ticket(services, u) for u in users}
    for action, args, _ in STEPS:  # each step taken for every user back to back, as busy staff would
        for u in users:
            act(services, tickets[u], action, *args)
    expected = [mark for _, _, mark in STEPS]
    for u in users:
        assert order_of(poll(lambda u=u: len(received(emu, u)) >= 3 and received(emu, u), timeout=15)) == expected


@pytest.mark.config(emulator={"latency_ms": 400})
def test_notices_to_many_users_go_out_side_by_side(services, emu, live):
    users = [follower(services, emu) for _ in range(8)]
    tickets = {u: new_ticket(services, u) for u in users}
    services.outbox.send_text(users[0], "预热")  # the access token is fetched once, before the clock starts
    t0 = time.monotonic()
    for u in users:
        act(services, tickets[u], flow.accept, None)
    for u in users:
        poll(lambda u=u: any("已受理" in t for t in received(emu, u)), timeout=10)
    assert time.monotonic() - t0 < 8 * 0.4 * 0.6  # one after another would take 3.2 s
