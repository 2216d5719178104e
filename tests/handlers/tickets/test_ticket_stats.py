"""Ticket statistics: exact counts and rates of a known set of tickets, by month, category, department, 片区."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from handlers.tickets import flow
from handlers.tickets.models import Ticket
from handlers.tickets.stats import Counts, Filters, cached_report, cube_report, month_span, percent, report, sets_report
from tests.handlers.tickets import ticket_known as known

EVERYTHING = Filters()  # no filter: every ticket


@pytest.fixture
def figures(services):
    known.build(services)

    def take(filters: Filters = EVERYTHING, now=known.NOW):
        with services.sessions() as db:
            return report(db, filters, now)

    return take


def rates(c: Counts) -> tuple:
    return c.response_rate, c.solve_rate, c.satisfaction_rate


def test_the_totals_and_the_three_rates(figures):
    total = figures().total
    assert (total.submitted, total.merged, total.collected, total.rejected, total.accepted) == (10, 1, 9, 2, 7)
    assert (total.solved, total.open, total.due, total.on_time, total.rated, total.satisfied) == (3, 4, 9, 6, 3, 2)
    assert rates(total) == (6 / 9, 3 / 7, 2 / 3)


def test_a_fresh_submission_counts_against_the_response_rate_once_its_intake_hours_pass(figures):
    later = figures(now=known.NOW + timedelta(hours=2))
    assert (later.total.due, later.total.on_time) == (10, 6)


def test_by_month(figures):
    months = dict(figures().months())
    assert list(months) == ["2026-10", "2026-11"]
    oct_, nov = months["2026-10"], months["2026-11"]
    assert (oct_.collected, oct_.rejected, oct_.solved) == (4, 1, 2) and rates(oct_) == (4 / 5, 2 / 3, 2 / 3)
    assert (nov.collected, nov.rejected, nov.solved) == (5, 1, 1) and rates(nov) == (2 / 4, 1 / 4, None)


def test_by_department_with_unassigned_last(figures):
    rows = figures().rows("department", ["zhengwu", "renshe", "jianshe", "anjian"])
    assert [k for k, _ in rows] == ["zhengwu", "renshe", "jianshe", "anjian", None]
    by = dict(rows)
    assert (by["renshe"].collected, by["renshe"].solved, by["renshe"].solve_rate) == (3, 2, 2 / 3)
    assert (by["jianshe"].collected, by["jianshe"].solve_rate, by["jianshe"].satisfaction_rate) == (1, 0.0, 0.0)
    assert (by["zhengwu"].solved, by["zhengwu"].response_rate) == (1, 0.0)
    assert by["anjian"].collected == 0 and by["anjian"].solve_rate is None
    assert (by[None].collected, by[None].rejected, by[None].solve_rate) == (4, 2, 0.0)


def test_by_category_and_district(figures):
    result = figures()
    cats = dict(result.rows("category"))
    assert (cats["政务审批"].collected, cats["政务审批"].rejected, cats["政务审批"].solve_rate) == (2, 1, 1.0)
    assert (cats["住房保障"].submitted, cats["住房保障"].collected) == (1, 0)
    districts = dict(result.rows("district"))
    assert [k for k in districts] == ["一片区", "二片区", None]
    assert (districts["一片区"].collected, districts["一片区"].solved, rates(districts["一片区"])) == (
        5,
        3,
        (2 / 4, 3 / 5, 1.0),
    )
    assert (districts["二片区"].collected, districts["二片区"].solve_rate) == (3, 0.0)


def test_filters_narrow_every_figure(figures):
    nov = figures(Filters(month_from="2026-11")).total
    assert (nov.collected, nov.solved) == (5, 1) and rates(nov) == (2 / 4, 1 / 4, None)
    labour = figures(Filters(category="劳动权益", month_to="2026-10")).total
    assert (labour.collected, labour.solved, labour.satisfied) == (2, 2, 2)
    assert figures(Filters(department="renshe", district="一片区")).total.collected == 3
    assert figures(Filters(month_from="2027-01")).total == Counts()


def test_filters_from_a_query_string():
    f = Filters.of(MultiDict({"from": "2026-11", "to": "2026-02", "category": " 劳动权益 ", "department": ""}))
    assert (f.month_from, f.month_to, f.category, f.department) == ("2026-02", "2026-11", "劳动权益", "")
    assert Filters.of(MultiDict({"from": "2026-13", "to": "26-01"})) == Filters()
    assert f.args() == {"from": "2026-02", "to": "2026-11", "category": "劳动权益"}


def test_month_gaps_are_filled_and_rates_print_as_percent():
    assert list(month_span("2025-11", "2026-02")) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert (percent(2 / 3), percent(None), percent(1.0)) == ("66.7%", "—", "100.0%")


def test_the_cache_serves_the_same_figures_until_a_ticket_changes(services, figures):
    def cached(filters: Filters = EVERYTHING):
        with services.sessions() as db:
            return cached_report(services.redis, db, filters, known.NOW)

    fresh, was_cached = cached()
    again, was_cached_again = cached()
    assert (was_cached, was_cached_again) == (False, True)
    assert again.total == fresh.total and again.by == fresh.by and dict(again.months()) == dict(fresh.months())
    assert cached(Filters(month_from="2026-11"))[1] is False  # each filter has its own entry
    with services.sessions() as db:
        t6 = db.scalar(select(Ticket.id).where(Ticket.submission_key == "t6"))
    known.run(services, t6, known.NOW, flow.resolve, "已办结")  # a step appends an event: a new version
    changed, was_cached = cached()
    assert was_cached is False and (changed.total.solved, changed.total.open) == (4, 3)


def test_without_redis_the_figures_are_computed(services, figures):
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with services.sessions() as db:
        result, was_cached = cached_report(down, db, Filters(), known.NOW)
    assert was_cached is False and result.total.collected == 9


def test_postgresql_grouping_sets_agree_with_the_roll_up_here(services, figures):
    with services.sessions() as db:
        if db.get_bind().dialect.name != "postgresql":
            pytest.skip("GROUPING SETS are used on PostgreSQL only")
        for f in (
            Filters(),
            Filters(month_from="2026-11"),
            Filters(department="renshe"),
            Filters(month_from="2030-01"),
        ):
            in_sql, here = sets_report(db, f, known.NOW), cube_report(db, f, known.NOW)
            assert in_sql.total == here.total and in_sql.by == here.by
