"""Helpers for slice D's tests: production settings, console accounts and sign-in, tickets, a second app."""

from __future__ import annotations

import io
import logging
import re
import socket
import zipfile
from collections.abc import Iterator
from itertools import count
from typing import Any

from flask import Flask

from bot import create_app
from bot.console.accounts import create_account
from bot.core import logs
from handlers.tickets.models import Ticket
from handlers.tickets.rules import Submission, TicketConfig, submit

PASSWORD = "correct horse 42 staple"  # every account these tests make
TOKEN_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
AES_KEY = "cHJvZC1hZXMta2V5LWZvci10ZXN0cy1vbmx5LTMyYnk"  # 43 characters, not a development value
# Production secrets (none a development default); REDIS_URL / DATABASE_URL come from the test fixtures.
PRODUCTION = {
    "BOT_ENV": "production",
    "WECHAT_TOKEN": "prodtoken7",
    "WECHAT_AES_KEY": AES_KEY,
    "WECHAT_APPID": "wx0123456789abcdef",
    "WECHAT_SECRET": "prod-app-secret-0123456789",
    "SECRET_KEY": "production-secret-key-of-at-least-32-bytes",
}
_keys = count(1)


def make_account(app: Flask, username: str, *roles: str) -> int:
    with app.extensions["bot"].sessions() as db:
        account = create_account(db, username, PASSWORD, list(roles))
        db.commit()
        return account.id


def login(client: Any, username: str) -> Any:
    """Sign in through the login form, with the CSRF token a browser would have."""
    page = client.get("/console/login")
    token = TOKEN_FIELD.search(page.get_data(as_text=True))
    assert token, "no CSRF token on the login page"
    return client.post(
        "/console/login", data={"csrf_token": token.group(1), "username": username, "password": PASSWORD}
    )


def signed_in(app: Flask, username: str, *roles: str) -> Any:
    make_account(app, username, *roles)
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def new_ticket(app: Flask, **fields: Any) -> Ticket:
    """A submitted ticket, as the chat dialog makes it."""
    base = dict(
        openid="o_worker", category="劳动权益", description="工资拖欠两个月", place="某某电子厂", phone="13812345678"
    )
    base.update(fields)
    services = app.extensions["bot"]
    with services.sessions() as db:
        ticket, _ = submit(db, TicketConfig.of(services.settings), Submission(key=f"d{next(_keys)}", **base))
        db.commit()
        return ticket


def second_app(redis_url: str, database_url: str, var: str, **env: str) -> Flask:
    """Another app on the same Redis and database (e.g. development next to production)."""
    return create_app({"env": {"REDIS_URL": redis_url, "DATABASE_URL": database_url, **env}, "var_dir": var})


def close(app: Flask) -> None:
    services = app.extensions["bot"]
    services.content.stop()
    services.pool.shutdown(wait=True)
    services.engine.dispose()


def xlsx_text(data: bytes) -> str:
    """Every XML part of an .xlsx, as one text."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(name).decode("utf-8") for name in z.namelist())


class Captured:
    """Log lines as our handler writes them (format and scrubbing filter), from every logger."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logs.handler(self.stream)

    def __enter__(self) -> Captured:
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: Any) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())
