"""PostgreSQL-specific behaviour, against the real sandbox server: paging over
every kind of relation and key, values as plain Python, catalog listing, and
what a user sees when a connection, a password or a table goes wrong."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg2
import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import (
    ConnectionFailed,
    ConnectionLost,
    InvalidURL,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
    ReadOnly,
)
from storescope.backends.postgres import PostgresBackend
from storescope.backends.postgres.core import PREVIEW_BYTES, PREVIEW_CHARS
from storescope.backends.types import NodeKind, Truncated
from tests.pg_helpers import admin_connection, database_url

DB = "pgtests"
_names = itertools.count()


def _url(server: sandbox.Server, db: str = DB, **query: str) -> str:
    return database_url(server, db, **query)


@pytest.fixture(scope="module")
def admin(pg_server: sandbox.Server) -> Iterator[Any]:
    """A raw autocommit psycopg2 connection to the test database (setup only)."""
    with admin_connection(pg_server, DB) as conn:
        yield conn


@pytest.fixture
def backend(pg_server: sandbox.Server, admin: Any) -> Iterator[PostgresBackend]:
    b = open_backend(_url(pg_server))
    assert isinstance(b, PostgresBackend)
    b.connect()
    yield b
    b.close()


def run(admin: Any, statement: str, params: tuple[Any, ...] | None = None) -> None:
    admin.cursor().execute(statement, params)


def fresh(prefix: str) -> str:
    return f"{prefix}_{next(_names)}"


def walk(b: PostgresBackend, path: tuple[str, ...], limit: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    cursor: str | None = None
    for _ in range(100_000):
        page = b.browse(path, cursor=cursor, limit=limit)
        assert len(page.rows) <= limit
        if page.next_cursor is not None:
            assert len(page.rows) == limit
        rows.extend(page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return rows
    raise AssertionError("paging never ended")


# -- paging -------------------------------------------------------------------------


def test_composite_key_pages_join_with_ties_in_the_first_column(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("composite")
    run(admin, f"CREATE TABLE {t} (a int, b text, v int, PRIMARY KEY (a, b))")
    # 7 rows share each value of a, so pages often cut inside a run of ties.
    run(admin, f"INSERT INTO {t} SELECT g / 7, 'k' || (g % 7), g FROM generate_series(0, 299) g")
    for limit in (1, 5, 13):
        rows = walk(backend, (DB, "public", t), limit)
        assert sorted(r[2] for r in rows) == list(range(300))
        assert [(r[0], r[1]) for r in rows] == sorted((r[0], r[1]) for r in rows)
    page = backend.browse((DB, "public", t), limit=1)
    assert [(c.name, c.primary_key) for c in page.columns] == [
        ("a", True),
        ("b", True),
        ("v", False),
    ]


ODD_TEXT_KEYS = [
    "O'Brien", 'say "hi"', "ünïcödé", "emoji 🎉", "", " leading", "trailing ", "back\\slash",
    "50%", "%s", "a/b", "tab\tin", "new\nline", "ÄÖÜ", "zz", "Z", "'; DROP TABLE x; --",
]  # fmt: skip


def test_text_primary_key_with_quotes_and_unicode_pages_exactly(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("textkey")
    # The key column's own name is odd too: quotes, '%s' and non-ASCII.
    run(admin, f'CREATE TABLE {t} ("Key ""%%s"" ü" text PRIMARY KEY, n int)', ())
    for i, k in enumerate(ODD_TEXT_KEYS):
        run(admin, f"INSERT INTO {t} VALUES (%s, %s)", (k, i))
    for limit in (1, 2, 5):
        rows = walk(backend, (DB, "public", t), limit)
        assert sorted(r[0] for r in rows) == sorted(ODD_TEXT_KEYS)
        assert len(rows) == len(ODD_TEXT_KEYS)
    columns = backend.browse((DB, "public", t), limit=1).columns
    assert columns[0].name == 'Key "%s" ü' and columns[0].primary_key


@pytest.mark.parametrize(
    ("pk_type", "values_sql"),
    [
        ("numeric", "(g * 1.000000000000000000001)::numeric"),
        ("numeric", "(g - 30) * 0.00000001"),  # Decimal prints some as 1E-7
        ("character(6)", "lpad(g::text, 3, 'x')"),
        ("bigint", "g * 100000000000 - 3000000000000"),
        ("timestamptz", "timestamptz '2024-01-01 00:00:00.000001+00' + g * interval '1.000001 s'"),
        ("uuid", "md5(g::text)::uuid"),
        ("float8", "g / 3.0::float8"),
        ("date", "date '2000-01-01' + g"),
        ("bytea", "decode(md5(g::text), 'hex')"),
        ("varchar(40)", "repeat('é', g % 5) || g"),
    ],
)
def test_keys_of_every_common_type_round_trip_through_the_cursor(
    backend: PostgresBackend, admin: Any, pk_type: str, values_sql: str
) -> None:
    t = fresh("typed_key")
    run(admin, f"CREATE TABLE {t} (k {pk_type} PRIMARY KEY, n int)")
    run(admin, f"INSERT INTO {t} SELECT {values_sql}, g FROM generate_series(1, 60) g")
    rows = walk(backend, (DB, "public", t), 7)
    assert sorted(r[1] for r in rows) == list(range(1, 61))


def test_table_without_key_pages_by_position_across_holes(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("heap")
    run(admin, f"CREATE TABLE {t} (n int, pad text)")
    run(admin, f"INSERT INTO {t} SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g")
    run(admin, f"ANALYZE {t}")
    # Every third row, and then a long run of whole blocks, become holes.
    run(admin, f"DELETE FROM {t} WHERE n % 3 = 0 OR n BETWEEN 700 AND 2400")
    expected = sorted(n for n in range(1, 3001) if n % 3 and not 700 <= n <= 2400)
    for limit in (1, 9, 100):
        rows = walk(backend, (DB, "public", t), limit)
        assert [r[0] for r in rows] == expected


def test_table_without_key_that_was_never_analyzed_pages(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("heap_fresh")
    run(admin, f"CREATE TABLE {t} (n int)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 2500)")
    rows = walk(backend, (DB, "public", t), 333)
    assert [r[0] for r in rows] == list(range(1, 2501))


def test_view_pages_join_without_gaps(backend: PostgresBackend, admin: Any) -> None:
    t, v = fresh("base"), fresh("view")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, label text)")
    run(admin, f"INSERT INTO {t} SELECT g, 'r' || g FROM generate_series(1, 500) g")
    run(admin, f"CREATE VIEW {v} AS SELECT id, upper(label) AS label FROM {t} WHERE id % 2 = 0")
    for limit in (1, 7, 250, 1000):
        rows = walk(backend, (DB, "public", v), limit)
        assert sorted(r[0] for r in rows) == list(range(2, 501, 2))
    node = [n for n in backend.list_children((DB, "public")) if n.name == v][0]
    assert node.kind is NodeKind.VIEW and node.browsable and node.estimate is None


def test_view_page_asked_again_or_after_its_session_died_gives_the_same_rows(
    backend: PostgresBackend, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PostgresBackend, "held_idle_timeout_ms", 300)
    t, v = fresh("base"), fresh("view")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS n FROM generate_series(1, 100) g")
    run(admin, f"CREATE VIEW {v} AS SELECT n FROM {t}")
    path = (DB, "public", v)
    first = backend.browse(path, limit=10)
    second = backend.browse(path, cursor=first.next_cursor, limit=10)
    third = backend.browse(path, cursor=second.next_cursor, limit=10)
    again = backend.browse(path, cursor=first.next_cursor, limit=10)
    assert again.rows == second.rows
    time.sleep(0.8)  # the server ends the idle transaction holding the cursor
    fourth = backend.browse(path, cursor=third.next_cursor, limit=10)
    assert [r[0] for r in first.rows + second.rows + third.rows + fourth.rows] == list(range(1, 41))


def _view_over_new_table(admin: Any, rows: int = 100) -> tuple[str, str]:
    t, v = fresh("base"), fresh("view")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS n FROM generate_series(1, {rows}) g")
    run(admin, f"CREATE VIEW {v} AS SELECT n FROM {t}")
    return t, v


def _timed_ddl(admin: Any, statement: str, lock_timeout: str) -> float:
    """Seconds another session's DDL waits for its AccessExclusiveLock; fails
    (LockNotAvailable) if it waits longer than ``lock_timeout``."""
    cur = admin.cursor()
    cur.execute(f"SET lock_timeout = '{lock_timeout}'")
    start = time.monotonic()
    try:
        cur.execute(statement)
    finally:
        cur.execute("RESET lock_timeout")
    return time.monotonic() - start


def test_idle_view_reader_blocks_a_migration_for_at_most_the_idle_bound(
    backend: PostgresBackend, admin: Any
) -> None:
    assert PostgresBackend.held_idle_timeout_ms == 5_000
    t, v = _view_over_new_table(admin)
    path = (DB, "public", v)
    first = backend.browse(path, limit=10)
    waited = _timed_ddl(admin, f"ALTER TABLE {t} ADD COLUMN extra int", "8s")
    # It did wait on the open page (the bound is what released it), but not
    # for the old minute.
    assert 3.0 <= waited < 7.0
    second = backend.browse(path, cursor=first.next_cursor, limit=10)
    assert [r[0] for r in first.rows + second.rows] == list(range(1, 21))


def test_view_dropped_after_the_idle_bound_is_not_found_on_the_next_page(
    backend: PostgresBackend, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PostgresBackend, "held_idle_timeout_ms", 300)
    _, v = _view_over_new_table(admin)
    path = (DB, "public", v)
    first = backend.browse(path, limit=10)
    assert _timed_ddl(admin, f"DROP VIEW {v}", "8s") < 2.0
    with pytest.raises(NotFound, match=f"public.{v} does not exist"):
        backend.browse(path, cursor=first.next_cursor, limit=10)


def test_view_read_to_its_end_releases_its_locks_at_once(
    backend: PostgresBackend, admin: Any
) -> None:
    t, v = _view_over_new_table(admin, rows=25)
    path = (DB, "public", v)
    assert len(walk(backend, path, 10)) == 25
    assert _timed_ddl(admin, f"ALTER TABLE {t} ADD COLUMN extra int", "200ms") < 1.0
    # The same when the last page is the first one.
    t2, v2 = _view_over_new_table(admin, rows=5)
    assert backend.browse((DB, "public", v2), limit=10).next_cursor is None
    assert _timed_ddl(admin, f"DROP TABLE {t2} CASCADE", "200ms") < 1.0


def test_browsing_another_relation_releases_the_view_left_mid_way(
    backend: PostgresBackend, admin: Any
) -> None:
    t, v = _view_over_new_table(admin)
    _, other = _view_over_new_table(admin)
    path = (DB, "public", v)
    first = backend.browse(path, limit=10)
    backend.browse((DB, "public", other), limit=10)  # left mid-way in turn
    assert _timed_ddl(admin, f"ALTER TABLE {t} ADD COLUMN extra int", "200ms") < 1.0
    backend.browse((DB, "pg_catalog", "pg_class"), limit=1)
    second = backend.browse(path, cursor=first.next_cursor, limit=10)
    assert [r[0] for r in first.rows + second.rows] == list(range(1, 21))


def test_matview_pages(backend: PostgresBackend, admin: Any) -> None:
    m = fresh("matview")
    run(
        admin,
        f"CREATE MATERIALIZED VIEW {m} AS SELECT g AS n, g * 2 AS twice FROM generate_series(1, 777) g",
    )
    rows = walk(backend, (DB, "public", m), 50)
    assert sorted(r[0] for r in rows) == list(range(1, 778))
    node = [n for n in backend.list_children((DB, "public")) if n.name == m][0]
    assert node.kind is NodeKind.MATVIEW


def test_foreign_table_pages(backend: PostgresBackend, admin: Any) -> None:
    cur = admin.cursor()
    cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'file_fdw'")
    if cur.fetchone() is None:
        pytest.skip("file_fdw is not installed with this PostgreSQL")
    f = fresh("foreign")
    run(admin, "CREATE EXTENSION IF NOT EXISTS file_fdw")
    run(admin, "CREATE SERVER IF NOT EXISTS files FOREIGN DATA WRAPPER file_fdw")
    run(admin, f"CREATE FOREIGN TABLE {f} (n int) SERVER files OPTIONS (program 'seq 1 250')")
    node = [n for n in backend.list_children((DB, "public")) if n.name == f][0]
    assert node.kind is NodeKind.FOREIGN_TABLE and node.browsable
    assert [r[0] for r in walk(backend, (DB, "public", f), 60)] == list(range(1, 251))


def test_partitioned_table_lists_its_parent_only_and_pages_all_partitions(
    backend: PostgresBackend, admin: Any
) -> None:
    p = fresh("parted")
    run(admin, f"CREATE TABLE {p} (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)")
    run(admin, f"CREATE TABLE {p}_low PARTITION OF {p} FOR VALUES FROM (0) TO (100)")
    run(admin, f"CREATE TABLE {p}_high PARTITION OF {p} FOR VALUES FROM (100) TO (1000)")
    run(admin, f"INSERT INTO {p} SELECT g, 'v' FROM generate_series(0, 299) g")
    names = {n.name: n for n in backend.list_children((DB, "public"))}
    assert p in names and f"{p}_low" not in names and f"{p}_high" not in names
    assert names[p].kind is NodeKind.TABLE
    assert [r[0] for r in walk(backend, (DB, "public", p), 40)] == list(range(300))


def test_table_dropped_between_pages_is_not_found(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("doomed")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 20)")
    page = backend.browse((DB, "public", t), limit=5)
    run(admin, f"DROP TABLE {t}")
    with pytest.raises(NotFound, match=f"table public.{t} does not exist"):
        backend.browse((DB, "public", t), cursor=page.next_cursor, limit=5)
    with pytest.raises(NotFound, match=f"table public.{t} does not exist"):
        backend.browse((DB, "public", t), limit=5)


def test_unknown_database_schema_and_table_are_not_found(backend: PostgresBackend) -> None:
    with pytest.raises(NotFound, match="database nodb does not exist"):
        backend.list_children(("nodb",))
    with pytest.raises(NotFound, match="schema nosuch does not exist"):
        backend.list_children((DB, "nosuch"))
    with pytest.raises(NotFound, match="table public.nosuch does not exist"):
        backend.browse((DB, "public", "nosuch"), limit=5)
    with pytest.raises(NotSupported):
        backend.browse((DB, "public"), limit=5)


def test_untyped_filter_and_sort_are_refused(backend: PostgresBackend, admin: Any) -> None:
    # browse takes a Filter (text in the store's syntax) and a Sort, never a
    # bare string that could be pasted into SQL (typed ones: test_pg_records).
    with pytest.raises(NotSupported):
        backend.browse((DB, "public", "x"), limit=5, filter="id > 1")
    with pytest.raises(NotSupported):
        backend.browse((DB, "public", "x"), limit=5, sort="id")


# -- values ---------------------------------------------------------------------------


def test_values_come_out_as_plain_python(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("types")
    run(
        admin,
        f"""CREATE TABLE {t} AS SELECT
          123456789012345678901234.567890::numeric(30, 6) AS big,
          '{{"a": [1, 2], "b": {{"c": null}}}}'::jsonb AS doc,
          '\\x00ff10'::bytea AS raw,
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id,
          ARRAY[1, 2, NULL]::int[] AS ints,
          ARRAY['x', NULL]::text[] AS texts,
          ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid] AS uuids,
          '2024-03-01 12:30:00.5+02'::timestamptz AS at,
          '[1,5)'::int4range AS range,
          '10.0.0.1/8'::inet AS addr,
          'infinity'::timestamp AS forever,
          '0044-03-15 BC'::date AS ides,
          '1 mon 2 days'::interval AS month,
          '02:00:03'::interval AS span,
          'NaN'::float8 AS nan,
          ARRAY['\\x01'::bytea, NULL] AS raws,
          ARRAY['infinity'::date, '2020-01-02'] AS dates,
          ARRAY[1.5, 2]::numeric[] AS decimals""",
    )
    page = backend.browse((DB, "public", t), limit=5)
    row = dict(zip([c.name for c in page.columns], page.rows[0], strict=True))
    assert row["big"] == Decimal("123456789012345678901234.567890")
    assert isinstance(row["big"], Decimal)
    assert row["doc"] == {"a": [1, 2], "b": {"c": None}}
    assert row["raw"] == b"\x00\xff\x10" and type(row["raw"]) is bytes
    assert row["id"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert row["ints"] == [1, 2, None]
    assert row["texts"] == ["x", None]
    assert row["uuids"] == ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]
    at = row["at"]
    assert isinstance(at, dt.datetime) and at.tzinfo is not None
    assert at == dt.datetime(2024, 3, 1, 10, 30, 0, 500000, tzinfo=dt.UTC)
    assert row["range"] == "[1,5)"
    assert row["addr"] == "10.0.0.1/8"
    assert row["forever"] == "infinity"
    assert row["ides"] == "0044-03-15 BC"
    assert row["month"] == "1 mon 2 days"
    assert row["span"] == dt.timedelta(hours=2, seconds=3)
    assert row["nan"] != row["nan"]
    assert row["raws"] == [b"\x01", None] and type(row["raws"][0]) is bytes
    assert row["dates"] == ["infinity", dt.date(2020, 1, 2)]
    assert row["decimals"] == [Decimal("1.5"), Decimal("2")]
    types = {c.name: c.type_name for c in page.columns}
    assert types["big"] == "numeric(30,6)" and types["range"] == "int4range"


def test_numbers_times_and_server_text_types_show_faithfully(
    pg_server: sandbox.Server, admin: Any
) -> None:
    t, mood, code, amount = fresh("faithful"), fresh("mood"), fresh("code"), fresh("amount")
    run(admin, f"CREATE TYPE {mood} AS ENUM ('sad', 'happy')")
    run(admin, f"CREATE DOMAIN {code} AS text CHECK (VALUE ~ '^[A-Z]+$')")
    run(admin, f"CREATE DOMAIN {amount} AS numeric(20, 10)")
    run(
        admin,
        f"""CREATE TABLE {t} AS SELECT
          'NaN'::numeric AS nan, 'Infinity'::numeric AS inf, '-Infinity'::numeric AS ninf,
          0.0000001::numeric AS tiny, 12345678901234567890.123456789::numeric AS wide,
          '2024-03-01 12:30:00+00'::timestamptz AS at,
          '08:00:2b:01:02:03'::macaddr AS mac, '10.1.0.0/16'::cidr AS net,
          '1 year 2 mons 3 days'::interval AS span, 12.5::money AS cash,
          'happy'::{mood} AS feeling, 'ABC'::{code} AS code, 1.5::{amount} AS amount,
          '[2024-01-01,2024-02-01)'::daterange AS period""",
    )
    # The session's time zone, as a user's PGTZ or options would set it.
    b = open_backend(_url(pg_server, options="-c%20TimeZone%3DAsia/Kolkata"))
    b.connect()
    try:
        page = b.browse((DB, "public", t), limit=1)
    finally:
        b.close()
    row = dict(zip([c.name for c in page.columns], page.rows[0], strict=True))
    for name, text in [("nan", "NaN"), ("inf", "Infinity"), ("ninf", "-Infinity")]:
        assert isinstance(row[name], Decimal) and str(row[name]) == text
    assert row["tiny"] == Decimal("1E-7") and row["wide"] == Decimal(
        "12345678901234567890.123456789"
    )
    at = row["at"]
    assert at == dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)
    assert at.utcoffset() == dt.timedelta(hours=5, minutes=30)  # shown in the session's zone
    assert row["mac"] == "08:00:2b:01:02:03" and row["net"] == "10.1.0.0/16"
    assert row["span"] == "1 year 2 mons 3 days" and row["cash"] == "$12.50"
    assert row["feeling"] == "happy" and row["period"] == "[2024-01-01,2024-02-01)"
    # A domain is shown as its base type is.
    assert row["code"] == "ABC" and row["amount"] == Decimal("1.5000000000")


def test_long_values_browse_as_previews_with_their_true_size(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("long")
    run(
        admin,
        f"""CREATE TABLE {t} (id int PRIMARY KEY, body text, raw bytea, doc jsonb, ints int[],
                              pad char(5), accents text, shape polygon)""",
    )
    five_mb = "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 156250) g)"
    run(
        admin,
        f"""INSERT INTO {t} VALUES (1, {five_mb}, decode({five_mb}, 'hex'),
              (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 2000) g),
              (SELECT array_agg(g) FROM generate_series(1, 2000) g), 'ab',
              repeat('é', 4000),
              (SELECT ('(' || string_agg(format('(%s,%s)', g, g), ',') || ')')::polygon
                 FROM generate_series(1, 500) g))""",
    )
    run(
        admin,
        f"""INSERT INTO {t} VALUES (2, 'short', '\\x00ff', '{{"a": 1}}', '{{1,2}}', 'x', 'é', NULL)""",
    )
    start = time.perf_counter()
    page = backend.browse((DB, "public", t), limit=10)
    elapsed = time.perf_counter() - start
    big, small = (dict(zip([c.name for c in page.columns], r, strict=True)) for r in page.rows)
    body = big["body"]
    assert isinstance(body, Truncated) and body.unit == "chars"
    assert body.total_size == 5_000_000 and len(body.preview) == PREVIEW_CHARS
    raw = big["raw"]
    assert isinstance(raw, Truncated) and raw.unit == "bytes" and type(raw.preview) is bytes
    assert raw.total_size == 2_500_000 and len(raw.preview) == PREVIEW_BYTES
    for name in ("doc", "ints", "shape"):
        value = big[name]
        assert isinstance(value, Truncated) and value.unit == "chars", name
        assert value.total_size > PREVIEW_CHARS and len(value.preview) == PREVIEW_CHARS
    assert big["doc"].preview.startswith('{"k1": 1, ')
    assert big["pad"] == "ab   "  # char(n) keeps its padding
    assert big["accents"] == "é" * 4000  # 8000 bytes but 4000 characters: not cut
    assert small == {
        "id": 2, "body": "short", "raw": b"\x00\xff", "doc": {"a": 1}, "ints": [1, 2],
        "pad": "x    ", "accents": "é", "shape": None,
    }  # fmt: skip
    # Only the previews crossed the wire: 7.5 MB of values would take longer.
    assert elapsed < 0.5, elapsed
    # The same through a view (a held cursor) and a table without key (ctid).
    v, heap = fresh("long_view"), fresh("long_heap")
    run(admin, f"CREATE VIEW {v} AS SELECT id, body FROM {t}")
    run(admin, f"CREATE TABLE {heap} AS SELECT id, body FROM {t}")
    for other in (v, heap):
        rows = sorted(walk(backend, (DB, "public", other), 1), key=lambda r: r[0])
        assert rows[0][1] == body and rows[1][1] == "short"


def test_long_key_values_are_never_cut_and_pages_still_join(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("long_key")
    # Compressible: a btree entry holds up to ~2.7 kB after compression.
    run(admin, f"CREATE TABLE {t} (k text PRIMARY KEY, body text)")
    run(
        admin,
        f"INSERT INTO {t} SELECT repeat('k', 9000) || lpad(g::text, 4, '0'), repeat('b', 9000) "
        "FROM generate_series(1, 50) g",
    )
    rows = walk(backend, (DB, "public", t), 7)
    assert [r[0] for r in rows] == [f"{'k' * 9000}{g:04d}" for g in range(1, 51)]
    assert all(isinstance(r[1], Truncated) and r[1].total_size == 9000 for r in rows)


# -- catalog --------------------------------------------------------------------------


def test_estimate_follows_analyze_and_is_unknown_before(
    backend: PostgresBackend, admin: Any
) -> None:
    t, empty = fresh("counted"), fresh("never_analyzed")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 4321)")
    run(admin, f"ANALYZE {t}")
    run(admin, f"CREATE TABLE {empty} (id int)")
    nodes = {n.name: n for n in backend.list_children((DB, "public"))}
    estimate = nodes[t].estimate
    assert estimate is not None and abs(estimate - 4321) <= 50
    assert nodes[empty].estimate is None
    assert backend.browse((DB, "public", t), limit=1).total_estimate == nodes[t].estimate


def test_databases_listed_include_the_url_one_and_ones_created_later(
    backend: PostgresBackend, admin: Any
) -> None:
    names = {n.name for n in backend.list_children(())}
    assert {DB, "postgres"} <= names
    assert "template0" not in names and "template1" not in names
    late = fresh("late_db")
    run(admin, f"CREATE DATABASE {late}")
    top = backend.list_children(())
    assert any(n.path == (late,) and n.kind is NodeKind.DATABASE and n.expandable for n in top)
    schemas = backend.list_children((late,))
    assert [n.name for n in schemas][0] == "public"


def test_schemas_hide_toast_and_temp_and_list_system_schemas_last(
    backend: PostgresBackend, admin: Any
) -> None:
    run(admin, "CREATE SCHEMA IF NOT EXISTS zeta")
    run(admin, "CREATE SCHEMA IF NOT EXISTS alpha")
    names = [n.name for n in backend.list_children((DB,))]
    assert not [n for n in names if n.startswith(("pg_toast", "pg_temp"))]
    assert names[-2:] == ["information_schema", "pg_catalog"]
    assert names.index("alpha") < names.index("public") < names.index("zeta")


def test_system_catalogs_can_be_browsed(backend: PostgresBackend) -> None:
    page = backend.browse((DB, "pg_catalog", "pg_index"), limit=3)
    assert len(page.rows) == 3
    page = backend.browse((DB, "information_schema", "tables"), limit=3)
    assert len(page.rows) == 3


# -- connections and safety -------------------------------------------------------------


def test_wrong_password_fails_without_showing_it(pg_server: sandbox.Server) -> None:
    secret = "Wrong-Secret-4711"
    url = _url(pg_server, "postgres").replace(sandbox.PG_PASSWORD, secret)
    b = open_backend(url)
    with pytest.raises(ConnectionFailed) as info:
        b.connect()
    assert "password authentication failed for user" in str(info.value)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in b.display_url


@pytest.mark.parametrize(
    "credentials",
    ["bob:s3cr%zzet@", "bob@"],
    ids=["in-userinfo", "in-query"],
)
def test_malformed_password_in_the_url_fails_without_showing_it(
    pg_server: sandbox.Server, credentials: str
) -> None:
    query = "" if ":" in credentials else "?password=s3cr%zzet"
    b = PostgresBackend(f"postgresql://{credentials}127.0.0.1:{pg_server.port}/db{query}")
    with pytest.raises(InvalidURL, match="invalid PostgreSQL URL") as info:
        b.connect()
    assert "s3cr" not in str(info.value) and "s3cr" not in repr(info.value)
    assert "\n" not in str(info.value)


def test_no_message_shows_the_password_even_one_the_backend_builds(
    backend: PostgresBackend,
) -> None:
    with pytest.raises(NotFound) as info:
        backend.list_children((sandbox.PG_PASSWORD,))
    assert sandbox.PG_PASSWORD not in str(info.value)
    assert sandbox.PG_PASSWORD not in repr(info.value)
    with pytest.raises(NotFound) as info:
        backend.browse((DB, "public", f"t_{sandbox.PG_PASSWORD}"), limit=1)
    assert str(info.value) == "table public.t_*** does not exist"


def test_password_can_come_from_a_pgpass_file(
    pg_server: sandbox.Server, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq's own lookup: a URL without a password finds it in ~/.pgpass."""
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:*:{sandbox.PG_USER}:{sandbox.PG_PASSWORD}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    url = f"postgresql://{sandbox.PG_USER}@127.0.0.1:{pg_server.port}/postgres"
    b = open_backend(url)
    b.connect()
    try:
        assert b.ping() >= 0
    finally:
        b.close()


def test_terminated_session_is_lost_then_connect_brings_it_back(
    pg_server: sandbox.Server, admin: Any
) -> None:
    t = fresh("survivor")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 10)")
    name = fresh("victim")
    b = open_backend(_url(pg_server, application_name=name))
    b.connect()
    try:
        assert len(b.browse((DB, "public", t), limit=3).rows) == 3
        run(
            admin,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        )
        with pytest.raises(ConnectionLost):
            b.browse((DB, "public", t), limit=3)
        b.connect()
        assert len(b.browse((DB, "public", t), limit=3).rows) == 3
        assert b.ping() >= 0
    finally:
        b.close()


def test_read_only_sessions_refuse_writes(pg_server: sandbox.Server, admin: Any) -> None:
    t, f, v = fresh("guarded"), fresh("sneaky"), fresh("sneaky_view")
    run(admin, f"CREATE TABLE {t} (id serial PRIMARY KEY)")
    run(
        admin,
        f"CREATE FUNCTION {f}() RETURNS int LANGUAGE sql AS 'INSERT INTO {t} DEFAULT VALUES RETURNING id'",
    )
    run(admin, f"CREATE VIEW {v} AS SELECT {f}() AS id")
    b = open_backend(_url(pg_server), read_only=True)
    b.connect()
    try:
        assert isinstance(b, PostgresBackend)
        assert b._session_setting(DB, "transaction_read_only") == "on"
        with pytest.raises(ReadOnly):
            b.browse((DB, "public", v), limit=5)
        assert b.browse((DB, "public", t), limit=5).rows == ()
        assert ("read-only", "yes") in b.server_info().details
    finally:
        b.close()


def test_table_without_select_privilege_is_permission_denied(
    pg_server: sandbox.Server, admin: Any
) -> None:
    t, role = fresh("private"), fresh("reader")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    run(admin, f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'")
    url = f"postgresql://{role}:reader-pw@127.0.0.1:{pg_server.port}/{DB}"
    b = open_backend(url)
    b.connect()
    try:
        assert any(n.name == t for n in b.list_children((DB, "public")))
        with pytest.raises(PermissionDenied, match=f"permission denied for table {t}"):
            b.browse((DB, "public", t), limit=5)
        assert b.ping() >= 0
    finally:
        b.close()


def test_a_failing_view_reports_the_server_message_and_the_backend_stays_usable(
    backend: PostgresBackend, admin: Any
) -> None:
    v = fresh("broken_view")
    run(admin, f"CREATE VIEW {v} AS SELECT g / (g - 3) AS x FROM generate_series(1, 5) g")
    with pytest.raises(QueryFailed, match="division by zero") as info:
        backend.browse((DB, "public", v), limit=10)
    assert isinstance(info.value.__cause__, psycopg2.Error)
    assert backend.ping() >= 0
    assert len(backend.browse((DB, "pg_catalog", "pg_class"), limit=2).rows) == 2


def test_server_info_names_database_user_and_server(backend: PostgresBackend) -> None:
    info = backend.server_info()
    details = dict(info.details)
    assert info.product == "PostgreSQL" and info.version[0].isdigit()
    assert details["database"] == DB and details["user"] == sandbox.PG_USER
    assert details["server"].startswith("127.0.0.1:")
    assert sandbox.PG_PASSWORD not in repr(info)
