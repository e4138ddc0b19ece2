"""Engines, sessions and the schema: SQLite by default, PostgreSQL when the URL says so.

The schema is Alembic's (``store/migrations``): :func:`make_engines` upgrades the database to the
newest revision before anything else reads it, so a database made by an older release (including one
made by ``create_all`` before migrations existed, which is stamped as revision 0001 first) is brought
up to date at start.

Two engines, one for reads and one for writes. On SQLite the write engine opens its transactions with
``BEGIN IMMEDIATE``: a write takes the database's write lock before it reads what it will change, so
two writers never both read, then collide when the second tries to write (SQLite would refuse the
second at once with "database is locked" instead of waiting). Reads stay deferred and, with the WAL
journal, never wait for writers. On PostgreSQL both are the same engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from store import models  # noqa: F401  (registers the tables)

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema of the releases before migrations
SQLITE_BUSY_SECONDS = 30.0  # how long a SQLite writer waits for another writer's lock
_MIGRATION_LOCK = 7_406_213  # a PostgreSQL advisory lock key: one process migrates at a time


@dataclass(frozen=True)
class Engines:
    read: Engine
    write: Engine


def _is_memory(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:")


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}}
    if _is_memory(url):
        kwargs["poolclass"] = StaticPool
    else:
        Path(url.split("///", 1)[-1]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        if not _is_memory(url):
            dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not _is_memory(url):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    if not _is_memory(url):  # in memory (tests): one connection that all sessions share, as the driver runs it
        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engines(url: str) -> Engines:
    """Engines for the URL, with the schema upgraded to the newest revision."""
    if url.startswith("sqlite"):
        if _is_memory(url):  # one shared connection: a second engine would be a second, empty database
            engine = _sqlite_engine(url, immediate=False)
            engines = Engines(engine, engine)
        else:
            engines = Engines(_sqlite_engine(url, immediate=False), _sqlite_engine(url, immediate=True))
    else:
        engine = create_engine(url, pool_pre_ping=True)
        engines = Engines(engine, engine)
    upgrade(engines.write)
    return engines


def make_engine(url: str) -> Engine:
    """The write engine for the URL (scripts and tests that need only one), schema upgraded."""
    return make_engines(url).write


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction that concurrent starters wait for
    (SQLite's write lock, or an advisory lock on PostgreSQL), so several workers may start at once."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        tables = set(inspect(conn).get_table_names())
        if "stakeholder" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE)  # made by create_all before migrations: that schema is 0001
        command.upgrade(config, "head")
