"""Redis-specific behaviour, over the real sandbox redis-server.

Each test owns one logical database (flushed first). db0 and db2 belong to
the demo, db1 and db15 to the conformance harness.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from storescope.backends import open_backend, sandbox
from storescope.backends.base import Backend, Capability
from storescope.backends.errors import (
    ConnectionFailed,
    ConnectionLost,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
)
from storescope.backends.paths import decode_path, encode_path
from storescope.backends.redis import TRUNCATED_MARKER, RedisBackend
from storescope.backends.types import Node, NodeKind, Page, Truncated

RawFactory = Callable[[int], redis.Redis]


@pytest.fixture
def raw(redis_server: sandbox.Server) -> Iterator[RawFactory]:
    """A plain redis-py client per db, for setup; each db is flushed on first use."""
    clients: dict[int, redis.Redis] = {}

    def get(db: int) -> redis.Redis:
        assert db not in (0, 1, 2, 15), "db0/db2 are the demo's, db1/db15 the harness's"
        if db not in clients:
            clients[db] = redis.Redis(port=redis_server.port, db=db)
            clients[db].flushdb()
        return clients[db]

    yield get
    for c in clients.values():
        c.close()


@pytest.fixture
def backend(redis_server: sandbox.Server) -> Iterator[Backend]:
    b = open_backend(redis_server.url)
    b.connect()
    try:
        yield b
    finally:
        b.close()


def names(nodes: list[Node]) -> dict[str, NodeKind]:
    return {n.name: n.kind for n in nodes}


def walk(backend: Backend, path: tuple[str, ...], limit: int) -> tuple[list[tuple[Any, ...]], int]:
    rows: list[tuple[Any, ...]] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = backend.browse(path, cursor=cursor, limit=limit)
        if page.next_cursor is not None:
            assert len(page.rows) == limit, "a non-final page must be full"
        rows.extend(page.rows)
        pages += 1
        if page.next_cursor is None:
            return rows, pages
        cursor = page.next_cursor


def test_module_name_does_not_shadow_redis_py() -> None:
    import storescope.backends.redis as module

    driver = vars(module)["redis"]
    assert driver.__name__ == "redis" and hasattr(driver, "Redis")
    assert RedisBackend.schemes == ("redis", "rediss")
    assert RedisBackend.capabilities == Capability.NONE


def test_namespace_tree_splits_on_colons(backend: Backend, raw: RawFactory) -> None:
    r = raw(3)
    for key in ("user", "user:1", "user:2:name", "a::b", "foo:", "foo:bar", "plain"):
        r.set(key, key)

    top = backend.list_children(("db3",))
    assert names(top) == {
        "a:": NodeKind.NAMESPACE,
        "foo:": NodeKind.NAMESPACE,
        "user:": NodeKind.NAMESPACE,
        "user": NodeKind.KEY,
        "plain": NodeKind.KEY,
    }
    assert [n.name for n in top][:3] == ["a:", "foo:", "user:"], "namespaces come first, sorted"
    user_ns = next(n for n in top if n.name == "user:")
    assert user_ns.expandable and user_ns.browsable and user_ns.estimate == 2

    assert names(backend.list_children(("db3", "user:"))) == {
        "1": NodeKind.KEY,
        "2:": NodeKind.NAMESPACE,
    }
    assert names(backend.list_children(("db3", "a:"))) == {":": NodeKind.NAMESPACE}
    (b_node,) = backend.list_children(("db3", "a:", ":"))
    assert b_node.path == ("db3", "a:", ":", "b") and b_node.kind is NodeKind.KEY
    assert backend.browse(b_node.path).rows == (("a::b",),)

    # The key "foo:" is the empty tail under the namespace "foo:".
    foo = {n.name: n for n in backend.list_children(("db3", "foo:"))}
    assert set(foo) == {"", "bar"}
    assert decode_path(encode_path(foo[""].path)) == ("db3", "foo:", "")
    assert backend.browse(foo[""].path).rows == (("foo:",),)

    # Browsing a namespace is recursive; browsing a db lists every key.
    ns_keys = {row[0] for row in backend.browse(("db3", "user:"), limit=10).rows}
    assert ns_keys == {"user:1", "user:2:name"}
    assert len(backend.browse(("db3",), limit=100).rows) == 7


def test_glob_metacharacters_in_names_are_escaped(backend: Backend, raw: RawFactory) -> None:
    r = raw(4)
    wanted = {"we*ird[1]:a", "we*ird[1]:b", "we*ird[1]:c?d"}
    decoys = {"weXird1:x", "we*ird1:y", "we*irdX:z", "weird[1]:w", "we*ird[1]x"}
    back = {"back\\slash:k"}
    for key in wanted | decoys | back | {"back\\\\slash:decoy", "backXslash:decoy"}:
        r.set(key, "v")

    assert "we*ird[1]:" in names(backend.list_children(("db4",)))
    children = backend.list_children(("db4", "we*ird[1]:"))
    assert names(children) == {"a": NodeKind.KEY, "b": NodeKind.KEY, "c?d": NodeKind.KEY}
    assert {row[0] for row in backend.browse(("db4", "we*ird[1]:"), limit=50).rows} == wanted
    assert {row[0] for row in backend.browse(("db4", "back\\slash:"), limit=50).rows} == back
    assert backend.browse(("db4", "we*ird[1]:", "c?d")).rows == (("v",),)


def test_binary_key_names_round_trip_through_paths(backend: Backend, raw: RawFactory) -> None:
    r = raw(5)
    key = b"bin\xff\xfe:k\x00\x80"
    r.set(key, b"\x00\xffraw")
    (ns,) = backend.list_children(("db5",))
    (leaf,) = backend.list_children(ns.path)
    assert decode_path(encode_path(leaf.path)) == leaf.path
    assert backend.browse(leaf.path).rows == ((b"\x00\xffraw",),), "non-UTF-8 values stay bytes"
    (row,) = backend.browse(ns.path).rows
    assert row[0].encode("utf-8", "surrogateescape") == key


def test_ttls_show_for_expiring_keys_and_none_otherwise(backend: Backend, raw: RawFactory) -> None:
    r = raw(6)
    r.set("s:expiring", "x", ex=1000)
    r.set("s:forever", "y")
    rows = {row[0]: row for row in backend.browse(("db6", "s:"), limit=10).rows}
    assert rows["s:expiring"][1] == "string" and 990 <= rows["s:expiring"][2] <= 1000
    assert rows["s:forever"][2] is None
    details = {n.name: n.detail for n in backend.list_children(("db6", "s:"))}
    assert details["expiring"].startswith("string · ttl 16m")
    assert details["forever"] == "string · no ttl"


def test_each_value_type_browses_in_pages_that_join(backend: Backend, raw: RawFactory) -> None:
    r = raw(7)
    r.hset("h", mapping={f"f{i:04d}": f"v{i}" for i in range(2500)})
    r.rpush("l", *[f"item{i}" for i in range(250)])
    r.sadd("s", *[f"m{i}" for i in range(2500)])
    r.zadd("z", {f"p{i}": i / 2 for i in range(250)})
    for i in range(250):
        r.xadd("x", {"n": str(i), "bin": b"\xff"})
    r.set("str", "hello")

    rows, pages = walk(backend, ("db7", "h"), 100)
    assert pages == 25 and len(rows) == 2500
    assert dict(rows) == {f"f{i:04d}": f"v{i}" for i in range(2500)}

    rows, pages = walk(backend, ("db7", "l"), 100)
    assert pages == 3 and rows == [(i, f"item{i}") for i in range(250)]

    rows, _ = walk(backend, ("db7", "s"), 100)
    assert sorted(m for (m,) in rows) == sorted(f"m{i}" for i in range(2500))

    rows, _ = walk(backend, ("db7", "z"), 100)
    assert rows == [(i, f"p{i}", i / 2) for i in range(250)]

    rows, pages = walk(backend, ("db7", "x"), 100)
    assert pages == 3 and [f["n"] for _, f in rows] == [str(i) for i in range(250)]
    assert rows[0][1]["bin"] == b"\xff"
    assert len({entry_id for entry_id, _ in rows}) == 250

    page = backend.browse(("db7", "str"))
    assert [c.name for c in page.columns] == ["value"] and page.rows == (("hello",),)
    assert page.next_cursor is None

    first = backend.browse(("db7", "h"), limit=100)
    assert first.total_estimate == 2500


def test_big_string_shows_a_bounded_preview_with_its_true_size(
    backend: Backend, raw: RawFactory
) -> None:
    r = raw(8)
    r.set("big", "é" * (5 * 1024 * 1024 // 2))
    ((value,),) = backend.browse(("db8", "big")).rows
    assert isinstance(value, Truncated)
    assert value.total_size == 5 * 1024 * 1024
    assert isinstance(value.preview, str) and 0 < len(value.preview.encode()) <= 64 * 1024


def test_listing_a_huge_namespace_is_bounded_and_marked(backend: Backend, raw: RawFactory) -> None:
    r = raw(9)
    for start in range(0, 60_000, 5_000):
        r.mset({f"big:{i:06d}": "v" for i in range(start, start + 5_000)})
    r.set("other", "v")

    t = time.monotonic()
    children = backend.list_children(("db9", "big:"))
    elapsed = time.monotonic() - t
    # The scan's own budget is 1 s, then TYPE/TTL for at most 5,000 keys; the
    # slack is for a loaded 2-core CI machine. Unbounded, it would scan all
    # 60k keys and fetch 60k types.
    assert elapsed < 4.0, f"listing took {elapsed:.2f} s"
    *keys, marker = children
    assert marker.name == TRUNCATED_MARKER and marker.kind is NodeKind.MORE
    assert not marker.browsable and not marker.expandable
    assert "incomplete" in marker.detail
    assert 0 < len(keys) <= 5_000 and all(n.kind is NodeKind.KEY and n.browsable for n in keys)

    top = {n.name: n for n in backend.list_children(("db9",))}
    # The scan saw ~50k keys; the estimate scales that by the share it covered.
    assert top["big:"].estimate is not None and 55_000 <= top["big:"].estimate <= 70_000
    assert top["big:"].detail.startswith("≥")
    assert TRUNCATED_MARKER in top, "the db listing was cut short too"


def test_database_listing_shows_every_db_with_key_estimates(
    backend: Backend, raw: RawFactory
) -> None:
    r = raw(10)
    r.mset({f"k{i}": i for i in range(7)})
    dbs = {n.name: n for n in backend.list_children(())}
    assert list(dbs) == [f"db{i}" for i in range(16)]
    assert dbs["db10"].estimate == 7 and dbs["db10"].kind is NodeKind.DATABASE
    assert dbs["db10"].browsable and dbs["db10"].expandable
    page = backend.browse(("db10",), limit=5)
    assert len(page.rows) == 5 and page.total_estimate == 7


def test_missing_things_are_not_found(backend: Backend, raw: RawFactory) -> None:
    raw(11).set("present:k", "v")
    with pytest.raises(NotFound):
        backend.browse(("db11", "present:", "nope"))
    with pytest.raises(NotFound):
        backend.browse(("db11", "absent:"))
    with pytest.raises(NotFound):
        backend.list_children(("db11", "absent:"))
    with pytest.raises(NotFound) as info:
        backend.browse(("db42",))
    assert isinstance(info.value.__cause__, redis.exceptions.ResponseError)
    with pytest.raises(NotFound):
        backend.list_children(("database0",))
    assert backend.browse(("db11",), limit=5).rows == (("present:k", "string", None),)


def test_filter_is_a_match_glob_within_the_prefix(backend: Backend, raw: RawFactory) -> None:
    r = raw(12)
    r.mset({"u:10": 1, "u:11": 1, "u:20": 1, "v:10": 1})
    r.hset("h", mapping={"apple": 1, "avocado": 2, "banana": 3})
    page = backend.browse(("db12", "u:"), filter="1*")
    assert {row[0] for row in page.rows} == {"u:10", "u:11"}
    assert {row[0] for row in backend.browse(("db12", "h"), filter="a*").rows} == {
        "apple",
        "avocado",
    }
    with pytest.raises(NotSupported):
        backend.browse(("db12", "u:"), sort="key")


def test_killed_connection_is_lost_then_reconnects(backend: Backend, raw: RawFactory) -> None:
    r = raw(13)
    r.set("k", "v")
    backend.browse(("db13",))
    ours = [c["id"] for c in r.client_list() if c.get("name") == "storescope"]
    assert ours
    for client_id in ours:
        r.client_kill_filter(_id=client_id)
    with pytest.raises(ConnectionLost) as info:
        backend.browse(("db13",))
    assert isinstance(info.value.__cause__, redis.exceptions.ConnectionError)
    backend.connect()
    assert backend.browse(("db13",)).rows == (("k", "string", None),)
    assert backend.ping() >= 0


def test_server_info_names_version_and_role(backend: Backend) -> None:
    info = backend.server_info()
    assert info.product == "Redis" and info.version[0].isdigit()
    assert dict(info.details)["role"] == "master"


def test_wrong_password_fails_without_showing_it(
    redis_server: sandbox.Server, raw: RawFactory
) -> None:
    r = raw(14)
    r.acl_setuser("alice", enabled=True, passwords=["+right-pw"], keys=["*"], commands=["+@all"])
    try:
        b = open_backend(f"redis://alice:wrong-pw@127.0.0.1:{redis_server.port}/0")
        with pytest.raises(ConnectionFailed) as info:
            b.connect()
        assert "wrong-pw" not in str(info.value) and "authentication" in str(info.value)
    finally:
        r.acl_deluser("alice")


def test_acl_limits_become_permission_denied_and_a_fallback_db_list(
    redis_server: sandbox.Server, raw: RawFactory
) -> None:
    r = raw(14)
    r.set("allowed:k", "v")
    r.set("secret:k", "v")
    r.acl_setuser(
        "bob",
        enabled=True,
        passwords=["+pw"],
        keys=["allowed:*"],
        commands=["+@all", "-config", "-@scripting"],
    )
    b = open_backend(f"redis://bob:pw@127.0.0.1:{redis_server.port}/14")
    try:
        b.connect()
        dbs = [n.name for n in b.list_children(())]
        assert "db0" in dbs and "db14" in dbs, "CONFIG refused: databases from INFO keyspace"
        assert b.browse(("db14", "allowed:", "k")).rows == (("v",),)
        # No scripting: TYPE and TTL come from plain pipelining instead.
        assert b.browse(("db14", "allowed:")).rows == (("allowed:k", "string", None),)
        with pytest.raises(PermissionDenied):
            b.browse(("db14", "secret:", "k"))
    finally:
        b.close()
        r.acl_deluser("bob")


def test_pages_of_a_namespace_are_exact_and_end_exactly(backend: Backend, raw: RawFactory) -> None:
    r = raw(14)
    r.mset({f"p:{i}": i for i in range(1003)})
    r.mset({f"q:{i}": i for i in range(500)})
    rows, pages = walk(backend, ("db14", "p:"), 100)
    assert pages == 11 and len({row[0] for row in rows}) == 1003
    page = backend.browse(("db14", "p:"), limit=1003)
    assert len(page.rows) == 1003 and page.next_cursor is None
    assert isinstance(page, Page)


def test_a_cursor_survives_a_reconnect_but_not_another_path(
    backend: Backend, raw: RawFactory
) -> None:
    raw(14).mset({f"c:{i}": i for i in range(30)})
    first = backend.browse(("db14", "c:"), limit=10)
    assert first.next_cursor is not None
    with pytest.raises(QueryFailed):
        backend.browse(("db14",), cursor=first.next_cursor, limit=10)
    with pytest.raises(QueryFailed):
        backend.browse(("db14", "c:"), cursor="not-a-cursor", limit=10)
    backend.close()
    backend.connect()
    seen = [row[0] for row in first.rows]
    cursor: str | None = first.next_cursor
    while cursor is not None:
        page = backend.browse(("db14", "c:"), cursor=cursor, limit=10)
        seen += [row[0] for row in page.rows]
        cursor = page.next_cursor
    assert sorted(seen) == sorted(f"c:{i}" for i in range(30))


def test_a_url_naming_a_missing_database_fails_to_connect(redis_server: sandbox.Server) -> None:
    b = open_backend(f"redis://127.0.0.1:{redis_server.port}/99")
    with pytest.raises(ConnectionFailed, match="db99"):
        b.connect()
