"""Ten tickets with known outcomes over two months, made through handlers.tickets.rules.submit and the workflow steps.

Figures at NOW (intake hours 2): submitted 10, merged 1, collected 9, rejected 2, accepted 7, solved 3, open 4;
响应率 6/9 (t10 is still inside its intake hours), 解决率 3/7, 满意率 2/3.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.tickets import flow
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in China; the figures are taken at this time
OCT = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)
PHONE = "13912345678"  # every known ticket's phone number (never exported in full)

# name → (submitted at, category, 片区)
TICKETS = {
    "t1": (OCT, "劳动权益", "一片区"),  # 交办 on time, 办结, 满意
    "t2": (OCT + H, "劳动权益", "一片区"),  # 交办 late, 办结, 基本满意
    "t3": (OCT + 2 * H, "水电气网", "二片区"),  # 不予受理 on time
    "t4": (OCT + 3 * H, "水电气网", "二片区"),  # 交办 on time, 办结, 不满意 → 重办 (not solved)
    "t5": (OCT + 4 * H, "住房保障", None),  # merged into t1 on time (not collected)
    "t6": (NOV, "劳动权益", "一片区"),  # 交办 on time, 办理中
    "t7": (NOV + H, "安全隐患", "二片区"),  # never answered: past its intake deadline
    "t8": (NOV + 2 * H, "政务审批", "一片区"),  # 受理 late, 交办, 办结, not rated
    "t9": (NOV + 3 * H, "政务审批", None),  # 不予受理 on time
    "t10": (NOW - H, "其他", "一片区"),  # fresh: still inside its intake hours
}


def make(services: Any, name: str, **fields: Any) -> int:
    at, category, district = TICKETS[name]
    base = dict(category=category, description=f"{name} 的诉求内容", place="某某电子厂", phone=PHONE, district=district)
    base.update(fields)
    with services.sessions() as db:
        ticket, _ = submit(db, TicketConfig.of(services.settings), Submission(key=name, openid=f"o_{name}", **base), at)
        return ticket.id


def run(services: Any, ticket_id: int, at: datetime, action: Callable[..., None], *args: Any) -> None:
    """One workflow step at `at`, committed."""
    with services.sessions() as db:
        step = flow.Step.by(db, TicketConfig.of(services.settings), "staff", at)
        action(step, db.get(Ticket, ticket_id), *args)
        db.commit()


def build(services: Any, **overrides: dict[str, Any]) -> dict[str, int]:
    """The ten tickets; `overrides` changes a ticket's submission fields (e.g. t1={"place": "..."}); name → id."""
    ids = {name: make(services, name, **overrides.get(name, {})) for name in TICKETS}
    t = {name: (ids[name], TICKETS[name][0]) for name in ids}
    day = timedelta(days=1)

    def at(name: str, offset: timedelta, action: Callable[..., None], *args: Any) -> None:
        run(services, t[name][0], t[name][1] + offset, action, *args)

    at("t1", H, flow.assign, "renshe", None)
    at("t1", day, flow.resolve, "已协调补发")
    at("t1", 2 * day, flow.rate, "satisfied")
    at("t2", 3 * H, flow.assign, "renshe", None)
    at("t2", day, flow.resolve, "已处理")
    at("t2", 2 * day, flow.rate, "fair")
    at("t3", H, flow.reject, "不属于园区事务")
    at("t4", H, flow.assign, "jianshe", None)
    at("t4", day, flow.resolve, "已维修")
    at("t4", 2 * day, flow.rate, "unsatisfied", "还是停水")
    with services.sessions() as db:
        step = flow.Step.by(db, TicketConfig.of(services.settings), "staff", t["t5"][1] + H / 2)
        flow.merge(step, db.get(Ticket, ids["t5"]), db.get(Ticket, ids["t1"]))
        db.commit()
    at("t6", H, flow.assign, "renshe", None)
    at("t6", 2 * H, flow.start)
    at("t8", 5 * H, flow.accept, None)
    at("t8", 6 * H, flow.assign, "zhengwu", None)
    at("t8", day, flow.resolve, "已办理")
    at("t9", H / 2, flow.reject, "重复提交")
    return ids
