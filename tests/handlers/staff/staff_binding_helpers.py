"""Helpers for the staff binding code tests: a console account signed in through the login form, and its code."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.accounts import Account

PASSWORD = "correct horse 42"
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CODE = re.compile(r"绑定后台 (\d+)")  # the code shown on the console's 微信提醒 page


def token(client: Any, url: str) -> str:
    return TOKEN.search(client.get(url).get_data(as_text=True)).group(1)


def staff_member(app: Any, username: str) -> Any:
    """A test client signed in to the console as a new caseworker `username`."""
    with app.extensions["bot"].sessions() as db:
        create_account(db, username, PASSWORD, ["caseworker"])
        db.commit()
    client = app.test_client()
    res = client.post(
        "/console/login",
        data={"csrf_token": token(client, "/console/login"), "username": username, "password": PASSWORD},
    )
    assert res.status_code == 302
    return client


def new_code(client: Any) -> str:
    """A binding code from the 微信提醒 page."""
    res = client.post("/console/wechat/code", data={"csrf_token": token(client, "/console/wechat/")})
    return CODE.search(res.get_data(as_text=True)).group(1)


def bound_openid(services: Any, username: str) -> str | None:
    with services.sessions() as db:
        return db.scalar(select(Account.openid).where(Account.username == username))
