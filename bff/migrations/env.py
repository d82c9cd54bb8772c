"""Alembic environment: runs on the connection handed over by :func:`bff.storage.migrate.upgrade`,
or on ``sqlalchemy.url`` when invoked through the ``alembic`` command line."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from bff.storage.models import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as fresh:
        _run(fresh)
