"""Migration 0010: the console role 诉求处理 is stored as "caseworker" (was "handler"), and back on downgrade."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import create_engine, text

from bot.core.migrations import alembic_config, upgrade


def test_stored_handler_roles_become_caseworker_and_back(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'roles.db'}")
    upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO console_accounts (username, password_hash, roles, active, must_change_password,"
                " session_version, created_at) VALUES (:u, 'x', :r, 1, 0, 1, '2026-12-01 00:00:00')"
            ),
            [{"u": "li", "r": '["editor", "handler"]'}, {"u": "wang", "r": '["reviewer"]'}],
        )

    def roles() -> dict[str, list[str]]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, roles FROM console_accounts")).all()
        return {name: json.loads(stored) for name, stored in rows}

    upgrade(engine, "0010")
    assert roles() == {"li": ["editor", "caseworker"], "wang": ["reviewer"]}
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    assert roles() == {"li": ["editor", "handler"], "wang": ["reviewer"]}
    engine.dispose()
