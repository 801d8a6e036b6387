"""One suite, written once, run against every backend over its real server.

What a user would notice if it broke: a page that repeats or skips records,
a "more..." that never ends, an odd table name that cannot be opened, a
driver traceback instead of a message, a hang on a dead host.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from storescope.backends import open_backend
from storescope.backends.base import Backend
from storescope.backends.errors import BackendError, ConnectionFailed, NotFound
from storescope.backends.paths import decode_path, encode_path
from storescope.backends.types import Node, Page, Truncated

BIG = 10_000

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
    if harness.kind == "fake":
        pytest.skip("the fake has no network")
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
    if harness.kind == "fake":
        pytest.skip("the fake has no network")
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
    from storescope.backends.base import Capability

    assert isinstance(type(backend).capabilities, Capability)
