"""Mobile numbers are masked however they are written (dots, spaces, full-width digits), in the export and the page."""

from __future__ import annotations

import pytest

from bot.core.phones import mask_phone, mask_phones
from handlers.tickets.models import Ticket
from tests.production_helpers import login, make_account, new_ticket, signed_in, xlsx_text

EXPORT = "/console/ticket-reports/export.xlsx"
WRITTEN = [
    "139.0013.8000",
    "１３９００１３８０００",
    "139 0013 8000",
    "139-0013-8000",
    "+86 13900138000",
    "１３９．００１３．８０００",
    "139_0013_8000",
    "13900138000",
]


@pytest.mark.parametrize("written", WRITTEN)
def test_every_way_of_writing_a_number_is_masked_in_text(written):
    assert mask_phones(f"请回电{written}，谢谢") == "请回电139****8000，谢谢"


@pytest.mark.parametrize("text", ["JK2611210007", "2026-11-21 13:45", "工号 12345678", "1234-5678", "¥1,380,013,800"])
def test_what_is_not_a_mobile_number_is_left_alone(text):
    assert mask_phones(text) == text


@pytest.mark.parametrize("written", WRITTEN)
def test_a_phone_field_is_masked_whatever_its_form(written):
    assert mask_phone(written) == "139****8000"


def fresh_tickets(app):
    """One ticket with numbers typed into the description and the place, in the two forms that slipped through."""
    return new_ticket(
        app,
        description="工资拖欠，请打 139.0013.8000 或 １３９００１３８０００ 联系",
        place="某某电子厂（电话 139 0013 8000）",
    )


def test_the_export_masks_numbers_written_with_dots_or_full_width_digits(app):
    fresh_tickets(app)
    admin = signed_in(app, "root", "admin")
    res = admin.get(EXPORT)
    assert res.status_code == 200
    xml = xlsx_text(res.data)
    assert "139****8000" in xml and "138****5678" in xml
    for leak in ("139.0013.8000", "１３９００１３８０００", "139 0013 8000", "13900138000", "13812345678"):
        assert leak not in xml, leak


def test_the_ticket_page_masks_numbers_in_the_text_for_whoever_may_not_see_the_phone(app, services):
    ticket = fresh_tickets(app)
    admin = signed_in(app, "root", "admin")
    html = admin.get(f"/console/tickets/{ticket.number}").get_data(as_text=True)
    assert "139****8000" in html and "138****5678" in html
    for leak in ("139.0013.8000", "１３９００１３８０００", "139 0013 8000", "13812345678"):
        assert leak not in html, leak
    caseworker_id = make_account(app, "chen", "caseworker")
    with services.sessions() as db:  # chen accepted it: the caseworker of record sees the text as written
        db.get(Ticket, ticket.id).accepted_by_id = caseworker_id
        db.commit()
    caseworker = app.test_client()
    assert login(caseworker, "chen").status_code == 302
    html = caseworker.get(f"/console/tickets/{ticket.number}").get_data(as_text=True)
    assert "139.0013.8000" in html and "13812345678" in html
