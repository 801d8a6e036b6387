"""Shared set-up for tests against the sandbox PostgreSQL: each test module
works in a database of its own, so modules never see each other's tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from psycopg2 import sql

from storescope.backends import sandbox


def database_url(server: sandbox.Server, db: str, **query: str) -> str:
    """The sandbox server's URL for database ``db`` (with query parameters)."""
    base = server.url.rsplit("/", 1)[0] + f"/{db}"
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


@contextmanager
def admin_connection(server: sandbox.Server, db: str) -> Iterator[Any]:
    """A raw autocommit psycopg2 connection to ``db``, created if missing
    (set-up, and checks from "another session")."""
    conn = psycopg2.connect(server.url)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    finally:
        conn.close()
    conn = psycopg2.connect(database_url(server, db))
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def execute(url: str, *statements: str) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in autocommit on a connection of their own; the
    rows of each statement that returns rows, in order."""
    conn = psycopg2.connect(url)
    out: list[list[tuple[Any, ...]]] = []
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
                if cur.description is not None:
                    out.append(cur.fetchall())
    finally:
        conn.close()
    return out
