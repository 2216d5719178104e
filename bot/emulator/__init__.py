"""The WeChat emulator (development and tests only): fake API server, simulated client, chat page."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the fake WeChat API at /emulator/cgi-bin/ and the chat page at /emulator."""
    from bot.emulator import api, chat

    app.register_blueprint(api.bp)
    app.register_blueprint(chat.bp)
