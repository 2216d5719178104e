"""Flask's edge of the services: attached to the app at start-up, found by views and commands in a request."""

from __future__ import annotations

from flask import Flask, current_app

from bot.core.services import Services


def init_app(app: Flask, services: Services) -> Services:
    """Attach the services to the app."""
    app.extensions["bot"] = services
    return services


def services() -> Services:
    """The current app's services (inside a request or app context)."""
    return current_app.extensions["bot"]
