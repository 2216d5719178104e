"""Production refuses development defaults; /metrics is protected; the client address comes through trusted proxies."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import create_app
from bot.core.accounts import AuditEntry
from bot.core.config import DEV_SECRETS, load_settings
from bot.core.errors import ConfigError
from tests.production_helpers import PRODUCTION, close, login, make_account, second_app, signed_in

SERVERS = {"REDIS_URL": "redis://cache:6379/0", "DATABASE_URL": "postgresql://bot:pw@db/bot"}
SECRETS = ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPID", "WECHAT_SECRET", "SECRET_KEY")
METRICS_TOKEN = "metrics-token-0123456789abcdef"


# Start-up ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["REDIS_URL", "DATABASE_URL"])
def test_production_without_a_server_url_stops_naming_the_key(key):
    env = {**PRODUCTION, **SERVERS}
    del env[key]
    with pytest.raises(ConfigError, match=f"^{key}: missing"):
        load_settings(env=env)
    with pytest.raises(SystemExit, match=f"^config error: {key}: missing"):
        create_app({"env": {**env, key: ""}})  # "" as unset: CI's environment has both URLs


def test_development_still_starts_embedded_servers_when_unset():
    s = load_settings(env={"BOT_ENV": "development"})
    assert s.redis_url is None and s.database_url.startswith("sqlite") and "DATABASE_URL" in s.defaults_used


@pytest.mark.parametrize("key", SECRETS)
@pytest.mark.parametrize("dev_value", sorted(DEV_SECRETS.values()))
def test_production_refuses_every_development_value_for_every_secret(key, dev_value):
    with pytest.raises(ConfigError, match=f"^{key}: a development default"):
        load_settings(env={**PRODUCTION, **SERVERS, key: dev_value})


@pytest.mark.parametrize("value", ["x", "k" * 31, "短" * 10])
def test_production_refuses_a_secret_key_under_32_bytes(value):
    with pytest.raises(ConfigError, match="^SECRET_KEY: at least 32 bytes"):
        load_settings(env={**PRODUCTION, **SERVERS, "SECRET_KEY": value})
    assert load_settings(env={**PRODUCTION, **SERVERS, "SECRET_KEY": "k" * 32}).secret_key == "k" * 32


def test_a_short_metrics_token_is_refused_in_production():
    with pytest.raises(ConfigError, match="^METRICS_TOKEN: at least 16"):
        load_settings(env={**PRODUCTION, **SERVERS, "METRICS_TOKEN": "short"})


@pytest.mark.config(env=PRODUCTION)
def test_a_session_signed_with_the_development_key_does_not_open_production(app, redis_url, database_url, tmp_path):
    dev = second_app(redis_url, database_url, str(tmp_path / "dev"), BOT_ENV="testing")  # SECRET_KEY: the dev default
    try:
        assert dev.config["SECRET_KEY"] == DEV_SECRETS["SECRET_KEY"]
        forged = signed_in(dev, "root", "admin")  # a real admin session, signed with the published key
        assert forged.get("/console/accounts/").status_code == 200
        cookie = forged.get_cookie(dev.config.get("SESSION_COOKIE_NAME", "session"))
        assert cookie is not None
    finally:
        close(dev)
    visitor = app.test_client()
    visitor.set_cookie(cookie.key, cookie.value)
    res = visitor.get("/console/accounts/")
    assert res.status_code in (302, 303, 401, 403) and "root" not in res.get_data(as_text=True)
    assert visitor.get("/console/").status_code != 200


# /metrics --------------------------------------------------------------------------------------------------------
def test_metrics_stay_open_in_development_when_nothing_is_configured(client):
    assert client.get("/metrics").status_code == 200


@pytest.mark.config(env=PRODUCTION)
def test_metrics_are_not_served_in_production_without_a_token_or_an_allow_list(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


@pytest.mark.config(env={**PRODUCTION, "METRICS_TOKEN": METRICS_TOKEN})
def test_metrics_need_the_bearer_token(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 403
    res = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert res.status_code == 200 and "bot_webhook_requests_total" in res.get_data(as_text=True)


@pytest.mark.config(env=PRODUCTION, server={"metrics_allow": ["127.0.0.1", "10.0.0.0/8"]})
def test_metrics_open_to_an_allowed_address(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


def test_a_bad_allow_list_entry_names_the_key():
    with pytest.raises(ConfigError, match=r"server.metrics_allow\[1\]: not an address"):
        load_settings({"server": {"metrics_allow": ["10.0.0.0/8", "intranet"]}}, env={**PRODUCTION, **SERVERS})


# Reverse proxies ---------------------------------------------------------------------------------------------------
def forwarded(client: Any, chain: str) -> int:
    """/metrics asked by the proxy at 127.0.0.1 on behalf of X-Forwarded-For `chain`."""
    return client.get(
        "/metrics", headers={"X-Forwarded-For": chain}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    ).status_code


@pytest.mark.config(env=PRODUCTION, server={"trusted_proxies": 1, "metrics_allow": ["203.0.113.7"]})
def test_with_one_trusted_proxy_the_last_forwarded_hop_is_the_client(client):
    assert forwarded(client, "203.0.113.7") == 200
    assert forwarded(client, "198.51.100.1, 203.0.113.7") == 200  # what our proxy appended counts
    assert forwarded(client, "203.0.113.7, 198.51.100.1") == 403  # a client cannot claim an address
    assert client.get("/metrics").status_code == 403  # no header: the proxy's own address


@pytest.mark.config(env=PRODUCTION, server={"trusted_proxies": 0, "metrics_allow": ["203.0.113.7"]})
def test_without_trusted_proxies_the_forwarded_header_is_ignored(client):
    assert forwarded(client, "203.0.113.7") == 403


@pytest.mark.config(server={"trusted_proxies": 1})
def test_the_audit_log_records_the_forwarded_client_address(app, services):
    make_account(app, "root", "admin")
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.23"
    assert login(client, "root").status_code == 302
    with services.sessions() as db:
        ips = db.scalars(select(AuditEntry.ip).where(AuditEntry.action == "login")).all()
    assert ips == ["198.51.100.23"]
