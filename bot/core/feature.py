"""A feature declares itself once (routers, console pages, jobs, tables...); the composition root wires it in."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Ref = str  # "package.module:attribute", imported only when the app is wired (no import cycles at declaration)


def resolve(ref: Ref) -> Any:
    """The object a "module:attribute" reference names."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class NavEntry:
    """A link in the console's top navigation: its label, endpoint and the roles that see it (none: everyone)."""

    label: str
    endpoint: str
    roles: tuple[str, ...] = ()
    order: int = 50  # place among the feature links (lower first)
    badge: Ref | None = None  # fn() → count: the link shows only when the count is not 0, with the count as a badge
    html_id: str | None = None  # the link's id is nav-<html_id>
    pages: tuple[str, ...] = ()  # endpoint prefixes of the pages that mark this link as current (default: section)

    @property
    def section(self) -> str:
        """The endpoint prefix of the pages that mark this link as current (console.tickets.index → console.tickets)."""
        return self.endpoint.rsplit(".", 1)[0]

    def match(self, here: str) -> int:
        """How closely endpoint `here` belongs to this link: the length of its longest prefix that holds, else 0."""
        return max((len(p) for p in self.pages or (self.section,) if here.startswith(p)), default=0)


@dataclass(frozen=True)
class Job:
    """A scheduled job: its id, the function (taking the services) and its trigger from the settings."""

    id: str
    func: Ref
    trigger: Callable[[Any], Mapping[str, Any]]  # settings → APScheduler add_job keywords (trigger, seconds, ...)


@dataclass(frozen=True)
class Feature:
    """Everything the platform needs to know about one feature, declared in handlers/<feature>/__init__.py."""

    name: str
    routers: tuple[Ref, ...] = ()  # chat routers, in priority order within the feature
    fallback: Ref | None = None  # a router tried after every feature's routers (common's helpful answer)
    blueprints: tuple[Ref, ...] = ()  # console pages: child blueprints of /console
    nav: tuple[NavEntry, ...] = ()  # their links in the console's navigation
    jobs: tuple[Job, ...] = ()  # scheduler jobs
    models: tuple[str, ...] = ()  # modules defining tables (imported by create_app and Alembic's env)
    window_observers: tuple[Ref, ...] = ()  # fn(services, openid): a user's message reopened the 48-hour window
    setup: tuple[Ref, ...] = ()  # fn(services): attach the feature's shared objects when services are built
    commands: tuple[Ref, ...] = ()  # click commands added to app.cli
    audit_actions: Mapping[str, str] = field(default_factory=dict)  # audit action → its label on the audit page
    help_hooks: tuple[Ref, ...] = ()  # fn(ctx) → text or None: after 帮助, what the feature's running dialog awaits
    cancel_hooks: tuple[Ref, ...] = ()  # fn(ctx) → bool: on 取消, close what the feature keeps open (True: closed)
    scene_hooks: tuple[Ref, ...] = ()  # fn(ctx, scene) → text or None: a QR code's scene (subscribe or SCAN) answered
    help: tuple[tuple[int, str], ...] = ()  # (position, line) of the 帮助 text's command list, lower first
    config_checks: tuple[Ref, ...] = ()  # fn(raw config.yaml) raising ConfigError: the feature's section at start-up
