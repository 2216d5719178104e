"""Helpers for the console security tests: copying a session cookie to another browser, reading the login page
through HTTP, and the server-side session rows."""

from __future__ import annotations

import re
from typing import Any

import requests
from sqlalchemy import select

from bot.core.accounts import ConsoleSession
from tests.console.console_helpers import PASSWORD, TOKEN, csrf_token

COOKIE = "session"  # Flask's session cookie name


def copied_browser(app: Any, signed_in: Any) -> Any:
    """A new test client holding a copy of `signed_in`'s session cookie (as a thief would)."""
    value = signed_in.get_cookie(COOKIE).value
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief


def opens_console(client: Any) -> bool:
    """True if the client's cookie still opens the console home (rather than sending it to the login page)."""
    res = client.get("/console/")
    return res.status_code == 200


def session_rows(services: Any, account_id: int | None = None) -> list[ConsoleSession]:
    with services.sessions() as db:
        query = select(ConsoleSession).order_by(ConsoleSession.created_at)
        if account_id is not None:
            query = query.where(ConsoleSession.account_id == account_id)
        return list(db.scalars(query))


def logout(client: Any) -> Any:
    return client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/")})


def http_login(base: str, username: str, password: str = PASSWORD, ip: str | None = None) -> requests.Response:
    """Sign in over real HTTP (the live server), as a browser would: the form's token, then the post."""
    browser = requests.Session()
    page = browser.get(base + "/console/login", timeout=30)
    token = TOKEN.search(page.text).group(1)
    headers = {"X-Forwarded-For": ip} if ip else {}
    return browser.post(
        base + "/console/login",
        data={"csrf_token": token, "username": username, "password": password},
        allow_redirects=False,
        timeout=60,
        headers=headers,
    )


def flashed(res: Any) -> str:
    """The text of the page's flash messages."""
    html = res.get_data(as_text=True) if hasattr(res, "get_data") else res.text
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', html))
