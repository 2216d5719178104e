"""The WeChat emulator (development and tests only): fake API server, simulated client, chat page."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin

API_PREFIX = "/emulator/cgi-bin/"  # the fake WeChat API's paths


class ApiWithoutSessions(SecureCookieSessionInterface):
    """The app's cookie sessions, except on the fake WeChat API (a server-to-server call, no cookie): a null session
    there, which saves verifying and building a session on every fake API call."""

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Mount the fake WeChat API at /emulator/cgi-bin/ and the chat page at /emulator."""
    from bot.emulator import api, chat, chat_qr  # noqa: F401  (chat_qr's routes join chat.bp)

    app.register_blueprint(api.bp)
    app.register_blueprint(chat.bp)
    if type(app.session_interface) is SecureCookieSessionInterface:  # the default; a custom one is left alone
        app.session_interface = ApiWithoutSessions()
