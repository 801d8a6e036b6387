"""Conformance harness for the Redis backend over the sandbox redis-server.

Seeded containers live in db1 (db0 stays free for whatever a user's URL
points at); the empty container is db15, flushed first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from storescope.backends import sandbox
from storescope.backends.base import Backend
from storescope.backends.redis import decode_name, encode_name, glob_escape
from storescope.backends.types import Page

from .harness import BIG_VALUE

SEED_DB = 1
EMPTY_DB = 15


class RedisHarness:
    kind = "redis"

    def __init__(self, server: sandbox.Server) -> None:
        self.url = server.url
        self.port = server.port
        self._raw: dict[int, redis.Redis] = {}
        self._seeded: dict[tuple[str, int], tuple[str, ...]] = {}

    def raw(self, db: int) -> redis.Redis:
        """A plain redis-py client for setup and checks (never the code under test)."""
        if db not in self._raw:
            self._raw[db] = redis.Redis(host="127.0.0.1", port=self.port, db=db)
        return self._raw[db]

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        if (name, n) not in self._seeded:
            client = self.raw(SEED_DB)
            prefix = encode_name(name) + b":"
            stale = list(client.scan_iter(match=glob_escape(prefix) + b"*", count=1000))
            for i in range(0, len(stale), 1000):
                client.delete(*stale[i : i + 1000])
            for start in range(0, n, 1000):
                chunk = {
                    prefix + f"{i:06d}".encode(): f"value {i}"
                    for i in range(start, min(n, start + 1000))
                }
                client.mset(chunk)
            self._seeded[(name, n)] = (f"db{SEED_DB}", name + ":")
        return self._seeded[(name, n)]

    def make_empty(self) -> tuple[str, ...]:
        self.raw(EMPTY_DB).flushdb()
        return (f"db{EMPTY_DB}",)

    def record_ids(self, page: Page) -> list[str]:
        return [str(row[0]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        db = int(path[0][2:])
        pattern = glob_escape(encode_name("".join(path[1:]))) + b"*"
        return {decode_name(k) for k in self.raw(db).scan_iter(match=pattern, count=1000)}

    def missing_path(self) -> tuple[str, ...]:
        return (f"db{SEED_DB}", "no_such_ns:", "nokey")

    def url_for_port(self, port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """A string key of 200,000 bytes (over the 64 KB a preview keeps)."""
        self.raw(SEED_DB).set(b"big_value:k", BIG_VALUE.encode())
        return (f"db{SEED_DB}", "big_value:", "k"), "value", BIG_VALUE

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # The sandbox has 16 databases: SELECT 99 is refused by the server.
        return lambda: backend.list_children(("db99",))
