"""Conformance harness for S3 over the sandbox moto server.

Setup talks to moto with boto3 directly; the code under test is always
``backends.s3``. Seeding dominates the suite's time (moto accepts ~300-400
puts/s whatever the client does: its own request routing costs ~2.5 ms of CPU
per request), so every (name, n) set is seeded at most once per server, by a
thread pool sharing one client.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from storescope.backends.base import Backend
from storescope.backends.sandbox import Server
from storescope.backends.types import Page

BUCKET = "conformance"
EMPTY_BUCKET = "conformance-empty"
MISSING_BUCKET = "no-such-bucket-xyz"
SEED_WORKERS = 8

# (server port, bucket, prefix, n) already seeded: the moto server lives for the
# whole test session and several harness instances (conformance, test_s3) share it.
_SEEDED: set[tuple[int, str, str, int]] = set()
_BUCKETS: set[tuple[int, str]] = set()
_LOCK = threading.Lock()


def raw_client(server: Server) -> Any:
    """A plain boto3 client for the sandbox server, for setup and checks."""
    import boto3
    from botocore.config import Config

    endpoint = server.url.split("endpoint=", 1)[1]
    config = Config(
        s3={"addressing_style": "path"},
        max_pool_connections=SEED_WORKERS * 2,
        # No CRC32 per request: client CPU competes with moto on 2 cores.
        request_checksum_calculation="when_required",
        retries={"total_max_attempts": 3, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def ensure_bucket(server: Server, client: Any, bucket: str) -> None:
    with _LOCK:
        if (server.port, bucket) in _BUCKETS:
            return
        # An earlier harness instance on the same server may have made it.
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=bucket)
        _BUCKETS.add((server.port, bucket))


def put_objects(client: Any, bucket: str, items: Iterable[tuple[str, bytes]]) -> None:
    """Put many objects in parallel; raises the first error."""

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])

    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        for _ in pool.map(put, items):
            pass


def list_keys(client: Any, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


class S3Harness:
    kind = "s3"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url
        self.client = raw_client(server)

    @staticmethod
    def prefix_for(name: str) -> str:
        # '/' is S3's delimiter: inside a name it would make a deeper level.
        return name.replace("/", "-") + "/"

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        prefix = self.prefix_for(name)
        marker = (self.server.port, BUCKET, prefix, n)
        ensure_bucket(self.server, self.client, BUCKET)
        if marker not in _SEEDED:
            put_objects(self.client, BUCKET, ((f"{prefix}{i:06d}", b"x") for i in range(n)))
            _SEEDED.add(marker)
        return (BUCKET, prefix)

    def make_empty(self) -> tuple[str, ...]:
        ensure_bucket(self.server, self.client, EMPTY_BUCKET)
        return (EMPTY_BUCKET,)

    def record_ids(self, page: Page) -> list[str]:
        index = [c.name for c in page.columns].index("key")
        return [str(row[index]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        return list_keys(self.client, path[0], "".join(path[1:]))

    def missing_path(self) -> tuple[str, ...]:
        # A prefix nothing is stored under, in a bucket that exists (a missing
        # bucket is covered by driver_error and test_s3.py).
        ensure_bucket(self.server, self.client, BUCKET)
        return (BUCKET, "no-such-prefix/")

    def url_for_port(self, port: int) -> str:
        return f"s3://?endpoint=http://127.0.0.1:{port}"

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """None: a listing (key, size, modified, etag) holds no big values."""
        return None

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # moto answers NoSuchBucket; botocore raises it as a ClientError.
        return lambda: backend.browse((MISSING_BUCKET,), limit=1)
