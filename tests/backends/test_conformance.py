"""One suite, written once, run against every backend over its real server.

What a user would notice if it broke: a page that repeats or skips records,
a "more..." that never ends, an odd table name that cannot be opened, a
driver traceback instead of a message, a hang on a dead host.

Capability contracts (the second half), in the style of fsspec's shared
suites for implementers: each test runs for a backend whose ``Capability``
flags declare its group and is skipped otherwise, so a store joins a
contract by declaring the flag. They run on ``harness.contract_url`` (the
seeded database; for the fake, the capabilities it can honour), and read a
few more things from the harness, which a store declaring the flag must
provide:

- QUERY: ``query_all(path)``, a read of every record of a seeded container
  (identity first, as ``record_ids`` reads it); ``write_statement(path)``,
  a write to record 1 (a harness without one skips the read-only check).
- CANCEL: ``slow_statement()``, a read that runs for about 30 s.
- MONITOR: ``start_victim()``, something running on a second connection
  with ``key`` (its row's id in a stats table), ``stopped(timeout)`` and
  ``close()``, for a monitor action to act on.
- RECORDS and PLAN: a seeded container's records have a ``label`` text
  field and the key ``record_schema`` names.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from storescope.backends import open_backend
from storescope.backends.base import Backend, Capability
from storescope.backends.errors import (
    BackendError,
    Cancelled,
    ConnectionFailed,
    NotFound,
    NotSupported,
    QueryFailed,
    ReadOnly,
)
from storescope.backends.paths import decode_path, encode_path
from storescope.backends.types import (
    ActionDanger,
    Atomicity,
    Change,
    CreateIndex,
    Explained,
    IndexSpec,
    Insert,
    Node,
    Page,
    PlanNode,
    RecordKey,
    Stats,
    Truncated,
    Update,
)

# Over every store's internal batch (S3 and Redis fetch up to 1,000 keys per
# round trip, MongoDB at least 500 per batch) and a multiple of none of the
# limits paged with (500, 7, 1), so each walk crosses a refill and ends on a
# partial page.
BIG = 1_100

ODD_NAME = "Odd name 'q' \"dq\" ünï/%x"


@pytest.fixture
def backend(harness: Any) -> Iterator[Backend]:
    b = open_backend(harness.url)
    b.connect()
    try:
        yield b
    finally:
        b.close()


def walk(
    backend: Backend, path: tuple[str, ...], limit: int, harness: Any
) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = backend.browse(path, cursor=cursor, limit=limit)
        assert isinstance(page, Page)
        assert len(page.rows) <= limit
        if page.next_cursor is not None:
            assert len(page.rows) == limit, "a non-final page must be full"
            assert isinstance(page.next_cursor, str)
        ids.extend(harness.record_ids(page))
        pages += 1
        if page.next_cursor is None:
            return ids, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [500, 7, 1])
def test_pages_join_without_gaps_or_duplicates(harness: Any, backend: Backend, limit: int) -> None:
    n = BIG
    path = harness.seed_records(f"pages_{n}", n)
    ids, pages = walk(backend, path, limit, harness)
    assert len(ids) == len(set(ids)), "a record appeared on two pages"
    assert set(ids) == harness.seeded_ids(path), "pages skipped or invented records"
    assert len(ids) == n
    assert pages == -(-n // limit)


def test_last_page_ends_the_cursor(harness: Any, backend: Backend) -> None:
    path = harness.seed_records("exact_10", 10)
    first = backend.browse(path, limit=10)
    assert len(first.rows) == 10
    assert first.next_cursor is None, "exactly `limit` records must not leave a cursor"
    page = backend.browse(path, limit=9)
    assert len(page.rows) == 9 and page.next_cursor is not None
    last = backend.browse(path, cursor=page.next_cursor, limit=9)
    assert len(last.rows) == 1 and last.next_cursor is None


def _holds_a_preview(value: Any) -> bool:
    if isinstance(value, Truncated):
        return True
    if isinstance(value, dict):
        return any(_holds_a_preview(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_a_preview(v) for v in value)
    return False


def _big(harness: Any) -> tuple[tuple[str, ...], str, Any]:
    seeded = harness.seed_big_value()
    if seeded is None:
        pytest.skip(f"{harness.kind} pages hold no values that could be cut")
    return seeded  # type: ignore[no-any-return]


def test_whole_pages_hold_big_values_whole(harness: Any, backend: Backend) -> None:
    """``whole=True`` (what csv/json/jsonl exports ask for): the value is
    there in full, and nothing on the page is a preview, at any depth."""
    path, field, value = _big(harness)
    page = backend.browse(path, limit=10, whole=True)
    at = [c.name for c in page.columns].index(field)
    cells = [row[at] for row in page.rows]
    assert not any(_holds_a_preview(v) for row in page.rows for v in row)
    assert sum(1 for c in cells if c == value) == 1, [str(c)[:40] for c in cells]


def test_preview_pages_cut_big_values_with_their_true_size(harness: Any, backend: Backend) -> None:
    """Without ``whole`` a big value is its preview (or whole, where a store
    never cuts): a ``Truncated`` that starts like the value and says its size."""
    path, field, value = _big(harness)
    page = backend.browse(path, limit=10)
    at = [c.name for c in page.columns].index(field)
    cells = [row[at] for row in page.rows if row[at] == value or isinstance(row[at], Truncated)]
    assert len(cells) == 1
    cell = cells[0]
    if isinstance(cell, Truncated):
        assert isinstance(cell.preview, str) and value.startswith(cell.preview)
        assert len(cell.preview) < len(value)
        size = len(value.encode()) if cell.unit == "bytes" else len(value)
        assert cell.total_size == size


@pytest.mark.parametrize("limit", [1, 500])
def test_whole_pages_join_without_gaps_or_duplicates(
    harness: Any, backend: Backend, limit: int
) -> None:
    path = (
        harness.seed_records(f"pages_{BIG}", BIG)
        if limit > 1
        else harness.seed_records("exact_10", 10)
    )
    ids = [
        i
        for page in backend.iter_pages(path, limit=limit, whole=True)
        for i in harness.record_ids(page)
    ]
    assert len(ids) == len(set(ids))
    assert set(ids) == harness.seeded_ids(path)


def test_empty_container_gives_one_empty_final_page(harness: Any, backend: Backend) -> None:
    page = backend.browse(harness.make_empty(), limit=50)
    assert page.rows == ()
    assert page.next_cursor is None


def test_odd_names_list_and_browse(harness: Any, backend: Backend) -> None:
    path = harness.seed_records(ODD_NAME, 3)
    assert decode_path(encode_path(path)) == path
    siblings = backend.list_children(path[:-1])
    assert all(isinstance(n, Node) for n in siblings)
    match = [n for n in siblings if n.path == path]
    assert match, f"{path!r} not listed under {path[:-1]!r}: {[n.path for n in siblings][:20]}"
    assert match[0].browsable
    assert match[0].name == path[-1]
    ids, _ = walk(backend, path, 2, harness)
    assert sorted(ids) == sorted(harness.seeded_ids(path))


def test_catalog_top_level_lists_seeded_container(harness: Any, backend: Backend) -> None:
    path = harness.seed_records("pages_10", 10)
    top = backend.list_children(())
    assert any(n.path == path[:1] for n in top)
    for depth in range(1, len(path)):
        children = backend.list_children(path[:depth])
        assert any(n.path == path[: depth + 1] for n in children), path[: depth + 1]


def test_missing_path_is_not_found(harness: Any, backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.browse(harness.missing_path(), limit=10)


def test_driver_errors_are_translated_with_their_cause(harness: Any, backend: Backend) -> None:
    call = harness.driver_error(backend)
    with pytest.raises(BackendError) as info:
        call()
    err = info.value
    assert str(err) and "\n" not in str(err)
    assert err.__cause__ is not None and not isinstance(err.__cause__, BackendError)


def test_backend_is_usable_after_a_failed_call(harness: Any, backend: Backend) -> None:
    with pytest.raises(BackendError):
        harness.driver_error(backend)()
    backend.ping()
    path = harness.seed_records("exact_10", 10)
    assert len(backend.browse(path, limit=5).rows) == 5


def test_server_info_and_ping(harness: Any, backend: Backend) -> None:
    info = backend.server_info()
    assert info.product and info.version
    assert backend.ping() >= 0


def test_closed_port_fails_fast_with_connection_failed(harness: Any) -> None:
    if not getattr(harness, "network", True):
        pytest.skip(f"{harness.kind} has no network")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = open_backend(harness.url_for_port(port), connect_timeout=2)
    t = time.monotonic()
    with pytest.raises(ConnectionFailed):
        b.connect()
    assert time.monotonic() - t < 5


def test_silent_server_fails_within_5_seconds(harness: Any) -> None:
    """A host that accepts TCP but never answers (a firewall black hole, a
    wedged server) must not hang the app."""
    if not getattr(harness, "network", True):
        pytest.skip(f"{harness.kind} has no network")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        b = open_backend(harness.url_for_port(port), connect_timeout=2)
        start = time.monotonic()
        with pytest.raises(ConnectionFailed):
            b.connect()
        assert time.monotonic() - start < 5
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        listener.close()


def test_capabilities_are_flags_not_probes(harness: Any, backend: Backend) -> None:
    assert isinstance(type(backend).capabilities, Capability)


# -- capability contracts -------------------------------------------------------


def _open(harness: Any, *, read_only: bool = False) -> Backend:
    b = open_backend(getattr(harness, "contract_url", harness.url), read_only=read_only)
    b.connect()
    return b


@pytest.fixture
def capable(harness: Any) -> Iterator[Backend]:
    """The backend the capability contracts run on."""
    b = _open(harness)
    try:
        yield b
    finally:
        b.close()


def requires(backend: Backend, flags: Capability) -> None:
    """Skip unless ``backend`` declares every one of ``flags`` (read as the
    UI reads them: the flags, never a probe)."""
    missing = flags & ~backend.capabilities
    if missing:
        pytest.skip(f"{backend.product} does not declare {missing}")


def _all_rows(backend: Backend, statement: str, limit: int) -> tuple[list[Any], int, Any]:
    """Every row of ``statement``, paged with ``fetch``; the rows, the page
    count and the first result."""
    first = backend.execute(statement, limit=limit)
    rows = list(first.rows)
    pages = 1
    assert len(first.rows) <= limit
    cursor = first.next_cursor
    if cursor is not None:
        assert len(first.rows) == limit, "a non-final page must be full"
    while cursor is not None:
        page = backend.fetch(cursor, limit=limit)
        assert len(page.rows) <= limit
        if page.next_cursor is not None:
            assert len(page.rows) == limit, "a non-final page must be full"
        rows.extend(page.rows)
        pages += 1
        cursor = page.next_cursor
    return rows, pages, first


def _ids(harness: Any, columns: Any, rows: list[Any]) -> list[str]:
    return list(harness.record_ids(Page(tuple(columns), tuple(rows), None)))


@pytest.mark.parametrize("limit", [500, 7, 1])
def test_query_results_page_without_gaps_or_duplicates(
    harness: Any, capable: Backend, limit: int
) -> None:
    """A result walked with ``fetch`` holds every record once, in full pages."""
    requires(capable, Capability.QUERY)
    path = harness.seed_records(f"pages_{BIG}", BIG)
    rows, pages, first = _all_rows(capable, harness.query_all(path), limit)
    ids = _ids(harness, first.columns, rows)
    assert len(ids) == len(set(ids)) == BIG
    assert set(ids) == harness.seeded_ids(path)
    assert pages == -(-BIG // limit)
    if first.handle is not None:
        capable.release(first.handle)


def test_query_release_frees_the_result_and_is_idempotent(harness: Any, capable: Backend) -> None:
    """After ``release``, a later page of that result is either read again
    from the same place (a read re-run and positioned) or refused with
    QueryFailed; releasing twice or an unknown handle changes nothing, and
    the backend keeps answering."""
    requires(capable, Capability.QUERY)
    path = harness.seed_records("exact_10", 10)
    statement = harness.query_all(path)
    first = capable.execute(statement, limit=3)
    assert first.next_cursor is not None and first.handle is not None
    expected = capable.fetch(first.next_cursor, limit=3).rows
    capable.release(first.handle)
    capable.release(first.handle)
    capable.release("no-such-handle")
    try:
        again = capable.fetch(first.next_cursor, limit=3)
    except QueryFailed:
        pass
    else:
        assert again.rows == expected, "a re-run read must resume where the cursor was"
    rows, _, second = _all_rows(capable, statement, 4)
    assert sorted(_ids(harness, second.columns, rows)) == sorted(harness.seeded_ids(path))


def test_cancel_stops_a_running_statement_and_the_backend_stays_usable(
    harness: Any, capable: Backend
) -> None:
    requires(capable, Capability.QUERY | Capability.CANCEL)
    capable.cancel()  # nothing runs: a no-op
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            capable.execute(harness.slow_statement())
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 (the test reports what came out)
            outcome.append(e)

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    time.sleep(0.3)
    # cancel() is a no-op until the statement runs: ask until it has ended.
    while worker.is_alive() and time.monotonic() - started < 10:
        capable.cancel()
        worker.join(0.2)
    assert not worker.is_alive(), "cancel() did not stop the statement"
    assert time.monotonic() - started < 10
    assert outcome and isinstance(outcome[0], Cancelled), outcome
    assert str(outcome[0]) and "\n" not in str(outcome[0])
    path = harness.seed_records("exact_10", 10)
    rows, _, _ = _all_rows(capable, harness.query_all(path), 20)
    assert len(rows) == 10


def _keyed_rows(backend: Backend, path: tuple[str, ...]) -> tuple[list[RecordKey], int]:
    """The keys of a container's first records, and where ``label`` sits."""
    schema = backend.record_schema(path)
    assert schema.read_only_reason is None and schema.key
    page = backend.browse(path, limit=5)
    names = [c.name for c in page.columns]
    keys = [tuple((k, row[names.index(k)]) for k in schema.key) for row in page.rows]
    return keys, names.index("label")


def _label(backend: Backend, path: tuple[str, ...], key: RecordKey) -> Any:
    return dict(backend.get(path, key).fields)["label"]


def test_plan_counts_and_changes_nothing_then_apply_does_it(harness: Any, capable: Backend) -> None:
    requires(capable, Capability.RECORDS | Capability.PLAN)
    path = harness.seed_records("plan_apply", 3)
    keys, _ = _keyed_rows(capable, path)
    before = _label(capable, path, keys[0])
    change = Update(path, keys[0], (("label", "planned"),))
    plan = capable.plan([change])
    assert len(plan.steps) == 1 and plan.steps[0].text.strip()
    assert plan.steps[0].affected == 1
    assert isinstance(plan.atomicity, Atomicity) and plan.atomicity.words
    assert _label(capable, path, keys[0]) == before, "planning changed the record"
    applied = capable.apply([change])
    assert applied.affected == (1,)
    assert _label(capable, path, keys[0]) == "planned"


def test_a_failed_step_leaves_what_the_plan_said(harness: Any, capable: Backend) -> None:
    """Step 2 fails (a duplicate key): QueryFailed names it, and step 1 is
    undone exactly when the plan said ONE_TRANSACTION."""
    requires(capable, Capability.RECORDS | Capability.PLAN)
    path = harness.seed_records("plan_atomicity", 3)
    keys, _ = _keyed_rows(capable, path)
    before = _label(capable, path, keys[0])
    changes: list[Change] = [
        Update(path, keys[0], (("label", "step one ran"),)),
        Insert(path, (*keys[1], ("label", "a duplicate key"))),
    ]
    plan = capable.plan(changes)
    with pytest.raises(QueryFailed) as info:
        capable.apply(changes)
    assert info.value.step == 1
    after = _label(capable, path, keys[0])
    if plan.atomicity is Atomicity.ONE_TRANSACTION:
        assert after == before, "an all-or-nothing plan kept a step of a failed apply"
    else:
        assert after == "step one ran", f"a {plan.atomicity} plan undid a step that ran"


def test_a_missing_record_is_not_found(harness: Any, capable: Backend) -> None:
    requires(capable, Capability.RECORDS)
    path = harness.seed_records("exact_10", 10)
    keys, _ = _keyed_rows(capable, path)
    missing = tuple((name, 10**9) for name, _ in keys[0])
    with pytest.raises(NotFound):
        capable.get(path, missing)
    with pytest.raises(NotFound):
        capable.record_schema(harness.missing_path())


def test_read_only_refuses_changes_and_nothing_changes(harness: Any, capable: Backend) -> None:
    """A read-only connection refuses plans, applies, writes typed as
    queries and index builds (ReadOnly), and the store is as it was."""
    flags = capable.capabilities & (Capability.PLAN | Capability.QUERY | Capability.INDEXES)
    if not flags:
        pytest.skip(f"{capable.product} declares nothing that writes")
    path = harness.seed_records("read_only", 3)
    ro = _open(harness, read_only=True)
    try:
        first = capable.browse(path, limit=5)
        if Capability.RECORDS | Capability.PLAN in capable.capabilities:
            keys, _ = _keyed_rows(capable, path)
            change = Update(path, keys[0], (("label", "read-only broke"),))
            with pytest.raises(ReadOnly):
                ro.plan([change])
            with pytest.raises(ReadOnly):
                ro.apply([change])
        if Capability.QUERY in capable.capabilities and hasattr(harness, "write_statement"):
            with pytest.raises(ReadOnly):
                ro.execute(harness.write_statement(path))
        if Capability.INDEXES in capable.capabilities:
            before = [i.name for i in capable.list_indexes(path)]
            with pytest.raises(ReadOnly):
                ro.create_index(path, IndexSpec(("label",), name=f"{path[-1]}_ro_idx"))
            assert [i.name for i in capable.list_indexes(path)] == before
        assert capable.browse(path, limit=5).rows == first.rows, "a refused write changed data"
    finally:
        ro.close()


def test_indexes_list_create_and_drop(harness: Any, capable: Backend) -> None:
    requires(capable, Capability.INDEXES)
    path = harness.seed_records("index_contract", 20)
    name = "index_contract_label_idx"
    before = capable.list_indexes(path)
    assert len({i.name for i in before}) == len(before)
    assert name not in {i.name for i in before}
    spec = IndexSpec(("label",), name=name)
    planned = capable.plan_index(CreateIndex(path, spec))
    assert planned.text.strip()
    assert name not in {i.name for i in capable.list_indexes(path)}, "planning built it"
    capable.create_index(path, spec)
    made = [i for i in capable.list_indexes(path) if i.name == name]
    assert len(made) == 1 and "label" in made[0].columns
    capable.drop_index(path, name)
    assert name not in {i.name for i in capable.list_indexes(path)}
    with pytest.raises(NotFound):
        capable.drop_index(path, name)
    with pytest.raises(NotFound):
        capable.list_indexes(harness.missing_path())


def _walk(node: PlanNode) -> Iterator[PlanNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def test_explain_returns_a_tree(harness: Any, capable: Backend) -> None:
    requires(capable, Capability.QUERY | Capability.EXPLAIN)
    path = harness.seed_records("exact_10", 10)
    statement = harness.query_all(path)
    explained = capable.explain(statement)
    assert isinstance(explained, Explained) and explained.statement == statement
    assert not explained.analyzed
    nodes = [*_walk(explained.root)]
    for rejected in explained.rejected:
        nodes.extend(_walk(rejected))
    assert all(isinstance(n, PlanNode) and n.label.strip() for n in nodes)
    assert all(n.actual_rows is None for n in _walk(explained.root)), "estimates only"


def test_monitor_samples_metrics_and_tables(harness: Any, capable: Backend) -> None:
    requires(capable, Capability.MONITOR)
    first, second = capable.stats(), capable.stats()
    assert isinstance(first, Stats) and (first.metrics or first.tables)
    assert second.taken_at > first.taken_at
    for sample in (first, second):
        assert len({m.name for m in sample.metrics}) == len(sample.metrics)
        assert all(m.name and isinstance(m.value, float) for m in sample.metrics)
        for table in sample.tables:
            assert table.name and table.columns
            assert all(len(row) == len(table.columns) for row in table.rows), table.name
            if table.actions:
                assert table.key_column is not None and 0 <= table.key_column < len(table.columns)
            ids = [a.id for a in table.described_actions]
            assert len(ids) == len(set(ids))
            assert all(a.label and a.key and a.confirm for a in table.described_actions)


def test_monitor_actions_listed_are_accepted(harness: Any, capable: Backend) -> None:
    """The first action that loses no work, run on a row the harness
    started elsewhere, is accepted and stops it; an action the table does
    not list is refused."""
    requires(capable, Capability.MONITOR)
    if not hasattr(harness, "start_victim"):
        pytest.skip(f"{harness.kind} has nothing running to act on")
    victim = harness.start_victim()
    try:
        table, action = None, None
        deadline = time.monotonic() + 5
        while table is None and time.monotonic() < deadline:
            for t in capable.stats().tables:
                keys = [row[t.key_column] for row in t.rows] if t.key_column is not None else []
                if victim.key in keys:
                    table = t
            if table is None:
                time.sleep(0.1)
        assert table is not None, f"no stats table lists the victim {victim.key!r}"
        gentle = [a for a in table.described_actions if a.danger is not ActionDanger.DESTRUCTIVE]
        if not gentle:
            pytest.skip(f"{capable.product} lists no action that loses no work")
        action = gentle[0]
        outcome = capable.session_action(action.id, victim.key)
        assert isinstance(outcome, str) and outcome and "\n" not in outcome
        assert victim.stopped(5), f"{action.label} did not stop the victim"
        with pytest.raises(NotSupported):
            capable.session_action("no-such-action", victim.key)
    finally:
        victim.close()
