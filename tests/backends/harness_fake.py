"""Conformance harness for the in-memory fake backend (no server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storescope.backends import fake
from storescope.backends.base import Backend
from storescope.backends.types import Column, Page, Truncated

from .harness import BIG_UNIT, BIG_VALUE

DATASET = "conformance"


class FakeHarness:
    kind = "fake"
    network = False
    url = f"fake://{DATASET}"
    #: The capabilities the fake can honour as a contract: its SELECT, its
    #: EXPLAIN and its monitor (its plans are never applied, so no records).
    contract_url = f"fake://{DATASET}?caps=query,explain,monitor"

    def __init__(self, server: object = None) -> None:
        self.dataset = fake.register_dataset(DATASET, fake.Dataset())
        self.dataset.add_container((DATASET, "public"))

    def _path(self, name: str) -> tuple[str, ...]:
        return (DATASET, "public", name)

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        path = self._path(name)
        table = self.dataset.tables.get(path)
        if table is None or table.n_rows != n:
            rows = [(i + 1, f"record {i + 1}") for i in range(n)]
            columns = (Column("id", "integer", primary_key=True), Column("label", "text"))
            self.dataset.add_table(path, fake.FakeTable.from_rows(columns, rows))
        return path

    def make_empty(self) -> tuple[str, ...]:
        path = self._path("empty")
        self.dataset.add_table(path, fake.FakeTable.from_rows((Column("id", "integer", True),), []))
        return path

    def record_ids(self, page: Page) -> list[str]:
        return [str(row[0]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        table = self.dataset.tables[path]
        return {str(table.row_fn(i)[0]) for i in range(table.n_rows)}

    def missing_path(self) -> tuple[str, ...]:
        return self._path("no_such_table")

    def url_for_port(self, port: int) -> str:
        return f"fake://port-{port}?fail=connect"

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """A table whose ``body`` of row 1 is stored as a preview of 200,000
        characters (the fake's big values: the preview repeated)."""
        path = self._path("big_value")
        rows = [(1, Truncated(BIG_UNIT, len(BIG_VALUE), "chars")), (2, "short")]
        columns = (Column("id", "integer", primary_key=True), Column("body", "text"))
        self.dataset.add_table(path, fake.FakeTable.from_rows(columns, rows))
        return path, "body", BIG_VALUE

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # The fake has no driver: an unparsable cursor makes int() itself
        # raise ValueError, which the backend translates (keeping the cause).
        path = self.seed_records("exact_10", 10)
        return lambda: backend.browse(path, cursor="not-a-cursor", limit=5)

    # -- capability contracts (see test_conformance.py) -----------------------

    def query_all(self, path: tuple[str, ...]) -> str:
        return 'SELECT * FROM "' + path[-1].replace('"', '""') + '"'
