"""PostgreSQL's SQL editor capabilities against the real sandbox server:
splitting scripts, streaming results page by page, cancelling, transactions,
read-only sessions and what a user sees when a statement or the connection
fails."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import Cancelled, ConnectionLost, QueryFailed, ReadOnly
from storescope.backends.postgres import PostgresBackend
from storescope.backends.types import StatementKind, TransactionState
from tests.pg_helpers import admin_connection, database_url

DB = "pgquerytests"
_names = itertools.count()


def _url(server: sandbox.Server) -> str:
    return database_url(server, DB)


@pytest.fixture(scope="module")
def admin(pg_server: sandbox.Server) -> Iterator[Any]:
    """A raw autocommit psycopg2 connection to the test database (setup and
    watching the backend's session from outside)."""
    with admin_connection(pg_server, DB) as conn:
        yield conn


def _open(pg_server: sandbox.Server, *, read_only: bool = False) -> PostgresBackend:
    b = open_backend(_url(pg_server), read_only=read_only)
    assert isinstance(b, PostgresBackend)
    b.connect()
    return b


@pytest.fixture
def backend(pg_server: sandbox.Server, admin: Any) -> Iterator[PostgresBackend]:
    b = _open(pg_server)
    yield b
    b.close()


def run(admin: Any, statement: str) -> None:
    admin.cursor().execute(statement)


def fresh(prefix: str) -> str:
    return f"{prefix}_{next(_names)}"


def session_state(admin: Any, b: PostgresBackend) -> str:
    """The backend's session as pg_stat_activity shows it from outside."""
    pid = b.execute("SELECT pg_backend_pid()").rows[0][0]
    cur = admin.cursor()
    cur.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
    return str(cur.fetchone()[0])


def state_of(admin: Any, pid: int) -> str:
    cur = admin.cursor()
    cur.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
    return str(cur.fetchone()[0])


# -- splitting ------------------------------------------------------------------------


def split(text: str) -> list[tuple[str, StatementKind, bool]]:
    b = PostgresBackend("postgresql://localhost/x")  # split() needs no connection
    out = []
    for s in b.split(text):
        assert text[s.start : s.end] == s.text
        out.append((s.text, s.kind, s.destructive))
    return out


def test_split_keeps_semicolons_inside_strings_comments_identifiers_and_dollar_bodies() -> None:
    script = (
        "-- a comment; not a statement\n"
        "SELECT 'a;b', \"col;umn\" FROM t; /* block; comment */\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;\n"
        "DO $body$ BEGIN RAISE NOTICE 'x;y'; END $body$;\n"
        "SELECT E'it\\'s; fine', 'C:\\'; SELECT 1 # 2;\n"
        "   -- trailing comment only\n"
    )
    assert [text for text, _, _ in split(script)] == [
        "SELECT 'a;b', \"col;umn\" FROM t;",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; SELECT 2; $$;",
        "DO $body$ BEGIN RAISE NOTICE 'x;y'; END $body$;",
        "SELECT E'it\\'s; fine', 'C:\\';",
        "SELECT 1 # 2;",
    ]


def test_split_offsets_are_exact_with_unicode_and_without_a_final_semicolon() -> None:
    script = "  SELECT 'ünïcödé;🎉' AS \"名前\" ;\n\nSELECT 2 -- done"
    b = PostgresBackend("postgresql://localhost/x")
    first, second = b.split(script)
    assert (first.start, script[first.end - 1]) == (2, ";")
    assert second.text == "SELECT 2" and script[second.start :].startswith("SELECT 2 --")
    assert b.split("-- nothing\n ;; /* here */") == []


def test_split_treats_transaction_statements_and_atomic_bodies_as_postgresql_does() -> None:
    script = (
        "BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT go FROM t; COMMIT;\n"
        "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 END; SELECT 2; END;\n"
        "SELECT 9"
    )
    kinds = [(text.split()[0].rstrip(";"), kind) for text, kind, _ in split(script)]
    assert kinds == [
        ("BEGIN", StatementKind.TRANSACTION),
        ("SELECT", StatementKind.READ),
        ("COMMIT", StatementKind.TRANSACTION),
        ("CREATE", StatementKind.DDL),
        ("SELECT", StatementKind.READ),
    ]


@pytest.mark.parametrize(
    ("statement", "kind", "destructive"),
    [
        ("SELECT * FROM t", StatementKind.READ, False),
        ("(SELECT 1) UNION (SELECT 2)", StatementKind.READ, False),
        ("VALUES (1), (2)", StatementKind.READ, False),
        ("TABLE t", StatementKind.READ, False),
        ("SHOW work_mem", StatementKind.READ, False),
        ("EXPLAIN DELETE FROM t", StatementKind.READ, False),
        ("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t", StatementKind.WRITE, True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", StatementKind.READ, False),
        ("WITH x AS (SELECT 1 FROM t FOR UPDATE) SELECT * FROM x", StatementKind.READ, False),
        (
            "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d",
            StatementKind.WRITE,
            False,
        ),
        ("WITH x AS (SELECT 1) DELETE FROM t", StatementKind.WRITE, True),
        ("SELECT * INTO t2 FROM t", StatementKind.WRITE, False),
        ("INSERT INTO t VALUES (1)", StatementKind.WRITE, False),
        ("UPDATE t SET a = 1 WHERE id = 2", StatementKind.WRITE, False),
        ("UPDATE t SET a = (SELECT 1 WHERE true)", StatementKind.WRITE, True),
        ("delete from t", StatementKind.WRITE, True),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            StatementKind.WRITE,
            False,
        ),
        ("COPY t FROM '/tmp/x.csv'", StatementKind.WRITE, False),
        ("COPY (SELECT 1 FROM t) TO '/tmp/x.csv'", StatementKind.READ, False),
        ("CREATE TABLE t (id int)", StatementKind.DDL, False),
        ("DROP TABLE t", StatementKind.DDL, True),
        ("TRUNCATE t", StatementKind.DDL, True),
        ("ALTER TABLE t DROP COLUMN c", StatementKind.DDL, True),
        ("ALTER TABLE t ADD COLUMN c int", StatementKind.DDL, False),
        ("BEGIN", StatementKind.TRANSACTION, False),
        ("rollback", StatementKind.TRANSACTION, False),
        ("SAVEPOINT a", StatementKind.TRANSACTION, False),
        ("SET work_mem = '8MB'", StatementKind.OTHER, False),
        ("VACUUM t", StatementKind.OTHER, False),
        ('SELECT "select", "from" FROM "Order Items"', StatementKind.READ, False),
    ],
)
def test_statement_kinds_and_destructive_warnings(
    statement: str, kind: StatementKind, destructive: bool
) -> None:
    assert split(statement) == [(statement, kind, destructive)]


# -- the language as the query editor reads it ---------------------------------------------


def test_the_editor_tells_begin_from_other_transaction_statements_by_the_grammar() -> None:
    """The query panel warns that a destructive statement "cannot be undone"
    unless a statement before it opens a transaction: only BEGIN and START
    TRANSACTION do, however they are written."""
    words = PostgresBackend.language.transactions
    assert words is not None and (words.begin, words.rollback) == ("BEGIN", "ROLLBACK")
    b = PostgresBackend("postgresql://localhost/x")  # split() needs no connection
    script = (
        "begin isolation level serializable; START TRANSACTION READ ONLY; SAVEPOINT s;"
        " RELEASE s; COMMIT; rollback; PREPARE TRANSACTION 'p'; /* BEGIN */ SELECT 1;"
        " BEGIN ATOMIC_NOT_A_WORD"
    )
    begins = [words.begins(stmt) for stmt in b.split(script)]
    assert begins == [True, True, False, False, False, False, False, False, False]


def test_the_editor_writes_postgresql_names_and_completes_by_context() -> None:
    language = PostgresBackend.language
    assert (language.name, language.extension, language.highlight) == ("SQL", ".sql", "sql")
    template = language.open_template
    assert template is not None
    assert template(("db", "public", "items")) == "SELECT * FROM public.items;"
    assert template(("db", "Sales", 'Order "Items"')) == 'SELECT * FROM "Sales"."Order ""Items""";'
    # A control character is written as a Unicode escape, never raw.
    assert template(("db", "public", "a\x1bb")) == 'SELECT * FROM public.U&"a\\+00001bb";'
    context = language.completion.context
    assert context("SELECT * FROM cus", 17).prefer[0] == "table"
    assert context("SELECT cus", 10).prefer[0] == "column"
    found = context('SELECT o.cu FROM "Orders" o', 11)
    assert (found.qualifier, found.word) == ("o", "cu")
    assert language.format is not None
    assert language.format("select 1 from t") == "SELECT 1\nFROM t"
    assert [
        language.title_of(s)
        for s in PostgresBackend("postgresql://x/y").split(
            "select 1; with x as (select 1) select * from x"
        )
    ] == ["SELECT", "WITH"]


# -- streaming and paging ------------------------------------------------------------------


def test_first_page_of_a_huge_result_arrives_without_the_rest(backend: PostgresBackend) -> None:
    start = time.perf_counter()
    result = backend.execute("SELECT * FROM generate_series(1, 5000000)", limit=200)
    took = time.perf_counter() - start
    assert [r[0] for r in result.rows] == list(range(1, 201))
    assert result.next_cursor is not None and result.handle is not None
    # Fetching all 5M rows takes several seconds; the server only has to
    # produce the function's rows (~0.4 s here), psycopg2 converts 201.
    assert took < 1.5, took
    start = time.perf_counter()
    streamed = backend.execute("SELECT g, md5(g::text) FROM generate_series(1, 2000000) g")
    assert time.perf_counter() - start < 0.5
    assert len(streamed.rows) == 200 and [c.type_name for c in streamed.columns] == [
        "integer",
        "text",
    ]


def test_pages_join_without_gaps_and_an_older_cursor_reads_the_same_rows(
    backend: PostgresBackend,
) -> None:
    first = backend.execute("SELECT g, 'row ' || g FROM generate_series(1, 1050) g ORDER BY g")
    assert first.status == "SELECT"
    rows = list(first.rows)
    cursors = []
    cursor = first.next_cursor
    while cursor is not None:
        cursors.append(cursor)
        page = backend.fetch(cursor, limit=200)
        rows.extend(page.rows)
        cursor = page.next_cursor
    assert [r[0] for r in rows] == list(range(1, 1051))
    assert rows[0][1] == "row 1"
    # The grid evicts and re-fetches pages: any earlier cursor still works.
    again = backend.fetch(cursors[1], limit=200)
    assert [r[0] for r in again.rows] == list(range(401, 601))
    assert [r[0] for r in backend.fetch(cursors[0], limit=10).rows] == list(range(201, 211))


def test_read_transaction_ends_when_the_result_is_read_or_released(
    backend: PostgresBackend, admin: Any
) -> None:
    pid = backend.execute("SELECT pg_backend_pid()").rows[0][0]
    result = backend.execute("SELECT g FROM generate_series(1, 500) g", limit=200)
    assert state_of(admin, pid) == "idle in transaction"  # the cursor waits for more
    assert backend.transaction_state() is TransactionState.IDLE  # ours, not the user's
    page = backend.fetch(result.next_cursor or "", limit=200)
    last = backend.fetch(page.next_cursor or "", limit=200)
    assert last.next_cursor is None and len(last.rows) == 100
    assert state_of(admin, pid) == "idle"
    # Released before the end: the transaction ends too.
    result = backend.execute("SELECT g FROM generate_series(1, 500) g", limit=10)
    assert state_of(admin, pid) == "idle in transaction"
    backend.release(result.handle or "")
    assert state_of(admin, pid) == "idle"
    # ...and after release the rows are still there, by running it again.
    assert [r[0] for r in backend.fetch(result.next_cursor or "", limit=3).rows] == [11, 12, 13]
    # A small result never leaves a transaction open.
    backend.execute("SELECT 1")
    assert state_of(admin, pid) == "idle"


def test_another_statement_ends_the_read_and_the_old_result_is_rerun(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("rerun")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 300) g")
    result = backend.execute(f"SELECT id FROM {t} ORDER BY id", limit=100)
    backend.execute("SELECT 1")  # ends the read transaction, closing the cursor
    page = backend.fetch(result.next_cursor or "", limit=100)
    assert [r[0] for r in page.rows] == list(range(101, 201))


def test_write_results_expire_once_released(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("returning")
    run(admin, f"CREATE TABLE {t} (id int)")
    result = backend.execute(
        f"INSERT INTO {t} SELECT generate_series(1, 250) RETURNING id", limit=100
    )
    assert result.status == "INSERT 0 250" and result.rowcount == 250
    assert len(result.rows) == 100 and result.next_cursor is not None
    assert len(backend.fetch(result.next_cursor, limit=500).rows) == 150
    backend.release(result.handle or "")
    with pytest.raises(QueryFailed, match="expired"):
        backend.fetch(result.next_cursor, limit=10)
    # Never re-run: still exactly 250 rows.
    assert backend.execute(f"SELECT count(*) FROM {t}").rows == ((250,),)


def test_session_state_persists_between_statements(backend: PostgresBackend) -> None:
    backend.execute("SET application_name = 'editor-test'")
    backend.execute("CREATE TEMP TABLE scratch (id int)")
    backend.execute("INSERT INTO scratch SELECT generate_series(1, 300)")
    streamed = backend.execute("SELECT * FROM scratch", limit=50)  # read transaction
    assert streamed.next_cursor is not None
    backend.execute("SET work_mem = '7MB'")
    assert backend.execute("SHOW application_name").rows == (("editor-test",),)
    assert backend.execute("SHOW work_mem").rows == (("7MB",),)
    assert backend.execute("SELECT count(*) FROM scratch").rows == ((300,),)


def test_values_come_back_neutral_and_long_ones_bounded(backend: PostgresBackend) -> None:
    result = backend.execute(
        "SELECT '[1,5)'::int4range AS r, '\\xdead'::bytea AS b, repeat('x', 100000) AS big,"
        " ARRAY['a', 'b'] AS arr, 1.5::numeric AS n, '{\"k\": 1}'::jsonb AS j, NULL AS nothing"
    )
    r, b, big, arr, n, j, nothing = result.rows[0]
    assert r == "[1,5)" and b == b"\xde\xad" and arr == ["a", "b"] and j == {"k": 1}
    assert str(n) == "1.5" and nothing is None
    assert big.total_size == 100000 and len(big.preview) < 100000
    assert [c.type_name for c in result.columns][:4] == ["int4range", "bytea", "text", "text[]"]


def test_quoted_and_mixed_case_names(backend: PostgresBackend, admin: Any) -> None:
    run(admin, 'DROP TABLE IF EXISTS "Order Items"')
    run(admin, 'CREATE TABLE "Order Items" ("select" int, "MixedCase" text, plain text)')
    run(admin, """INSERT INTO "Order Items" VALUES (1, 'a', 'b')""")
    result = backend.execute('SELECT "select", "MixedCase", plain FROM "Order Items";')
    assert [c.name for c in result.columns] == ["select", "MixedCase", "plain"]
    assert result.rows == ((1, "a", "b"),)
    names = set(backend.completions())
    assert ('"Order Items"', "table") in names
    assert ('"Order Items"."select"', "column") in names
    assert ("public", "schema") in names


def test_completions_name_tables_columns_schemas_and_functions(
    backend: PostgresBackend, admin: Any
) -> None:
    run(admin, "CREATE SCHEMA IF NOT EXISTS sales")
    run(admin, "CREATE TABLE IF NOT EXISTS sales.orders (order_id int, total numeric)")
    run(admin, "CREATE OR REPLACE FUNCTION sales.discount(x numeric) RETURNS numeric"
               " LANGUAGE sql AS 'SELECT x * 0.9'")  # fmt: skip
    names = backend.completions()
    assert len(names) <= backend.max_completions
    assert ("sales", "schema") in names
    assert ("sales.orders", "table") in names  # not on the search_path: qualified
    assert ("orders.order_id", "column") in names
    assert ("discount", "function") in names


# -- errors -------------------------------------------------------------------------------


def test_syntax_error_says_where_in_the_statement(backend: PostgresBackend) -> None:
    statement = "-- ünïcödé comment\nSELECT 'é', * FORM nowhere"
    with pytest.raises(QueryFailed) as info:
        backend.execute(statement)
    assert 'syntax error at or near "FORM"' in str(info.value)
    assert info.value.position == statement.index("FORM")
    # A plain (non-streamed) statement too.
    with pytest.raises(QueryFailed) as info:
        backend.execute("INSERT INTO nowhere VALUES (1)")
    assert 'relation "nowhere" does not exist' in str(info.value)
    assert info.value.position == len("INSERT INTO ")
    backend.execute("SELECT 1")  # and the connection is fine


def test_constraint_violation_shows_postgresql_message(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("unique")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    backend.execute(f"INSERT INTO {t} VALUES (1)")
    with pytest.raises(QueryFailed) as info:
        backend.execute(f"INSERT INTO {t} VALUES (1)")
    assert f'duplicate key value violates unique constraint "{t}_pkey"' in str(info.value)
    assert "Key (id)=(1) already exists" in str(info.value)


def test_one_statement_per_execute(backend: PostgresBackend) -> None:
    with pytest.raises(QueryFailed, match="2 statements") as info:
        backend.execute("SELECT 1; SELECT 2")
    assert info.value.position == len("SELECT 1; ")


def test_runtime_error_while_paging_leaves_the_connection_usable(
    backend: PostgresBackend, admin: Any
) -> None:
    pid = backend.execute("SELECT pg_backend_pid()").rows[0][0]
    result = backend.execute("SELECT 1 / (500 - g) FROM generate_series(1, 1000) g", limit=100)
    cursor = result.next_cursor
    with pytest.raises(QueryFailed, match="division by zero"):
        while cursor is not None:
            cursor = backend.fetch(cursor, limit=100).next_cursor
    assert state_of(admin, pid) == "idle"
    assert backend.transaction_state() is TransactionState.IDLE
    assert backend.execute("SELECT 2").rows == ((2,),)


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_stops_a_running_statement_promptly(backend: PostgresBackend) -> None:
    outcome: list[BaseException | None] = []
    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        try:
            backend.execute("SELECT pg_sleep(30)")
            outcome.append(None)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)
        elapsed.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.3)
    backend.cancel()
    worker.join(5)
    assert not worker.is_alive()
    assert isinstance(outcome[0], Cancelled)
    assert elapsed[0] < 1.0
    assert backend.execute("SELECT 42").rows == ((42,),)
    assert backend.transaction_state() is TransactionState.IDLE
    backend.cancel()  # nothing runs: a no-op
    assert backend.execute("SELECT 43").rows == ((43,),)


# -- transactions ------------------------------------------------------------------------------


def test_typed_begin_rollback_leaves_nothing(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("typed")
    run(admin, f"CREATE TABLE {t} (id int)")
    assert backend.execute("BEGIN").status == "BEGIN"
    assert backend.transaction_state() is TransactionState.OPEN
    backend.execute(f"INSERT INTO {t} SELECT generate_series(1, 500)")
    # A streamed read inside the transaction sees its own rows.
    seen = backend.execute(f"SELECT id FROM {t}", limit=100)
    assert len(seen.rows) == 100 and seen.next_cursor is not None
    assert backend.fetch(seen.next_cursor, limit=1000).rows[-1] == (500,)
    assert backend.transaction_state() is TransactionState.OPEN
    backend.execute("ROLLBACK;")
    assert backend.transaction_state() is TransactionState.IDLE
    assert backend.execute(f"SELECT count(*) FROM {t}").rows == ((0,),)


def test_begin_commit_keeps_the_changes(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("committed")
    run(admin, f"CREATE TABLE {t} (id int)")
    backend.begin()
    assert backend.transaction_state() is TransactionState.OPEN
    backend.execute(f"INSERT INTO {t} VALUES (1), (2)")
    cur = admin.cursor()
    cur.execute(f"SELECT count(*) FROM {t}")
    assert cur.fetchone() == (0,)  # not visible outside yet
    backend.commit()
    assert backend.transaction_state() is TransactionState.IDLE
    cur.execute(f"SELECT count(*) FROM {t}")
    assert cur.fetchone() == (2,)


def test_an_error_inside_a_transaction_fails_it_until_rollback(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("failed")
    run(admin, f"CREATE TABLE {t} (id int)")
    backend.begin()
    backend.execute(f"INSERT INTO {t} VALUES (1)")
    with pytest.raises(QueryFailed, match="division by zero"):
        backend.execute("SELECT 1 / 0")
    assert backend.transaction_state() is TransactionState.FAILED
    with pytest.raises(QueryFailed, match="current transaction is aborted"):
        backend.execute("SELECT 1")
    with pytest.raises(QueryFailed, match="rolled it back"):
        backend.commit()  # PostgreSQL turns it into a ROLLBACK: say so
    assert backend.transaction_state() is TransactionState.IDLE
    assert backend.execute(f"SELECT count(*) FROM {t}").rows == ((0,),)
    backend.begin()
    with pytest.raises(QueryFailed):
        backend.execute("SELECT nope")
    backend.rollback()
    assert backend.transaction_state() is TransactionState.IDLE


# -- read-only ------------------------------------------------------------------------------


def test_read_only_connection_refuses_writes(pg_server: sandbox.Server, admin: Any) -> None:
    t = fresh("readonly")
    run(admin, f"CREATE TABLE {t} (id int)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 300)")
    b = _open(pg_server, read_only=True)
    try:
        for statement in (
            f"INSERT INTO {t} VALUES (1)",
            f"DELETE FROM {t}",
            f"CREATE TABLE {t}_x (id int)",
            "SET default_transaction_read_only = off",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "BEGIN READ WRITE",
            "RESET ALL",
        ):
            with pytest.raises(ReadOnly):
                b.execute(statement)
        with pytest.raises(ReadOnly):
            b.execute("SELECT set_config('default_transaction_read_only', 'off', false)")
        with pytest.raises(ReadOnly):
            b.execute(f"INSERT INTO {t} VALUES (1)")  # still refused after that
        streamed = b.execute(f"SELECT id FROM {t} ORDER BY id", limit=100)
        assert len(b.fetch(streamed.next_cursor or "", limit=1000).rows) == 200
        b.begin()
        with pytest.raises(ReadOnly):
            b.execute(f"UPDATE {t} SET id = 0")
        b.rollback()
    finally:
        b.close()
    cur = admin.cursor()
    cur.execute(f"SELECT count(*), min(id) FROM {t}")
    assert cur.fetchone() == (300, 1)


# -- connection loss --------------------------------------------------------------------------


def test_terminated_session_raises_connection_lost_then_reconnects(
    backend: PostgresBackend, admin: Any
) -> None:
    pid = backend.execute("SELECT pg_backend_pid()").rows[0][0]
    result = backend.execute("SELECT g FROM generate_series(1, 1000) g", limit=100)
    run(admin, f"SELECT pg_terminate_backend({pid})")
    time.sleep(0.1)
    with pytest.raises(ConnectionLost):
        backend.execute("SELECT 1")
    assert backend.execute("SELECT 1").rows == ((1,),)
    assert backend.execute("SELECT pg_backend_pid()").rows[0][0] != pid
    # The old result re-runs on the new session.
    page = backend.fetch(result.next_cursor or "", limit=5)
    assert [r[0] for r in page.rows] == [101, 102, 103, 104, 105]
    assert backend.transaction_state() is TransactionState.IDLE


def test_locking_select_pages_forward_and_back(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("locked")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 300) g")
    backend.begin()
    first = backend.execute(f"SELECT id FROM {t} ORDER BY id FOR UPDATE", limit=100)
    second = backend.fetch(first.next_cursor or "", limit=100)
    third = backend.fetch(second.next_cursor or "", limit=100)
    assert [r[0] for r in third.rows] == list(range(201, 301)) and third.next_cursor is None
    back = backend.fetch(first.next_cursor or "", limit=3)  # a NO SCROLL cursor, re-run
    assert [r[0] for r in back.rows] == [101, 102, 103]
    backend.rollback()


def test_copy_to_the_client_is_refused_with_a_reason(backend: PostgresBackend) -> None:
    with pytest.raises(QueryFailed, match="client-side stream"):
        backend.execute("COPY (SELECT 1) TO STDOUT")
    assert backend.execute("SELECT 1").rows == ((1,),)


# -- reviewed defects: read-only, idle reads, re-runs, cancel races ---------------------------


def count_of(admin: Any, table: str) -> int:
    cur = admin.cursor()
    cur.execute(f"SELECT count(*) FROM {table}")
    return int(cur.fetchone()[0])


def test_read_only_cannot_be_lifted_from_inside_a_statement_or_a_page(
    pg_server: sandbox.Server, admin: Any
) -> None:
    t = fresh("ro_bypass")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 100) g")
    b = _open(pg_server, read_only=True)
    try:
        # A COMMIT inside DO would end the read-only transaction and start a
        # writable one: DO is refused before it is sent.
        with pytest.raises(ReadOnly):
            b.execute(
                "DO $$ BEGIN COMMIT; EXECUTE 'SET transaction_' || 'read_only = off'; "
                f"DELETE FROM {t} WHERE id <= 10; END $$"
            )
        # set_config() itself is refused; a function of the database's own
        # flipping the session default while pages are fetched is undone.
        run(
            admin,
            f"CREATE FUNCTION {t}_flip(g int) RETURNS text LANGUAGE sql AS $$ SELECT CASE"
            " WHEN g = 500 THEN set_config('default_transaction_' || 'read_only', 'off', false)"
            " END $$",
        )
        result = b.execute(f"SELECT {t}_flip(g) FROM generate_series(1, 1000) g", limit=100)
        cursor = result.next_cursor
        with pytest.raises(ReadOnly, match="undone"):
            while cursor is not None:
                cursor = b.fetch(cursor, limit=100).next_cursor
        with pytest.raises(ReadOnly):
            b.execute(f"DELETE FROM {t} WHERE id <= 10")
        for statement in (
            "ALTER SYSTEM SET work_mem = '8MB'",
            f"VACUUM {t}",
            "CHECKPOINT",
            f"COPY {t} TO '/tmp/storescope_ro_copy'",
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "SET LOCAL transaction_read_only = off",
            "DO $$ BEGIN COMMIT; SET transaction_read_only = off; END $$",
            "SELECT set_config('transaction_read_only', 'off', true)",
        ):
            with pytest.raises(ReadOnly):
                b.execute(statement)
        # A typed BEGIN is refused; begin() opens a read-only transaction.
        with pytest.raises(ReadOnly):
            b.execute("BEGIN")
        b.begin()
        assert b.execute("SHOW transaction_read_only").rows == (("on",),)
        b.rollback()
        assert b.execute("SHOW default_transaction_read_only").rows == (("on",),)
    finally:
        b.close()
    assert count_of(admin, t) == 100


def test_a_half_read_result_ends_its_read_transaction_after_idling(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("idle_read")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 300) g")
    backend.read_idle_timeout = 0.3
    backend.execute("CREATE TEMP TABLE kept_state (x int)")
    backend.execute("SET application_name = 'idle-read-test'")
    pid = backend.execute("SELECT pg_backend_pid()").rows[0][0]
    result = backend.execute(f"SELECT id FROM {t} ORDER BY id", limit=10)
    assert state_of(admin, pid) == "idle in transaction"
    deadline = time.monotonic() + 3
    while state_of(admin, pid) != "idle" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert state_of(admin, pid) == "idle"  # without any further call on the backend
    cur = admin.cursor()
    cur.execute("SET lock_timeout = '2s'")
    cur.execute(f"ALTER TABLE {t} ADD COLUMN extra int")  # not blocked by our share lock
    cur.execute("RESET lock_timeout")
    # The session survived (temp table, SET), and the result re-runs.
    assert backend.execute("SELECT count(*) FROM kept_state").rows == ((0,),)
    assert backend.execute("SHOW application_name").rows == (("idle-read-test",),)
    page = backend.fetch(result.next_cursor or "", limit=5)
    assert [r[0] for r in page.rows] == [11, 12, 13, 14, 15]


def test_a_writing_select_is_never_rerun(backend: PostgresBackend, admin: Any) -> None:
    t = fresh("rerun_log")
    run(admin, f"CREATE TABLE {t} (g int)")
    run(
        admin,
        f"CREATE FUNCTION {t}_f(g int) RETURNS int LANGUAGE sql VOLATILE"
        f" AS $$ INSERT INTO {t} VALUES (g) RETURNING g $$",
    )
    result = backend.execute(f"SELECT {t}_f(g) FROM generate_series(1, 300) g", limit=100)
    backend.execute("SELECT 1")  # ends the read: the first run's rows are the user's
    written = count_of(admin, t)
    assert written > 0
    with pytest.raises(QueryFailed, match="cannot be re-read: the statement writes"):
        backend.fetch(result.next_cursor or "", limit=100)
    assert count_of(admin, t) == written  # no duplicate writes
    assert backend.transaction_state() is TransactionState.IDLE


def test_a_late_cancel_never_stops_the_next_statement(
    pg_server: sandbox.Server, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real session whose cancel request leaves 0.3 s late."""
    cancel_safe = psycopg.Connection.cancel_safe

    def slow_cancel(self: psycopg.Connection[Any], *args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)
        cancel_safe(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "cancel_safe", slow_cancel)
    b = _open(pg_server)
    try:
        outcome: list[BaseException | None] = []

        def work() -> None:
            try:
                b.execute("SELECT pg_sleep(0.2)")
                b.execute("SELECT pg_sleep(0.6)")
                outcome.append(None)
            except Exception as e:  # noqa: BLE001 - the test inspects it
                outcome.append(e)

        worker = threading.Thread(target=work)
        worker.start()
        time.sleep(0.1)
        b.cancel()  # the first statement ends before the request leaves
        worker.join(5)
        assert outcome == [None]
        assert b.execute("SELECT 1").rows == ((1,),)
    finally:
        b.close()


def test_a_result_tab_title_names_the_statement_and_its_table() -> None:
    from storescope.backends.sql_language import POSTGRES_SQL
    from storescope.backends.types import Statement

    def title(text: str) -> str:
        return POSTGRES_SQL.title_of(Statement(text, 0, len(text)))

    assert title("select * from orders where id = 1") == "SELECT orders"
    assert title("-- note\nSELECT o.id FROM shop.public.orders o JOIN x") == "SELECT orders"
    assert title('INSERT INTO "Order ""Items""" VALUES (1)') == 'INSERT Order "Items"'
    assert title("UPDATE items SET a = 1") == "UPDATE items"
    assert title("SELECT 1") == "SELECT"
    assert title("select extract(year from now())") == "SELECT"
    long = title("CREATE TABLE IF NOT EXISTS a_very_long_table_name (x int)")
    assert long.startswith("CREATE a_very") and len(long) == 20 and long.endswith("…")
    assert "\x1b" not in title('DELETE FROM "x\x1b[31m"')
