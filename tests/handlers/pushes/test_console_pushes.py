"""Console push pages: create and plan, escaping, approval by reviewers, pause/resume/cancel, progress JSON,
calendar, audit."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from handlers.pushes import service as pushes
from handlers.pushes.models import Push
from tests.console.console_helpers import login, submit
from tests.handlers.pushes.console_push_helpers import actions, create, only_push


def test_editor_creates_a_push_escaped_and_audited(editor: Any, services: Any):
    res = create(editor)
    assert res.status_code == 302
    push = only_push(services)
    assert push.next_run_at is not None and push.created_by == "wang"
    page = editor.get(f"/console/pushes/{push.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>x</b>" not in page
    listing = editor.get("/console/pushes/").get_data(as_text=True)
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing
    assert "push.create" in actions(services)


def test_form_problems_are_shown_and_nothing_saved(editor: Any, services: Any):
    res = create(editor, timing="recurring", recurrence="有空就发")
    assert res.status_code == 200 and "无法识别的重复规则" in res.get_data(as_text=True)
    res = create(editor, channel="mass", audience_kind="organisation", audience_org="org1")
    assert "群发只能发给全部粉丝或某个标签" in res.get_data(as_text=True)
    with services.sessions() as db:
        assert db.scalars(select(Push)).all() == []


def test_approval_needs_a_reviewer(editor: Any, client: Any, services: Any, make_account: Any):
    create(editor, needs_approval="y")
    push = only_push(services)
    url = f"/console/pushes/{push.id}"
    assert "待审核" in editor.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', editor.get(url).get_data(as_text=True)).group(
        1
    )
    assert editor.post(url + "/approve", data={"csrf_token": token}).status_code == 403
    editor.post("/console/logout", data={"csrf_token": token})
    make_account("li", "reviewer")
    login(client, "li")
    assert submit(client, url, {}, action=url + "/approve").status_code == 302
    assert only_push(services).approved_by == "li"
    assert "push.approve" in actions(services)


def test_pause_resume_cancel(editor: Any, services: Any):
    create(editor)
    url = f"/console/pushes/{only_push(services).id}"
    submit(editor, url, {}, action=url + "/pause")
    assert only_push(services).status == "paused"
    submit(editor, url, {}, action=url + "/resume")
    assert only_push(services).status == "active"
    submit(editor, url, {}, action=url + "/cancel")
    assert only_push(services).status == "cancelled" and only_push(services).next_run_at is None
    assert actions(services)[-3:] == ["push.pause", "push.resume", "push.cancel"]


def test_progress_json_and_calendar(editor: Any, services: Any, live: str, emu: Any):
    openid = emu.create_user("成员", subscribed=True)["openid"]
    services.followers.subscribe(openid)
    services.followers.touch(openid)
    emu.open_window(openid)
    create(editor, title="周末提醒", timing="recurring", recurrence="每天 12:00")
    push = only_push(services)
    calendar = editor.get("/console/pushes/calendar").get_data(as_text=True)
    assert calendar.count("周末提醒") >= 29
    run_id = pushes.run_push(services, push.id, now=pushes.aware(push.next_run_at))
    data = editor.get(f"/console/pushes/runs/{run_id}.json").get_json()
    assert data["status"] == "done" and data["totals"]["sent"] == 1 and data["targeted"] == 1
    assert "已发送" in editor.get(f"/console/pushes/{push.id}").get_data(as_text=True)
