"""An in-memory, deterministic backend for UI tests, snapshots and benchmarks.

``fake://NAME`` opens the dataset registered under NAME; an unknown NAME gets
its own copy of the default dataset, shaped like a PostgreSQL server
(databases -> schemas -> tables). Rows of the big tables are computed from the
row index on demand and never materialised, so a 2,000,000-row table costs no
memory. Nothing here reads the clock or the network.

Cursors are row offsets as decimal strings; ``browse`` looks one row past the
page (limit+1 semantics) to know exactly whether more follows.

Failure simulation for UI tests:

- URL parameters: ``?fail=connect`` (connect always fails), ``?fail=browse``
  (browse raises ``QueryFailed``), ``?fail=list`` (listing raises
  ``PermissionDenied``); several may be given comma-separated. ``?delay=MS``
  makes every call take MS milliseconds (to watch "loading..." by hand);
  ``?close_delay=MS`` makes ``close()`` take that long (a driver whose server
  is gone). ``?echo=1`` makes simulated failures echo the connection's
  settings, password included, the way some drivers echo a DSN.
- ``set_failing(NAME, "browse", ...)`` makes those calls fail on every backend
  of NAME until ``set_failing(NAME)`` clears it (a failure that goes away).
- ``Dataset.calls`` counts the calls made (``connect``, ``browse``...) and
  ``Dataset.browsed`` remembers the latest ``(path, cursor)`` browsed, so a
  test can tell whether a retry or a reconnect really happened.
- ``drop_connections(NAME)`` makes every open backend on NAME raise
  ``ConnectionLost`` (a reconnect works); ``set_down(NAME, True)`` also makes
  connecting fail until ``set_down(NAME, False)``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from .base import Backend, Capability
from .errors import (
    ConnectionFailed,
    ConnectionLost,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
)
from .types import MISSING, BinaryValue, Column, Node, NodeKind, Page, ServerInfo, Truncated

RowFn = Callable[[int], Any]


@dataclass
class FakeTable:
    """A browsable container: ``row_fn(i)`` gives row ``i`` (a tuple aligned
    with ``columns``, or a dict for document-style tables whose pages build
    their columns from the documents they hold)."""

    columns: tuple[Column, ...]
    n_rows: int
    row_fn: RowFn
    kind: NodeKind = NodeKind.TABLE
    documents: bool = False
    estimate: int | None = -1  # -1: use n_rows

    @classmethod
    def from_rows(cls, columns: Sequence[Column], rows: Sequence[tuple[Any, ...]]) -> FakeTable:
        data = tuple(rows)
        return cls(tuple(columns), len(data), data.__getitem__)

    def node_estimate(self) -> int | None:
        return self.n_rows if self.estimate == -1 else self.estimate


@dataclass
class Dataset:
    """One fake server: containers (databases, schemas) and tables by path."""

    containers: dict[tuple[str, ...], NodeKind] = field(default_factory=dict)
    tables: dict[tuple[str, ...], FakeTable] = field(default_factory=dict)
    #: Bumped by ``drop_connections``; a backend connected at an older epoch is lost.
    epoch: int = 0
    down: bool = False
    #: Calls that fail on every backend of this dataset (see ``set_failing``).
    failing: frozenset[str] = frozenset()
    calls: Counter[str] = field(default_factory=Counter)
    browsed: deque[tuple[tuple[str, ...], str | None]] = field(
        default_factory=lambda: deque(maxlen=1000)
    )

    _KINDS: ClassVar[tuple[NodeKind, ...]] = (NodeKind.DATABASE, NodeKind.SCHEMA)

    def add_container(self, path: tuple[str, ...]) -> None:
        for depth in range(1, len(path) + 1):
            kind = self._KINDS[min(depth - 1, len(self._KINDS) - 1)]
            self.containers.setdefault(path[:depth], kind)

    def add_table(self, path: tuple[str, ...], table: FakeTable) -> None:
        self.add_container(path[:-1])
        self.tables[path] = table

    def children(self, path: tuple[str, ...]) -> list[Node]:
        depth = len(path) + 1
        nodes: list[Node] = []
        for p, kind in self.containers.items():
            if len(p) == depth and p[:-1] == path:
                nodes.append(Node(p, p[-1], kind, expandable=True))
        for p, table in self.tables.items():
            if len(p) == depth and p[:-1] == path:
                nodes.append(
                    Node(
                        p,
                        p[-1],
                        table.kind,
                        browsable=True,
                        estimate=table.node_estimate(),
                        detail=f"{len(table.columns)} cols" if table.columns else "",
                    )
                )
        return sorted(nodes, key=lambda n: n.name)


_LOCK = threading.Lock()
_DATASETS: dict[str, Dataset] = {}


def register_dataset(name: str, dataset: Dataset) -> Dataset:
    with _LOCK:
        _DATASETS[name] = dataset
    return dataset


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``, created from the default shape on first use."""
    with _LOCK:
        if name not in _DATASETS:
            _DATASETS[name] = default_dataset()
        return _DATASETS[name]


def drop_connections(name: str) -> None:
    """Every backend currently connected to ``name`` loses its connection."""
    get_dataset(name).epoch += 1


def set_failing(name: str, *calls: str) -> None:
    """Make ``calls`` ("connect", "browse", "list") fail on every backend of
    ``name`` from now on; no arguments clears it."""
    get_dataset(name).failing = frozenset(calls)


def set_down(name: str, down: bool) -> None:
    """Take the fake server ``name`` down (connecting fails) or bring it back."""
    ds = get_dataset(name)
    ds.down = down
    if down:
        ds.epoch += 1


class FakeBackend(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("fake",)
    product: ClassVar[str] = "Fake"
    capabilities: ClassVar[Capability] = Capability.NONE
    default_page_size: ClassVar[int] = 200

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        parts = urlsplit(url)
        self.dataset_name = unquote(parts.hostname or "") or "demo"
        params = parse_qs(parts.query)
        self._fail = {f for v in params.get("fail", []) for f in v.split(",") if f}
        delay = params.get("delay", ["0"])[0]
        self._delay = _millis(delay)
        self._close_delay = _millis(params.get("close_delay", ["0"])[0])
        self._echo = params.get("echo", ["0"])[0] not in ("", "0")
        self._dataset: Dataset | None = None
        self._epoch = -1

    # -- lifecycle ---------------------------------------------------------

    def connect(self) -> None:
        self._pause()
        ds = get_dataset(self.dataset_name)
        ds.calls["connect"] += 1
        if "connect" in self._fail or "connect" in ds.failing or ds.down:
            self._dataset = None
            raise ConnectionFailed(
                self._echoed(f"fake server '{self.dataset_name}' refused the connection")
            )
        self._dataset = ds
        self._epoch = ds.epoch

    def close(self) -> None:
        if self._close_delay:
            time.sleep(self._close_delay)
        if self._dataset is not None:
            self._dataset.calls["close"] += 1
        self._dataset = None

    def ping(self) -> float:
        self._live()
        return 0.0

    def server_info(self) -> ServerInfo:
        self._live()
        return ServerInfo("Fake", "1.0", (("dataset", self.dataset_name),))

    # -- catalog -----------------------------------------------------------

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        ds = self._live()
        ds.calls["list_children"] += 1
        if "list" in self._fail or "list" in ds.failing:
            raise PermissionDenied(
                self._echoed(f"not allowed to list {'/'.join(path) or 'the server'}")
            )
        if path and path not in ds.containers:
            if path in ds.tables:
                return []
            raise NotFound(f"{'/'.join(path)} does not exist")
        return ds.children(path)

    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Any = None,
        sort: Any = None,
    ) -> Page:
        ds = self._live()
        ds.calls["browse"] += 1
        ds.browsed.append((path, cursor))
        if filter is not None or sort is not None:
            raise NotSupported("the fake backend cannot filter or sort")
        if "browse" in self._fail or "browse" in ds.failing:
            raise QueryFailed(self._echoed(f"browsing {'/'.join(path)} failed (simulated)"))
        try:
            table = ds.tables[path]
        except KeyError as e:
            if path in ds.containers:
                raise NotSupported(f"{'/'.join(path)} is not browsable") from e
            raise NotFound(f"{'/'.join(path)} does not exist") from e
        try:
            start = 0 if cursor is None else int(cursor)
        except ValueError as e:
            raise QueryFailed(f"invalid cursor {cursor!r}") from e
        if start < 0 or limit < 1:
            raise QueryFailed(f"invalid cursor {cursor!r} or limit {limit}")
        end = min(start + limit + 1, table.n_rows)  # one extra row: is there more?
        raw = [table.row_fn(i) for i in range(start, end)]
        more = len(raw) > limit
        raw = raw[:limit]
        next_cursor = str(start + limit) if more else None
        estimate = table.node_estimate()
        if not table.documents:
            return Page(table.columns, tuple(raw), next_cursor, estimate)
        names: dict[str, None] = {}
        for doc in raw:
            names.update(dict.fromkeys(doc))
        columns = tuple(Column(n, primary_key=n == "_id") for n in names)
        rows = tuple(tuple(doc.get(n, MISSING) for n in names) for doc in raw)
        return Page(columns, rows, next_cursor, estimate)

    # -- helpers -------------------------------------------------------------

    def _echoed(self, message: str) -> str:
        """``message``, plus the connection settings when ``?echo=1``: the
        password both raw and decoded, as drivers quoting a DSN do."""
        if not self._echo:
            return message
        parts = urlsplit(self.url)
        raw = parts.netloc.rpartition("@")[0].partition(":")[2]
        return (
            f"{message} (dsn: user={parts.username or ''} password={unquote(raw)}"
            f" host={self.dataset_name}; url {self.url})"
        )

    def _pause(self) -> None:
        if self._delay:
            time.sleep(self._delay)

    def _live(self) -> Dataset:
        self._pause()
        ds = self._dataset
        if ds is None:
            raise ConnectionLost("not connected to the fake server")
        if ds.down or ds.epoch != self._epoch:
            self._dataset = None
            raise ConnectionLost(f"the fake server '{self.dataset_name}' closed the connection")
        return ds


def _millis(text: str) -> float:
    return float(text) / 1000 if text.replace(".", "", 1).isdigit() else 0.0


# -- the default dataset ------------------------------------------------------

_FIRST = (
    "Ada",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Guido",
    "Hedy",
    "Alan",
    "Joan",
    "Donald",
    "Sophie",
)
_LAST = (
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "van Rossum",
    "Lamarr",
    "Turing",
    "Clarke",
    "Knuth",
    "Wilson",
)
_CITIES = ("Lisbon", "Oslo", "Kyoto", "Lima", "Accra", "Quito", "Perth", "Tallinn", "Zürich")
_EPOCH = datetime(2024, 1, 1)


def _name(i: int) -> str:
    return f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"


def _big_row(i: int) -> tuple[Any, ...]:
    return (
        i + 1,
        _name(i),
        f"user{i + 1}@example.com",
        Decimal((i * 7919) % 1_000_000).scaleb(-2),
        _EPOCH + timedelta(minutes=i),
        i % 3 != 0,
        None if i % 7 == 0 else _CITIES[i % len(_CITIES)],
    )


_BIG_COLUMNS = (
    Column("id", "bigint", primary_key=True),
    Column("name", "text"),
    Column("email", "text"),
    Column("amount", "numeric(12,2)"),
    Column("created_at", "timestamp"),
    Column("active", "boolean"),
    Column("city", "text"),
)

_WIDE_TYPES = ("integer", "text", "numeric", "date", "boolean", "double precision", "text")


def _wide_value(i: int, c: int) -> Any:
    kind = _WIDE_TYPES[c % len(_WIDE_TYPES)]
    if kind == "integer":
        return (i * (c + 3)) % 100_000
    if kind == "numeric":
        return Decimal(i * 13 + c).scaleb(-2)
    if kind == "date":
        return date(2020, 1, 1) + timedelta(days=(i + c) % 2000)
    if kind == "boolean":
        return (i + c) % 2 == 0
    if kind == "double precision":
        return round((i * 0.37 + c) % 1000, 3)
    return f"r{i + 1}c{c + 1} {_CITIES[(i + c) % len(_CITIES)]}"


def _wide_row(i: int) -> tuple[Any, ...]:
    return (i + 1, *(_wide_value(i, c) for c in range(1, 20)))


_WIDE_COLUMNS = (
    Column("id", "bigint", primary_key=True),
    *(
        Column(
            f"col_{c + 1:02d}_{_WIDE_TYPES[c % len(_WIDE_TYPES)].split()[0]}",
            _WIDE_TYPES[c % len(_WIDE_TYPES)],
        )
        for c in range(1, 20)
    ),
)

_MIXED_COLUMNS = (
    Column("id", "integer", primary_key=True),
    Column("label", "text"),
    Column("maybe", "integer"),
    Column("notes", "text"),
    Column("doc", "jsonb"),
    Column("tags", "text[]"),
    Column("blob", "bytea"),
    Column("price", "numeric"),
    Column("seen_at", "timestamptz"),
)


def _mixed_row(i: int) -> tuple[Any, ...]:
    notes: Any
    if i % 5 == 0:
        notes = None
    elif i % 5 == 1:
        notes = "line one\nline two\nline three"
    elif i % 5 == 2:
        notes = "a long text " * 12
    elif i % 5 == 3:
        notes = Truncated("x" * 64, 52_428_800, "bytes")
    else:
        notes = "tab\there ünïcödé ✓"
    return (
        i + 1,
        f"item {i + 1}",
        None if i % 2 else i * 10,
        notes,
        None if i % 4 == 3 else {"k": i, "nested": {"ok": i % 2 == 0}, "list": [1, 2, i]},
        [f"t{i % 3}", f"t{i % 5}"],
        BinaryValue(bytes(range(i % 7, i % 7 + 24)))
        if i % 3
        else bytes([0xDE, 0xAD, 0xBE, 0xEF, i % 256]),
        Decimal("12345678901234567890.123456789") if i == 0 else Decimal(i).scaleb(-3),
        _EPOCH + timedelta(hours=i, seconds=i * 7),
    )


def _event_doc(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": f"ev{i + 1:05d}", "type": ("click", "view", "buy")[i % 3]}
    if i % 2 == 0:
        doc["user"] = _name(i)
    doc["at"] = _EPOCH + timedelta(seconds=i * 90)
    if i % 3 == 2:
        doc["total"] = Decimal(i * 7).scaleb(-1)
    if i % 4 == 1:
        doc["payload"] = {"page": f"/p/{i % 11}", "ms": i % 500}
    if i >= 300 and i % 5 == 0:
        doc["late_field"] = f"appears after row 300 ({i})"
    return doc


def _customer_row(i: int) -> tuple[Any, ...]:
    return (i + 1, _name(i), _CITIES[i % len(_CITIES)], date(2019, 1, 1) + timedelta(days=i * 3))


_CUSTOMER_COLUMNS = (
    Column("id", "integer", primary_key=True),
    Column("name", "text"),
    Column("city", "text"),
    Column("since", "date"),
)

ODD_TABLE = 'order items "2024" ünï/%x'


def default_dataset() -> Dataset:
    ds = Dataset()
    shop = ("shop", "public")
    ds.add_table((*shop, "big"), FakeTable(_BIG_COLUMNS, 2_000_000, _big_row))
    ds.add_table((*shop, "wide"), FakeTable(_WIDE_COLUMNS, 100_000, _wide_row))
    ds.add_table((*shop, "customers"), FakeTable(_CUSTOMER_COLUMNS, 250, _customer_row))
    ds.add_table(
        (*shop, "active_customers"),
        FakeTable(
            _CUSTOMER_COLUMNS[:3],
            125,
            lambda i: _customer_row(i * 2)[:3],
            NodeKind.VIEW,
            estimate=None,
        ),
    )
    ds.add_table((*shop, "empty"), FakeTable(_CUSTOMER_COLUMNS, 0, _customer_row))
    ds.add_table((*shop, "mixed"), FakeTable(_MIXED_COLUMNS, 60, _mixed_row))
    ds.add_table(
        (*shop, ODD_TABLE),
        FakeTable(
            (Column("id", "integer", True), Column("what", "text")),
            3,
            lambda i: (i + 1, f"odd {i + 1}"),
        ),
    )
    ds.add_table(("shop", "audit", "events"), FakeTable((), 1_000, _event_doc, documents=True))
    ds.add_container(("shop", "empty_schema"))
    ds.add_table(
        ("analytics", "public", "daily_stats"),
        FakeTable(
            (
                Column("day", "date", True),
                Column("visits", "integer"),
                Column("revenue", "numeric"),
            ),
            365,
            lambda i: (
                date(2024, 1, 1) + timedelta(days=i),
                1000 + (i * 37) % 900,
                Decimal(i * 101).scaleb(-2),
            ),
        ),
    )
    ds.add_container(("postgres", "public"))
    return ds


__all__ = [
    "Dataset",
    "FakeBackend",
    "FakeTable",
    "ODD_TABLE",
    "default_dataset",
    "drop_connections",
    "get_dataset",
    "register_dataset",
    "set_down",
    "set_failing",
]
