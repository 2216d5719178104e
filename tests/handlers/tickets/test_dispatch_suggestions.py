"""Dispatch suggestions (issue #14) on the console's ticket page: suggested category, department and similar past
tickets with scores; one-click 交办 by the suggestion or a changed one, both recorded; the share taken on the figures
page; role and scope checks; config errors for bad cue words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot import create_app
from handlers.tickets import suggest
from handlers.tickets.dispatch import Labelled, Suggester
from handlers.tickets.models import DispatchSuggestion, TicketEvent, TicketNotice
from tests.console.console_helpers import submit as post_form
from tests.handlers.tickets.console_ticket_helpers import audit_entries, fresh, new_ticket, page, signed_in, step

GAS = "食堂后厨一股很大的燃气味，已经两天了，怕出事"  # 安全隐患 whatever the submitter chose


@pytest.fixture
def caseworker(app: Any, make_account: Any) -> Any:
    """A client signed in as the intake caseworker "chen" (no department)."""
    suggest.forget()
    return signed_in(app, make_account, "chen", "caseworker")


def section(html: str) -> str:
    return html.split('id="dispatch-suggestion"', 1)[1].split("</section>", 1)[0]


def recorded(services: Any, ticket: Any) -> DispatchSuggestion:
    with services.sessions() as db:
        row = db.scalar(select(DispatchSuggestion).where(DispatchSuggestion.ticket_id == ticket.id))
        assert row is not None
        return row


def dispatch(client: Any, ticket: Any, form_page: str = "", **data: str) -> Any:
    """Post the suggestion's form (the CSRF token from `form_page`, default the ticket's page)."""
    url = f"/console/tickets/{ticket.number}"
    return post_form(client, form_page or url, data, action=f"{url}/dispatch")


def test_a_new_tickets_page_suggests_category_department_and_similar_past_tickets(caseworker: Any, services: Any):
    past = new_ticket(services, category="安全隐患", description="宿舍食堂后厨燃气味很大，怕出事", status="closed")
    other = new_ticket(services, category="交通出行", description="园区公交车太少了", status="assigned")
    ticket = new_ticket(services, category="其他", description=GAS, place="三号食堂")
    box = section(page(caseworker, f"/console/tickets/{ticket.number}"))
    assert re.search(r'id="suggested-category">安全隐患</strong>\s*<span class="muted small">（把握 \d+%', box)
    assert "提交人选的是「其他」" in box
    assert 'id="suggested-department">安全生产监督管理局</strong>' in box
    similar = box.split('id="similar-past"', 1)[1]
    assert f'href="/console/tickets/{past.number}"' in similar and "已回访" in similar and "相似度" in similar
    assert other.number not in similar
    row = recorded(services, ticket)
    assert (row.category, row.department, row.submitted_category) == ("安全隐患", "anjian", "其他")
    assert 0 < row.category_score <= 1 and row.model_version.startswith("cues-nb-1.")
    assert row.chosen_at is None
    page(caseworker, f"/console/tickets/{ticket.number}")  # shown again: still one record
    with services.sessions() as db:
        assert len(db.scalars(select(DispatchSuggestion)).all()) == 1


def test_taking_the_suggestion_in_one_click_dispatches_and_records_it(caseworker: Any, services: Any):
    ticket = new_ticket(services, category="其他", description=GAS, place="三号食堂")
    page(caseworker, f"/console/tickets/{ticket.number}")
    res = dispatch(caseworker, ticket, category="安全隐患", department="anjian")
    assert res.status_code == 302
    saved = fresh(services, ticket)
    assert (saved.status, saved.category, saved.department) == ("assigned", "安全隐患", "anjian")
    assert saved.tier == "emergency"  # the category's tier
    row = recorded(services, ticket)
    assert (row.chosen_category, row.chosen_department, row.chosen_by) == ("安全隐患", "anjian", "chen")
    (entry,) = audit_entries(services, "ticket.dispatch")
    assert entry.details["taken"] is True
    with services.sessions() as db:
        texts = db.scalars(select(TicketNotice.text).where(TicketNotice.ticket_id == ticket.id)).all()
        kinds = db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)).all()
    assert any("已交办至安全生产监督管理局" in t for t in texts)
    assert "category" in kinds and "assign" in kinds
    html = page(caseworker, f"/console/tickets/{ticket.number}")
    assert "类别由「其他」改为「安全隐患」" in html
    assert "（采纳建议）" in section(html) and 'id="do-dispatch-take"' not in html


def test_a_changed_suggestion_is_kept_beside_the_choice(caseworker: Any, services: Any):
    ticket = new_ticket(services, category="其他", description=GAS, place="三号食堂")
    page(caseworker, f"/console/tickets/{ticket.number}")
    dispatch(caseworker, ticket, category="水电气网", department="jianshe")
    saved = fresh(services, ticket)
    assert (saved.category, saved.department) == ("水电气网", "jianshe")
    row = recorded(services, ticket)
    assert (row.category, row.department) == ("安全隐患", "anjian")  # what was suggested stays
    assert (row.chosen_category, row.chosen_department) == ("水电气网", "jianshe")
    assert audit_entries(services, "ticket.dispatch")[0].details["taken"] is False
    assert "（修改了建议）" in section(page(caseworker, f"/console/tickets/{ticket.number}"))


def test_the_ordinary_assign_step_records_the_choice_too(caseworker: Any, services: Any):
    ticket = new_ticket(services, category="劳动权益", description="公司两个月没发工资了，老板一直拖着")
    page(caseworker, f"/console/tickets/{ticket.number}")
    step(caseworker, ticket, "assign", department="zhengwu")
    row = recorded(services, ticket)
    assert (row.category, row.department) == ("劳动权益", "renshe")
    assert (row.chosen_category, row.chosen_department) == ("劳动权益", "zhengwu")


def test_the_figures_show_how_often_the_suggestion_was_taken(caseworker: Any, services: Any):
    taken = new_ticket(services, category="其他", description=GAS)
    changed = new_ticket(services, category="安全隐患", description="配电箱门开着，电线都露在外面")
    for ticket in (taken, changed):
        page(caseworker, f"/console/tickets/{ticket.number}")
    dispatch(caseworker, taken, category="安全隐患", department="anjian")
    dispatch(caseworker, changed, category="安全隐患", department="jianshe")
    html = page(caseworker, "/console/ticket-reports/")
    box = html.split('id="dispatch-taken"', 1)[1].split("</section>", 1)[0]
    assert "显示过派单建议的诉求 <b>2</b> 件" in box
    assert 'id="dispatch-category-share">100.0%<' in box and 'id="dispatch-department-share">50.0%<' in box
    row = box.split('data-label="建议类别">安全隐患</th>', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">([^<]+)</td>", row) == ["2", "100.0%", "50.0%"]
    month = fresh(services, taken).month
    later = f"{int(month[:4]) + 1}-01"
    assert "暂无" in page(caseworker, f"/console/ticket-reports/?from={later}").split('id="dispatch-taken"', 1)[1]


def test_a_caseworker_outside_the_tickets_department_cannot_dispatch_it(
    caseworker: Any, app: Any, make_account: Any, services: Any
):
    ticket = new_ticket(services, category="劳动权益", description="公司不签劳动合同", department="renshe")
    jianshe = signed_in(app, make_account, "wang", "caseworker", department="jianshe")
    assert jianshe.get(f"/console/tickets/{ticket.number}").status_code == 403
    assert dispatch(jianshe, ticket, "/console/tickets/", category="住房保障", department="jianshe").status_code == 403
    assert fresh(services, ticket).department == "renshe"
    editor = signed_in(app, make_account, "li", "editor")
    assert dispatch(editor, ticket, "/console/", category="住房保障", department="jianshe").status_code == 403
    assert audit_entries(services, "ticket.dispatch") == []


def test_an_unknown_category_or_department_is_refused(caseworker: Any, services: Any):
    ticket = new_ticket(services, category="其他", description=GAS)
    page(caseworker, f"/console/tickets/{ticket.number}")
    res = dispatch(caseworker, ticket, category="不存在", department="anjian")
    assert "未知的诉求类别" in page(caseworker, res.headers["Location"])
    dispatch(caseworker, ticket, category="安全隐患", department="nowhere")
    saved = fresh(services, ticket)
    assert (saved.status, saved.category, saved.department) == ("new", "其他", None)
    assert recorded(services, ticket).chosen_at is None


def test_the_seed_rows_are_the_benchs_training_rows_and_never_its_held_out_ones():
    sets = Path(__file__).resolve().parents[3] / "bench" / "ask"
    read = lambda name: yaml.safe_load((sets / name).read_text("utf-8"))  # noqa: E731
    training = [(r["t"], r["c"], r["d"]) for name in ("dispatch.yaml", "dispatch_more.yaml") for r in read(name)]
    seed = [(r.text, r.category, r.department) for r in suggest.seed_rows()]
    assert seed == training  # python bench/dispatch.py --write-seed
    assert not {r["t"] for r in read("dispatch_fresh.yaml")} & {t for t, _, _ in seed}


def test_the_model_learns_from_tickets_staff_dispatched():
    cues = {"甲": ["甲词"], "乙": ["乙词"]}
    rows = [Labelled("快递柜坏了取不出件", "乙", "b")] * 3 + [Labelled("别的事情", "甲", "a")] * 3
    made = Suggester.build(rows, cues, {"甲": "a", "乙": "b"}).suggest("快递柜又坏了")
    assert made.category[0] == "乙" and made.department[0] == "b"
    assert Suggester.build(rows, cues).suggest("甲词").category[0] == "甲"  # a cue word outweighs a few rows


@pytest.mark.parametrize(
    "category,fault",
    [
        ({"name": "住房", "tier": "general", "cues": "公租房"}, "tickets.categories[0].cues: expected a list"),
        ({"name": "住房", "tier": "general", "cues": ["公租房", ""]}, "tickets.categories[0].cues[1]: expected a word"),
        ({"name": "住房", "tier": "general", "cues": ["公 租房"]}, "tickets.categories[0].cues[0]: expected a word"),
        ({"name": "住房", "tier": "general", "department": "nope"}, "tickets.categories[0].department: expected one"),
    ],
)
def test_bad_dispatch_cues_stop_start_up_naming_the_key(category: dict[str, Any], fault: str):
    """Checked with the tickets section (FEATURE.config_checks) before anything connects."""
    with pytest.raises(SystemExit, match="^config error: " + re.escape("config.yaml " + fault)):
        create_app({"tickets": {"categories": [category]}, "env": {"BOT_ENV": "testing"}})
