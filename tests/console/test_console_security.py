"""Console rules that stop an account widening its own access: who may name a ticket's assignee (and so see the
submitter's phone), who may approve a push, which passwords are accepted, and how create-admin takes one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.core.errors import AccessRefused
from handlers.tickets import flow
from handlers.tickets.models import Ticket
from handlers.tickets.rules import TicketConfig
from tests.console.console_helpers import PASSWORD, login, submit
from tests.console.security_helpers import flashed
from tests.handlers.pushes.console_push_helpers import FORM, create, only_push
from tests.handlers.tickets.console_ticket_helpers import PHONE, audit_entries, fresh, new_ticket, page, signed_in, step

DEPARTMENTS = [
    {"id": "zhengwu", "name": "政务服务中心", "supervisor": ""},
    {"id": "renshe", "name": "人力资源和社会保障局", "supervisor": "boss"},
    {"id": "jianshe", "name": "建设管理局", "supervisor": ""},  # the rest as config.yaml: categories name them
    {"id": "anjian", "name": "安全生产监督管理局", "supervisor": ""},
    {"id": "dangjian", "name": "党建工作部", "supervisor": ""},
]
SUPERVISED = {"tickets": {"departments": DEPARTMENTS}}  # boss supervises 人社局


def accepted_by_someone_else(services: Any, make_account: Any, **fields: Any) -> Ticket:
    intake = make_account("intake", "caseworker")
    return new_ticket(services, openid="o_private_worker", accepted_by_id=intake, status="accepted", **fields)


def test_a_handler_cannot_assign_a_ticket_to_themselves(app: Any, make_account: Any, services: Any):
    t = accepted_by_someone_else(services, make_account)
    chen = signed_in(app, make_account, "chen", "caseworker")
    before = page(chen, f"/console/tickets/{t.number}")
    assert PHONE not in before and "o_private_worker" not in before
    assert 'name="assignee"' not in before  # the form offers no one to a plain caseworker
    res = step(chen, t, "assign", assignee=str(chen.account_id))  # a hand-made POST
    assert res.status_code == 302
    after = page(chen, f"/console/tickets/{t.number}")
    assert "不能把诉求交办给自己" in after
    assert fresh(services, t).assignee_id is None and fresh(services, t).status == "accepted"
    assert PHONE not in after and "o_private_worker" not in after
    [refused] = audit_entries(services, "ticket.refused")  # the attempt is kept in the audit log
    assert (refused.actor, refused.target, refused.details["step"]) == ("chen", t.number, "assign")


def test_a_handler_cannot_name_a_colleague_either(app: Any, make_account: Any, services: Any):
    t = accepted_by_someone_else(services, make_account)
    chen = signed_in(app, make_account, "chen", "caseworker")
    xu = make_account("xu", "caseworker")
    step(chen, t, "assign", assignee=str(xu))
    assert "只有管理员或该指导员所在部门的主管可以指定指导员" in page(chen, f"/console/tickets/{t.number}")
    assert fresh(services, t).assignee_id is None
    step(chen, t, "assign", department="renshe")  # a department is always allowed
    assert (fresh(services, t).department, fresh(services, t).assignee_id) == ("renshe", None)


@pytest.mark.config(**SUPERVISED)
def test_a_supervisor_names_caseworkers_of_their_department_only(app: Any, make_account: Any, services: Any):
    t = accepted_by_someone_else(services, make_account)
    boss = signed_in(app, make_account, "boss", "caseworker", department="renshe")
    own = signed_in(app, make_account, "ma", "caseworker", department="renshe")
    other = make_account("zhao", "caseworker")
    offered = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page(boss, f"/console/tickets/{t.number}"))
    assert offered == [(str(own.account_id), "ma")]
    step(boss, t, "assign", assignee=str(other))
    assert fresh(services, t).assignee_id is None
    step(boss, t, "assign", assignee=str(boss.account_id))
    assert fresh(services, t).assignee_id is None
    step(boss, t, "assign", department="renshe", assignee=str(own.account_id))
    assert fresh(services, t).assignee_id == own.account_id
    assert PHONE in page(own, f"/console/tickets/{t.number}")  # the named person handles it


def test_an_admin_names_anyone_but_themselves(app: Any, make_account: Any, services: Any):
    t = accepted_by_someone_else(services, make_account)
    root = signed_in(app, make_account, "root", "admin", "caseworker")
    xu = make_account("xu", "caseworker")
    step(root, t, "assign", assignee=str(root.account_id))
    assert fresh(services, t).assignee_id is None
    assert PHONE not in page(root, f"/console/tickets/{t.number}")
    step(root, t, "assign", assignee=str(xu))
    assert fresh(services, t).assignee_id == xu


def test_the_workflow_itself_refuses_a_name_without_an_allowed_actor(app: Any, make_account: Any, services: Any):
    """Not only the form: a step that names a person needs an admin or the supervisor behind it."""
    t = accepted_by_someone_else(services, make_account)
    xu = make_account("xu", "caseworker")
    with services.sessions() as db:
        s = flow.Step.by(db, TicketConfig.of(services.settings), "someone")
        for actor in (None, xu):
            with pytest.raises(AccessRefused):
                flow.assign(s, db.get(Ticket, t.id), None, xu, "xu", account_id=actor)
    assert fresh(services, t).assignee_id is None


def test_the_author_of_a_push_cannot_approve_it(app: Any, make_account: Any, services: Any, client: Any):
    make_account("wang", "editor", "reviewer")
    login(client, "wang")
    create(client, needs_approval="y")
    push = only_push(services)
    url = f"/console/pushes/{push.id}"
    html = client.get(url).get_data(as_text=True)
    assert 'id="approve"' not in html and "需由其他审核人员审核" in html
    res = submit(client, url, {}, action=url + "/approve", follow_redirects=True)
    assert "不能审核自己创建或修改过的推送" in flashed(res)
    assert only_push(services).approved_at is None
    other = signed_in(app, make_account, "li", "reviewer")
    assert 'id="approve"' in other.get(url).get_data(as_text=True)
    submit(other, url, {}, action=url + "/approve")
    assert only_push(services).approved_by == "li"


def test_an_editor_who_changed_a_push_cannot_approve_it(app: Any, make_account: Any, services: Any, client: Any):
    make_account("wang", "editor")
    login(client, "wang")
    create(client, needs_approval="y")
    push = only_push(services)
    li = signed_in(app, make_account, "li", "editor", "reviewer")
    submit(li, f"/console/pushes/{push.id}/edit", {**FORM, "title": "改过的标题", "needs_approval": "y"})
    assert only_push(services).title == "改过的标题"
    url = f"/console/pushes/{push.id}"
    submit(li, url, {}, action=url + "/approve")
    assert only_push(services).approved_at is None


@pytest.mark.parametrize(
    "password, message",
    [
        ("short one 1", "密码至少需要 12 个字符"),
        ("qwerty123456", "这是一个常见密码"),
        ("mailcreated5240", "这是一个常见密码"),
        ("aaaaaaaaaaaa", "密码太容易被猜到"),
        ("abcdefghijkl", "密码太容易被猜到"),
        ("zhangwei2026", "密码太容易被猜到"),
    ],
)
def test_weak_passwords_are_refused_in_chinese(admin: Any, services: Any, password: str, message: str):
    res = submit(admin, "/console/accounts/new", {"username": "zhangwei", "password": password, "confirm": password})
    assert res.status_code == 200 and message in res.get_data(as_text=True)
    if "zhangwei" not in password:  # (weak only next to that username)
        res = submit(admin, "/console/password", {"current": PASSWORD, "password": password, "confirm": password})
        assert message in res.get_data(as_text=True)


def test_a_long_uncommon_password_is_accepted(admin: Any, app: Any):
    res = submit(
        admin,
        "/console/accounts/new",
        {"username": "zhangwei", "password": "lantern orchard 58", "confirm": "lantern orchard 58"},
    )
    assert res.status_code == 302
    assert login(app.test_client(), "zhangwei", "lantern orchard 58").status_code == 302


def test_create_admin_prompts_hidden_twice_and_takes_no_password_argument(runner: Any, services: Any):
    refused = runner.invoke(args=["create-admin", "--username", "root", "--password", "lantern orchard 58"])
    assert refused.exit_code != 0 and "No such option" in refused.output
    typo = runner.invoke(
        args=["create-admin", "--username", "root"],
        input="lantern orchard 58\nlantern orchard 59\nlantern orchard 58\nlantern orchard 58\n",
    )
    assert typo.exit_code == 0, typo.output
    assert "lantern orchard" not in typo.output and "再输一次" in typo.output  # hidden, asked again on a mismatch
    weak = runner.invoke(args=["create-admin", "--username", "admin2"], input="password1234\npassword1234\n")
    assert weak.exit_code != 0 and "密码" in weak.output


def test_create_admin_reads_the_password_from_the_environment_for_scripts(runner: Any, client: Any):
    made = runner.invoke(
        args=["create-admin", "--username", "root"], env={"CONSOLE_ADMIN_PASSWORD": "lantern orchard 58"}
    )
    assert made.exit_code == 0, made.output
    assert login(client, "root", "lantern orchard 58").status_code == 302


def test_a_password_longer_than_the_strength_check_reads_is_judged_not_crashed(admin: Any, app: Any):
    long = "lantern orchard 58 " * 6  # 114 characters: past zxcvbn's own 72, within the 128 allowed
    res = submit(admin, "/console/accounts/new", {"username": "zhangwei", "password": long, "confirm": long})
    assert res.status_code == 302
    too_long = "x7" * 65
    res = submit(admin, "/console/accounts/new", {"username": "lisi", "password": too_long, "confirm": too_long})
    assert res.status_code == 200 and "密码最多 128 个字符" in res.get_data(as_text=True)
