"""Read-only on PostgreSQL against hostile statements (issue 8, items 1 and 2):
every attack found by the fault probe, through ``execute`` and ``explain``
(tests/cli/test_query.py sends them through ``storescope query --read-only``),
checked from another session afterwards:
no row written, no large object, no replication slot, no notification
delivered, no prepared statement, statistics not reset, configuration not
reloaded, WAL not switched."""

from __future__ import annotations

import select
from collections.abc import Iterator
from typing import Any

import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import BackendError, QueryFailed, ReadOnly
from storescope.backends.postgres import PostgresBackend
from tests.pg_helpers import admin_connection, database_url

DB = "pgreadonlytests"

# The fault probe's attacks, verbatim.
NESTED_COMMENT = (
    "NOTIFY x /* /* */ ' */ ; COMMIT; BEGIN READ WRITE; "
    "INSERT INTO victim VALUES (9, $$x$$); COMMIT; /* ' */"
)
NESTED_COMMENT_SELECT = "SELECT 1 " + NESTED_COMMENT.removeprefix("NOTIFY x ")
STANDARD_STRINGS_OFF = (
    "SET standard_conforming_strings = off; NOTIFY x, '\\'; COMMIT; BEGIN READ WRITE; "
    "INSERT INTO victim VALUES (9, $$x$$); COMMIT; /* ' */"
)
SCRIPTS = (NESTED_COMMENT, NESTED_COMMENT_SELECT, STANDARD_STRINGS_OFF)

SIDE_EFFECTS = (
    "SELECT lo_import('/etc/hostname')",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT pg_create_physical_replication_slot('s')",
    "SELECT pg_create_logical_replication_slot('s', 'test_decoding')",
    "SELECT pg_stat_reset()",
    "SELECT pg_stat_reset_shared('bgwriter')",
    "SELECT pg_reload_conf()",
    "SELECT pg_switch_wal()",
    "SELECT pg_create_restore_point('x')",
    "SELECT pg_notify('x', 'y')",
    "SELECT pg_terminate_backend(0)",
    "SELECT pg_logical_emit_message(false, 'p', 'm')",
    "SELECT pg_advisory_lock(42)",  # a session lock outlives the ROLLBACK
    # SQL text that a function runs inside the server, out of the check's sight.
    "SELECT ts_rewrite('a'::tsquery, $$SELECT 'a'::tsquery, 'b'::tsquery"
    " WHERE pg_stat_reset() IS NULL$$)",
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "NOTIFY x",
    "NOTIFY x, 'payload'",
    "LISTEN x",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "DEALLOCATE ALL",
    "DO $$ BEGIN PERFORM 1; END $$",
    "CALL nothing()",
    "SET standard_conforming_strings = off",
    "SET session_authorization = DEFAULT",
    "SET ROLE NONE",
    "RESET transaction_read_only",
    "BEGIN",
    "BEGIN READ WRITE",
    "START TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s",
    "PREPARE TRANSACTION 't'",
    # Nested, disguised and qualified calls.
    "SELECT * FROM (SELECT lo_create(0)) s",
    "WITH c AS (SELECT lo_create(0)) SELECT * FROM c",
    'SELECT "lo_create"(0)',
    "SELECT LO_CREATE(0)",
    "SELECT pg_catalog.lo_create(0)",
    'SELECT "pg_catalog"."lo_create"(0)',
    "SELECT 1 WHERE EXISTS (SELECT pg_stat_reset())",
    "VALUES (lo_create(0))",
    "SELECT (SELECT lo_create(0)) + 1",
    "SELECT count(*) FILTER (WHERE lo_create(0) > 0) FROM (VALUES (1)) v(x)",
    "EXPLAIN ANALYZE SELECT lo_create(0)",
    "SELECT * FROM lo_create(0)",
)
# Refused by the server itself in a read-only transaction (planning them is harmless).
SERVER_REFUSED = ("SELECT nextval('counter')", "SELECT setval('counter', 5)")


@pytest.fixture(scope="module")
def admin(pg_server: sandbox.Server) -> Iterator[Any]:
    """Another session on the test database, which watches for writes."""
    with admin_connection(pg_server, DB) as conn:
        cur = conn.cursor()
        cur.execute("DROP TABLE IF EXISTS victim")
        cur.execute("CREATE TABLE victim (id int, v text)")
        cur.execute("CREATE OR REPLACE PROCEDURE nothing() LANGUAGE sql AS $$ SELECT 1 $$")
        cur.execute("CREATE SEQUENCE IF NOT EXISTS counter")
        yield conn


@pytest.fixture(scope="module")
def url(pg_server: sandbox.Server, admin: Any) -> str:
    return database_url(pg_server, DB)


@pytest.fixture
def listener(pg_server: sandbox.Server, admin: Any) -> Iterator[Any]:
    """A session listening on channel ``x``."""
    with admin_connection(pg_server, DB) as conn:
        conn.cursor().execute("LISTEN x")
        yield conn


@pytest.fixture
def read_only(url: str) -> Iterator[PostgresBackend]:
    b = open_backend(url, read_only=True)
    assert isinstance(b, PostgresBackend)
    b.connect()
    yield b
    b.close()


def _one(admin: Any, query: str) -> Any:
    cur = admin.cursor()
    cur.execute(query)
    return cur.fetchone()[0]


def _traces(admin: Any) -> dict[str, Any]:
    """What the attacks would leave behind, as another session sees it."""
    return {
        "victim rows": _one(admin, "SELECT count(*) FROM victim"),
        "large objects": _one(admin, "SELECT count(*) FROM pg_largeobject_metadata"),
        "replication slots": _one(admin, "SELECT count(*) FROM pg_replication_slots"),
        "stats reset": _one(
            admin,
            "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()",
        ),
        "configuration loaded": _one(admin, "SELECT pg_conf_load_time()"),
        "WAL file": _one(admin, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())"),
    }


def _notifications(listener: Any) -> list[Any]:
    select.select([listener], [], [], 0.2)
    listener.poll()
    found = list(listener.notifies)
    del listener.notifies[:]
    return found


def test_the_probe_scripts_write_nothing(
    read_only: PostgresBackend, admin: Any, listener: Any
) -> None:
    before = _traces(admin)
    for script in SCRIPTS:
        with pytest.raises(BackendError):
            read_only.execute(script)
        for stmt in read_only.split(script):  # as the editor and the CLI run them
            try:
                read_only.execute(stmt.text)
            except (ReadOnly, QueryFailed):
                break
        with pytest.raises(BackendError):
            read_only.explain(script)
        with pytest.raises(BackendError):
            read_only.explain(script, analyze=True)
    assert _traces(admin) == before
    assert _notifications(listener) == []


def test_the_nested_comment_script_splits_as_the_server_reads_it(
    read_only: PostgresBackend,
) -> None:
    assert [s.text for s in read_only.split(NESTED_COMMENT)] == [
        "NOTIFY x /* /* */ ' */ ;",
        "COMMIT;",
        "BEGIN READ WRITE;",
        "INSERT INTO victim VALUES (9, $$x$$);",
        "COMMIT;",
    ]


@pytest.mark.parametrize("statement", SIDE_EFFECTS + SERVER_REFUSED)
def test_side_effects_are_refused(
    statement: str, read_only: PostgresBackend, admin: Any, listener: Any
) -> None:
    before = _traces(admin)
    # storescope's own refusal, before anything is sent: the server's
    # "cannot execute ... in a read-only transaction" (which PostgreSQL 16+
    # also answers for lo_*) is also ReadOnly, so the message tells them apart.
    own = "^this connection is read-only" if statement not in SERVER_REFUSED else None
    with pytest.raises(ReadOnly, match=own):
        read_only.execute(statement)
    assert _traces(admin) == before
    assert _notifications(listener) == []
    prepared = read_only.execute("SELECT count(*) FROM pg_prepared_statements")
    assert prepared.rows == ((0,),)
    assert read_only.execute("SHOW transaction_read_only").rows == (("on",),)


@pytest.mark.parametrize(
    "statement",
    [s for s in SIDE_EFFECTS if s.startswith(("SELECT", "WITH", "VALUES"))],
)
def test_explain_refuses_side_effects_too(
    statement: str, read_only: PostgresBackend, admin: Any
) -> None:
    before = _traces(admin)
    with pytest.raises(ReadOnly, match="^this connection is read-only"):
        read_only.explain(statement, analyze=True)
    with pytest.raises(ReadOnly, match="^this connection is read-only"):
        read_only.explain(statement)
    assert _traces(admin) == before


def test_reading_still_works(read_only: PostgresBackend, admin: Any) -> None:
    """What a read-only session is for: reads, SHOW, EXPLAIN (ANALYZE) of a read."""
    assert read_only.execute("SELECT 1 /* /* nested */ */ AS one").rows == ((1,),)
    assert read_only.execute("WITH c AS (SELECT 2) SELECT * FROM c").rows == ((2,),)
    assert read_only.execute("VALUES (3)").rows == ((3,),)
    assert read_only.execute("TABLE victim").rows == ()
    assert read_only.execute("SHOW standard_conforming_strings").rows == (("on",),)
    assert read_only.execute("SELECT pg_advisory_xact_lock(1)").rows
    assert read_only.execute("SELECT current_setting('transaction_read_only')").rows
    plan = read_only.explain("SELECT * FROM victim", analyze=True)
    assert plan.root is not None


def test_a_server_with_standard_strings_off_is_refused(url: str, pg_server: sandbox.Server) -> None:
    """pglast reads backslashes as standard strings do: a server that does
    not cannot be judged, so a read-only session refuses to run statements."""
    b = open_backend(database_url(pg_server, DB, options="-c%20standard_conforming_strings%3Doff"))
    ro = open_backend(
        database_url(pg_server, DB, options="-c%20standard_conforming_strings%3Doff"),
        read_only=True,
    )
    try:
        b.connect()
        assert b.execute("SHOW standard_conforming_strings").rows == (("off",),)
        ro.connect()
        with pytest.raises(ReadOnly, match="standard_conforming_strings"):
            ro.execute("SELECT 1")
    finally:
        b.close()
        ro.close()


def test_the_server_refuses_a_chunk_it_reads_as_two_statements(url: str, admin: Any) -> None:
    """Defence in depth on a read-write session: with standard strings off
    the server reads ``'a\\'`` as an unfinished string where pglast reads a
    whole one, so the two disagree on where statements end; the statement
    is sent with the extended protocol and the server refuses it whole."""
    b = open_backend(url)
    try:
        b.connect()
        b.execute("SET standard_conforming_strings = off")
        text = "SELECT 'a\\' AS \"x';INSERT INTO victim VALUES (7);SELECT 1 --\""
        assert len(b.split(text)) == 1  # pglast: one SELECT with a long alias
        with pytest.raises(QueryFailed, match="multiple commands"):
            b.execute(text)
    finally:
        b.close()
    assert _one(admin, "SELECT count(*) FROM victim WHERE id = 7") == 0


def test_the_status_says_whose_guard_read_only_is(
    url: str, pg_server: sandbox.Server, admin: Any
) -> None:
    """The sandbox login is a superuser: read-only is storescope's guard
    alone. A role that can only read gets no such note."""
    b = open_backend(url, read_only=True)
    try:
        b.connect()
        info = b.server_info()
        assert info.read_only_note == "app guard; role can write"
        assert len(f" ● connected  PostgreSQL 15  read-only ({info.read_only_note})") < 70
    finally:
        b.close()
    cur = admin.cursor()
    cur.execute("DROP ROLE IF EXISTS ro_reader")
    cur.execute("CREATE ROLE ro_reader LOGIN PASSWORD 'ro-pw'")
    cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    cur.execute("GRANT SELECT ON victim TO ro_reader")
    host = url.split("@", 1)[1]
    reader = open_backend(f"postgresql://ro_reader:ro-pw@{host}", read_only=True)
    try:
        reader.connect()
        assert reader.server_info().read_only_note == ""
        assert reader.execute("SELECT count(*) FROM victim").rows == ((0,),)
    finally:
        reader.close()
        cur.execute("DROP OWNED BY ro_reader")
        cur.execute("DROP ROLE ro_reader")
    writer = open_backend(url)
    try:
        writer.connect()
        assert writer.server_info().read_only_note == ""  # not read-only: nothing to say
    finally:
        writer.close()


def test_text_that_does_not_parse_is_not_sent_when_read_only(
    url: str, read_only: PostgresBackend
) -> None:
    """A read-only session cannot judge what it cannot parse, so it does not
    send it; a read-write session does, and shows the server's own error
    and position."""
    with pytest.raises(ReadOnly, match="cannot be checked"):
        read_only.execute("SELEC 1")
    b = open_backend(url)
    try:
        b.connect()
        with pytest.raises(QueryFailed, match="syntax error") as failed:
            b.execute("SELECT 1 FRM victim")
        assert failed.value.position == len("SELECT 1 FRM ")  # at "victim"
    finally:
        b.close()


def test_settings_persist_and_cursors_need_a_transaction(read_only: PostgresBackend) -> None:
    """Our ROLLBACK around each statement must not silently undo what a user
    may do on a read-only connection: a SET keeps, and a cursor outside a
    transaction is refused with a word on where it can live."""
    read_only.execute("SET application_name = 'ro-check'")
    assert read_only.execute("SHOW application_name").rows == (("ro-check",),)
    read_only.execute("RESET application_name")
    assert read_only.execute("SHOW application_name").rows != (("ro-check",),)
    with pytest.raises(QueryFailed, match="cursor lives in a transaction"):
        read_only.execute("DECLARE c CURSOR FOR SELECT 1")
    read_only.begin()
    try:
        read_only.execute("DECLARE c CURSOR FOR SELECT 41 + 1")
        assert read_only.execute("FETCH c").rows == ((42,),)
    finally:
        read_only.rollback()
    assert read_only.execute("SHOW transaction_read_only").rows == (("on",),)
