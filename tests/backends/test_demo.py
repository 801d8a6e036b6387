"""The demo shop: what a user of ``storescope demo`` finds in each store.

Everything is checked with the raw drivers, not the backends (the demo data
must be right whatever the backends do). The servers are the session ones
shared with the conformance suite, so the demo seeds beside that data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg2
import pymongo
import pytest
import redis

from storescope import demo
from storescope.backends import sandbox


@dataclass(frozen=True, slots=True)
class Names:
    """The top-level names of every store, to see what seeding added."""

    pg_databases: frozenset[str]
    mongo_databases: frozenset[str]
    redis_db_sizes: tuple[tuple[int, int], ...]  # (db, DBSIZE) for dbs 1..15
    buckets: frozenset[str]


@dataclass(frozen=True, slots=True)
class Seeded:
    urls: dict[str, str]
    seconds: float
    timings: dict[str, float]
    before: Names
    after: Names
    s3_endpoint: str


def _s3(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def _names(servers: dict[str, sandbox.Server]) -> Names:
    pg = psycopg2.connect(servers["postgres"].url)
    try:
        with pg.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database")
            pg_dbs = frozenset(r[0] for r in cur.fetchall())
    finally:
        pg.close()
    m: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(servers["mongo"].url) as m:
        mongo_dbs = frozenset(m.list_database_names())
    sizes = []
    for db in range(1, 16):
        r = redis.Redis(port=servers["redis"].port, db=db)
        sizes.append((db, int(r.dbsize())))
        r.close()
    s3 = _s3(demo.s3_endpoint(servers["s3"].url))
    buckets = frozenset(b["Name"] for b in s3.list_buckets().get("Buckets", []))
    return Names(pg_dbs, mongo_dbs, tuple(sizes), buckets)


@pytest.fixture(scope="module")
def seeded(
    pg_server: sandbox.Server,
    mongo_server: sandbox.Server,
    redis_server: sandbox.Server,
    s3_server: sandbox.Server,
) -> Seeded:
    servers = {"postgres": pg_server, "mongo": mongo_server, "redis": redis_server, "s3": s3_server}
    before = _names(servers)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    urls = demo.seed_all(servers, timings=timings)
    seconds = time.perf_counter() - t0
    return Seeded(urls, seconds, timings, before, _names(servers), demo.s3_endpoint(s3_server.url))


@pytest.fixture
def shop(seeded: Seeded) -> Iterator[Any]:
    conn = psycopg2.connect(seeded.urls["postgres"])
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@pytest.fixture
def mongo(seeded: Seeded) -> Iterator[pymongo.MongoClient[dict[str, Any]]]:
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(seeded.urls["mongo"]) as client:
        yield client


@pytest.fixture
def rdb(seeded: Seeded) -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(seeded.urls["redis"], decode_responses=True)
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def s3(seeded: Seeded) -> Any:
    return _s3(seeded.s3_endpoint)


# -- the whole demo -------------------------------------------------------------


def test_seeding_all_four_stores_takes_under_20_seconds(seeded: Seeded) -> None:
    assert set(seeded.timings) == {"postgres", "mongo", "redis", "s3"}
    assert seeded.seconds < 20, f"seed_all took {seeded.seconds:.1f} s: {seeded.timings}"


def test_demo_urls_open_the_shop_database_and_redis_db_0(seeded: Seeded) -> None:
    assert seeded.urls["postgres"].endswith("/shop")
    assert seeded.urls["redis"].endswith("/0")
    assert seeded.urls["mongo"].startswith("mongodb://")
    assert demo.s3_endpoint(seeded.urls["s3"]) == seeded.s3_endpoint


def test_seeding_adds_only_shop_names_beside_the_conformance_data(seeded: Seeded) -> None:
    before, after = seeded.before, seeded.after
    assert after.pg_databases - before.pg_databases <= {"shop"}
    assert "shop" in after.pg_databases
    assert after.mongo_databases - before.mongo_databases <= {"shop", "analytics"}
    assert {"shop", "analytics"} <= after.mongo_databases
    assert after.buckets - before.buckets == {"shop-data", "shop-backups"} - before.buckets
    changed = {
        db
        for (db, n0), (_, n1) in zip(before.redis_db_sizes, after.redis_db_sizes, strict=True)
        if n0 != n1
    }
    assert changed <= {2}, "the demo wrote into a Redis db other than 0 and 2"


def test_seeding_again_keeps_the_data_and_returns_the_same_urls(
    seeded: Seeded, rdb: redis.Redis
) -> None:
    keys_before = rdb.dbsize()
    t0 = time.perf_counter()
    again = demo.seed_all({store: UrlOnly(url) for store, url in seeded.urls.items()})
    assert again == seeded.urls
    assert time.perf_counter() - t0 < 5
    assert rdb.dbsize() == keys_before


@dataclass(frozen=True, slots=True)
class UrlOnly:
    """seed_all reads only a server's ``url``; the demo URLs are valid server
    URLs too (PostgreSQL seeding starts from any database)."""

    url: str


def test_seeding_s3_without_a_local_endpoint_refuses_to_touch_real_aws() -> None:
    with pytest.raises(demo.SeedError, match="endpoint"):
        demo.seed_s3("s3://")


# -- PostgreSQL -----------------------------------------------------------------


def _estimate(cur: Any, qualified: str) -> int:
    cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", (qualified,))
    return int(cur.fetchone()[0])


def test_orders_hold_over_100k_rows_known_to_the_planner(shop: Any) -> None:
    # reltuples, not count(*): the catalog tree shows this estimate, so ANALYZE must have run.
    assert _estimate(shop, "public.orders") >= 100_000
    assert 4_000 <= _estimate(shop, "public.customers") <= 6_000
    assert 400 <= _estimate(shop, "public.products") <= 600


def test_orders_reference_customers_and_products_and_are_indexed(shop: Any) -> None:
    shop.execute(
        """SELECT confrelid::regclass::text FROM pg_constraint
           WHERE conrelid = 'public.orders'::regclass AND contype = 'f'"""
    )
    assert {r[0] for r in shop.fetchall()} == {"customers", "products"}
    shop.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'orders'"
    )
    defs = " ".join(r[0] for r in shop.fetchall())
    assert "(customer_id)" in defs
    assert "(ordered_at)" in defs
    shop.execute(
        """SELECT column_name, data_type, udt_name FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name = 'orders'"""
    )
    types = {name: (dt, udt) for name, dt, udt in shop.fetchall()}
    assert types["shipping"][0] == "jsonb"
    assert types["status"] == ("USER-DEFINED", "order_status")
    assert types["total"][0] == "numeric"


def test_an_order_reads_like_a_real_one(shop: Any) -> None:
    shop.execute(
        """SELECT o.quantity, o.total, p.price, o.shipping, c.email
           FROM orders o JOIN products p ON p.id = o.product_id JOIN customers c ON c.id = o.customer_id
           WHERE o.status = 'delivered' ORDER BY o.id LIMIT 1"""
    )
    quantity, total, price, shipping, email = shop.fetchone()
    assert total == price * quantity
    assert shipping["tracking"] is None or shipping["tracking"].startswith("1Z")
    assert set(shipping["address"]) == {"city", "country"}
    assert email.endswith("@example.com")


def test_products_carry_jsonb_attributes_and_text_array_tags(shop: Any) -> None:
    shop.execute("SELECT attributes, tags, price FROM products WHERE id = 1")
    attributes, tags, price = shop.fetchone()
    assert isinstance(attributes["dimensions_cm"], dict)
    assert isinstance(tags, list)
    assert price.as_tuple().exponent == -2


def test_shop_has_views_a_quoted_table_a_second_schema_and_a_table_without_pk(shop: Any) -> None:
    shop.execute(
        """SELECT n.nspname, c.relname, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('public', 'analytics') AND c.relkind IN ('r', 'v', 'm')"""
    )
    rels = {(s, n): k for s, n, k in shop.fetchall()}
    assert rels[("public", "order_totals_by_country")] == "v"
    assert rels[("public", "daily_revenue")] == "m"
    assert rels[("public", "Order Items")] == "r"
    assert rels[("public", "audit_log")] == "r"
    assert rels[("analytics", "customer_ltv")] == "r"
    shop.execute(
        """SELECT conrelid::regclass::text, array_length(conkey, 1) FROM pg_constraint
           WHERE contype = 'p' AND conrelid IN ('public."Order Items"'::regclass, 'public.audit_log'::regclass)"""
    )
    assert shop.fetchall() == [('"Order Items"', 2)]
    shop.execute("SELECT * FROM order_totals_by_country ORDER BY revenue DESC LIMIT 1")
    assert shop.fetchone()[0] == "US"
    shop.execute("SELECT count(*) FROM daily_revenue")
    assert shop.fetchone()[0] >= 365


# -- MongoDB --------------------------------------------------------------------


def test_reviews_have_nested_documents_arrays_and_object_ids(
    mongo: pymongo.MongoClient[dict[str, Any]],
) -> None:
    from bson import ObjectId

    reviews = mongo["shop"]["reviews"]
    assert 1_500 <= reviews.estimated_document_count() <= 3_000
    with_images = reviews.find_one({"images.0": {"$exists": True}})
    assert with_images is not None
    assert isinstance(with_images["_id"], ObjectId)
    assert set(with_images["product"]) >= {"sku", "name"}
    assert set(with_images["author"]) >= {"name", "verified"}
    assert isinstance(with_images["tags"], list)
    assert isinstance(with_images["images"][0], dict)
    assert 1 <= with_images["rating"] <= 5
    assert reviews.count_documents({"response": {"$exists": True}}, limit=1) == 1


def test_reviews_are_indexed_on_rating(mongo: pymongo.MongoClient[dict[str, Any]]) -> None:
    keys = [dict(ix["key"]) for ix in mongo["shop"]["reviews"].list_indexes()]
    assert {"rating": 1} in keys


def test_customer_profiles_differ_in_shape(mongo: pymongo.MongoClient[dict[str, Any]]) -> None:
    profiles = mongo["shop"]["customers_profile"]
    assert profiles.count_documents({"preferences": {"$exists": False}}, limit=1) == 1
    assert profiles.count_documents({"preferences": {"$exists": True}}, limit=1) == 1
    assert profiles.count_documents({"newsletter": {"$type": "string"}}, limit=1) == 1
    assert profiles.count_documents({"loyalty.tier": {"$exists": True}}, limit=1) == 1
    assert mongo["analytics"]["daily_active_users"].estimated_document_count() > 0


# -- Redis ----------------------------------------------------------------------


def test_redis_db0_holds_a_few_thousand_keys_of_every_type(rdb: redis.Redis) -> None:
    assert 2_000 <= rdb.dbsize() <= 10_000
    expected = {
        "leaderboard:weekly": "zset",
        "events:recent": "stream",
        "queue:emails": "list",
        "tags:popular": "set",
        "config:feature_flags": "hash",
        "counter:orders:today": "string",
    }
    assert {k: rdb.type(k) for k in expected} == expected
    assert rdb.zcard("leaderboard:weekly") == 500
    assert rdb.xlen("events:recent") == 1_000
    cart = next(rdb.scan_iter(match="cart:*", count=1000))
    assert rdb.type(cart) == "hash"


def test_sessions_and_product_cache_expire(rdb: redis.Redis) -> None:
    session = next(rdb.scan_iter(match="session:*", count=1000))
    assert rdb.type(session) == "string"
    assert 0 < rdb.ttl(session) <= 86_400
    assert "customer_id" in str(rdb.get(session))
    assert 0 < rdb.ttl("cache:product:1") <= 1_800
    assert rdb.ttl("leaderboard:weekly") == -1


def test_a_second_logical_db_holds_a_few_keys(seeded: Seeded) -> None:
    r = redis.Redis.from_url(seeded.urls["redis"].rsplit("/", 1)[0] + "/2", decode_responses=True)
    try:
        assert 0 < r.dbsize() < 100
        assert r.type("jobs:pending") == "list"
    finally:
        r.close()


# -- S3 -------------------------------------------------------------------------


def _prefixes(s3: Any, bucket: str, prefix: str = "") -> set[str]:
    resp = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/")
    return {p["Prefix"] for p in resp.get("CommonPrefixes", [])}


def test_shop_bucket_has_exports_images_and_logs_by_month(s3: Any) -> None:
    assert _prefixes(s3, "shop-data") == {"exports/", "images/", "logs/"}
    assert _prefixes(s3, "shop-data", "logs/2026/") == {
        "logs/2026/09/",
        "logs/2026/10/",
        "logs/2026/11/",
    }
    november = s3.list_objects_v2(Bucket="shop-data", Prefix="logs/2026/11/")
    assert "logs/2026/11/app-01.log" in {o["Key"] for o in november["Contents"]}
    assert s3.list_objects_v2(Bucket="shop-backups", MaxKeys=1)["KeyCount"] == 1


def test_exports_include_one_over_a_megabyte(s3: Any) -> None:
    exports = s3.list_objects_v2(Bucket="shop-data", Prefix="exports/")["Contents"]
    assert len(exports) >= 3
    assert max(o["Size"] for o in exports) > 1_000_000


def test_product_images_are_png_with_metadata(s3: Any) -> None:
    images = s3.list_objects_v2(Bucket="shop-data", Prefix="images/products/")["Contents"]
    assert len(images) >= 24
    obj = s3.get_object(Bucket="shop-data", Key=images[0]["Key"])
    assert obj["ContentType"] == "image/png"
    assert obj["Body"].read().startswith(b"\x89PNG\r\n\x1a\n")
    assert obj["Metadata"]["sku"] in images[0]["Key"]


def test_bucket_holds_one_to_two_hundred_objects(s3: Any) -> None:
    total = sum(
        page["KeyCount"]
        for bucket in ("shop-data", "shop-backups")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    )
    assert 100 <= total <= 250


# -- one shop across the stores -------------------------------------------------


def test_the_same_customers_and_products_appear_in_every_store(
    shop: Any, mongo: pymongo.MongoClient[dict[str, Any]], rdb: redis.Redis, s3: Any
) -> None:
    review = mongo["shop"]["reviews"].find_one(sort=[("_id", 1)])
    assert review is not None
    shop.execute("SELECT name FROM customers WHERE id = %s", (review["author"]["customer_id"],))
    assert shop.fetchone()[0] == review["author"]["name"]
    shop.execute("SELECT name FROM products WHERE sku = %s", (review["product"]["sku"],))
    assert shop.fetchone()[0] == review["product"]["name"]
    shop.execute("SELECT sku FROM products WHERE id = 7")
    assert shop.fetchone()[0] in str(rdb.get("cache:product:7"))
    head = s3.get_object(Bucket="shop-data", Key="exports/products.csv", Range="bytes=0-200")
    shop.execute("SELECT sku FROM products WHERE id = 1")
    assert shop.fetchone()[0] in head["Body"].read().decode()
