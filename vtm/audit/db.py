"""The records database engine (session store, audit chain, operation journal share it).

SQLite by default: WAL journal (readers never block the kiosk's writes), a busy timeout for the
review app writing at the same time, foreign keys on, and ``synchronous=FULL`` so that a
committed audit entry survives a power cut. PostgreSQL by URL.

It lives in :mod:`vtm.audit`, the lowest package that opens the records database, so that the
chain and the records above it (the operation journal) open it the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

__all__ = ["records_engine", "scratch_schema"]

_BUSY_TIMEOUT_S = 10.0


def records_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


@contextmanager
def scratch_schema(base_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL URL whose tables go to a schema of their own (``<prefix>_<random>``), dropped with
    everything in it afterwards: for tests and benchmarks that share one server, never for a kiosk."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
