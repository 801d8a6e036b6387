"""Sample data for ``storescope demo``: one small shop spread over four stores.

Seed data, not a backend: it lives beside the package's entry points, out of
``backends/``, and is imported only by the ``demo`` command and its tests.

Each ``seed_<store>(url)`` fills one running sandbox server through the raw
driver (this is setup, not code under test) and returns the URL to open for
that store; ``seed_all`` runs the four at once in threads.

The data is deterministic (fixed seeds, fixed dates, fixed ObjectIds and stream
IDs) so demo screenshots stay stable; only server-assigned things move (Redis
TTLs count down, S3 LastModified is the upload time).

The small dimension data (customers, products, reviews) is built once in Python
and shared, so the same SKU, customer and email show up in every store. The
big fact table (``orders``, 120k rows) is generated inside PostgreSQL with
``generate_series`` and ``random()`` after ``setseed``: no Python row loop.

Seeding is skipped per store when its data is already there (the marker is
``shop.public.orders`` in PG, database ``shop`` in Mongo, ``leaderboard:weekly``
in Redis db 0, bucket ``shop-data`` in S3), so a second run is harmless.

Names stay clear of the conformance suite's (database "conformance", Redis
dbs 1 and 15, buckets "conformance*"): the demo uses PG/Mongo database
"shop" (plus Mongo "analytics"), Redis db 0 and db 2, buckets "shop-*".
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import hashlib
import io
import json
import random
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit, urlunsplit

PG_DATABASE = "shop"
MONGO_DATABASE = "shop"
MONGO_ANALYTICS_DATABASE = "analytics"
REDIS_DB = 0
REDIS_SECOND_DB = 2
S3_BUCKET = "shop-data"
S3_BACKUP_BUCKET = "shop-backups"

N_CUSTOMERS = 5_000
N_PRODUCTS = 500
N_ORDERS = 120_000
N_REVIEWS = 2_000
N_PROFILES = 1_200

SEED = 20261122
# Every timestamp is relative to this instant, never to the clock.
EPOCH = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_CUSTOMERS_SINCE = EPOCH - timedelta(days=1400)
_PRODUCTS_SINCE = EPOCH - timedelta(days=900)

STORES = ("postgres", "mongo", "redis", "s3")


class SeedError(RuntimeError):
    """A store could not be seeded; the message is one user-facing line."""


class HasUrl(Protocol):
    """What ``seed_all`` needs of a server: a ``sandbox.Server`` fits."""

    @property
    def url(self) -> str: ...


# -- shared catalog ------------------------------------------------------------

_FIRST = (
    "Ava", "Liam", "Emma", "Noah", "Mia", "Lucas", "Sofia", "Elias", "Hanna", "Oliver",
    "Chloé", "Mateo", "Yuki", "Aarav", "Freya", "Leon", "Isla", "Jonas", "Lena", "Hugo",
    "Zoe", "Finn", "Nora", "Arjun", "Ines", "Kenji", "Alma", "Pablo", "Ingrid", "Tomás",
    "Maya", "Felix", "Ada", "Omar", "Greta", "Rafael", "Lotte", "Sven", "Priya", "Marek",
)  # fmt: skip
_LAST = (
    "Smith", "Müller", "García", "Rossi", "Dubois", "Jansen", "Nilsson", "Kowalski",
    "Tanaka", "Patel", "Silva", "Brown", "Schmidt", "Martin", "Lopez", "Bianchi",
    "de Vries", "Andersson", "Nowak", "Sato", "Sharma", "Costa", "Wilson", "Fischer",
    "Moreau", "Romero", "Ricci", "Bakker", "Berg", "O'Brien",
)  # fmt: skip
# country code -> cities; the tuple order sets the weights below
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("New York", "Austin", "Seattle", "Chicago", "Denver"),
    "GB": ("London", "Manchester", "Edinburgh", "Bristol"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne"),
    "FR": ("Paris", "Lyon", "Marseille", "Nantes"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht"),
    "SE": ("Stockholm", "Gothenburg", "Malmö"),
    "ES": ("Madrid", "Barcelona", "Valencia"),
    "IT": ("Rome", "Milan", "Turin"),
    "PL": ("Warsaw", "Kraków", "Gdańsk"),
    "CA": ("Toronto", "Vancouver", "Montréal"),
    "JP": ("Tokyo", "Osaka", "Sapporo"),
    "BR": ("São Paulo", "Rio de Janeiro", "Curitiba"),
    "AU": ("Sydney", "Melbourne", "Brisbane"),
    "IN": ("Bengaluru", "Mumbai", "Pune"),
}
_COUNTRY_WEIGHTS = (30, 12, 12, 8, 5, 4, 5, 4, 3, 5, 3, 3, 3, 4)
_TIERS = ("bronze", "bronze", "bronze", "silver", "silver", "gold", "platinum")

_CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "kitchen": (("Chef's Knife", 79), ("Cast Iron Skillet", 49), ("French Press", 35),
                ("Cutting Board", 29), ("Pepper Mill", 24), ("Espresso Cups", 19)),
    "outdoor": (("Trail Backpack", 119), ("Camping Lantern", 39), ("Water Bottle", 25),
                ("Hammock", 59), ("Trekking Poles", 69)),
    "electronics": (("Wireless Earbuds", 99), ("USB-C Charger", 29), ("Bluetooth Speaker", 79),
                    ("Desk Lamp", 45), ("Mechanical Keyboard", 129)),
    "apparel": (("Merino T-Shirt", 59), ("Rain Jacket", 149), ("Wool Socks", 15),
                ("Canvas Sneakers", 69), ("Beanie", 22)),
    "home": (("Linen Throw", 89), ("Ceramic Vase", 39), ("Scented Candle", 18),
             ("Wall Clock", 49), ("Plant Pot", 21)),
    "stationery": (("Dot Grid Notebook", 14), ("Fountain Pen", 45), ("Desk Organizer", 32)),
}  # fmt: skip
_ADJECTIVES = (("Classic", 1.0), ("Everyday", 0.9), ("Pro", 1.5), ("Compact", 0.95),
               ("Deluxe", 1.4), ("Eco", 1.1), ("Nordic", 1.2), ("Urban", 1.05),
               ("Vintage", 1.15), ("Ultra", 1.6))  # fmt: skip
_COLORS = ("black", "white", "sand", "forest", "navy", "rust", "slate", "olive", "coral")
_MATERIALS = {
    "kitchen": ("stainless steel", "cast iron", "walnut", "porcelain"),
    "outdoor": ("ripstop nylon", "aluminium", "recycled polyester"),
    "electronics": ("aluminium", "ABS plastic", "silicone"),
    "apparel": ("merino wool", "organic cotton", "recycled nylon"),
    "home": ("linen", "stoneware", "oak", "soy wax"),
    "stationery": ("recycled paper", "brass", "bamboo"),
}
_PRODUCT_TAGS = ("bestseller", "new", "eco", "gift", "sale", "limited", "bundle", "premium")


@dataclasses.dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    email: str
    country: str
    city: str
    phone: str | None
    loyalty_tier: str
    marketing_opt_in: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Product:
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    stock: int
    attributes: dict[str, Any]
    tags: tuple[str, ...]
    created_at: datetime


@functools.cache
def customers() -> tuple[Customer, ...]:
    """The shop's customers, ids 1..N_CUSTOMERS; the same in every store."""
    rng = random.Random(SEED + 1)
    countries = list(_COUNTRIES)
    out: list[Customer] = []
    for i in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        country = rng.choices(countries, weights=_COUNTRY_WEIGHTS)[0]
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        local = local.encode("ascii", "ignore").decode() or "customer"
        phone = f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}"
        since = timedelta(minutes=i * 400 + rng.randint(0, 300))
        out.append(
            Customer(
                id=i,
                name=f"{first} {last}",
                email=f"{local}{i}@example.com",
                country=country,
                city=rng.choice(_COUNTRIES[country]),
                phone=phone if rng.random() < 0.7 else None,
                loyalty_tier=rng.choice(_TIERS),
                marketing_opt_in=rng.random() < 0.45,
                created_at=_CUSTOMERS_SINCE + since,
            )
        )
    return tuple(out)


@functools.cache
def products() -> tuple[Product, ...]:
    """The catalogue, ids 1..N_PRODUCTS; the same in every store."""
    rng = random.Random(SEED + 2)
    cats = list(_CATEGORIES)
    out: list[Product] = []
    for i in range(1, N_PRODUCTS + 1):
        cat = cats[(i - 1) % len(cats)]
        noun, base = rng.choice(_CATEGORIES[cat])
        adj, mult = rng.choice(_ADJECTIVES)
        color = rng.choice(_COLORS)
        price = Decimal(max(int(base * mult * rng.uniform(0.9, 1.1)), 2)) - Decimal("0.01")
        attrs: dict[str, Any] = {
            "color": color,
            "material": rng.choice(_MATERIALS[cat]),
            "weight_g": rng.randint(40, 4000),
            "dimensions_cm": {
                "w": rng.randint(5, 60),
                "h": rng.randint(2, 80),
                "d": rng.randint(1, 40),
            },
        }
        if cat == "electronics":
            attrs["warranty_years"] = rng.choice((1, 2, 3))
            attrs["battery"] = rng.random() < 0.5
        if cat == "apparel":
            attrs["sizes"] = ["XS", "S", "M", "L", "XL"][rng.randint(0, 1) : rng.randint(3, 5)]
        if rng.random() < 0.15:
            attrs["discontinued"] = True
        tags = tuple(sorted(rng.sample(_PRODUCT_TAGS, rng.randint(0, 3))))
        out.append(
            Product(
                id=i,
                sku=f"{cat[:3].upper()}-{i:05d}",
                name=f"{adj} {noun} ({color})",
                category=cat,
                price=price,
                stock=rng.choice((0, rng.randint(1, 40), rng.randint(40, 900))),
                attributes=attrs,
                tags=tags,
                created_at=_PRODUCTS_SINCE + timedelta(hours=i * 40 + rng.randint(0, 30)),
            )
        )
    return tuple(out)


# -- PostgreSQL ------------------------------------------------------------------

_PG_SCHEMA = """
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

CREATE TABLE customers (
    id serial PRIMARY KEY,
    external_id uuid NOT NULL,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    country char(2) NOT NULL,
    city text NOT NULL,
    phone text,
    loyalty_tier text NOT NULL,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
COMMENT ON TABLE customers IS 'Everyone who ever created an account';

CREATE TABLE products (
    id integer PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(10,2) NOT NULL CHECK (price >= 0),
    stock integer NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{}',
    tags text[] NOT NULL DEFAULT '{}',
    thumbnail bytea,
    created_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id integer NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    total numeric(12,2) NOT NULL,
    status order_status NOT NULL,
    ordered_at timestamptz NOT NULL,
    shipping jsonb
);
COMMENT ON TABLE orders IS 'One row per order; line detail is in "Order Items"';

CREATE TABLE "Order Items" (
    order_id bigint NOT NULL,
    line_no smallint NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- Deliberately without a primary key: the UI must treat it as read-only.
CREATE TABLE audit_log (
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id bigint,
    client_ip inet,
    details jsonb
);

CREATE SCHEMA analytics;
CREATE TABLE analytics.customer_ltv (
    customer_id integer PRIMARY KEY,
    orders integer NOT NULL,
    lifetime_value numeric(14,2) NOT NULL,
    first_order_at timestamptz,
    last_order_at timestamptz
);
"""

# Orders are generated server-side. The subquery is MATERIALIZED so each
# random() is drawn exactly once per row, in generate_series order: with the
# setseed() before it the table is identical on every run.
_PG_ORDERS = """
-- Room for the 120k-row sort in memory instead of a temp file.
SET LOCAL work_mem = '64MB';
SELECT setseed(0.4242);
INSERT INTO orders (id, customer_id, product_id, quantity, total, status, ordered_at, shipping)
WITH g AS MATERIALIZED (
    SELECT i,
           1 + floor(random() * %(n_customers)s)::int AS customer_id,
           1 + floor(power(random(), 1.6) * %(n_products)s)::int AS product_id,
           1 + floor(power(random(), 3) * 5)::int AS quantity,
           random() AS r_status,
           random() AS r_method,
           floor(random() * 1e10)::bigint AS tracking,
           date_trunc('second', %(start)s::timestamptz
               + (i::float8 / %(n_orders)s) * interval '365 days'
               + random() * interval '40 minutes') AS ordered_at
    FROM generate_series(1, %(n_orders)s) AS i
)
SELECT g.i,
       g.customer_id,
       g.product_id,
       g.quantity,
       p.price * g.quantity,
       s.status,
       g.ordered_at,
       CASE WHEN s.status IN ('pending', 'cancelled') THEN NULL
       ELSE jsonb_build_object(
           'method', m.method,
           'carrier', CASE m.method WHEN 'pickup' THEN NULL
                      ELSE (ARRAY['UPS', 'DHL', 'PostNord', 'Colissimo'])[1 + g.tracking %% 4] END,
           'tracking', CASE WHEN s.status IN ('shipped', 'delivered') AND m.method <> 'pickup'
                       THEN '1Z' || lpad(g.tracking::text, 10, '0') END,
           'address', jsonb_build_object('city', c.city, 'country', c.country),
           'gift_wrap', g.tracking %% 11 = 0)
       END
FROM g
JOIN products p ON p.id = g.product_id
JOIN customers c ON c.id = g.customer_id
CROSS JOIN LATERAL (SELECT (CASE
        -- the newest orders are the ones still in flight
        WHEN g.i > %(n_orders)s - 800 AND g.r_status < 0.5 THEN 'pending'
        WHEN g.i > %(n_orders)s - 2500 AND g.r_status < 0.6 THEN 'paid'
        WHEN g.i > %(n_orders)s - 6000 AND g.r_status < 0.7 THEN 'shipped'
        WHEN g.r_status < 0.86 THEN 'delivered'
        WHEN g.r_status < 0.90 THEN 'shipped'
        WHEN g.r_status < 0.96 THEN 'cancelled'
        ELSE 'refunded' END)::order_status AS status) s
CROSS JOIN LATERAL (SELECT CASE WHEN g.r_method < 0.7 THEN 'standard'
                               WHEN g.r_method < 0.92 THEN 'express'
                               ELSE 'pickup' END AS method) m
ORDER BY g.i;

-- One to four lines for each of the first 20k orders.
INSERT INTO "Order Items" (order_id, line_no, product_id, quantity, unit_price)
SELECT o.id, n.line_no, pr.id, 1 + (o.id + n.line_no) %% 3, pr.price
FROM orders o
JOIN generate_series(1, 4) AS n(line_no) ON n.line_no <= 1 + o.id %% 4
JOIN products pr ON pr.id = 1 + ((o.product_id * 7919 + n.line_no * 104729) %% %(n_products)s)
WHERE o.id <= 20000
ORDER BY o.id, n.line_no;

INSERT INTO audit_log (at, actor, action, entity, entity_id, client_ip, details)
SELECT %(start)s::timestamptz + i * interval '3 hours 17 minutes',
       (ARRAY['admin@shop.example', 'ops-bot', 'support@shop.example', 'importer'])[1 + i %% 4],
       (ARRAY['update', 'refund', 'login', 'export', 'price_change'])[1 + (i * 7) %% 5],
       (ARRAY['order', 'product', 'customer'])[1 + (i * 3) %% 3],
       CASE WHEN i %% 9 = 0 THEN NULL ELSE 1 + (i * 7919) %% %(n_customers)s END,
       ('10.0.' || (i %% 250) || '.' || (1 + (i * 13) %% 250))::inet,
       CASE WHEN i %% 5 = 0 THEN NULL
       ELSE jsonb_build_object('request_id', md5(i::text), 'changed', (ARRAY['price', 'status', 'email', 'stock'])[1 + i %% 4])
       END
FROM generate_series(1, 2600) AS i;

INSERT INTO analytics.customer_ltv
SELECT customer_id, count(*), sum(total), min(ordered_at), max(ordered_at)
FROM orders
WHERE status NOT IN ('cancelled', 'refunded')
GROUP BY customer_id
ORDER BY customer_id;

ALTER TABLE orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id),
    ADD CONSTRAINT orders_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id);
ALTER TABLE "Order Items"
    ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_ordered_at_idx ON orders (ordered_at);
CREATE INDEX products_attributes_idx ON products USING gin (attributes);

CREATE VIEW order_totals_by_country AS
SELECT c.country, count(*) AS orders, sum(o.total) AS revenue, round(avg(o.total), 2) AS avg_order
FROM orders o JOIN customers c ON c.id = o.customer_id
WHERE o.status NOT IN ('cancelled', 'refunded')
GROUP BY c.country;

CREATE MATERIALIZED VIEW daily_revenue AS
SELECT (ordered_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders, sum(total) AS revenue
FROM orders
WHERE status NOT IN ('cancelled', 'refunded')
GROUP BY 1
ORDER BY 1;
"""


def _csv_bytes(header: Iterable[str] | None, rows: Iterable[Iterable[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _product_doc(p: Product) -> dict[str, Any]:
    """A product as the app's JSON caches and exports carry it."""
    return {
        "id": p.id,
        "sku": p.sku,
        "name": p.name,
        "price": str(p.price),
        "attributes": p.attributes,
        "tags": list(p.tags),
    }


def _pg_copy_customers() -> io.BytesIO:
    rows = (
        (
            c.id,
            hashlib.md5(f"customer-{c.id}".encode()).hexdigest(),
            c.name,
            c.email,
            c.country,
            c.city,
            "" if c.phone is None else c.phone,
            c.loyalty_tier,
            "t" if c.marketing_opt_in else "f",
            c.created_at.isoformat(),
        )
        for c in customers()
    )
    return io.BytesIO(_csv_bytes(None, rows))


def _pg_copy_products() -> io.BytesIO:
    rows = (
        (
            p.id,
            p.sku,
            p.name,
            p.category,
            str(p.price),
            p.stock,
            json.dumps(p.attributes),
            "{" + ",".join(p.tags) + "}",
            # a few bytes of fake thumbnail, to show a bytea column
            "\\x" + hashlib.sha1(p.sku.encode()).hexdigest(),
            p.created_at.isoformat(),
        )
        for p in products()
    )
    return io.BytesIO(_csv_bytes(None, rows))


def pg_shop_url(url: str) -> str:
    """``url`` with its database replaced by the demo's ("shop")."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + PG_DATABASE, parts.query, parts.fragment))


def seed_postgres(url: str) -> str:
    """Create and fill database "shop" on the server at ``url``; return its URL."""
    import psycopg2
    from psycopg2 import sql

    try:
        admin = psycopg2.connect(url, connect_timeout=10)
        try:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DATABASE)))
        finally:
            admin.close()

        conn = psycopg2.connect(url, dbname=PG_DATABASE, connect_timeout=10)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT to_regclass('public.orders') IS NOT NULL")
                row = cur.fetchone()
                if row is not None and row[0]:
                    return pg_shop_url(url)
                cur.execute(_PG_SCHEMA)
                cur.copy_expert(
                    "COPY customers (id, external_id, name, email, country, city, phone,"
                    " loyalty_tier, marketing_opt_in, created_at) FROM STDIN (FORMAT csv)",
                    _pg_copy_customers(),
                )
                cur.execute("SELECT setval('customers_id_seq', %s)", (N_CUSTOMERS,))
                cur.copy_expert(
                    "COPY products (id, sku, name, category, price, stock, attributes, tags,"
                    " thumbnail, created_at) FROM STDIN (FORMAT csv)",
                    _pg_copy_products(),
                )
                cur.execute(
                    _PG_ORDERS,
                    {
                        "n_customers": N_CUSTOMERS,
                        "n_products": N_PRODUCTS,
                        "n_orders": N_ORDERS,
                        "start": EPOCH - timedelta(days=365),
                    },
                )
            # The catalog tree shows reltuples as the row estimate; until the
            # first ANALYZE a fresh table reports -1 (unknown).
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("ANALYZE")
                # The monitor's slowest statements, where the server preloads it.
                cur.execute(
                    "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
                    " AND current_setting('shared_preload_libraries') ~ 'pg_stat_statements'"
                )
                if cur.fetchone() is not None:
                    # In a schema of its own: its two views would crowd public.
                    cur.execute("CREATE SCHEMA IF NOT EXISTS stats")
                    cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA stats")
        finally:
            conn.close()
    except psycopg2.Error as e:
        raise SeedError(f"could not seed the PostgreSQL demo database: {_one_line(e)}") from e
    return pg_shop_url(url)


# -- MongoDB -------------------------------------------------------------------

_REVIEW_TITLES = {
    5: (
        "Love it",
        "Exactly as described",
        "Best purchase this year",
        "Five stars",
        "Superb quality",
    ),
    4: ("Very good", "Solid choice", "Happy with it", "Nearly perfect"),
    3: ("It's okay", "Does the job", "Mixed feelings", "Average"),
    2: ("Disappointed", "Not great", "Expected more"),
    1: ("Broke after a week", "Do not buy", "Returned it"),
}
_REVIEW_SENTENCES = {
    "good": (
        "The build quality is excellent.", "Arrived two days early.", "Looks even better in person.",
        "Would buy again.", "Great value for the price.", "My partner keeps borrowing it.",
        "The color is spot on.", "Packaging was plastic-free, which I appreciate.",
    ),
    "meh": (
        "It works, but feels a bit cheap.", "Shipping took longer than promised.",
        "Smaller than I expected.", "Instructions were confusing.", "Fine for the price.",
    ),
    "bad": (
        "Stopped working after a few days.", "The stitching came apart.",
        "Support never answered my email.", "Nothing like the photos.", "Had to return it.",
    ),
}  # fmt: skip
_REVIEW_TAGS = ("quality", "value", "shipping", "design", "durability", "size", "gift", "support")


def _object_id(at: datetime, n: int) -> Any:
    """A deterministic ObjectId: ``at``'s timestamp, a fixed machine part, ``n``."""
    from bson import ObjectId

    return ObjectId(
        struct.pack(">I", int(at.timestamp())) + b"\x5e\xed\xde\x00\x01" + n.to_bytes(3, "big")
    )


def _reviews() -> list[dict[str, Any]]:
    rng = random.Random(SEED + 3)
    prods, custs = products(), customers()
    docs: list[dict[str, Any]] = []
    for n in range(N_REVIEWS):
        p = prods[min(int(rng.random() ** 1.6 * N_PRODUCTS), N_PRODUCTS - 1)]
        c = custs[rng.randrange(N_CUSTOMERS)]
        rating = rng.choices((5, 4, 3, 2, 1), weights=(45, 25, 12, 8, 10))[0]
        mood = "good" if rating >= 4 else "meh" if rating == 3 else "bad"
        body = " ".join(rng.sample(_REVIEW_SENTENCES[mood], rng.randint(1, 3)))
        at = EPOCH - timedelta(days=400) + timedelta(minutes=n * 285 + rng.randint(0, 200))
        doc: dict[str, Any] = {
            "_id": _object_id(at, n),
            "product": {"sku": p.sku, "name": p.name, "category": p.category},
            "author": {"customer_id": c.id, "name": c.name, "verified": rng.random() < 0.7},
            "rating": rating,
            "title": rng.choice(_REVIEW_TITLES[rating]),
            "body": body,
            "tags": sorted(rng.sample(_REVIEW_TAGS, rng.randint(0, 3))),
            "helpful_votes": int(rng.expovariate(0.2)),
            "created_at": at,
            "images": [
                {
                    "key": f"images/reviews/{n:05d}-{k}.png",
                    "width": rng.choice((640, 800, 1024)),
                    "height": rng.choice((480, 600, 768)),
                }
                for k in range(rng.choice((0, 0, 0, 0, 1, 1, 2, 3)))
            ],
        }
        if rating <= 2 and rng.random() < 0.6:
            doc["response"] = {
                "from": "Shop Support",
                "body": "Sorry to hear that! We have sent you a replacement.",
                "at": at + timedelta(hours=rng.randint(2, 48)),
            }
        if rng.random() < 0.05:
            doc["edited"] = True
        docs.append(doc)
    return docs


def _profiles() -> list[dict[str, Any]]:
    """Customer profiles whose shape varies: fields appear, vanish and change
    type across documents, as in a collection that grew over several app versions."""
    rng = random.Random(SEED + 4)
    docs: list[dict[str, Any]] = []
    for c in customers()[:N_PROFILES]:
        doc: dict[str, Any] = {"_id": c.id, "email": c.email, "name": c.name}
        version = 1 + c.id % 3
        doc["schema_version"] = version
        if version >= 2:
            doc["preferences"] = {
                "newsletter": c.marketing_opt_in,
                "language": rng.choice(("en", "de", "fr", "es", "sv", "ja")),
                "currency": rng.choice(("USD", "EUR", "GBP", "SEK", "JPY")),
            }
        else:
            doc["newsletter"] = "yes" if c.marketing_opt_in else "no"  # v1 stored a string
        if rng.random() < 0.8:
            kinds = ("home",) if rng.random() < 0.6 else ("home", "work")
            cities = [c.city] + [rng.choice(_COUNTRIES[c.country]) for _ in kinds[1:]]
            doc["addresses"] = [
                {"type": t, "city": city, "country": c.country}
                for t, city in zip(kinds, cities, strict=True)
            ]
        if version == 3:
            doc["loyalty"] = {"tier": c.loyalty_tier, "points": rng.randint(0, 20000)}
        if rng.random() < 0.4:
            doc["devices"] = rng.sample(("ios", "android", "web", "tablet"), rng.randint(1, 3))
        if rng.random() < 0.3:
            doc["last_seen"] = EPOCH - timedelta(minutes=rng.randint(5, 60 * 24 * 90))
        if rng.random() < 0.05:
            doc["notes"] = "VIP: handle with care"
        if c.phone is not None and rng.random() < 0.5:
            doc["phone"] = c.phone
        docs.append(doc)
    return docs


def _daily_active() -> list[dict[str, Any]]:
    rng = random.Random(SEED + 5)
    start = EPOCH.replace(hour=0) - timedelta(days=60)
    return [
        {
            "_id": (start + timedelta(days=d)).strftime("%Y-%m-%d"),
            "day": start + timedelta(days=d),
            "active_users": rng.randint(800, 1400)
            + (250 if (start + timedelta(days=d)).weekday() >= 5 else 0),
            "sessions": rng.randint(1500, 2600),
            "by_platform": {
                "web": rng.randint(400, 800),
                "ios": rng.randint(200, 400),
                "android": rng.randint(150, 350),
            },
        }
        for d in range(60)
    ]


def seed_mongo(url: str) -> str:
    """Fill databases "shop" and "analytics" on the server at ``url``; return the URL."""
    import pymongo
    from pymongo.errors import PyMongoError

    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=10_000
    )
    try:
        shop = client[MONGO_DATABASE]
        if "reviews" in shop.list_collection_names():
            return url
        shop.reviews.insert_many(_reviews(), ordered=False)
        shop.reviews.create_index("rating")
        shop.reviews.create_index(
            [("product.sku", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]
        )
        shop.customers_profile.insert_many(_profiles(), ordered=False)
        shop.customers_profile.create_index("email", unique=True)
        analytics = client[MONGO_ANALYTICS_DATABASE]
        analytics.daily_active_users.insert_many(_daily_active(), ordered=False)
    except PyMongoError as e:
        raise SeedError(f"could not seed the MongoDB demo database: {_one_line(e)}") from e
    finally:
        client.close()
    return url


# -- Redis ---------------------------------------------------------------------

_USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148",
    "ShopApp/4.12.0 (Android 15)",
)
_EVENT_TYPES = ("page_view", "page_view", "page_view", "search", "add_to_cart", "checkout", "login")
_SEARCHES = (
    "backpack",
    "merino",
    "gift for dad",
    "candle",
    "usb-c",
    "espresso",
    "rain jacket",
    "pen",
)


def _redis_url(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def seed_redis(url: str) -> str:
    """Fill Redis db 0 (and a little of db 2) at ``url``; return the db-0 URL."""
    import redis

    rng = random.Random(SEED + 6)
    custs, prods = customers(), products()
    db0_url = _redis_url(url, REDIS_DB)
    try:
        r = redis.Redis.from_url(db0_url, socket_connect_timeout=10)
        try:
            if r.exists("leaderboard:weekly"):
                return db0_url
            p = r.pipeline(transaction=False)
            for n in range(600):
                c = custs[rng.randrange(N_CUSTOMERS)]
                token = f"{rng.getrandbits(128):032x}"
                p.set(
                    f"session:{token}",
                    json.dumps(
                        {
                            "customer_id": c.id,
                            "email": c.email,
                            "created_at": (EPOCH - timedelta(minutes=n * 3)).isoformat(),
                            "ip": f"203.0.113.{rng.randint(1, 254)}",
                            "user_agent": rng.choice(_USER_AGENTS),
                            "cart": f"cart:{c.id}",
                        }
                    ),
                    ex=rng.choice((900, 1800, 3600, 3600, 7200, 86400)),
                )
            for c in rng.sample(custs, 800):
                items = rng.sample(prods, rng.randint(1, 5))
                key = f"cart:{c.id}"
                p.hset(key, mapping={it.sku: rng.randint(1, 4) for it in items})
                if rng.random() < 0.5:
                    # abandoned carts expire after a week
                    p.expire(key, 7 * 86400)
            p.zadd(
                "leaderboard:weekly",
                {c.email: rng.randint(10, 5000) for c in rng.sample(custs, 500)},
            )
            for prod in prods:
                cached = json.dumps(_product_doc(prod) | {"stock": prod.stock})
                p.set(f"cache:product:{prod.id}", cached, ex=rng.randint(300, 1800))
                p.set(f"inventory:{prod.sku}", prod.stock)
            for n in range(200):
                p.set(f"ratelimit:api:198.51.100.{n}", rng.randint(1, 120), ex=60)
            for c in rng.sample(custs, 300):
                p.rpush(
                    f"recently_viewed:{c.id}",
                    *(pr.sku for pr in rng.sample(prods, rng.randint(3, 10))),
                )
            # Explicit stream IDs (not '*') so the entries are the same on every run.
            base_ms = int((EPOCH - timedelta(hours=12)).timestamp() * 1000)
            for n in range(1_000):
                kind = rng.choice(_EVENT_TYPES)
                fields: dict[Any, Any] = {
                    "type": kind,
                    "customer_id": rng.randint(1, N_CUSTOMERS),
                }
                if kind == "search":
                    fields["query"] = rng.choice(_SEARCHES)
                elif kind != "login":
                    fields["sku"] = prods[rng.randrange(N_PRODUCTS)].sku
                p.xadd(
                    "events:recent",
                    fields,
                    id=f"{base_ms + n * 43_000}-0",
                    maxlen=1_000,
                    approximate=False,
                )
            templates = ("order_confirmation", "shipping_update", "review_request")
            emails = [
                {"template": rng.choice(templates), "to": custs[rng.randrange(N_CUSTOMERS)].email,
                 "order_id": N_ORDERS - n}
                for n in range(60)
            ]  # fmt: skip
            p.rpush("queue:emails", *(json.dumps(e) for e in emails))
            p.sadd("tags:popular", *_PRODUCT_TAGS, *_REVIEW_TAGS)
            p.hset(
                "config:feature_flags",
                mapping={
                    "new_checkout": "on",
                    "dark_mode": "on",
                    "reviews_v2": "off",
                    "gift_cards": "beta",
                },
            )
            p.set("counter:orders:today", 412)
            p.hset(
                "stats:pageviews:2026-11",
                mapping={
                    f"/products/{prods[i % N_PRODUCTS].sku}?ref={i // N_PRODUCTS}": rng.randint(
                        1, 900
                    )
                    for i in range(5_000)
                },
            )
            p.execute()
        finally:
            r.close()

        r2 = redis.Redis.from_url(_redis_url(url, REDIS_SECOND_DB), socket_connect_timeout=10)
        try:
            p = r2.pipeline(transaction=False)
            p.rpush(
                "jobs:pending",
                *(json.dumps({"job": "send_invoice", "order_id": N_ORDERS - n}) for n in range(12)),
            )
            for w in range(1, 4):
                p.set(f"worker:{w}:heartbeat", EPOCH.isoformat(), ex=30)
            p.set("lock:report:daily", "worker:2", ex=300)
            p.hset(
                "scheduler:last_run",
                mapping={"daily_report": EPOCH.isoformat(), "reindex": "2026-11-19T03:00:00+00:00"},
            )
            p.execute()
        finally:
            r2.close()
    except redis.RedisError as e:
        raise SeedError(f"could not seed the Redis demo data: {_one_line(e)}") from e
    return db0_url


# -- S3 ------------------------------------------------------------------------


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real (tiny, single-colour) PNG, so previews can sniff the type."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _S3Object:
    bucket: str
    key: str
    body: bytes
    content_type: str
    metadata: Mapping[str, str] | None = None


def _log_lines(rng: random.Random, day: datetime, n: int) -> bytes:
    paths = ("/", "/products", "/products/{sku}", "/cart", "/checkout", "/api/reviews", "/search")
    prods = products()
    lines = []
    for k in range(n):
        at = day + timedelta(seconds=k * (86_400 // n) + rng.randint(0, 60))
        status = rng.choices((200, 201, 304, 404, 500), weights=(80, 5, 8, 5, 2))[0]
        level = "ERROR" if status >= 500 else "WARN " if status == 404 else "INFO "
        path = rng.choice(paths).replace("{sku}", prods[rng.randrange(N_PRODUCTS)].sku)
        lines.append(
            f"{at:%Y-%m-%dT%H:%M:%SZ} {level} web-{rng.randint(1, 3)} "
            f"{rng.choice(('GET', 'GET', 'GET', 'POST'))} {path} {status} {rng.randint(2, 900)}ms"
        )
    return ("\n".join(lines) + "\n").encode()


def _s3_objects() -> list[_S3Object]:
    rng = random.Random(SEED + 7)
    custs, prods = customers(), products()
    out: list[_S3Object] = []
    b = S3_BUCKET
    out.append(
        _S3Object(
            b,
            "README.md",
            b"# shop-data\n\nExports, product images and app logs.\n",
            "text/markdown",
        )
    )

    cust_rows = [{f.name: getattr(c, f.name) for f in dataclasses.fields(Customer)} for c in custs]
    for row in cust_rows:
        row["created_at"] = row["created_at"].isoformat()
    out.append(
        _S3Object(
            b,
            "exports/customers.csv",
            _csv_bytes(cust_rows[0].keys(), (r.values() for r in cust_rows)),
            "text/csv",
        )
    )
    # Pretty-printed on purpose: the one export over 1 MB, to show size handling.
    out.append(
        _S3Object(
            b,
            "exports/customers-full.json",
            json.dumps(cust_rows, indent=2, ensure_ascii=False).encode(),
            "application/json",
        )
    )
    out.append(
        _S3Object(
            b,
            "exports/products.csv",
            _csv_bytes(
                ("id", "sku", "name", "category", "price", "stock", "tags"),
                (
                    (p.id, p.sku, p.name, p.category, p.price, p.stock, "|".join(p.tags))
                    for p in prods
                ),
            ),
            "text/csv",
        )
    )
    out.append(
        _S3Object(
            b,
            "exports/products.jsonl",
            "".join(json.dumps(_product_doc(p)) + "\n" for p in prods).encode(),
            "application/x-ndjson",
        )
    )
    ratings: dict[str, list[int]] = {}
    for rv in _reviews():
        ratings.setdefault(rv["product"]["sku"], []).append(rv["rating"])
    summary = {
        sku: {"reviews": len(rs), "avg_rating": round(sum(rs) / len(rs), 2)}
        for sku, rs in sorted(ratings.items())
    }
    out.append(
        _S3Object(
            b,
            "exports/review-summary.json",
            json.dumps(summary, indent=1).encode(),
            "application/json",
        )
    )

    for p in prods[:40]:
        size = rng.choice((16, 24, 32))
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        out.append(
            _S3Object(
                b,
                f"images/products/{p.sku}.png",
                _png(size, size, color),
                "image/png",
                {"sku": p.sku},
            )
        )
    for n in range(8):
        out.append(
            _S3Object(
                b,
                f"images/reviews/{n:05d}-0.png",
                _png(24, 16, (200, 180, 160 - n * 10)),
                "image/png",
            )
        )

    for month, days in ((9, 30), (10, 31), (11, 20)):
        for d in range(1, days + 1):
            day = datetime(2026, month, d, tzinfo=UTC)
            out.append(
                _S3Object(
                    b,
                    f"logs/2026/{month:02d}/app-{d:02d}.log",
                    _log_lines(rng, day, 120),
                    "text/plain",
                )
            )

    bb = S3_BACKUP_BUCKET
    dump_head = "".join(
        f"INSERT INTO products (id, sku, name, price) VALUES ({p.id}, '{p.sku}', "
        f"'{p.name.replace(chr(39), chr(39) * 2)}', {p.price});\n"
        for p in prods
    ).encode()
    for d in range(14, 21):
        out.append(
            _S3Object(
                bb,
                f"postgres/shop-2026-11-{d:02d}.sql.gz",
                gzip.compress(dump_head, mtime=0),
                "application/gzip",
            )
        )
    out.append(
        _S3Object(
            bb, "redis/dump-2026-11-20.rdb", rng.randbytes(64 * 1024), "application/octet-stream"
        )
    )
    out.append(_S3Object(bb, "RETENTION.txt", b"Backups are kept for 30 days.\n", "text/plain"))
    return out


def s3_endpoint(url: str) -> str:
    """The ``endpoint`` query parameter of an ``s3://`` URL."""
    values = parse_qs(urlsplit(url).query).get("endpoint")
    if not values:
        # Never fall through to real AWS: the demo seeds only a local server.
        raise SeedError("the S3 demo needs a local endpoint (s3://?endpoint=http://...)")
    return values[0]


def seed_s3(url: str, *, threads: int = 8) -> str:
    """Create buckets "shop-data" and "shop-backups" on the S3-compatible
    server at ``url`` (``s3://?endpoint=...``) and fill them; return ``url``."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = s3_endpoint(url)
    try:
        # Explicit dummy credentials: this only ever talks to a local sandbox,
        # and must not pick up (or send) a developer's real AWS credentials.
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
            config=Config(max_pool_connections=threads * 2, retries={"max_attempts": 3}),
        )
        existing = {bkt["Name"] for bkt in client.list_buckets().get("Buckets", [])}
        if S3_BUCKET in existing:
            return url
        for name in (S3_BUCKET, S3_BACKUP_BUCKET):
            if name not in existing:
                client.create_bucket(Bucket=name)
        objects = _s3_objects()

        def put(o: _S3Object) -> None:
            extra: dict[str, Any] = {"ContentType": o.content_type}
            if o.metadata:
                extra["Metadata"] = dict(o.metadata)
            client.put_object(Bucket=o.bucket, Key=o.key, Body=o.body, **extra)

        # A boto3 client is safe to share between threads (its creation is not).
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="demo-s3") as pool:
            for fut in [pool.submit(put, o) for o in objects]:
                fut.result()
    except (BotoCoreError, ClientError) as e:
        raise SeedError(f"could not seed the S3 demo buckets: {_one_line(e)}") from e
    return url


# -- all at once ---------------------------------------------------------------

SEEDERS: dict[str, Callable[[str], str]] = {
    "postgres": seed_postgres,
    "mongo": seed_mongo,
    "redis": seed_redis,
    "s3": seed_s3,
}


def seed_all(
    servers: Mapping[str, HasUrl], *, timings: dict[str, float] | None = None
) -> dict[str, str]:
    """Seed every server in ``servers`` (keys from ``STORES``) in parallel and
    return, per store, the URL to open: PG points at database "shop", Redis
    at db 0, Mongo and S3 are the server URLs (their tree shows databases and
    buckets). Seconds per store go into ``timings`` when given. Raises
    ``SeedError`` (the first failure, after every seeder has finished)."""
    unknown = set(servers) - set(SEEDERS)
    if unknown:
        raise ValueError(f"no demo data for: {', '.join(sorted(unknown))}")
    # Build the shared catalogue before the threads start, so they do not race
    # to fill the functools caches.
    customers(), products()
    urls: dict[str, str] = {}
    lock = threading.Lock()

    def run(store: str) -> None:
        t0 = time.perf_counter()
        url = SEEDERS[store](servers[store].url)
        with lock:
            urls[store] = url
            if timings is not None:
                timings[store] = time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=len(servers) or 1, thread_name_prefix="demo-seed") as pool:
        futures = [pool.submit(run, store) for store in servers]
    for fut in futures:
        fut.result()
    return {store: urls[store] for store in STORES if store in urls}


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__
