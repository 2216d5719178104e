"""三会一课 reminders and escalation: the secretary before a period ends, the instructor once it ended with nothing
held, the 片区 later; each notice once, with two runs at the same time and after a restart."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest
from sqlalchemy import select

from bot.core.accounts import Account
from bot.core.organisations import GuidanceGroup, Organisation
from bot.outbound import pending
from handlers.orglife import reminders
from handlers.orglife.reminders import CUSTOM, DISTRICT, INSTRUCTOR, REMIND, WAITING, OrgLifeNotice
from tests.handlers.orglife.comp_helpers import cn, meeting, old_tree
from tests.handlers.orgs.fig_helpers import scoped_account

ONE_KIND = {
    "kinds": [{"key": "zhiwei_hui", "name": "支部委员会", "period": "monthly", "applies_to": ["党支部"]}],
    "remind_days": 7,
    "escalate_days": 7,
}


@pytest.fixture
def world(services, emu, live):
    """The tree; every 党支部 held its meetings January–October, a1 and b November too; a secretary of a2 (WeChat
    bound, in the window), an instructor scoped to the 党委 above it, an editor scoped to its 片区党委."""
    with services.sessions() as db:
        tree = old_tree(db)
        for month in range(1, 12):
            for key in ("a1", "a2", "b"):
                if month < 11 or key != "a2":
                    meeting(db, tree[key], "zhiwei_hui", cn(2026, month, 5))
    people = {}
    for username, key, role in (
        ("shuji", "a2", "secretary"),
        ("zhidao", "a", "instructor"),
        ("pianqu", "d1", "editor"),
    ):
        with services.sessions() as db:
            account_id = scoped_account(services, username, db.get(Organisation, tree[key]), role)
        openid = emu.create_user(username, subscribed=True)["openid"]
        services.followers.subscribe(openid)
        with services.sessions() as db:
            db.get(Account, account_id).openid = openid
            db.commit()
        people[username] = openid
    return tree, people


def notices(services) -> list[OrgLifeNotice]:
    with services.sessions() as db:
        return list(db.scalars(select(OrgLifeNotice).order_by(OrgLifeNotice.id)))


def texts(emu, openid: str) -> list[str]:
    return [m["body"]["text"]["content"] for m in emu.received(openid, "custom")]


@pytest.mark.config(orglife=ONE_KIND)
def test_the_secretary_is_reminded_once_before_the_period_ends(services, emu, world):
    tree, people = world
    nov_25 = cn(2026, 11, 25, 10)
    assert reminders.run(services, cn(2026, 11, 20, 10)) == 0  # 11 days left: too early
    services.followers.touch(people["shuji"], nov_25.astimezone(UTC))
    emu.open_window(people["shuji"])
    assert reminders.run(services, nov_25) == 1
    assert reminders.run(services, nov_25) == 0  # a restart: the job runs again, nothing goes twice
    assert reminders.run(services, cn(2026, 11, 28, 10)) == 0
    [notice] = notices(services)
    assert (notice.organisation_id, notice.kind, notice.period, notice.step) == (
        tree["a2"],
        "zhiwei_hui",
        "2026-11",
        REMIND,
    )
    assert notice.channels == {str(notice.recipients[0]): CUSTOM} and notice.sent_at is not None
    [text] = texts(emu, people["shuji"])
    assert "测试甲公司第二党支部" in text and "支部委员会" in text and "还有6天" in text
    assert texts(emu, people["zhidao"]) == []


@pytest.mark.config(orglife=ONE_KIND)
def test_escalation_goes_to_the_instructor_then_the_district_once_each_even_in_two_processes(services, emu, world):
    tree, people = world
    for openid in people.values():
        emu.open_window(openid)
    dec_1 = cn(2026, 12, 1, 10)
    services.followers.touch(people["zhidao"], dec_1.astimezone(UTC))
    assert reminders.run(services, cn(2026, 11, 25, 10)) == 1  # the reminder (the secretary is out of the window)
    counts: list[int] = []
    runs = [threading.Thread(target=lambda: counts.append(reminders.run(services, dec_1))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(counts) == [0, 1]
    assert reminders.run(services, cn(2026, 12, 5, 10)) == 0  # the 片区 not yet
    dec_8 = cn(2026, 12, 8, 10)
    services.followers.touch(people["pianqu"], dec_8.astimezone(UTC))
    assert reminders.run(services, dec_8) == 1
    assert reminders.run(services, dec_8) == 0
    found = notices(services)
    assert [(n.step, n.period) for n in found] == [(REMIND, "2026-11"), (INSTRUCTOR, "2026-11"), (DISTRICT, "2026-11")]
    assert list(found[0].channels.values()) == [WAITING]  # kept for the console: no window
    with services.sessions() as db:
        ids = {a.username: a.id for a in db.scalars(select(Account))}
    assert found[1].recipients == [ids["zhidao"]] and found[2].recipients == [ids["pianqu"]]
    assert len(texts(emu, people["zhidao"])) == 1 and "督促" in texts(emu, people["zhidao"])[0]
    assert len(texts(emu, people["pianqu"])) == 1 and "超过7天" in texts(emu, people["pianqu"])[0]
    assert texts(emu, people["shuji"]) == []


@pytest.mark.config(orglife=ONE_KIND)
def test_the_nearest_secretary_above_and_dissolved_organisations(services, emu, world):
    tree, _ = world
    with services.sessions() as db:
        above = scoped_account(services, "shuji2", db.get(Organisation, tree["a"]), "secretary")
        scoped_account(services, "shuji3", db.get(Organisation, tree["d2"]), "secretary")
        db.execute(select(Account).where(Account.username == "shuji")).scalar_one().active = False
        db.commit()
    assert reminders.run(services, cn(2026, 11, 25, 10)) == 1  # a2 only: b held November's
    assert notices(services)[0].recipients == [above]  # a2 has no active secretary: the nearest above
    with services.sessions() as db:
        db.get(Organisation, tree["a2"]).dissolved_at = cn(2026, 11, 26).astimezone(UTC)
        db.commit()
    assert reminders.run(services, cn(2026, 12, 1, 10)) == 0  # dissolved: nothing to escalate


@pytest.mark.config(orglife=ONE_KIND)
def test_a_waiting_reminder_goes_out_at_the_next_message_once(services, emu, world):
    _, people = world
    assert reminders.run(services, cn(2026, 11, 25, 10)) == 1  # the secretary is outside the window: it waits
    assert texts(emu, people["shuji"]) == []
    services.followers.touch(people["shuji"])
    emu.open_window(people["shuji"])
    assert pending.flush(services, people["shuji"]) == 1
    assert pending.flush(services, people["shuji"]) == 0
    [text] = texts(emu, people["shuji"])
    assert "【三会一课提醒】" in text
    assert list(notices(services)[0].channels.values()) == [CUSTOM]


@pytest.mark.config(orglife=ONE_KIND)
def test_the_instructor_linked_to_the_guidance_group_is_told_at_their_next_message(services, emu, world):
    tree, people = world
    linked = emu.create_user("linked", subscribed=True)["openid"]
    services.followers.subscribe(linked)
    with services.sessions() as db:
        other_branch = db.get(Organisation, tree["b"])  # its scope does not cover a2: the link alone counts
        account_id = scoped_account(services, "zhidao_linked", other_branch, "instructor")
        db.get(Account, account_id).openid = linked
        group = GuidanceGroup(name="测试指导小组", instructor_account_id=account_id)
        db.add(group)
        db.flush()
        db.get(Organisation, tree["a2"]).guidance_group_id = group.id
        db.commit()
    assert reminders.run(services, cn(2026, 11, 25, 10)) == 1  # the reminder
    assert reminders.run(services, cn(2026, 12, 1, 10)) == 1  # November missing: the instructor step
    escalation = notices(services)[1]
    assert escalation.step == INSTRUCTOR and escalation.recipients == [account_id]  # not the scoped 指导员
    assert escalation.channels == {str(account_id): WAITING} and texts(emu, linked) == []
    services.followers.touch(linked)
    emu.open_window(linked)
    assert pending.flush(services, linked) == 1
    assert pending.flush(services, linked) == 0  # once
    [text] = texts(emu, linked)
    assert text.startswith(pending.RESENT) and "测试甲公司第二党支部" in text and "督促" in text
    assert notices(services)[1].channels == {str(account_id): CUSTOM}
    assert texts(emu, people["zhidao"]) == []
