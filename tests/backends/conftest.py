"""The ``harness`` fixture: one StoreHarness per store, each over its real
sandbox server (and the in-memory stores used for UI snapshots: the fake and
memdocs)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

# store -> (module with the harness class, class name, server fixture or None)
HARNESSES: dict[str, tuple[str, str, str | None]] = {
    "postgres": ("tests.backends.harness_postgres", "PostgresHarness", "pg_server"),
    "mongo": ("tests.backends.harness_mongo", "MongoHarness", "mongo_server"),
    "redis": ("tests.backends.harness_redis", "RedisHarness", "redis_server"),
    "s3": ("tests.backends.harness_s3", "S3Harness", "s3_server"),
    "fake": ("tests.backends.harness_fake", "FakeHarness", None),
    "memdocs": ("tests.backends.harness_memdocs", "MemDocsHarness", None),
}

_CACHE: dict[str, Any] = {}


@pytest.fixture(scope="session", params=list(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Iterator[Any]:
    store = request.param
    if store not in _CACHE:
        module_name, class_name, server_fixture = HARNESSES[store]
        cls = getattr(importlib.import_module(module_name), class_name)
        server = request.getfixturevalue(server_fixture) if server_fixture else None
        _CACHE[store] = cls(server)
    # Harnesses live for the session; their servers are stopped by the
    # server fixtures in tests/conftest.py.
    yield _CACHE[store]
