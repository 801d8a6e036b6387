"""Fixtures of the CLI tests: small data seeded with the raw drivers into the
CLI's own namespaces of the shared sandbox servers (PG and Mongo database
"clitest", Redis db 3, S3 bucket "clitest"), and a helper that runs
``python -m storescope`` in a subprocess the way a user's shell would."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from storescope.backends import sandbox

ROOT = Path(__file__).resolve().parents[2]

PG_DB = "clitest"
MONGO_DB = "clitest"
REDIS_DB = 3
BUCKET = "clitest"

#: numeric(30,10) values that a float would round (more than 17 digits).
EXACT_PRICE = Decimal("12345678901234567890.1234567891")
MANY_ROWS = 20_000


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path = ROOT,
) -> CliResult:
    """Run ``python -m storescope ARGS`` with this process's environment (the
    AWS dummies of tests/conftest.py included), plus ``env``."""
    import time

    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT)
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "storescope", *args],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


#: ``python -c PEAK_RSS_MAIN ARGS``: the CLI's main() in a fresh interpreter
#: that writes its own peak RSS (VmHWM) to stderr at the end. A child's
#: getrusage ru_maxrss is useless here: Linux carries the pre-exec high-water
#: mark over exec(), and with vfork that is this (big) pytest process's.
PEAK_RSS_MAIN = (
    "import sys\n"
    "from storescope.tui.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "sys.stderr.write(hwm)\n"
    "sys.exit(rc)\n"
)


# -- PostgreSQL -----------------------------------------------------------------


def pg_db_url(url: str, db: str = PG_DB) -> str:
    """``url`` (of the sandbox server) pointed at database ``db``."""
    return url.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session")
def pg_cli(pg_server: sandbox.Server) -> Iterator[str]:
    """The PG server's URL, with database "clitest" seeded: ``items`` (one row
    per interesting type), ``many`` (20k rows), and a table named ``a/b%c``."""
    import psycopg2

    admin = psycopg2.connect(pg_server.url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{PG_DB}"')
    admin.close()
    conn = psycopg2.connect(pg_db_url(pg_server.url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            """
            DROP TABLE IF EXISTS items, many, "a/b%%c";
            CREATE TABLE items (
                id int PRIMARY KEY, name text, price numeric(30,10), created timestamptz,
                data bytea, tags jsonb, span interval, day date
            );
            INSERT INTO items VALUES
              (1, 'ada', %s, '2024-01-02 03:04:05.123456+00', '\\xdeadbeef',
               '{"a": [1, 2], "b": {"c": null}}', '1 day 02:03:04.5', '2024-02-29'),
              (2, 'comma, "quoted"', 0.5, NULL, NULL, NULL, NULL, NULL),
              (3, '', -1.25, '2000-01-01 00:00:00+00', '\\x', '[]', '-00:00:05', '1999-12-31');
            CREATE TABLE many (id int PRIMARY KEY, label text);
            INSERT INTO many SELECT g, 'row ' || g FROM generate_series(1, %s) g;
            CREATE TABLE "a/b%%c" (id int PRIMARY KEY);
            INSERT INTO "a/b%%c" VALUES (1), (2);
            ANALYZE;
            """,
            (EXACT_PRICE, MANY_ROWS),
        )
    conn.close()
    yield pg_server.url


# -- MongoDB ---------------------------------------------------------------------

MONGO_OID = "65a1b2c3d4e5f60718293a4b"


@pytest.fixture(scope="session")
def mongo_cli(mongo_server: sandbox.Server) -> Iterator[str]:
    """The Mongo server's URL, with ``clitest.people``: ObjectIds, nested
    documents, dates, Decimal128 and binary, and documents with different fields."""
    from bson import Binary, Decimal128, ObjectId
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(mongo_server.url)
    db = client[MONGO_DB]
    db.people.drop()
    db.people.insert_many(
        [
            {
                "_id": ObjectId(MONGO_OID),
                "name": "ada",
                "address": {"city": "London", "geo": [51.5, -0.12]},
                "born": dt.datetime(1815, 12, 10, tzinfo=dt.UTC),
                "joined": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC),
                "balance": Decimal128("1234567890.0123456789"),
                "blob": Binary(b"\x00\x01\xff", 0),
                "score": 1.5,
                "visits": 12,
            },
            {"_id": ObjectId("65a1b2c3d4e5f60718293a4c"), "name": "grace", "extra": True},
        ]
    )
    client.close()
    yield mongo_server.url


# -- Redis -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_cli() -> Iterator[str]:
    """A Redis server of the CLI tests' own (Redis has only 16 databases and
    the backend tests flush the ones they use), with db 3 holding a hash, a
    string with a TTL, a plain key and a key whose name has '/' and '%'."""
    import redis

    redis_server = sandbox.start_redis()
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, db=REDIS_DB)
    client.flushdb()
    client.hset("user:1", mapping={"name": "ada", "lang": "en"})
    client.hset("user:2", mapping={"name": "grace"})
    client.set("session:abc", "token", ex=3600)
    client.set("plain", "value")
    client.set("odd/key%1", "z")
    client.close()
    try:
        yield redis_server.url
    finally:
        redis_server.stop()


# -- S3 ------------------------------------------------------------------------------

S3_KEYS = ("logs/2024/a.txt", "logs/b.txt", "readme.md")


@pytest.fixture(scope="session")
def s3_cli(s3_server: sandbox.Server) -> Iterator[str]:
    """The S3 server's URL, with bucket "clitest" holding three objects."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_server.port}")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
    for key in S3_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello")
    yield s3_server.url
