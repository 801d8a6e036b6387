"""PostgreSQL monitoring against the real sandbox server: the numbers and
tables of a sample, sessions and blocking chains as they happen, cancelling
and terminating sessions, pg_stat_statements present or not, and the cost of
one sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import psycopg2
import psycopg2.errors
import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import NotSupported, PermissionDenied, ReadOnly
from storescope.backends.postgres import PostgresBackend
from storescope.backends.types import ActionDanger, ColumnRole, MetricKind, Stats, StatsTable
from tests.pg_helpers import admin_connection, database_url

DB = "pgmonitor"
ROLE = "pgmonitor_plain"
ROLE_PASSWORD = "plain-pw"

METRICS = {
    "connections": MetricKind.GAUGE,
    "active": MetricKind.GAUGE,
    "blocked": MetricKind.GAUGE,
    "commits": MetricKind.COUNTER,
    "rollbacks": MetricKind.COUNTER,
    "cache hit ratio": MetricKind.GAUGE,
    "blocks hit": MetricKind.COUNTER,
    "blocks read": MetricKind.COUNTER,
    "tuples read": MetricKind.COUNTER,
    "tuples written": MetricKind.COUNTER,
    "deadlocks": MetricKind.COUNTER,
    "temp bytes": MetricKind.COUNTER,
}


def _url(server: sandbox.Server, db: str = DB, user: str = "", password: str = "") -> str:
    base = database_url(server, db)
    if user:
        base = base.replace(f"//{sandbox.PG_USER}:{sandbox.PG_PASSWORD}@", f"//{user}:{password}@")
    return base


@pytest.fixture(scope="module")
def admin(pg_server: sandbox.Server) -> Iterator[Any]:
    """A raw autocommit psycopg2 connection to the test database (setup only)."""
    with admin_connection(pg_server, DB) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (ROLE_PASSWORD,))
        cur.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
        yield conn


@pytest.fixture
def backend(pg_server: sandbox.Server, admin: Any) -> Iterator[PostgresBackend]:
    b = open_backend(_url(pg_server))
    assert isinstance(b, PostgresBackend)
    b.connect()
    yield b
    b.close()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


@pytest.fixture
def connect(pg_server: sandbox.Server) -> Iterator[Callable[[str], Any]]:
    """Opens raw autocommit connections as other clients would; all closed at the end."""
    opened: list[Any] = []

    def open_one(application: str) -> Any:
        conn = psycopg2.connect(_url(pg_server), application_name=application)
        conn.autocommit = True
        opened.append(conn)
        return conn

    yield open_one
    for conn in opened:
        if not conn.closed:
            conn.cancel()  # a failed test may leave a statement running in a thread
        conn.close()


def run(conn: Any, statement: str, params: tuple[Any, ...] = ()) -> None:
    conn.cursor().execute(statement, params)


def table(stats: Stats, name: str) -> StatsTable:
    return next(t for t in stats.tables if t.name == name)


def rows_by(stats: Stats, name: str, column: str) -> dict[Any, dict[str, Any]]:
    t = table(stats, name)
    index = t.columns.index(column)
    return {row[index]: dict(zip(t.columns, row, strict=True)) for row in t.rows}


def metric(stats: Stats, name: str) -> float:
    return next(m.value for m in stats.metrics if m.name == name)


def wait_for(backend: PostgresBackend, check: Callable[[Stats], Any], timeout: float = 5.0) -> Any:
    """Samples until ``check`` returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        found = check(backend.stats())
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("the monitor never showed it")
        time.sleep(0.05)


def sleeping(pool: ThreadPoolExecutor, conn: Any, seconds: int = 30) -> Future[None]:
    return pool.submit(run, conn, "SELECT pg_sleep(%s)", (seconds,))


def own_pid(backend: PostgresBackend) -> int:
    return int(backend._conn(DB).info.backend_pid)


# -- a sample ------------------------------------------------------------------------------


def test_a_sample_has_every_metric_and_the_five_tables(backend: PostgresBackend) -> None:
    stats = backend.stats()
    assert {m.name: m.kind for m in stats.metrics} == METRICS
    assert [t.name for t in stats.tables] == [
        "Sessions",
        "Blocking",
        "Locks",
        "Databases",
        "Statements",
    ]
    assert abs(stats.taken_at - time.time()) < 5
    ratio = next(m for m in stats.metrics if m.name == "cache hit ratio")
    assert ratio.unit == "%" and 0 <= ratio.value <= 100
    for t in stats.tables:
        assert all(len(row) == len(t.columns) for row in t.rows)
    for name in ("Sessions", "Blocking"):
        t = table(stats, name)
        assert t.key_column == 0
        assert [(a.id, a.key, a.label, a.danger) for a in t.described_actions] == [
            ("cancel", "c", "Cancel", ActionDanger.DISRUPTIVE),
            ("terminate", "k", "Terminate", ActionDanger.DESTRUCTIVE),
        ]
        assert t.columns[t.columns_of(ColumnRole.ID)[0]].endswith("pid")
    # Every table says what its columns hold: the ids, durations and texts
    # the monitor panel lays out and names in a confirmation.
    roles = {
        t.name: {r: [t.columns[i] for i in t.columns_of(r)] for r in t.roles} for t in stats.tables
    }
    assert roles["Sessions"][ColumnRole.DURATION] == ["query duration"]
    assert roles["Sessions"][ColumnRole.TEXT] == ["query"]
    assert roles["Sessions"][ColumnRole.USER] == ["user"]
    assert roles["Blocking"][ColumnRole.TEXT] == ["blocked query", "blocker query"]
    assert roles["Blocking"][ColumnRole.CHAIN] == ["chain"]
    assert roles["Databases"][ColumnRole.BYTES] == ["size (bytes)"]
    assert roles["Statements"][ColumnRole.TEXT] == ["query"]


def test_counters_grow_after_commits(backend: PostgresBackend, admin: Any, pg_server: Any) -> None:
    run(admin, "CREATE TABLE IF NOT EXISTS counted (id serial PRIMARY KEY, v int)")
    before = backend.stats()
    writer = psycopg2.connect(_url(pg_server))
    writer.autocommit = True
    for i in range(5):
        run(writer, "INSERT INTO counted (v) VALUES (%s)", (i,))
    # A backend reports its numbers at most once a second while busy, and
    # always when it exits.
    writer.close()

    def grown(after: Stats) -> bool:
        return (
            metric(after, "commits") >= metric(before, "commits") + 5
            and metric(after, "tuples written") >= metric(before, "tuples written") + 5
            and metric(after, "blocks hit") > metric(before, "blocks hit")
        )

    wait_for(backend, grown)


def test_the_monitors_own_session_is_not_listed(
    backend: PostgresBackend, admin: Any, connect: Callable[[str], Any]
) -> None:
    other = connect("someone")
    pid = own_pid(backend)
    stats = backend.stats()
    sessions = rows_by(stats, "Sessions", "pid")
    assert pid not in sessions
    assert sessions[other.info.backend_pid]["application"] == "someone"
    assert sessions[other.info.backend_pid]["state"] == "idle"
    assert pid not in rows_by(stats, "Locks", "pid")


def test_a_running_query_shows_as_an_active_session_with_durations(
    backend: PostgresBackend, pool: ThreadPoolExecutor, connect: Callable[[str], Any]
) -> None:
    probe = connect("probe")
    pid = probe.info.backend_pid
    running = sleeping(pool, probe)

    def probe_row(stats: Stats) -> dict[str, Any] | None:
        row = rows_by(stats, "Sessions", "pid").get(pid)
        if row and row["state"] == "active" and row["query duration"] > timedelta(0):
            return row
        return None

    row = wait_for(backend, probe_row)
    assert row["application"] == "probe"
    assert row["database"] == DB and row["user"] == sandbox.PG_USER
    assert row["client"].startswith("127.0.0.1:")
    assert row["wait event"] == "Timeout:PgSleep"
    assert "pg_sleep" in row["query"]
    assert row["xact duration"] >= row["query duration"] > timedelta(0)
    assert row["backend start"].tzinfo is not None
    # Active sessions come first.
    states = [r[5] for r in table(backend.stats(), "Sessions").rows]
    assert states.index("active") == 0
    assert metric(backend.stats(), "active") >= 1

    assert backend.session_action("cancel", pid) == f"Cancelled the query of session {pid}"
    with pytest.raises(psycopg2.errors.QueryCanceled):
        running.result(timeout=5)


def test_query_texts_are_cut_on_the_server(
    backend: PostgresBackend, pool: ThreadPoolExecutor, connect: Callable[[str], Any]
) -> None:
    probe = connect("long")
    padding = "x" * 2000
    running = pool.submit(run, probe, f"SELECT pg_sleep(30), '{padding}'")
    row = wait_for(
        backend,
        lambda s: rows_by(s, "Sessions", "pid").get(probe.info.backend_pid, {}).get("query"),
    )
    assert len(row) == 300 and row.startswith("SELECT pg_sleep(30), 'xxx")
    backend.session_action("cancel", probe.info.backend_pid)
    with pytest.raises(psycopg2.errors.QueryCanceled):
        running.result(timeout=5)


# -- blocking ------------------------------------------------------------------------------


def test_a_blocking_chain_is_shown_and_can_be_broken(
    backend: PostgresBackend,
    admin: Any,
    pool: ThreadPoolExecutor,
    connect: Callable[[str], Any],
) -> None:
    run(admin, "CREATE TABLE IF NOT EXISTS chained (id int PRIMARY KEY, v int)")
    run(admin, "INSERT INTO chained VALUES (1, 0) ON CONFLICT DO NOTHING")
    update = "UPDATE chained SET v = v + 1 WHERE id = 1"
    holder, first, second = connect("holder"), connect("first"), connect("second")
    a, b, c = (conn.info.backend_pid for conn in (holder, first, second))
    run(holder, "BEGIN")
    run(holder, update)
    b_done = pool.submit(run, first, update)
    wait_for(backend, lambda s: b in rows_by(s, "Blocking", "blocked pid"))
    c_done = pool.submit(run, second, update)
    stats = wait_for(backend, lambda s: c in rows_by(s, "Blocking", "blocked pid") and s)

    blocking = rows_by(stats, "Blocking", "blocked pid")
    assert set(blocking) == {b, c}
    assert blocking[b]["blocked by"] == str(a)
    assert blocking[b]["chain"] == f"{b} ← {a}"
    assert blocking[b]["lock"] == "ShareLock on transactionid"
    assert blocking[b]["blocked query"] == update
    assert blocking[b]["blocker query"] == update  # the holder's last statement
    assert blocking[b]["wait duration"] >= timedelta(0)
    # The second waiter queues behind the first for the row: the chain runs
    # through the first waiter to the holder, root blocker last.
    assert blocking[c]["chain"] == f"{c} ← {b} ← {a}"
    assert blocking[c]["relation"] == "public.chained"
    assert metric(stats, "blocked") == 2

    locks = table(stats, "Locks")
    col = locks.columns.index
    waiting = [r for r in locks.rows if not r[col("granted")]]
    assert {r[col("pid")] for r in waiting} == {b, c}
    assert locks.rows[: len(waiting)] == tuple(waiting)  # waiting locks first
    assert any(
        r[col("pid")] == a and r[col("relation")] == "public.chained" and r[col("granted")]
        for r in locks.rows
    )
    assert own_pid(backend) not in {r[col("pid")] for r in locks.rows}
    sessions = rows_by(stats, "Sessions", "pid")
    assert sessions[a]["state"] == "idle in transaction"
    assert sessions[b]["wait event"] == "Lock:transactionid"

    assert backend.session_action("cancel", b) == f"Cancelled the query of session {b}"
    with pytest.raises(psycopg2.errors.QueryCanceled):
        b_done.result(timeout=5)
    wait_for(
        backend,
        lambda s: rows_by(s, "Blocking", "blocked pid").get(c, {}).get("chain") == f"{c} ← {a}",
    )

    assert backend.session_action("terminate", a) == f"Terminated session {a}"
    with pytest.raises(psycopg2.OperationalError):
        run(holder, "SELECT 1")
    assert holder.closed
    c_done.result(timeout=5)  # the row was free again: the last update went through
    assert not table(backend.stats(), "Blocking").rows


# -- session actions -----------------------------------------------------------------------


def test_cancelling_an_idle_or_vanished_session_says_so(
    backend: PostgresBackend, connect: Callable[[str], Any]
) -> None:
    idle = connect("idle")
    pid = idle.info.backend_pid
    assert backend.session_action("cancel", pid) == f"Session {pid} had nothing to cancel (idle)"
    run(idle, "SELECT 1")  # still usable
    gone = 99_999_999
    assert backend.session_action("cancel", gone) == (
        f"Session {gone} had nothing to cancel or is gone"
    )
    assert backend.session_action("terminate", str(gone)) == f"Session {gone} is gone"


def test_the_monitor_will_not_act_on_its_own_session(backend: PostgresBackend) -> None:
    with pytest.raises(NotSupported, match="own session"):
        backend.session_action("terminate", own_pid(backend))
    with pytest.raises(NotSupported, match="unknown session action"):
        backend.session_action("kill", 1)


def test_a_read_only_connection_may_cancel_but_not_terminate(
    pg_server: sandbox.Server,
    admin: Any,
    pool: ThreadPoolExecutor,
    connect: Callable[[str], Any],
) -> None:
    probe = connect("probe")
    pid = probe.info.backend_pid
    running = sleeping(pool, probe)
    with open_backend(_url(pg_server), read_only=True) as ro:
        assert isinstance(ro, PostgresBackend)
        wait_for(ro, lambda s: rows_by(s, "Sessions", "pid").get(pid, {}).get("state") == "active")
        with pytest.raises(ReadOnly):
            ro.session_action("terminate", pid)
        assert ro.session_action("cancel", pid) == f"Cancelled the query of session {pid}"
    with pytest.raises(psycopg2.errors.QueryCanceled):
        running.result(timeout=5)
    run(probe, "SELECT 1")  # the session lives on


def test_signalling_a_superusers_session_without_the_right_is_refused(
    pg_server: sandbox.Server,
    admin: Any,
    pool: ThreadPoolExecutor,
    connect: Callable[[str], Any],
) -> None:
    probe = connect("probe")
    pid = probe.info.backend_pid
    running = sleeping(pool, probe)
    with open_backend(_url(pg_server, user=ROLE, password=ROLE_PASSWORD)) as plain:
        assert isinstance(plain, PostgresBackend)
        # Without pg_read_all_stats another user's session shows, but not its query.
        row = wait_for(plain, lambda s: rows_by(s, "Sessions", "pid").get(pid))
        assert row["query"] == "<insufficient privilege>"
        with pytest.raises(PermissionDenied):
            plain.session_action("cancel", pid)
        with pytest.raises(PermissionDenied):
            plain.session_action("terminate", pid)
    run(admin, "SELECT pg_cancel_backend(%s)", (pid,))
    with pytest.raises(psycopg2.errors.QueryCanceled):
        running.result(timeout=5)


# -- databases and statements --------------------------------------------------------------


def test_databases_show_their_size_and_connections(
    backend: PostgresBackend, connect: Callable[[str], Any]
) -> None:
    connect("one")
    first = rows_by(backend.stats(), "Databases", "database")
    assert first[DB]["size (bytes)"] > 1_000_000
    assert first[DB]["connections"] >= 2  # the admin connection and "one"
    assert "template1" not in first
    # Sizes are taken every 30 s; the samples between keep showing them.
    second = rows_by(backend.stats(), "Databases", "database")
    assert second[DB]["size (bytes)"] == first[DB]["size (bytes)"]


def _preloaded(admin: Any) -> bool:
    cur = admin.cursor()
    cur.execute("SHOW shared_preload_libraries")
    row = cur.fetchone()
    return "pg_stat_statements" in (row[0] if row else "")


def test_statements_say_how_to_get_pg_stat_statements_when_it_is_missing(
    backend: PostgresBackend,
) -> None:
    statements = table(backend.stats(), "Statements")
    assert statements.rows == ()
    assert statements.note.startswith("pg_stat_statements is not installed in this database")
    assert "shared_preload_libraries" in statements.note


def test_statements_say_when_pg_stat_statements_is_installed_but_not_loaded(
    pg_server: sandbox.Server, backend: PostgresBackend, admin: Any
) -> None:
    if _preloaded(admin):
        pytest.skip("the sandbox server preloads pg_stat_statements")
    run(admin, "CREATE EXTENSION pg_stat_statements")
    try:
        statements = table(backend.stats(), "Statements")
        assert statements.rows == ()
        assert "installed but not loaded" in statements.note
        # A user who cannot read the setting finds out by trying: a note,
        # not an error, and the sample still has everything else.
        with open_backend(_url(pg_server, user=ROLE, password=ROLE_PASSWORD)) as plain:
            assert isinstance(plain, PostgresBackend)
            stats = plain.stats()
            assert "installed but not loaded" in table(stats, "Statements").note
            assert len(stats.tables) == 5
    finally:
        run(admin, "DROP EXTENSION IF EXISTS pg_stat_statements")


def test_statements_list_the_top_statements_when_pg_stat_statements_is_loaded(
    backend: PostgresBackend, admin: Any
) -> None:
    if not _preloaded(admin):
        pytest.skip("the sandbox server does not preload pg_stat_statements")
    run(admin, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    try:
        run(admin, "SELECT pg_stat_statements_reset()")
        for i in range(20):
            run(admin, "SELECT count(*) FROM pg_class WHERE relpages > %s", (i,))
        backend.stats()
        statements = table(backend.stats(), "Statements")
        assert statements.note == ""
        rows = {r[0]: dict(zip(statements.columns, r, strict=True)) for r in statements.rows}
        ours = rows["SELECT count(*) FROM pg_class WHERE relpages > $1"]
        assert ours["calls"] == 20 and ours["total ms"] >= ours["mean ms"] > 0
        assert ours["rows"] == 20 and 0 <= ours["shared hit %"] <= 100
        if admin.server_version >= 140000:  # where the server names its own queries
            assert not [q for q in rows if "pg_backend_pid" in q or "pg_stat_statements(" in q]
    finally:
        run(admin, "DROP EXTENSION IF EXISTS pg_stat_statements")


# -- cost ----------------------------------------------------------------------------------


def test_a_sample_is_cheap(backend: PostgresBackend) -> None:
    backend.stats()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        backend.stats()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"stats() median {median * 1000:.1f} ms, max {max(times) * 1000:.1f} ms")
    assert median < 0.1
