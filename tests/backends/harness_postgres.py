"""Conformance harness for PostgreSQL: seeds through raw psycopg2 into a
dedicated database, ``conformance``, while the backend under test connects to
``postgres``, so listing several databases and opening a second one lazily
are exercised on every run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import errors as pg_errors
from psycopg2 import sql

from storescope.backends import sandbox
from storescope.backends.base import Backend
from storescope.backends.types import Page

from .harness import BIG_VALUE

DATABASE = "conformance"
SCHEMA = "public"


class PostgresHarness:
    kind = "postgres"

    def __init__(self, server: sandbox.Server) -> None:
        self.server = server
        self.url = server.url
        self._seeded: set[tuple[str, int]] = set()
        admin = psycopg2.connect(server.url)
        admin.autocommit = True
        try:
            cur = admin.cursor()
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        finally:
            admin.close()
        self._conn = psycopg2.connect(server.url, dbname=DATABASE)
        self._conn.autocommit = True
        # The capability contracts run on the seeded database itself, so a
        # query sees what seed_records made.
        parts = urlsplit(server.url)
        self.contract_url = urlunsplit(parts._replace(path=f"/{DATABASE}"))

    def close(self) -> None:
        self._conn.close()

    def _table(self, name: str) -> sql.Composable:
        # Doubled '%': psycopg2 %-formats the whole query text, identifiers
        # included, whenever parameters are passed (always, here).
        return sql.SQL("{}.{}").format(
            sql.Identifier(SCHEMA), sql.Identifier(name.replace("%", "%%"))
        )

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        path = (DATABASE, SCHEMA, name)
        if (name, n) in self._seeded:
            return path
        table = self._table(name)
        cur = self._conn.cursor()
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table), ())
        cur.execute(
            sql.SQL(
                "CREATE TABLE {} (id integer PRIMARY KEY, label text NOT NULL, amount numeric(10, 2))"
            ).format(table),
            (),
        )
        cur.execute(
            sql.SQL(
                "INSERT INTO {} SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, %s) AS g"
            ).format(table),
            (n,),
        )
        cur.execute(sql.SQL("ANALYZE {}").format(table), ())
        self._seeded.add((name, n))
        return path

    def make_empty(self) -> tuple[str, ...]:
        name = "empty_table"
        table = self._table(name)
        cur = self._conn.cursor()
        cur.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (id integer PRIMARY KEY, label text)").format(
                table
            ),
            (),
        )
        return (DATABASE, SCHEMA, name)

    def record_ids(self, page: Page) -> list[str]:
        index = [c.name for c in page.columns].index("id")
        return [str(row[index]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        name = path[-1]
        cur = self._conn.cursor()
        cur.execute(sql.SQL("SELECT id FROM {}").format(self._table(name)), ())
        return {str(row[0]) for row in cur.fetchall()}

    def missing_path(self) -> tuple[str, ...]:
        return (DATABASE, SCHEMA, "no_such_table")

    def url_for_port(self, port: int) -> str:
        return f"postgresql://{sandbox.PG_USER}:{sandbox.PG_PASSWORD}@127.0.0.1:{port}/postgres"

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """A table whose ``body`` of row 1 is 200,000 characters (over the 4,096
        a preview keeps), beside a short row."""
        value = BIG_VALUE
        name = "big_value"
        cur = self._conn.cursor()
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)), ())
        cur.execute(
            sql.SQL("CREATE TABLE {} (id integer PRIMARY KEY, body text)").format(
                self._table(name)
            ),
            (),
        )
        cur.execute(
            sql.SQL("INSERT INTO {} VALUES (1, %s), (2, 'short')").format(self._table(name)),
            (value,),
        )
        return (DATABASE, SCHEMA, name), "body", value

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # Opening a database that is not there fails inside libpq's connect
        # (OperationalError); the backend reports it as NotFound from it.
        return lambda: backend.browse(("no_such_database", SCHEMA, "t"), limit=5)

    # -- capability contracts (see test_conformance.py) -----------------------

    def _quoted(self, path: tuple[str, ...]) -> str:
        return '"' + path[-2].replace('"', '""') + '"."' + path[-1].replace('"', '""') + '"'

    def query_all(self, path: tuple[str, ...]) -> str:
        return f"SELECT * FROM {self._quoted(path)} ORDER BY id"

    def slow_statement(self) -> str:
        return "SELECT pg_sleep(30)"

    def write_statement(self, path: tuple[str, ...]) -> str:
        return f"UPDATE {self._quoted(path)} SET label = 'written' WHERE id = 1"

    def start_victim(self) -> PostgresVictim:
        return PostgresVictim(self.contract_url)


class PostgresVictim:
    """A ``pg_sleep`` running on a second connection, for monitor actions."""

    def __init__(self, url: str) -> None:
        self._conn = psycopg2.connect(url, application_name="conformance-victim")
        self._conn.autocommit = True
        self.key = self._conn.get_backend_pid()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._wait_until_active(url)

    def _run(self) -> None:
        try:
            self._conn.cursor().execute("SELECT pg_sleep(30)")
        except (pg_errors.QueryCanceled, psycopg2.OperationalError) as e:
            self.error = e

    def _wait_until_active(self, url: str) -> None:
        watcher = psycopg2.connect(url)
        watcher.autocommit = True
        try:
            cur = watcher.cursor()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                cur.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (self.key,))
                row = cur.fetchone()
                if row and row[0] == "active":
                    return
                time.sleep(0.02)
        finally:
            watcher.close()
        raise AssertionError("the victim's pg_sleep never became active")

    def stopped(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        if self._thread.is_alive():
            self._conn.cancel()
            self._thread.join(5)
        self._conn.close()
