"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.core.database import Base


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
