"""Console test helpers: forms posted with the CSRF token scraped from the page, as a browser would."""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')  # Flask-WTF's hidden field
PASSWORD = "correct horse 42"  # every test account's password


def csrf_token(client: Any, url: str) -> str:
    """The CSRF token of the form on `url` (GET)."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    found = TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def submit(client: Any, url: str, data: dict[str, Any], action: str | None = None, **kwargs: Any) -> Any:
    """Post `data` to `action` (default `url`) with the token from the form on `url`."""
    return client.post(action or url, data={"csrf_token": csrf_token(client, url), **data}, **kwargs)


def login(client: Any, username: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    return submit(client, "/console/login", {"username": username, "password": password}, **kwargs)
