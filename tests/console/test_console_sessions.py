"""Console sessions live on the server: a cookie copied before logout, a password change or disabling the account
opens nothing afterwards, not even after Redis is lost; idle and old sessions end on the server too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from bot.core.accounts import ConsoleSession
from bot.core.database import utcnow
from tests.console.console_helpers import PASSWORD, csrf_token, login, submit
from tests.console.security_helpers import copied_browser, logout, opens_console, session_rows


def test_a_cookie_copied_before_logout_stops_working(app: Any, admin: Any, services: Any):
    cookie = admin.get_cookie("session").value
    thief = copied_browser(app, admin)
    token = csrf_token(thief, "/console/wechat/")  # the thief even has a valid form token from before
    assert opens_console(thief)
    assert logout(admin).headers["Location"] == "/console/login"
    for url in ("/console/", "/console/accounts/", "/console/wechat/"):
        thief.set_cookie("session", cookie)  # the very cookie from before the logout, each time
        res = thief.get(url)
        assert res.status_code == 302 and res.headers["Location"].startswith("/console/login")
    thief.set_cookie("session", cookie)
    minted = thief.post("/console/wechat/code", data={"csrf_token": token})
    assert minted.status_code in (302, 400) and "绑定后台" not in minted.get_data(as_text=True)
    assert services.redis.keys("staff:bind:*") == []  # no WeChat binding code was minted
    [row] = session_rows(services)
    assert row.ended_at is not None and row.end_reason == "logout"


def test_the_exact_cookie_from_before_logout_is_refused(app: Any, make_account: Any, services: Any):
    make_account("root", "admin")
    browser = app.test_client()
    login(browser, "root")
    cookie = browser.get_cookie("session").value
    logout(browser)
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    res = replay.get("/console/accounts/")
    assert res.status_code == 302 and res.headers["Location"].startswith("/console/login")


def test_logout_ends_only_that_browser(app: Any, make_account: Any):
    make_account("root", "admin")
    office, phone = app.test_client(), app.test_client()
    login(office, "root")
    login(phone, "root")
    logout(office)
    assert opens_console(phone) and not opens_console(office)


def test_a_lost_redis_does_not_revive_a_logged_out_session(app: Any, admin: Any, services: Any):
    thief = copied_browser(app, admin)
    logout(admin)
    services.redis.flushdb()  # Redis lost (or restarted empty): sessions do not depend on it
    assert not opens_console(thief)
    fresh = app.test_client()
    assert login(fresh, "root").status_code == 302 and opens_console(fresh)


def test_a_password_change_ends_every_other_session_and_copied_cookies(app: Any, make_account: Any):
    make_account("wang", "editor")
    laptop, desk = app.test_client(), app.test_client()
    login(laptop, "wang")
    login(desk, "wang")
    thief = copied_browser(app, laptop)
    res = submit(
        laptop, "/console/password", {"current": PASSWORD, "password": "a new secret 7", "confirm": "a new secret 7"}
    )
    assert res.headers["Location"] == "/console/"
    assert opens_console(laptop)  # the browser that changed it goes on, with a new session
    assert not opens_console(desk) and not opens_console(thief)


def test_an_admin_password_reset_ends_the_sessions(app: Any, admin: Any, make_account: Any):
    wang_id = make_account("wang", "editor")
    wang = app.test_client()
    login(wang, "wang")
    thief = copied_browser(app, wang)
    submit(
        admin,
        f"/console/accounts/{wang_id}",
        {"password": "temporary pass 123", "confirm": "temporary pass 123"},
        f"/console/accounts/{wang_id}/password",
    )
    assert not opens_console(wang) and not opens_console(thief)


def test_disabling_an_account_ends_its_sessions_for_good(app: Any, admin: Any, make_account: Any, services: Any):
    wang_id = make_account("wang", "editor")
    wang = app.test_client()
    login(wang, "wang")
    thief = copied_browser(app, wang)
    submit(admin, f"/console/accounts/{wang_id}", {}, f"/console/accounts/{wang_id}/disable")
    assert not opens_console(wang)
    submit(admin, f"/console/accounts/{wang_id}", {}, f"/console/accounts/{wang_id}/enable")
    assert not opens_console(thief)  # enabling again does not revive the old sessions
    assert all(r.ended_at is not None for r in session_rows(services, wang_id))
    assert login(app.test_client(), "wang").status_code == 302


def test_an_idle_session_ends_on_the_server(app: Any, editor: Any, services: Any):
    with services.sessions() as db:
        db.execute(update(ConsoleSession).values(seen_at=utcnow() - timedelta(hours=3)))
        db.commit()
    assert not opens_console(editor)
    [row] = session_rows(services)
    assert row.end_reason == "idle"


def test_a_session_past_the_maximum_age_ends_on_the_server(app: Any, editor: Any, services: Any):
    with services.sessions() as db:
        db.execute(update(ConsoleSession).values(created_at=utcnow() - timedelta(hours=13)))
        db.commit()
    assert not opens_console(editor)
    assert session_rows(services)[0].end_reason == "expired"


def test_the_database_keeps_no_usable_session_id(app: Any, editor: Any, services: Any):
    """The table stores a hash: someone who reads the database cannot forge a cookie from it."""
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = serializer.loads(editor.get_cookie("session").value)
    [row] = session_rows(services)
    assert cookie["sid"] != row.id and len(row.id) == 64


def test_old_session_rows_are_cleared_at_the_next_sign_in(app: Any, editor: Any, services: Any):
    with services.sessions() as db:
        db.execute(update(ConsoleSession).values(created_at=utcnow() - timedelta(days=8)))
        db.commit()
    login(app.test_client(), "wang")
    assert len(session_rows(services)) == 1  # only the new one
