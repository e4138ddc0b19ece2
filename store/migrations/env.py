"""Alembic environment: the service runs it at start (``store.db.upgrade``) on the connection it
gives in ``config.attributes["connection"]``; nothing here reads an ini file or the environment."""

from alembic import context
from sqlmodel import SQLModel

from store import models  # noqa: F401  (registers the tables, for autogenerate)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
