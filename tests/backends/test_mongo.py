"""MongoDB-specific behaviour, against the real SecantusDB sandbox server.

What a user would notice: nested documents flattened into text, an ObjectId
shown as bytes, a missing field shown as null, a page that skips the string
_ids after the numeric ones, a walk with a small page size that takes minutes,
a dropped collection that silently looks empty.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import bson
import pymongo
import pytest

from storescope.backends import open_backend, sandbox
from storescope.backends.base import Capability
from storescope.backends.errors import (
    ConnectionFailed,
    ConnectionLost,
    NotFound,
    NotSupported,
    QueryFailed,
)
from storescope.backends.mongo import MongoBackend, bson_to_neutral, neutral_to_bson
from storescope.backends.types import (
    MISSING,
    BinaryValue,
    NodeKind,
    ObjectIdValue,
    Page,
    TaggedValue,
)

DB = "storescope_mongo_tests"


@pytest.fixture(scope="module")
def raw(mongo_server: sandbox.Server) -> Iterator[pymongo.MongoClient[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        mongo_server.url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    client.drop_database(DB)
    yield client
    client.drop_database(DB)
    client.close()


@pytest.fixture
def backend(mongo_server: sandbox.Server) -> Iterator[MongoBackend]:
    b = open_backend(mongo_server.url)
    assert isinstance(b, MongoBackend)
    b.connect()
    yield b
    b.close()


def fresh(raw: pymongo.MongoClient[dict[str, Any]], name: str) -> Any:
    collection = raw[DB][name]
    collection.drop()
    return collection


def column(page: Page, name: str) -> list[Any]:
    index = [c.name for c in page.columns].index(name)
    return [row[index] for row in page.rows]


def walk(backend: MongoBackend, path: tuple[str, ...], limit: int) -> list[Page]:
    pages: list[Page] = []
    cursor: str | None = None
    while True:
        page = backend.browse(path, cursor=cursor, limit=limit)
        pages.append(page)
        if page.next_cursor is None:
            return pages
        assert len(page.rows) == limit
        cursor = page.next_cursor


def walk_from(
    backend: MongoBackend, path: tuple[str, ...], cursor: str | None, limit: int
) -> list[Page]:
    pages: list[Page] = []
    while cursor is not None:
        page = backend.browse(path, cursor=cursor, limit=limit)
        pages.append(page)
        cursor = page.next_cursor
    return pages


def walk_stateless(backend: MongoBackend, path: tuple[str, ...], limit: int) -> list[Page]:
    """Every page from a new connection, so no held server cursor can help."""
    pages: list[Page] = []
    cursor: str | None = None
    while True:
        other = backend.clone()
        other.connect()
        try:
            page = other.browse(path, cursor=cursor, limit=limit)
        finally:
            other.close()
        pages.append(page)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def all_ids(pages: list[Page]) -> list[Any]:
    return [v for page in pages for v in column(page, "_id")]


def query_count(raw: pymongo.MongoClient[dict[str, Any]]) -> int:
    return int(raw.admin.command("serverStatus")["opcounters"]["query"])


# -- documents and values ---------------------------------------------------------


def test_nested_documents_and_arrays_come_back_as_dicts_and_lists(
    raw: Any, backend: MongoBackend
) -> None:
    oid = bson.ObjectId()
    fresh(raw, "nested").insert_one(
        {"_id": 1, "user": {"name": "ann", "tags": ["a", {"deep": oid}], "n": bson.Int64(3)}}
    )
    page = backend.browse((DB, "nested"), limit=10)
    user = column(page, "user")[0]
    assert user == {"name": "ann", "tags": ["a", {"deep": ObjectIdValue(str(oid))}], "n": 3}
    assert type(user["n"]) is int


def test_default_objectid_ids_page_in_insertion_order(raw: Any, backend: MongoBackend) -> None:
    collection = fresh(raw, "oids")
    collection.insert_many([{"i": i} for i in range(23)])
    expected = [ObjectIdValue(str(d["_id"])) for d in collection.find().sort("_id", 1)]
    pages = walk(backend, (DB, "oids"), 5)
    assert all_ids(pages) == expected
    assert len(pages) == 5
    assert [v for p in pages for v in column(p, "i")] == list(range(23))


def test_differing_fields_give_a_union_of_columns_with_missing_distinct_from_null(
    raw: Any, backend: MongoBackend
) -> None:
    fresh(raw, "ragged").insert_many(
        [{"b": 1, "_id": 1}, {"_id": 2, "c": None}, {"_id": 3, "a": "x", "b": 2}]
    )
    page = backend.browse((DB, "ragged"), limit=10)
    assert [c.name for c in page.columns] == ["_id", "b", "c", "a"]
    assert page.columns[0].primary_key
    assert page.rows == (
        (1, 1, MISSING, MISSING),
        (2, MISSING, None, MISSING),
        (3, 2, MISSING, "x"),
    )
    assert page.rows[1][2] is None and page.rows[0][2] is MISSING


def test_bson_types_convert_to_neutral_values_and_back(raw: Any, backend: MongoBackend) -> None:
    when = dt.datetime(2024, 2, 29, 12, 30, 15, 123000, tzinfo=dt.UTC)
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    doc = {
        "_id": 1,
        "dec": bson.Decimal128("12345.678901234567890"),
        "when": when,
        "bin": bson.Binary(b"\x00\x01\xff", 0),
        "custom": bson.Binary(b"zz", 0x80),
        "uuid": bson.Binary.from_uuid(u),
        "long": bson.Int64(2**40),
        "small": bson.Int64(7),
        "regex": bson.Regex("^ab.c$", "im"),
        "ts": bson.Timestamp(1700000000, 3),
        "min": bson.MinKey(),
        "max": bson.MaxKey(),
        "code": bson.Code("function () { return 1; }"),
        "oid": bson.ObjectId("65a1b2c3d4e5f60718293a4b"),
        "f": 1.5,
        "t": True,
        "none": None,
        "arr": [bson.Int64(1), {"d": bson.Decimal128("1.10")}],
    }
    fresh(raw, "types").insert_one(doc)
    page = backend.browse((DB, "types"), limit=1)
    got = dict(zip([c.name for c in page.columns], page.rows[0], strict=True))
    assert got["dec"] == Decimal("12345.678901234567890")
    assert got["when"] == when and got["when"].tzinfo == dt.UTC
    assert got["bin"] == BinaryValue(b"\x00\x01\xff", 0)
    assert got["custom"] == BinaryValue(b"zz", 0x80)
    assert got["uuid"] == TaggedValue("UUID", str(u))
    assert got["long"] == 2**40 and type(got["small"]) is int
    assert str(got["regex"]) == "Regex(/^ab.c$/im)"
    assert str(got["ts"]) == "Timestamp({ t: 1700000000, i: 3 })"
    assert str(got["min"]) == "MinKey()" and str(got["max"]) == "MaxKey()"
    assert got["code"] == TaggedValue("Code", "function () { return 1; }")
    assert got["oid"] == ObjectIdValue("65a1b2c3d4e5f60718293a4b")
    assert got["arr"] == [1, {"d": Decimal("1.10")}]
    # Back to BSON: the server finds the original document by every value.
    back = neutral_to_bson(got)
    for field, value in back.items():
        assert raw[DB]["types"].count_documents({field: value}) == 1, field
    assert isinstance(back["uuid"], bson.Binary) and back["uuid"].subtype == 4
    assert isinstance(back["dec"], bson.Decimal128)


def test_neutral_values_without_a_bson_type_are_refused() -> None:
    with pytest.raises(NotSupported):
        neutral_to_bson(dt.timedelta(seconds=1))
    with pytest.raises(NotSupported):
        neutral_to_bson(ObjectIdValue("not hex"))
    assert neutral_to_bson({"a": MISSING, "b": 1}) == {"b": 1}
    assert bson_to_neutral(bson.Int64(5)) == 5
    # A date beyond datetime's range (SecantusDB cannot store one, MongoDB can).
    far = bson.DatetimeMS(-(10**15))
    assert bson_to_neutral(far) == TaggedValue("Date", str(-(10**15)))
    assert neutral_to_bson(bson_to_neutral(far)) == far


# -- paging -------------------------------------------------------------------------


MIXED_IDS: list[Any] = [
    bson.MinKey(),
    None,
    float("nan"),
    -5,
    1.5,
    2,
    bson.Int64(3),
    bson.Decimal128("3.5"),
    10,
    "",
    "a",
    "b",
    "10",
    {"k": 1},
    b"\x01",
    bson.ObjectId("000000000000000000000001"),
    bson.ObjectId(),
    False,
    True,
    dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    bson.Timestamp(1, 1),
    bson.MaxKey(),
]


@pytest.fixture(scope="module")
def mixed(raw: Any) -> tuple[str, str]:
    collection = fresh(raw, "mixed")
    collection.insert_many([{"_id": v, "i": i} for i, v in enumerate(MIXED_IDS)])
    return (DB, "mixed")


def raw_order(raw: Any, path: tuple[str, str]) -> list[Any]:
    return [bson_to_neutral(d["_id"]) for d in raw[path[0]][path[1]].find().sort("_id", 1)]


def same(a: list[Any], b: list[Any]) -> bool:
    # NaN != NaN; compare representations.
    return [repr(x) for x in a] == [repr(x) for x in b]


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_mixed_type_ids_page_without_gaps_in_bson_order(
    raw: Any, backend: MongoBackend, mixed: tuple[str, str], limit: int
) -> None:
    expected = raw_order(raw, mixed)
    assert len(expected) == len(MIXED_IDS)
    assert same(all_ids(walk(backend, mixed, limit)), expected)
    assert same(all_ids(walk_stateless(backend, mixed, limit)), expected)


def test_int_and_string_ids_page_across_the_type_boundary(raw: Any, backend: MongoBackend) -> None:
    collection = fresh(raw, "int_str")
    collection.insert_many([{"_id": i} for i in range(7)] + [{"_id": f"s{i}"} for i in range(7)])
    expected = list(range(7)) + [f"s{i}" for i in range(7)]
    for limit in (3, 7, 13):
        assert all_ids(walk(backend, (DB, "int_str"), limit)) == expected
        assert all_ids(walk_stateless(backend, (DB, "int_str"), limit)) == expected


def test_held_cursor_and_stateless_queries_give_identical_pages(
    raw: Any, backend: MongoBackend
) -> None:
    collection = fresh(raw, "same_pages")
    collection.insert_many([{"_id": i, "v": i * i} for i in range(40)])
    path = (DB, "same_pages")
    held = walk(backend, path, 6)
    assert held == walk_stateless(backend, path, 6)
    # Re-reading an older token (page 2's cursor after walking further) gives
    # page 3 again, not whatever the held cursor is positioned at.
    assert backend.browse(path, cursor=held[1].next_cursor, limit=6) == held[2]
    assert backend.browse(path, cursor=held[3].next_cursor, limit=6) == held[4]
    # A token survives a reconnect.
    backend.connect()
    assert backend.browse(path, cursor=held[2].next_cursor, limit=6) == held[3]


def test_walking_with_a_small_page_reads_through_one_server_cursor(
    raw: Any, backend: MongoBackend
) -> None:
    """Each stateless find costs SecantusDB a scan of the whole collection;
    walking 1,000 documents seven at a time must not issue 143 of them."""
    collection = fresh(raw, "one_cursor")
    collection.insert_many([{"_id": i} for i in range(1000)])
    before = query_count(raw)
    pages = walk(backend, (DB, "one_cursor"), 7)
    assert all_ids(pages) == list(range(1000))
    assert query_count(raw) - before <= 2


def test_a_killed_server_cursor_is_replaced_without_gaps(raw: Any, backend: MongoBackend) -> None:
    collection = fresh(raw, "killed")
    collection.insert_many([{"_id": i} for i in range(1200)])
    path = (DB, "killed")
    first = backend.browse(path, limit=450)
    second = backend.browse(path, cursor=first.next_cursor, limit=100)
    # Kill the held cursor from outside, as the server does after its idle
    # timeout; the next page must notice and re-query from its token.
    held = backend._held[path]  # the only way to learn its id
    assert held._cursor is not None
    raw[DB].command("killCursors", "killed", cursors=[held._cursor.cursor_id])
    rest = walk_from(backend, path, second.next_cursor, 100)
    ids = all_ids([first, second, *rest])
    assert ids == list(range(1200))


def test_interleaved_walks_of_more_collections_than_held_cursors_still_join(
    raw: Any, backend: MongoBackend
) -> None:
    names = [f"lru_{i}" for i in range(6)]
    for name in names:
        fresh(raw, name).insert_many([{"_id": i} for i in range(12)])
    cursors: dict[str, str | None] = dict.fromkeys(names)
    ids: dict[str, list[Any]] = {name: [] for name in names}
    for _ in range(4):
        for name in names:
            page = backend.browse((DB, name), cursor=cursors[name], limit=3)
            ids[name] += column(page, "_id")
            cursors[name] = page.next_cursor
    assert all(ids[name] == list(range(12)) for name in names)
    assert all(cursors[name] is None for name in names)
    assert len(backend._held) <= 4


def test_a_collection_dropped_between_pages_raises_not_found(
    raw: Any, backend: MongoBackend
) -> None:
    """Documented behaviour: NotFound, never a quiet empty final page. A held
    cursor may first finish the batch the server already sent."""
    collection = fresh(raw, "dropped")
    collection.insert_many([{"_id": i} for i in range(30)])
    path = (DB, "dropped")
    first = backend.browse(path, limit=5)
    collection.drop()
    # Stateless (another connection, no held cursor): at once.
    other = backend.clone()
    other.connect()
    try:
        with pytest.raises(NotFound):
            other.browse(path, cursor=first.next_cursor, limit=5)
    finally:
        other.close()
    # Held cursor: before any page claims to be the last one.
    with pytest.raises(NotFound):
        walk_from(backend, path, first.next_cursor, 5)


def test_pages_report_the_collection_estimate(raw: Any, backend: MongoBackend) -> None:
    fresh(raw, "counted").insert_many([{"_id": i} for i in range(17)])
    pages = walk(backend, (DB, "counted"), 5)
    assert [p.total_estimate for p in pages] == [17] * 4


def test_a_page_cursor_from_elsewhere_is_refused(backend: MongoBackend, mixed: Any) -> None:
    with pytest.raises(QueryFailed):
        backend.browse(mixed, cursor="not-a-cursor!", limit=5)


def test_filter_and_sort_are_not_supported_yet(backend: MongoBackend, mixed: Any) -> None:
    with pytest.raises(NotSupported):
        backend.browse(mixed, limit=5, filter={"i": 1})
    with pytest.raises(NotSupported):
        backend.browse(mixed, limit=5, sort=[("i", 1)])
    assert MongoBackend.capabilities == Capability.NONE


# -- catalog ------------------------------------------------------------------------


def test_catalog_lists_databases_collections_views_and_estimates(
    raw: Any, backend: MongoBackend
) -> None:
    fresh(raw, "cat_docs").insert_many([{"_id": i} for i in range(9)])
    fresh(raw, "cat_view")
    raw[DB].create_collection(
        "cat_view", viewOn="cat_docs", pipeline=[{"$match": {"_id": {"$gt": 4}}}]
    )
    databases = backend.list_children(())
    assert any(n.path == (DB,) and n.kind == NodeKind.DATABASE and n.expandable for n in databases)
    nodes = {n.name: n for n in backend.list_children((DB,))}
    docs, view = nodes["cat_docs"], nodes["cat_view"]
    assert docs.kind == NodeKind.COLLECTION and docs.browsable and docs.estimate == 9
    assert docs.detail == ""
    assert view.detail == "view" and view.browsable and view.estimate is None
    assert not any(name.startswith("system.") for name in nodes)
    assert column(backend.browse(view.path, limit=10), "_id") == [5, 6, 7, 8]
    assert backend.list_children(docs.path) == []


def test_unknown_database_or_collection_is_not_found_and_not_created(
    raw: Any, backend: MongoBackend
) -> None:
    with pytest.raises(NotFound):
        backend.list_children(("no_such_database",))
    with pytest.raises(NotFound):
        backend.browse(("no_such_database", "c"), limit=5)
    with pytest.raises(NotFound):
        backend.browse((DB, "no_such_collection"), limit=5)
    with pytest.raises(NotFound):
        backend.list_children((DB, "no_such_collection"))
    assert "no_such_database" not in raw.list_database_names()
    assert "no_such_collection" not in raw[DB].list_collection_names()


def test_a_database_is_not_browsable(backend: MongoBackend, mixed: Any) -> None:
    with pytest.raises(NotSupported):
        backend.browse((DB,), limit=5)


# -- connection ---------------------------------------------------------------------


def test_server_info_names_mongodb_and_its_version(backend: MongoBackend) -> None:
    info = backend.server_info()
    assert info.product == "MongoDB" and info.version[0].isdigit()


def test_wrong_password_fails_to_connect_without_showing_it(
    raw: Any, mongo_server: sandbox.Server
) -> None:
    raw.admin.command("createUser", "storescope_ann", pwd="right-pw", roles=["root"])
    try:
        url = mongo_server.url.replace("mongodb://", "mongodb://storescope_ann:wrong-pw-123@")
        b = open_backend(url, connect_timeout=3)
        with pytest.raises(ConnectionFailed) as info:
            b.connect()
        assert "wrong-pw-123" not in str(info.value)
        assert "authentication" in str(info.value)
        ok = open_backend(url.replace("wrong-pw-123", "right-pw"))
        ok.connect()
        assert ok.ping() >= 0
        ok.close()
    finally:
        raw.admin.command("dropUser", "storescope_ann")


def test_unconnected_backend_reports_connection_lost(mongo_server: sandbox.Server) -> None:
    b = open_backend(mongo_server.url)
    with pytest.raises(ConnectionLost):
        b.ping()
    b.close()
    b.close()


def test_a_server_that_goes_away_gives_connection_lost() -> None:
    server = sandbox.start_mongo()
    try:
        b = open_backend(server.url, connect_timeout=2)
        b.connect()
        b.ping()
    finally:
        server.stop()
    start = time.monotonic()
    with pytest.raises(ConnectionLost):
        b.ping()
    assert time.monotonic() - start < 5
    b.close()


def test_read_only_is_remembered(mongo_server: sandbox.Server) -> None:
    b = open_backend(mongo_server.url, read_only=True)
    assert b.read_only and b.clone().read_only
