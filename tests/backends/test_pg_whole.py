"""PostgreSQL ``browse(whole=True)`` and ``execute(whole=True)`` (what csv, json
and jsonl exports ask for), against the real sandbox server: values come whole
on all three paging paths (keyset, ctid, a held cursor), a page of big values
ends early by their size, and cursors work across the two modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.postgres import PostgresBackend
from storescope.backends.postgres.core import PREVIEW_CHARS, WHOLE_PAGE_BYTES
from storescope.backends.types import Truncated
from tests.pg_helpers import admin_connection, database_url

DB = "pgwhole"
#: Each row's body: two fit in a whole page's budget, three do not.
BIG = WHOLE_PAGE_BYTES // 3 + 1
ROWS = 5
TABLES = {"keyed": "keyset", "unkeyed": "ctid", "viewed": "held cursor"}


def _body(i: int) -> str:
    return (f"{i:03d}," * (BIG // 4 + 1))[:BIG]


@pytest.fixture(scope="module")
def url(pg_server: sandbox.Server) -> Iterator[str]:
    with admin_connection(pg_server, DB) as conn:
        conn.cursor().execute(
            """
            DROP VIEW IF EXISTS viewed; DROP TABLE IF EXISTS keyed, unkeyed;
            CREATE TABLE keyed (id int PRIMARY KEY, body text, tags text[]);
            INSERT INTO keyed SELECT g, rpad(lpad(g::text, 3, '0') || ',', %s, lpad(g::text, 3, '0') || ','),
                                     ARRAY['a', 'b'] FROM generate_series(1, %s) g;
            CREATE TABLE unkeyed AS SELECT * FROM keyed;
            CREATE VIEW viewed AS SELECT * FROM keyed;
            """,
            (BIG, ROWS),
        )
    yield database_url(pg_server, DB)


@pytest.fixture
def backend(url: str) -> Iterator[PostgresBackend]:
    b = open_backend(url)
    assert isinstance(b, PostgresBackend)
    b.connect()
    try:
        yield b
    finally:
        b.close()


def _check_body(value: Any, i: int) -> None:
    # Not `assert value == _body(i)`: pytest would diff two 8 MB strings.
    assert isinstance(value, str) and len(value) == BIG and value == _body(i), f"row {i}"


@pytest.mark.parametrize("table", list(TABLES), ids=list(TABLES.values()))
def test_whole_pages_end_early_by_size_and_hold_every_value_whole(
    backend: PostgresBackend, table: str
) -> None:
    pages = list(backend.iter_pages((DB, "public", table), limit=100, whole=True))
    sizes = [len(p.rows) for p in pages]
    assert sizes == [2, 2, 1], sizes  # the budget, not the limit, ends a page
    rows = sorted((r for p in pages for r in p.rows), key=lambda r: r[0])
    for i, row in enumerate(rows, 1):
        assert row[0] == i and row[2] == ["a", "b"]
        _check_body(row[1], i)


@pytest.mark.parametrize("table", list(TABLES), ids=list(TABLES.values()))
def test_cursors_carry_over_between_whole_and_preview_pages(
    backend: PostgresBackend, table: str
) -> None:
    path = (DB, "public", table)
    first = backend.browse(path, limit=1, whole=True)
    _check_body(first.rows[0][1], 1)
    assert first.next_cursor is not None
    second = backend.browse(path, cursor=first.next_cursor, limit=1)  # a preview page
    cut = second.rows[0][1]
    assert isinstance(cut, Truncated) and cut.total_size == BIG
    assert cut.preview == _body(2)[:PREVIEW_CHARS]
    assert second.next_cursor is not None
    third = backend.browse(path, cursor=second.next_cursor, limit=1, whole=True)
    assert third.rows[0][0] == 3
    _check_body(third.rows[0][1], 3)


def test_small_values_keep_full_pages_when_whole(backend: PostgresBackend, url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn:
        conn.cursor().execute(
            "DROP TABLE IF EXISTS smalls; CREATE TABLE smalls AS"
            " SELECT g AS id, 'v' || g AS v FROM generate_series(1, 50) g;"
            " ALTER TABLE smalls ADD PRIMARY KEY (id)"
        )
    conn.close()
    pages = list(backend.iter_pages((DB, "public", "smalls"), limit=20, whole=True))
    assert [len(p.rows) for p in pages] == [20, 20, 10]


def test_execute_whole_keeps_every_page_of_the_result_whole(backend: PostgresBackend) -> None:
    result = backend.execute("SELECT id, body FROM keyed ORDER BY id", limit=1, whole=True)
    _check_body(result.rows[0][1], 1)
    assert result.next_cursor is not None
    page = backend.fetch(result.next_cursor, limit=2)
    for row in page.rows:
        _check_body(row[1], row[0])
    if page.next_cursor is not None and result.handle is not None:
        backend.release(result.handle)
    cut = backend.execute("SELECT body FROM keyed WHERE id = 4").rows[0][0]
    assert isinstance(cut, Truncated) and cut.total_size == BIG
