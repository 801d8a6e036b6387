"""Conformance harness for memdocs, the in-memory document store (no server):
seeds straight into its own store, ``conformance``, database ``conf``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from storescope.backends import memdocs, open_backend
from storescope.backends.base import Backend
from storescope.backends.errors import BackendError
from storescope.backends.types import Page

from .harness import BIG_VALUE

STORE = "conformance"
DATABASE = "conf"


class MemDocsVictim:
    """A ``sleep`` running on a second connection, for monitor actions."""

    def __init__(self, url: str) -> None:
        self._backend = open_backend(url)
        self._backend.connect()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.key = self._wait_for_key()

    def _run(self) -> None:
        try:
            self._backend.execute("sleep 30")
        except BackendError as e:
            self.error = e

    def _wait_for_key(self) -> Any:
        store = memdocs.get_store(STORE)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with store.lock:
                ops = [o.opid for o in store.operations.values() if o.op == "sleep"]
            if ops:
                return ops[0]
            time.sleep(0.02)
        raise AssertionError("the victim's sleep never showed up as an operation")

    def stopped(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        self._backend.cancel()
        self._thread.join(5)
        self._backend.close()


class MemDocsHarness:
    kind = "memdocs"
    network = False
    url = f"memdocs://{STORE}/{DATABASE}"
    contract_url = url

    def __init__(self, server: object = None) -> None:
        self.store = memdocs.register_store(STORE, memdocs.MemStore())
        self._seeded: set[tuple[str, int]] = set()

    def _path(self, name: str) -> tuple[str, ...]:
        return (DATABASE, name)

    def seed_records(self, name: str, n: int) -> tuple[str, ...]:
        if (name, n) not in self._seeded:
            docs = (
                {"_id": i + 1, "label": f"record {i + 1}", "nested": {"n": i, "even": i % 2 == 0}}
                for i in range(n)
            )
            self.store.add(DATABASE, name, docs)
            self._seeded.add((name, n))
        return self._path(name)

    def make_empty(self) -> tuple[str, ...]:
        self.store.add(DATABASE, "empty")
        return self._path("empty")

    def record_ids(self, page: Page) -> list[str]:
        at = [c.name for c in page.columns].index("_id") if page.rows else 0
        return [str(row[at]) for row in page.rows]

    def seeded_ids(self, path: tuple[str, ...]) -> set[str]:
        coll = self.store.collection(*path)
        return {str(doc["_id"]) for doc in coll.in_order()}

    def missing_path(self) -> tuple[str, ...]:
        return self._path("no_such_collection")

    def url_for_port(self, port: int) -> str:
        raise NotImplementedError("memdocs has no network")

    def seed_big_value(self) -> tuple[tuple[str, ...], str, Any] | None:
        """Documents hold their values whole: a page never cuts one."""
        self.store.add(
            DATABASE, "big_value", ({"_id": 1, "body": BIG_VALUE}, {"_id": 2, "body": "short"})
        )
        return self._path("big_value"), "body", BIG_VALUE

    def driver_error(self, backend: Backend) -> Callable[[], Any]:
        # A cursor that is not JSON makes json.loads raise ValueError, which
        # the backend translates (keeping the cause).
        path = self.seed_records("exact_10", 10)
        return lambda: backend.browse(path, cursor="not-a-cursor", limit=5)

    # -- capability contracts (see test_conformance.py) -----------------------

    def query_all(self, path: tuple[str, ...]) -> str:
        return f"find {json.dumps(path[-1])} {{}}"

    def slow_statement(self) -> str:
        return "sleep 30"

    def write_statement(self, path: tuple[str, ...]) -> str:
        return f'update {json.dumps(path[-1])} {{"_id": 1}} {{"$set": {{"label": "written"}}}}'

    def start_victim(self) -> MemDocsVictim:
        return MemDocsVictim(self.contract_url)
