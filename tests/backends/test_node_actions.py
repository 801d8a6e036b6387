"""Catalog node actions (``Backend.node_actions``): each store names what its
nodes offer in its own words, and only what works on the connection. Pure:
asked of unconnected backends, no server needed."""

from __future__ import annotations

from storescope.backends.base import Backend, Capability
from storescope.backends.fake import FakeBackend
from storescope.backends.language import PLAIN
from storescope.backends.mongo import MongoBackend
from storescope.backends.postgres import PostgresBackend
from storescope.backends.redis import RedisBackend
from storescope.backends.s3 import S3Backend
from storescope.backends.types import Node, NodeActionKind, NodeKind


def labels(backend: Backend, node: Node) -> list[str]:
    return [a.label for a in backend.node_actions(node)]


def test_postgres_tables_browse_open_in_query_and_show_indexes_views_have_no_indexes() -> None:
    pg = PostgresBackend("postgresql://localhost/db")
    assert {Capability.QUERY, Capability.INDEXES} <= set(pg.capabilities)
    table = Node(("db", "public", "t"), "t", NodeKind.TABLE, browsable=True)
    view = Node(("db", "public", "v"), "v", NodeKind.VIEW, browsable=True)
    matview = Node(("db", "public", "m"), "m", NodeKind.MATVIEW, browsable=True)
    assert labels(pg, table) == ["Browse", "Open in query", "Indexes"]
    assert labels(pg, view) == ["Browse", "Open in query"]
    assert labels(pg, matview) == ["Browse", "Open in query", "Indexes"]
    for kind in (NodeKind.DATABASE, NodeKind.SCHEMA):
        assert labels(pg, Node(("db",), "db", kind, expandable=True)) == []


def test_redis_names_browsing_a_key_by_its_type() -> None:
    r = RedisBackend("redis://localhost/0")
    expected = {
        "string": "View value",
        "hash": "Browse fields",
        "list": "Browse items",
        "set": "Browse members",
        "zset": "Browse members",
        "stream": "Browse entries",
    }
    for kind, label in expected.items():
        key = Node(("db0", "k"), "k", NodeKind.KEY, browsable=True, detail=f"{kind} · no TTL")
        assert labels(r, key) == [label]
    db = Node(("db0",), "db0", NodeKind.DATABASE, expandable=True, browsable=True)
    assert labels(r, db) == ["Browse keys"]
    marker = Node(("db0", "…"), "…", NodeKind.MORE, detail="listing incomplete")
    assert labels(r, marker) == []


def test_s3_buckets_and_prefixes_browse_an_object_browses_where_it_lies() -> None:
    s3 = S3Backend("s3://")
    bucket = Node(("b",), "b", NodeKind.BUCKET, expandable=True, browsable=True)
    prefix = Node(("b", "logs/"), "logs/", NodeKind.PREFIX, expandable=True, browsable=True)
    obj = Node(("b", "logs/", "a.txt"), "a.txt", NodeKind.OBJECT)
    assert labels(s3, bucket) == ["Browse"] and labels(s3, prefix) == ["Browse"]
    (action,) = s3.node_actions(obj)
    assert action.label == "Browse parent" and action.does is NodeActionKind.BROWSE
    assert action.target(obj) == ("b", "logs/")
    top = Node(("b", "a.txt"), "a.txt", NodeKind.OBJECT)
    assert action.target(top) == ("b",)


def test_mongo_collections_browse_and_nothing_the_backend_cannot_do_yet() -> None:
    mongo = MongoBackend("mongodb://localhost/")
    coll = Node(("shop", "orders"), "orders", NodeKind.COLLECTION, browsable=True)
    expected = ["Browse"]
    if Capability.QUERY in mongo.capabilities:
        expected.append("Open in query")
    if Capability.INDEXES in mongo.capabilities:
        expected.append("Indexes")
    assert labels(mongo, coll) == expected
    assert labels(mongo, Node(("shop",), "shop", NodeKind.DATABASE, expandable=True)) == []


def test_the_default_follows_the_connections_capabilities() -> None:
    table = Node(("a", "b", "t"), "t", NodeKind.TABLE, browsable=True)
    assert labels(FakeBackend("fake://demo"), table) == ["Browse"]
    assert labels(FakeBackend("fake://demo?caps=indexes"), table) == ["Browse", "Indexes"]
    assert labels(FakeBackend("fake://demo?caps=all"), table) == [
        "Browse",
        "Open in query",
        "Indexes",
    ]


def test_open_in_query_needs_a_language_that_says_what_to_write() -> None:
    class NoTemplate(FakeBackend):
        language = PLAIN  # the plain command line: no "open in query" text

    table = Node(("a", "b", "t"), "t", NodeKind.TABLE, browsable=True)
    assert labels(NoTemplate("fake://demo?caps=all"), table) == ["Browse", "Indexes"]
