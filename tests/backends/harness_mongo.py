"""Conformance harness for MongoDB over the SecantusDB sandbox server.

Setup and checks use raw pymongo; only the code under test is the backend.
Seeded collections live in the database ``conformance``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pymongo

from storescope.backends.base import Backend
from storescope.backends.sandbox import Server
from storescope.backends.types import Page

from .harness import BIG_VALUE

DATABASE = "conformance"
TAGS = ("red", "green", "blue")


class MongoHarness:
    kind = "mongo"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url
        self.client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            server.url, serverSelectionTimeoutMS=10_000
        )
        self.db = self.client[DATABASE]

    def close(self) -> None:
        self.client.close()

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        # MongoDB forbids only '$' and NUL in collection names, and the
        # conformance names use neither: the name is kept as is.
        collection = self.db[name]
        if collection.count_documents({}) != n:
            collection.drop()
            batch = 5_000
            for start in range(0, n, batch):
                collection.insert_many(
                    [
                        {"_id": i, "n": i, "tag": TAGS[i % len(TAGS)]}
                        for i in range(start, min(start + batch, n))
                    ],
                    ordered=False,
                )
        return (DATABASE, name)

    def make_empty(self) -> tuple[str, ...]:
        if not self.db.list_collection_names(filter={"name": "empty"}):
            self.db.create_collection("empty")
        return (DATABASE, "empty")

    def record_ids(self, page: Page) -> list[str]:
        index = [c.name for c in page.columns].index("_id")
        return [str(row[index]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        database, name = path
        return {str(d["_id"]) for d in self.client[database][name].find({}, {"_id": 1})}

    def missing_path(self) -> tuple[str, ...]:
        return (DATABASE, "no_such_coll")

    def url_for_port(self, port: int) -> str:
        return f"mongodb://127.0.0.1:{port}/?directConnection=true"

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """A document whose ``body`` is 200,000 characters."""
        self.db.big_value.drop()
        self.db.big_value.insert_many([{"_id": 1, "body": BIG_VALUE}, {"_id": 2, "body": "s"}])
        return (DATABASE, "big_value"), "body", BIG_VALUE

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # pymongo itself rejects a database name holding '.' (InvalidName).
        return lambda: backend.browse(("bad.name$", "c"), limit=1)
