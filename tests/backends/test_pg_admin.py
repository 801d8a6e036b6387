"""PostgreSQL EXPLAIN and INDEXES against the real sandbox server: plan trees a
user can read like psql's, EXPLAIN ANALYZE that leaves no trace, indexes with
their size, usage and what deserves attention, and index changes through their
own calls, apart from the change plan (CONCURRENTLY, outside any transaction)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.errors import Cancelled, NotFound, NotSupported, QueryFailed, ReadOnly
from storescope.backends.postgres import PostgresBackend
from storescope.backends.types import (
    CreateIndex,
    DropIndex,
    IndexDirection,
    IndexInfo,
    IndexSpec,
    PlanNode,
    TransactionState,
)
from tests.pg_helpers import admin_connection, database_url

DB = "pgadmintests"
_names = itertools.count()


def _url(server: sandbox.Server, **query: str) -> str:
    return database_url(server, DB, **query)


@pytest.fixture(scope="module")
def admin(pg_server: sandbox.Server) -> Iterator[Any]:
    """A raw autocommit psycopg2 connection to the test database (setup and
    checks from "another session")."""
    with admin_connection(pg_server, DB) as conn:
        yield conn


@pytest.fixture
def backend(pg_server: sandbox.Server, admin: Any) -> Iterator[PostgresBackend]:
    b = open_backend(_url(pg_server))
    assert isinstance(b, PostgresBackend)
    b.connect()
    yield b
    b.close()


@pytest.fixture
def read_only(pg_server: sandbox.Server, admin: Any) -> Iterator[PostgresBackend]:
    b = open_backend(_url(pg_server), read_only=True)
    assert isinstance(b, PostgresBackend)
    b.connect()
    yield b
    b.close()


def run(admin: Any, statement: str, params: tuple[Any, ...] | None = None) -> None:
    admin.cursor().execute(statement, params)


def one(admin: Any, statement: str, params: tuple[Any, ...] | None = None) -> Any:
    cur = admin.cursor()
    cur.execute(statement, params)
    return cur.fetchone()[0]


def fresh(prefix: str) -> str:
    return f"{prefix}_{next(_names)}"


def nodes(root: PlanNode) -> list[PlanNode]:
    out = [root]
    for child in root.children:
        out.extend(nodes(child))
    return out


def find(root: PlanNode, label: str) -> PlanNode:
    matches = [n for n in nodes(root) if n.label == label]
    assert matches, f"no {label!r} in {[n.label for n in nodes(root)]}"
    return matches[0]


def by_name(indexes: list[IndexInfo]) -> dict[str, IndexInfo]:
    return {i.name: i for i in indexes}


@pytest.fixture
def shop(admin: Any) -> tuple[str, str]:
    """orders (20k rows) referencing customers (100 rows), analyzed."""
    orders, customers = fresh("orders"), fresh("customers")
    run(admin, f"CREATE TABLE {customers} (id int PRIMARY KEY, name text)")
    run(admin, f"CREATE TABLE {orders} (id int PRIMARY KEY, customer_id int, total int)")
    run(admin, f"INSERT INTO {customers} SELECT g, 'c' || g FROM generate_series(1, 100) g")
    run(
        admin,
        f"INSERT INTO {orders} SELECT g, g % 100 + 1, g % 7 FROM generate_series(1, 20000) g",
    )
    run(admin, f"ANALYZE {customers}")
    run(admin, f"ANALYZE {orders}")
    return orders, customers


# -- EXPLAIN -------------------------------------------------------------------------------


def test_explain_join_reads_like_psql_with_costs_and_the_costliest_node(
    backend: PostgresBackend, shop: tuple[str, str]
) -> None:
    orders, customers = shop
    text = (
        f"SELECT c.name, count(*) FROM {orders} o JOIN {customers} c ON c.id = o.customer_id "
        "WHERE o.total > 0 GROUP BY c.name;"
    )
    plan = backend.explain(text)
    assert plan.statement == text and not plan.analyzed
    assert plan.heading == "EXPLAIN (estimates only)" and plan.rejected == ()
    assert plan.execution_ms is None
    labels = [n.label for n in nodes(plan.root)]
    assert plan.root.label == "HashAggregate"
    assert f"Seq Scan on {orders} o" in labels
    assert f"Seq Scan on {customers} c" in labels
    join = next(n for n in nodes(plan.root) if n.label.endswith("Join") or n.label == "Nested Loop")
    assert len(join.children) == 2
    assert ("Group Key", "c.name") in plan.root.details
    scan = find(plan.root, f"Seq Scan on {orders} o")
    assert ("Filter", "(total > 0)") in scan.details
    for node in nodes(plan.root):
        assert node.startup_cost is not None and node.total_cost is not None
        assert node.total_cost >= node.startup_cost
        assert node.self_cost is not None and node.self_cost >= 0
        assert node.est_rows is not None
        assert node.actual_rows is None and node.actual_time_ms is None
        for child in node.children:
            assert child.total_cost is not None and node.total_cost >= child.total_cost
    # The big table's scan is what the UI marks as the most expensive node.
    costliest = max(nodes(plan.root), key=lambda n: n.self_cost or 0.0)
    assert costliest.label == f"Seq Scan on {orders} o"
    assert json.loads(plan.raw)[0]["Plan"]["Node Type"] == "Aggregate"


def test_explain_analyze_gives_actual_rows_times_and_buffers(
    backend: PostgresBackend, shop: tuple[str, str]
) -> None:
    orders, _ = shop
    plan = backend.explain(
        f"SELECT * FROM {orders} WHERE total = 3 ORDER BY id DESC LIMIT 100",
        analyze=True,
        buffers=True,
    )
    assert plan.analyzed and plan.heading == "EXPLAIN ANALYZE"
    assert plan.planning_ms is not None and plan.execution_ms is not None
    assert plan.root.label == "Limit" and plan.root.actual_rows == 100
    scan = find(plan.root, f"Index Scan Backward using {orders}_pkey on {orders}")
    # The scan reads ids downwards until the 100th match; the rest it filters out.
    last_match = [g for g in range(20000, 0, -1) if g % 7 == 3][99]
    assert scan.actual_rows == 100
    assert scan.loops == 1
    assert scan.actual_time_ms is not None and scan.actual_time_ms > 0
    assert scan.self_time_ms is not None and 0 <= scan.self_time_ms <= scan.actual_time_ms
    details = dict(scan.details)
    assert int(details["Rows Removed by Filter"]) == (20000 - last_match + 1) - 100
    assert details["Buffers"].startswith("shared hit=")
    total_self = sum(n.self_time_ms or 0.0 for n in nodes(plan.root))
    assert plan.root.actual_time_ms is not None
    assert total_self == pytest.approx(plan.root.actual_time_ms, abs=0.01)


def test_explain_analyze_of_update_reports_rows_but_changes_nothing(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("accounts")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, balance int NOT NULL)")
    run(admin, f"INSERT INTO {t} SELECT g, 0 FROM generate_series(1, 100) g")
    plan = backend.explain(f"UPDATE {t} SET balance = balance + 1 WHERE id <= 40", analyze=True)
    assert plan.root.label == f"Update on {t}"
    assert plan.root.children[0].actual_rows == 40
    assert one(admin, f"SELECT count(*) FROM {t} WHERE balance <> 0") == 0
    # Rolled back, not left open: another session can write those rows at once.
    run(admin, "SET lock_timeout = '1s'")
    run(admin, f"UPDATE {t} SET balance = 5 WHERE id = 1")
    assert backend.transaction_state() is TransactionState.IDLE


def test_explain_inside_a_user_transaction_keeps_it_open_and_intact(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("ledger")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY)")
    run(admin, f"INSERT INTO {t} SELECT generate_series(1, 10)")
    backend.execute("BEGIN")  # typed in the query editor
    try:
        backend.execute(f"INSERT INTO {t} VALUES (11)")
        plan = backend.explain(f"DELETE FROM {t}", analyze=True)
        assert plan.root.children[0].actual_rows == 11  # sees the transaction's own row
        with pytest.raises(QueryFailed):
            backend.explain(f"SELECT nope FROM {t}")
        # Neither the ANALYZE nor the failed EXPLAIN touched the transaction.
        assert backend.transaction_state() is TransactionState.OPEN
        assert backend.execute(f"SELECT count(*) FROM {t}").rows == ((11,),)
    finally:
        backend.execute("ROLLBACK")
    assert one(admin, f"SELECT count(*) FROM {t}") == 10


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("SELECT id FROM {t} WHERE id = = 1", "= 1"),
        ("  -- first a comment\nSELECT * FRM {t}", "FRM"),
        ("SELECT nope FROM {t}", "nope"),
        ("UPDATE {t} SET id = 'x%s'::int", "'x%s'"),
    ],
)
def test_explain_error_points_into_the_users_statement(
    backend: PostgresBackend, admin: Any, text: str, at: str
) -> None:
    t = fresh("typos")
    run(admin, f"CREATE TABLE {t} (id int)")
    statement = text.format(t=t)
    with pytest.raises(QueryFailed) as info:
        backend.explain(statement, analyze="UPDATE" in statement)
    assert info.value.position == statement.index(at)


def test_explain_takes_exactly_one_statement(backend: PostgresBackend) -> None:
    with pytest.raises(QueryFailed, match="one statement"):
        backend.explain("SELECT 1; SELECT 2", analyze=True)
    with pytest.raises(QueryFailed):
        backend.explain("  -- nothing here\n ;")
    assert backend.explain("SELECT 1; -- done").root.label == "Result"


# -- INDEXES -------------------------------------------------------------------------------


def _flush_stats(admin: Any) -> None:
    """Index scan counters reach pg_stat_* asynchronously: PG 15+ flushes
    them when the session goes idle after pg_stat_force_next_flush()."""
    if admin.server_version >= 150000:
        run(admin, "SELECT pg_stat_force_next_flush()")


def _indexes_when(
    backend: PostgresBackend, path: tuple[str, ...], ready: Any, timeout: float = 5.0
) -> list[IndexInfo]:
    deadline = time.monotonic() + timeout
    while True:
        indexes = backend.list_indexes(path)
        if ready(by_name(indexes)) or time.monotonic() > deadline:
            return indexes
        time.sleep(0.05)


def test_list_indexes_shows_kinds_sizes_scans_and_what_deserves_attention(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("people")
    run(
        admin,
        f"CREATE TABLE {t} (id int PRIMARY KEY, email text UNIQUE, name text, data jsonb, "
        "status text, created int, city text, zip text)",
    )
    run(
        admin,
        f"INSERT INTO {t} SELECT g, 'p' || g || '@x', 'Name' || g, "
        "jsonb_build_object('k', g), CASE WHEN g % 3 = 0 THEN 'done' ELSE 'open' END, "
        "g % 50, 'city' || g % 20, 'z' || g FROM generate_series(1, 2000) g",
    )
    run(admin, f"CREATE INDEX {t}_lower_name ON {t} (lower(name))")
    run(admin, f"CREATE INDEX {t}_open_status ON {t} (status) WHERE status <> 'done'")
    run(admin, f"CREATE INDEX {t}_data ON {t} USING gin (data)")
    run(admin, f"CREATE INDEX {t}_created_a ON {t} (created)")
    run(admin, f"CREATE INDEX {t}_created_b ON {t} (created)")
    run(admin, f"CREATE INDEX {t}_city ON {t} (city)")
    run(admin, f"CREATE INDEX {t}_city_zip ON {t} (city, zip)")
    run(admin, f"CREATE INDEX {t}_name_inc ON {t} (name) INCLUDE (email)")
    run(admin, f"ANALYZE {t}")
    run(admin, "SET enable_seqscan = off")
    try:
        run(admin, f"SELECT * FROM {t} WHERE lower(name) = 'name5'")
        _flush_stats(admin)
    finally:
        run(admin, "RESET enable_seqscan")

    path = (DB, "public", t)
    lower = f"{t}_lower_name"
    found = by_name(_indexes_when(backend, path, lambda ix: (ix[lower].scans or 0) >= 1))
    assert set(found) == {
        f"{t}_pkey", f"{t}_email_key", lower, f"{t}_open_status", f"{t}_data",
        f"{t}_created_a", f"{t}_created_b", f"{t}_city", f"{t}_city_zip", f"{t}_name_inc",
    }  # fmt: skip
    assert all(i.size_bytes and i.size_bytes > 0 for i in found.values())
    assert all(i.valid for i in found.values())

    pkey = found[f"{t}_pkey"]
    assert (pkey.primary, pkey.unique, pkey.columns, pkey.flags) == (True, True, "id", ())
    email = found[f"{t}_email_key"]
    assert (email.primary, email.unique, email.flags) == (False, True, ())
    assert found[lower].columns == "lower(name)"
    assert found[lower].scans is not None and found[lower].scans >= 1
    assert found[lower].flags == ()
    partial = found[f"{t}_open_status"]
    assert partial.columns == "status" and "WHERE" in partial.definition
    assert partial.flags == ("unused",)
    assert found[f"{t}_data"].method == "gin"
    assert found[f"{t}_data"].flags == ("unused",)
    assert found[f"{t}_created_a"].flags == (f"duplicate of {t}_created_b", "unused")
    assert found[f"{t}_created_b"].flags == (f"duplicate of {t}_created_a", "unused")
    assert found[f"{t}_city"].flags == (f"redundant with {t}_city_zip", "unused")
    assert found[f"{t}_city_zip"].flags == ("unused",)
    assert found[f"{t}_name_inc"].columns == "name INCLUDE (email)"
    assert pkey.definition == f"CREATE UNIQUE INDEX {t}_pkey ON public.{t} USING btree (id)"


def test_list_indexes_of_a_missing_table_is_not_found(backend: PostgresBackend) -> None:
    with pytest.raises(NotFound):
        backend.list_indexes((DB, "public", "no_such_table"))
    with pytest.raises(NotFound):
        backend.list_indexes((DB, "no_such_schema", "t"))


def test_create_index_concurrently_as_planned_then_drop_it(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("items")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, name text)")
    run(admin, f"INSERT INTO {t} SELECT g, 'n' || g FROM generate_series(1, 500) g")
    path = (DB, "public", t)
    spec = IndexSpec(("name",), name=f"{t}_name_idx", partial_filter="name LIKE 'n1%'")
    create = CreateIndex(path, spec)
    plan = backend.plan_index(create)
    assert plan.text == (
        f'CREATE INDEX CONCURRENTLY "{t}_name_idx" ON "public"."{t}" USING btree ("name") '
        "WHERE name LIKE 'n1%'"
    )
    assert plan.change == create
    assert "without blocking writes" in plan.note
    assert "transaction" in plan.note
    assert not plan.all_or_nothing and "INVALID index" in plan.warnings[0]
    assert f"{t}_name_idx" not in by_name(backend.list_indexes(path)), "planning runs nothing"

    backend.create_index(path, spec)
    made = by_name(backend.list_indexes(path))[f"{t}_name_idx"]
    assert made.valid and made.method == "btree" and made.columns == "name"

    drop = DropIndex(path, f"{t}_name_idx")
    assert backend.plan_index(drop).text == f'DROP INDEX CONCURRENTLY "public"."{t}_name_idx"'
    backend.drop_index(path, f"{t}_name_idx")
    assert f"{t}_name_idx" not in by_name(backend.list_indexes(path))
    with pytest.raises(NotFound):
        backend.drop_index(path, f"{t}_name_idx")


def test_index_changes_are_not_change_plan_steps(backend: PostgresBackend, admin: Any) -> None:
    """Indexes have their own calls (INDEXES): plan()/apply() (PLAN) take
    record changes only, so a store without PLAN can still change indexes."""
    t = fresh("apart")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, v int)")
    path = (DB, "public", t)
    with pytest.raises(NotSupported):
        backend.plan([CreateIndex(path, IndexSpec(("v",)))])
    with pytest.raises(NotSupported):
        backend.apply([DropIndex(path, f"{t}_pkey")])
    assert [i.name for i in backend.list_indexes(path)] == [f"{t}_pkey"]


def test_the_form_is_described_in_postgresql_words_and_directions_become_sql(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("ordered")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, a int, b text)")
    path = (DB, "public", t)
    options = backend.index_options(path)
    assert options.methods[0] == "btree" and options.expressions and not options.directions
    assert (options.online, options.online_label, options.drop_online) == (
        True,
        "concurrently",
        True,
    )
    assert options.partial and options.partial_label == "Where"
    assert not options.ttl and not options.sparse
    spec = IndexSpec(
        ("a", "lower(b)"),
        directions=(IndexDirection.DESCENDING, IndexDirection.ASCENDING),
        online=False,
    )
    text = backend.plan_index(CreateIndex(path, spec)).text
    assert text == f'CREATE INDEX ON "public"."{t}" USING btree ("a" DESC, (lower(b)) ASC)'
    backend.create_index(path, spec)
    made = by_name(backend.list_indexes(path))[f"{t}_a_lower_idx"]
    assert "(a DESC, lower(b))" in made.definition
    with pytest.raises(NotSupported, match="time to live"):
        backend.plan_index(CreateIndex(path, IndexSpec(("a",), ttl_seconds=60)))
    with pytest.raises(NotSupported, match="sparse"):
        backend.plan_index(CreateIndex(path, IndexSpec(("a",), sparse=True)))
    # A drop that is not online: the plain statement, and its lock said.
    plan = backend.plan_index(DropIndex(path, f"{t}_a_lower_idx", online=False))
    assert plan.text == f'DROP INDEX "public"."{t}_a_lower_idx"'
    assert "ACCESS EXCLUSIVE" in plan.note and plan.all_or_nothing
    backend.drop_index(path, f"{t}_a_lower_idx", online=False)
    assert f"{t}_a_lower_idx" not in by_name(backend.list_indexes(path))


def test_a_plain_single_index_build_is_atomic_and_methods_are_checked(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("docs")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, body jsonb)")
    path = (DB, "public", t)
    spec = IndexSpec(("body",), method="gin", online=False)
    plan = backend.plan_index(CreateIndex(path, spec))
    assert plan.all_or_nothing and not plan.warnings
    assert plan.text == f'CREATE INDEX ON "public"."{t}" USING gin ("body")'
    with pytest.raises(QueryFailed, match="no index method"):
        backend.plan_index(CreateIndex(path, IndexSpec(("id",), method="x")))
    with pytest.raises(NotFound):
        backend.create_index((DB, "public", "no_such_table"), IndexSpec(("id",)))
    backend.create_index(path, spec)
    assert [i.method for i in backend.list_indexes(path)] == ["gin", "btree"]


def test_failed_unique_build_says_why_and_leaves_an_invalid_index_flagged(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("signups")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, email text)")
    run(admin, f"INSERT INTO {t} VALUES (1, 'a@x'), (2, 'b@x'), (3, 'a@x')")
    path = (DB, "public", t)
    with pytest.raises(QueryFailed) as info:
        backend.create_index(path, IndexSpec(("email",), unique=True))  # the server names it
    message = str(info.value)
    assert "could not create unique index" in message
    assert "(email)=(a@x) is duplicated" in message
    left = f"{t}_email_idx"
    assert f"INVALID index {left}" in message
    broken = by_name(backend.list_indexes(path))[left]
    assert not broken.valid and "invalid" in broken.flags and broken.unique
    backend.drop_index(path, left)
    assert left not in by_name(backend.list_indexes(path))


def test_quoted_names_mixed_case_and_expressions_are_handled(
    backend: PostgresBackend, admin: Any
) -> None:
    schema, table = "Sales Dept", fresh("Order Items")
    run(admin, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    run(
        admin,
        f'CREATE TABLE "{schema}"."{table}" (id int PRIMARY KEY, "select" int, '
        '"CustomerId" int, "Note Text" text)',
    )
    run(
        admin,
        f'INSERT INTO "{schema}"."{table}" SELECT g, g, g % 10, \'N\' || g '
        "FROM generate_series(1, 100) g",
    )
    path = (DB, schema, table)
    name = "OrderItems_Select_idx"
    spec = IndexSpec(("select", "CustomerId DESC", 'lower("Note Text")'), name=name)
    plan = backend.plan_index(CreateIndex(path, spec))
    assert plan.text == (
        f'CREATE INDEX CONCURRENTLY "{name}" ON "{schema}"."{table}" USING btree '
        '("select", "CustomerId" DESC, (lower("Note Text")))'
    )
    backend.create_index(path, spec)
    made = by_name(backend.list_indexes(path))[name]
    assert made.columns == '"select", "CustomerId", lower("Note Text")'
    assert '"CustomerId" DESC' in made.definition
    label = backend.explain(f'SELECT * FROM "{schema}"."{table}"').root.label
    assert label == f'Seq Scan on "{table}"'
    backend.drop_index(path, name)
    assert name not in by_name(backend.list_indexes(path))


def test_index_changes_refuse_to_join_an_open_transaction(
    backend: PostgresBackend, admin: Any
) -> None:
    t = fresh("busy")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, v int)")
    backend.execute("BEGIN")  # typed in the query editor
    try:
        with pytest.raises(QueryFailed, match="transaction is open"):
            backend.create_index((DB, "public", t), IndexSpec(("v",)))
    finally:
        backend.execute("ROLLBACK")
    assert len(backend.list_indexes((DB, "public", t))) == 1


# -- read-only -------------------------------------------------------------------------------


def test_read_only_connection_explains_but_never_writes(
    read_only: PostgresBackend, admin: Any
) -> None:
    t = fresh("guarded")
    run(admin, f"CREATE TABLE {t} (id int PRIMARY KEY, v int)")
    run(admin, f"CREATE SEQUENCE {t}_seq")
    run(admin, f"INSERT INTO {t} SELECT g, 0 FROM generate_series(1, 10) g")
    assert read_only.explain(f"UPDATE {t} SET v = 1").root.label == f"Update on {t}"
    assert read_only.explain(f"SELECT * FROM {t}", analyze=True).root.actual_rows == 10
    with pytest.raises(ReadOnly):
        read_only.explain(f"UPDATE {t} SET v = 1", analyze=True)
    with pytest.raises(ReadOnly):
        read_only.explain(f"WITH d AS (DELETE FROM {t} RETURNING 1) SELECT 1", analyze=True)
    # A SELECT that writes through a function: PostgreSQL's read-only session refuses it.
    with pytest.raises(ReadOnly):
        read_only.explain(f"SELECT nextval('{t}_seq')", analyze=True)
    path = (DB, "public", t)
    with pytest.raises(ReadOnly):
        read_only.plan_index(CreateIndex(path, IndexSpec(("v",))))
    with pytest.raises(ReadOnly):
        read_only.create_index(path, IndexSpec(("v",)))
    with pytest.raises(ReadOnly):
        read_only.drop_index(path, f"{t}_pkey")
    assert [i.name for i in read_only.list_indexes(path)] == [f"{t}_pkey"]
    assert one(admin, f"SELECT count(*) FROM {t} WHERE v <> 0") == 0


# -- reviewed defects: one statement for real, cancellable ANALYZE -----------------------------


def test_explain_never_runs_a_second_statement_hidden_behind_a_backslash(
    backend: PostgresBackend, read_only: PostgresBackend, admin: Any
) -> None:
    t = fresh("smuggled")
    run(admin, f"CREATE TABLE {t} AS SELECT g AS id FROM generate_series(1, 20) g")
    # In PostgreSQL 'C:\' is a whole string: what follows is a second statement.
    for analyze, second in (
        (False, f"DELETE FROM {t} WHERE id <= 10"),
        (True, f"COMMIT; DELETE FROM {t} WHERE id <= 10"),
    ):
        with pytest.raises(QueryFailed, match="one statement"):
            backend.explain(f"SELECT 'C:\\'; {second}; --'", analyze=analyze)
    assert one(admin, f"SELECT count(*) FROM {t}") == 20
    with pytest.raises(QueryFailed, match="one statement"):
        read_only.explain("SELECT 'C:\\'; SET default_transaction_read_only = off; --'")
    with pytest.raises(ReadOnly):
        read_only.execute(f"DELETE FROM {t} WHERE id <= 10")
    assert one(admin, f"SELECT count(*) FROM {t}") == 20


def test_cancel_stops_explain_analyze(backend: PostgresBackend) -> None:
    outcome: list[BaseException | None] = []
    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        try:
            backend.explain("SELECT pg_sleep(3)", analyze=True)
            outcome.append(None)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)
        elapsed.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.5)
    backend.cancel()
    worker.join(5)
    assert isinstance(outcome[0], Cancelled)
    assert elapsed[0] < 1.5
    assert backend.explain("SELECT 1").root.label == "Result"
