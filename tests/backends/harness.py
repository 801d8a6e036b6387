"""What the conformance suite needs from each store, implemented once per
store in ``harness_<store>.py`` using the store's own driver for setup only
(the code under test is always the backend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from storescope.backends.base import Backend
from storescope.backends.types import Page

#: A value over every store's preview bound (PostgreSQL 4,096 characters,
#: Redis 64 KB), with characters that CSV and JSON escape.
BIG_UNIT = 'big, "value" ünï ✓\n'
BIG_VALUE = (BIG_UNIT * 20_000)[:200_000]


class StoreHarness(Protocol):
    kind: str  # "postgres" | "mongo" | "redis" | "s3" | "fake"
    url: str  # a URL open_backend() accepts for the running server

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        """Create a browsable container whose own name is ``name`` (adjusted
        only if the store forbids some character, e.g. '/' for an S3 prefix)
        holding ``n`` >= 1 records with distinct identities; return its path.
        Idempotent for the same (name, n) within a test session."""

    def make_empty(self) -> tuple[str, ...]:
        """A browsable container that holds no records; return its path."""

    def record_ids(self, page: Page) -> list[str]:
        """The identity of each row of ``page`` (primary key, _id, key name,
        object key), used to check pages join without gaps or duplicates."""

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        """Every identity seeded at ``path``, read with the raw driver."""

    def missing_path(self) -> tuple[str, ...]:
        """A path that looks valid but does not exist."""

    def url_for_port(self, port: int) -> str:
        """The URL of a server of this kind at 127.0.0.1:``port``."""

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """A browsable container holding a record whose field (the second
        item) is ``BIG_VALUE`` (the third), beside a short record; None for a
        store whose pages hold no values (an S3 listing)."""

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        """A call on ``backend`` that makes the driver itself raise (not a
        check of ours), e.g. an invalid filter or an out-of-range database."""
