"""Likely duplicates: bigram shingles, Jaccard similarity, ranking, and the bounded candidate query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit
from handlers.tickets.similar import candidates, jaccard, likely_duplicates, normalise, rank, shingles, similarity

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def test_text_is_normalised_before_comparing():
    assert normalise("ＡＢＣ，工资 拖欠！") == "abc工资拖欠"
    assert shingles("工资拖欠") == {"工资", "资拖", "拖欠"}
    assert shingles("水") == {"水"} and shingles("  。") == frozenset()


def test_jaccard_and_similarity():
    assert jaccard(frozenset(), frozenset()) == 0.0
    assert similarity("工资拖欠", "工资拖欠") == 1.0
    assert similarity("工资拖欠", "路灯坏了") == 0.0
    assert 0.3 < similarity("某某电子厂拖欠工资两个月", "某某电子厂拖欠工资三个月") < 1.0


def test_rank_keeps_the_similar_ones_best_first():
    candidates = [(1, "小区门口路灯坏了"), (2, "某某电子厂拖欠工资三个月了"), (3, "某某电子厂拖欠工资两个月")]
    ranked = rank("某某电子厂拖欠工资两个月", candidates)
    assert [key for key, _ in ranked] == [3, 2]
    assert ranked[0][1] == 1.0
    assert rank("某某电子厂拖欠工资两个月", candidates, limit=1) == [(3, 1.0)]


def test_candidates_are_recent_open_tickets_same_category_first(services):
    cfg = TicketConfig.of(services.settings)

    def make(key: str, when: datetime, **fields: object):
        base = dict(openid="o", category="劳动权益", description="某某电子厂拖欠工资两个月", place="某某电子厂")
        base.update(fields)
        with services.sessions() as db:
            return submit(db, cfg, Submission(key=key, **base), when)[0]

    target = make("t", NOW)
    same = make("same", NOW - timedelta(days=1))
    other_category = make("other", NOW - timedelta(days=2), category="其他")
    make("old", NOW - timedelta(days=cfg.duplicate_days + 1))  # too old to be suggested
    closed = make("closed", NOW - timedelta(days=1))
    with services.sessions() as db:
        db.get(Ticket, closed.id).status = "closed"
        db.commit()
        ticket = db.get(Ticket, target.id)
        found = likely_duplicates(db, cfg, ticket, NOW)
        assert [s.number for s in found] == [same.number, other_category.number]
        assert found[0].score == 1.0
        assert [s.number for s in candidates(db, cfg, ticket, NOW, cap=1)] == [same.number]
        assert likely_duplicates(db, cfg, ticket, NOW, [Ticket.department.is_not(None)]) == []  # e.g. visibility
