"""The yearly assessment's computation: weights checked, parts re-weighted over what an organisation has, reasons,
the ranking per 片区, tickets' rates and adjustments beside the computed score."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from handlers.orglife import assessment
from handlers.orglife.assessment import Part
from tests.handlers.orglife.assess_helpers import ONE_KIND, year_2025
from tests.handlers.orglife.comp_helpers import cn


def cards(services, year=2025):
    with services.sessions() as db:
        return {c.code: c for c in assessment.scorecards(db, services.settings, year, cn(2026, 1, 10))}


def test_weights_are_checked():
    assessment.check({"orglife": {"assessment_weights": {"compliance": 1, "tickets": 0.5}}})
    assessment.check({"orglife": {}})
    for bad in ({"compliance": -1}, {"bogus": 1}, {"study": "x"}, {"study": True}, [1, 2]):
        with pytest.raises(ConfigError):
            assessment.check({"orglife": {"assessment_weights": bad}})
    with pytest.raises(ConfigError, match="all zero"):
        assessment.check({"orglife": {"assessment_weights": {"compliance": 0, "tasks": 0, "study": 0}}})
    assert assessment.weights_of({}) == {"compliance": 40, "tasks": 30, "study": 30, "tickets": 0}


def test_a_part_missing_is_left_out_and_the_others_reweighted():
    parts = [Part("compliance", 0.75, 40), Part("tasks", None, 30), Part("study", 0.5, 30)]
    assert assessment.score(parts) == pytest.approx(64.3, abs=0.05)  # (0.75 × 40 + 0.5 × 30) ÷ 70
    full = [Part("compliance", 0.75, 40), Part("tasks", 1.0, 30), Part("study", 0.5, 30)]
    assert assessment.score(full) == 75.0
    assert full[0].reason == "三会一课完成率 75%（权重 40）→ 30.0 分"
    assert parts[1].reason == "任务完成率 无（权重 30，不计入）"
    assert assessment.score([Part("tasks", None, 30)]) is None


@pytest.mark.config(orglife={"kinds": ONE_KIND})
def test_scorecards_from_meetings_tasks_and_study(services):
    year_2025(services)
    found = cards(services)
    assert "T1111" not in found  # a 党小组 is not scored on its own
    a1 = found["T111"]
    assert a1.computed == 70.0  # 100% × 40 + 50% × 30 + 50% × 30
    assert [p.reason for p in a1.parts] == [
        "三会一课完成率 100%（权重 40）→ 40.0 分",
        "任务完成率 50%（权重 30）→ 15.0 分",
        "参学率 50%（权重 30）→ 15.0 分",
    ]
    assert found["T112"].computed == pytest.approx(7.1)  # 12.5% × 40 + 0% × 30 over 70 (no tasks)
    assert found["T21"].computed == 0.0  # nothing held; no tasks, no roster
    assert found["T11"].computed == pytest.approx(33.3)  # its subtree's 参学率 alone: 1 of 3
    assert found["T2"].computed is None  # nothing to score


@pytest.mark.config(orglife={"kinds": ONE_KIND, "assessment_weights": {"tickets": 20}})
def test_tickets_count_where_an_organisation_has_them(services):
    year_2025(services)
    found = cards(services)
    b = found["T21"]
    # 响应率 1/2, 解决率 1/1 accepted... solved 1 of 2 accepted, 满意率 1/1: mean 2/3; over 40 + 20
    assert b.computed == pytest.approx(22.2)
    assert b.parts[-1].reason == "诉求办理 67%（权重 20）→ 22.2 分"
    assert found["T111"].computed == 70.0  # no tickets: scored over the other three as before


@pytest.mark.config(orglife={"kinds": ONE_KIND})
def test_ranking_per_district_and_adjustment_beside_the_computed_score(services):
    tree = year_2025(services)
    with services.sessions() as db:
        assessment.adjust(db, tree["b"], 2025, 95.0, 0.0, "测试：获上级表彰", "bianji")
        with pytest.raises(ValueError):
            assessment.adjust(db, tree["b"], 2025, 90.0, 0.0, "  ", "bianji")
        with pytest.raises(ValueError):
            assessment.adjust(db, tree["b"], 2025, 101.0, 0.0, "测试", "bianji")
        ranking = assessment.ranking(assessment.scorecards(db, services.settings, 2025, cn(2026, 1, 10)))
    assert list(ranking) == ["第一片区", "第二片区", ""]
    assert [c.code for c in ranking["第一片区"]] == ["T111", "T1", "T11", "T112"]
    b, d2 = ranking["第二片区"]
    assert (b.code, b.score, b.computed, b.reason) == ("T21", 95.0, 0.0, "测试：获上级表彰")
    assert d2.code == "T2" and d2.score is None
