"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from bot.core.database import Base
from bot.core.migrations import alembic_config, upgrade


def test_migrations_match_the_models(services):
    with services.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
        assert compare_metadata(ctx, Base.metadata) == []


def _ours(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and name in {"apscheduler_jobs", "alembic_version"})


def test_migrate_command_is_idempotent(runner):
    for _ in range(2):
        result = runner.invoke(args=["migrate"])
        assert result.exit_code == 0, result.output
        assert "database ready" in result.output


def test_the_caseworker_role_migration_renames_stored_roles_both_ways(tmp_path):
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
