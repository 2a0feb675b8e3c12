"""Create the sandbox bank's database engine (SQLite file or PostgreSQL) and its tables.

SQLite is set up for several processes sharing one file: WAL journal, a busy timeout, foreign
keys on, and write transactions that start with ``BEGIN IMMEDIATE`` so two writers queue on the
database lock instead of failing half-way when one upgrades from reading to writing.
On PostgreSQL, an optional ``schema`` keeps independent banks (for instance parallel tests) apart.

Usage::

    engine = create_bank_engine("sqlite:///bank.sqlite3")
    engine = create_bank_engine("postgresql+psycopg://vtm:secret@127.0.0.1/vtm", schema="bank_a")
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from vtm.banking.sandbox.ledger import ensure_internal_accounts
from vtm.banking.sandbox.schema import Base

__all__ = ["WRITE", "create_bank_engine", "drop_bank_schema"]

WRITE = "vtm_write"
"""Execution option marking a connection whose transaction will write (SQLite: BEGIN IMMEDIATE)."""

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def _postgres_schema(engine: Engine, schema: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()


def create_bank_engine(url: str, *, schema: str | None = None, create_tables: bool = True) -> Engine:
    """An engine for the sandbox bank at ``url``, with its tables created if missing.

    ``schema`` (PostgreSQL only) names a schema to hold the tables; it is created if missing.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is only supported on PostgreSQL")
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("the sandbox bank needs an SQLite file, not an in-memory database")
        engine = create_engine(parsed, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000})
        _sqlite_setup(engine)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True)
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(f"invalid schema name {schema!r}")
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            engine.dispose()
            _postgres_schema(engine, schema)
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    if create_tables:
        # One write transaction (SQLite: BEGIN IMMEDIATE), so processes starting together do not race.
        with Session(engine.execution_options(**{WRITE: True})) as session, session.begin():
            Base.metadata.create_all(session.connection())
            ensure_internal_accounts(session, datetime.now(UTC))
    return engine


def drop_bank_schema(url: str, schema: str) -> None:
    """Drop a PostgreSQL schema made by :func:`create_bank_engine` and everything in it (tests, resets)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
