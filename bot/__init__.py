"""The app factory (the composition root): config → logging → services and features from the registry → webhook,
health, emulator, console → CLI commands."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import cli, console, health
from bot.core import logs
from bot.core.config import DEV_SECRETS, VAR, Settings, load_settings
from bot.core.errors import ConfigError
from bot.core.feature import Feature, resolve
from bot.core.followers import Followers
from bot.core.services import Services, connect_redis, make_engine
from bot.inbound import webhook
from bot.inbound.dialog import DialogStore
from bot.inbound.pipeline import Pipeline
from bot.inbound.router import Dispatcher
from bot.library.store import ContentStore
from bot.outbound import pending
from bot.outbound.client import WxClient
from bot.outbound.ordered import OrderedPool
from bot.outbound.outbox import Outbox

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app; `config` overrides config.yaml sections (and "env", "var_dir" in tests).

    A missing or malformed setting stops start-up with one line naming the key.
    """
    overrides = dict(config or {})
    var = Path(overrides.pop("var_dir", VAR))
    try:
        settings = load_settings(overrides)
        for ref in (ref for feature in features() for ref in feature.config_checks):
            resolve(ref)(settings.raw)  # each feature checks its own section
    except ConfigError as exc:
        raise SystemExit(f"config error: {exc}") from None
    logs.setup(settings.logging.level)
    logs.add_secrets(
        [
            settings.token,
            settings.aes_key,
            settings.secret,
            settings.secret_key,
            settings.metrics_token,
            *DEV_SECRETS.values(),
        ]
    )
    if settings.defaults_used:
        log.warning("%s mode: development defaults for %s", settings.env, ", ".join(settings.defaults_used))
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, BOT=settings, VAR=var)
    trust_proxies(app, settings.server.trusted_proxies, settings.env)
    app.extensions["bot"] = services_for(settings, var)  # views find them with bot.console.web.services()
    webhook.register(app, settings.webhook.path)
    health.register(app)
    wire_console(app)
    if settings.emulator_enabled:
        from bot import emulator

        emulator.init_app(app)
    cli.init_app(app)
    for feature in features():
        for ref in feature.commands:
            app.cli.add_command(resolve(ref))
    if settings.env == "production":
        gc.freeze()  # what start-up built lives as long as the process: full collections skip it (shorter pauses)
    return app


def trust_proxies(app: Flask, count: int, env: str) -> None:
    """Behind `count` reverse proxies, the client address and scheme come from their X-Forwarded-* headers.

    0 (development): the headers are ignored and request.remote_addr is the socket's peer. Never set more than the
    proxies that really append the header, or a client could choose its own address.
    """
    if count == 0 and env == "production":
        log.warning("server.trusted_proxies is 0: client addresses are the socket's; behind a reverse proxy set it")
    if count > 0:
        proxied = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_port=0, x_prefix=0)
        app.wsgi_app = proxied  # type: ignore[method-assign]


PLATFORM_MODELS = (
    "bot.core.database",
    "bot.core.organisations",
    "bot.core.members",
    "bot.core.accounts",
    "bot.core.qrcodes",
    "bot.library.progress",
    "bot.outbound.pending",
)  # the platform's tables


def features() -> list[Any]:
    """The registry's features (imported here: the one platform module that knows handlers)."""
    from handlers.registry import FEATURES

    return FEATURES


def model_modules() -> list[str]:
    """Every module that defines tables: the platform's, then each feature's (Alembic's env imports these too)."""
    return [*PLATFORM_MODELS, *(module for feature in features() for module in feature.models)]


def services_for(settings: Settings, var: Path = VAR) -> Services:
    """The services with every feature's routers, tables, hooks and jobs wired in."""
    from handlers.registry import ROUTERS

    for module in model_modules():
        importlib.import_module(module)
    return build_services(settings, var, ROUTERS, features())


def wire_console(app: Flask) -> None:
    """The console shell with the features' pages, nav links and audit action labels."""
    from bot.console import audit

    for feature in features():
        audit.ACTIONS.update(feature.audit_actions)
    pages = [resolve(ref) for feature in features() for ref in feature.blueprints]
    console.init_app(app, pages, [entry for feature in features() for entry in feature.nav])


def build_services(
    settings: Settings, var: Path = VAR, routers: Sequence[Any] = (), features: Sequence[Feature] = ()
) -> Services:
    """Connect to Redis and the database and wire the WeChat client, the routers and the features' hooks."""
    client = connect_redis(settings, var)
    engine = make_engine(settings.database_url, settings)
    sessions = sessionmaker(engine, expire_on_commit=False)
    followers = Followers(sessions)
    ob = settings.outbox
    wx = WxClient(
        settings.appid,
        settings.secret,
        settings.api_base_url,
        client,
        timeout=ob.timeout,
        stable_token=ob.use_stable_token,
    )
    pool = ThreadPoolExecutor(ob.workers, thread_name_prefix="outbox")
    services = Services(
        settings=settings,
        redis=client,
        engine=engine,
        sessions=sessions,
        dialogs=DialogStore(client, settings.dialog.ttl),
        followers=followers,
        wx=wx,
        outbox=Outbox(wx, followers, ob.backoff),
        dispatcher=Dispatcher(list(routers)),
        pool=pool,
        ordered=OrderedPool(pool),
        content=ContentStore(client),
        features=tuple(features),
        help_lines=tuple(line for _, line in sorted(h for feature in features for h in feature.help)),
    )
    services.window_observers.append(pending.on_message)  # texts kept for the user's next message
    for feature in features:
        services.window_observers += [resolve(ref) for ref in feature.window_observers]
        services.help_hooks += [resolve(ref) for ref in feature.help_hooks]
        services.cancel_hooks += [resolve(ref) for ref in feature.cancel_hooks]
        services.scene_hooks += [resolve(ref) for ref in feature.scene_hooks]
        for ref in feature.setup:
            resolve(ref)(services)
    services.pipeline = Pipeline(services)
    return services
