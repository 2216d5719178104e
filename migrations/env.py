"""Alembic environment: runs migrations on the connection bot.core.migrations passes in (or sqlalchemy.url)."""

from __future__ import annotations

import importlib

from alembic import context
from sqlalchemy import engine_from_config, pool

from bot import model_modules
from bot.core.database import Base

for module in model_modules():  # the platform's tables and every registered feature's
    importlib.import_module(module)

config = context.config
target_metadata = Base.metadata
IGNORED = {"apscheduler_jobs"}  # tables owned by libraries, not by our migrations


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (type_ == "table" and name in IGNORED)


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        with engine.connect() as conn:
            configure(conn)
            conn.commit()
        return
    configure(connection)


def configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
