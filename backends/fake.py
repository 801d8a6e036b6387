"""An in-memory, deterministic backend for UI tests, snapshots and benchmarks.

``fake://NAME`` opens the dataset registered under NAME; an unknown NAME gets
its own copy of the default dataset, shaped like a PostgreSQL server
(databases -> schemas -> tables), or of the hostile dataset when NAME starts
with "hostile" (names and values holding escape sequences, line breaks, bidi
overrides and markup: see ``backends.fake_hostile``). Rows of the big tables are computed from the
row index on demand and never materialised, so a 2,000,000-row table costs no
memory. Nothing here reads the clock or the network.

Cursors are row offsets as decimal strings; ``browse`` looks one row past the
page (limit+1 semantics) to know exactly whether more follows.

Big values. A table holds a big value as its preview, a ``Truncated`` (the
``mixed`` table's 50 MB ``notes``); the whole value it stands for is that
preview repeated up to its true size, which ``browse(whole=True)`` (and
``execute(whole=True)``) hands out instead, made only when asked for.

Optional capabilities, off unless asked for (so pictures of the plain fake
keep their one Data panel): ``?caps=query,records,indexes,explain,monitor``
or ``?caps=all``. They are small and deterministic: ``SELECT * FROM name``
(optionally schema-qualified, names double-quoted) returns that table's
rows and the dataset's ``notices``, any other statement only a status, an
unknown table fails like PostgreSQL; records are fetched by primary key;
plans show SQL-like statements but ``apply`` refuses (nothing changes);
indexes are each table's primary key plus ``Dataset.indexes``; EXPLAIN is a
Limit over a Seq Scan; the monitor's Sessions table holds
``Dataset.sessions``, sampled at fixed times.

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

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from .base import Backend, Capability
from .errors import (
    ConnectionFailed,
    ConnectionLost,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
    ReadOnly,
)
from .language import QueryLanguage
from .sql_language import STANDARD_SQL
from .types import (
    MISSING,
    ROW_WORDS,
    ActionDanger,
    Atomicity,
    BinaryValue,
    ChangePlan,
    Column,
    ColumnRole,
    Command,
    CreateIndex,
    Delete,
    DropIndex,
    Explained,
    FieldInfo,
    IndexInfo,
    IndexPlan,
    IndexSpec,
    Insert,
    Metric,
    MetricKind,
    MonitorAction,
    Node,
    NodeKind,
    Page,
    PlannedStep,
    PlanNode,
    Record,
    RecordSchema,
    Result,
    ServerInfo,
    Statement,
    StatementKind,
    Stats,
    StatsTable,
    StoreWords,
    Truncated,
    Update,
)

if TYPE_CHECKING:
    from .types import AppliedPlan, Change, FieldPath, RecordKey

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
    #: The server's version (``server_info``).
    version: str = "1.0"
    #: What the optional capabilities show (see the module docstring).
    notices: tuple[str, ...] = ()
    indexes: dict[tuple[str, ...], tuple[IndexInfo, ...]] = field(default_factory=dict)
    sessions: tuple[tuple[Any, ...], ...] = ()

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
            if name.startswith("hostile"):
                from . import fake_hostile

                _DATASETS[name] = fake_hostile.fill(Dataset())
            else:
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
    words: ClassVar[StoreWords] = ROW_WORDS  # PG-shaped: row, table, column, NULL

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
        caps = {c for v in params.get("caps", []) for c in v.split(",") if c}
        if caps:
            # Per connection, from its URL: the class's flags stay NONE.
            self.capabilities = _capabilities(caps)  # type: ignore[misc]
        self._dataset: Dataset | None = None
        self._epoch = -1
        self._results: dict[str, tuple[str, ...]] = {}
        self._whole_results: set[str] = set()  # handles executed with whole=True
        self._samples = 0

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
        ds = self._live()
        return ServerInfo("Fake", ds.version, (("dataset", self.dataset_name),))

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
        whole: bool = False,
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
        columns = table.columns
        if not table.documents:
            rows = tuple(raw)
        else:
            names: dict[str, None] = {}
            for doc in raw:
                names.update(dict.fromkeys(doc))
            columns = tuple(Column(n, primary_key=n == "_id") for n in names)
            rows = tuple(tuple(doc.get(n, MISSING) for n in names) for doc in raw)
        if whole:
            rows = tuple(tuple(_whole_value(v) for v in row) for row in rows)
        return Page(columns, rows, next_cursor, estimate)

    # -- optional capabilities (``?caps=``, see the module docstring) -----------

    language: ClassVar[QueryLanguage] = STANDARD_SQL
    index_methods: ClassVar[tuple[str, ...]] = ("btree", "hash")

    def split(self, text: str) -> list[Statement]:
        statements = []
        start = 0
        quote = ""
        for i, ch in enumerate(text + ";"):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == ";" or i == len(text):
                chunk = text[start:i]
                if chunk.strip():
                    lead = len(chunk) - len(chunk.lstrip())
                    body = chunk.strip()
                    kind = (
                        StatementKind.READ
                        if body.split()[0].lower() in ("select", "show", "explain")
                        else StatementKind.OTHER
                    )
                    statements.append(Statement(body, start + lead, start + lead + len(body), kind))
                start = i + 1
        return statements

    def execute(self, statement: str, *, limit: int = 200, whole: bool = False) -> Result:
        ds = self._live()
        ds.calls["execute"] += 1
        words = statement.split()
        path = self._selected_table(ds, statement)
        if path is None:
            return Result(statement, status=words[0].upper() if words else "")
        handle = f"r{len(self._results) + 1}"
        self._results[handle] = path
        if whole:
            self._whole_results.add(handle)
        page = self.browse(path, limit=limit, whole=whole)
        cursor = f"{handle}:{page.next_cursor}" if page.next_cursor is not None else None
        return Result(
            statement,
            page.columns,
            page.rows,
            cursor,
            handle,
            status=f"SELECT {len(page.rows)}",
            notices=ds.notices,
        )

    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        handle, _, offset = cursor.partition(":")
        path = self._results.get(handle)
        if path is None:
            raise QueryFailed("the result has expired")
        page = self.browse(path, cursor=offset, limit=limit, whole=handle in self._whole_results)
        more = f"{handle}:{page.next_cursor}" if page.next_cursor is not None else None
        return Page(page.columns, page.rows, more, page.total_estimate)

    def release(self, handle: str) -> None:
        self._results.pop(handle, None)

    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        ds = self._live()
        names = [(p[-1], "table") for p in ds.tables]
        names += [(f"{p[-1]}.{c.name}", "column") for p, t in ds.tables.items() for c in t.columns]
        return names[:5000]

    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        table = self._table(path)
        fields = tuple(
            FieldInfo(c.name, c.type_name, not c.primary_key, primary_key=c.primary_key)
            for c in table.columns
        )
        key = tuple(c.name for c in table.columns if c.primary_key)
        reason = None if key else f"{path[-1]} has no primary key"
        return RecordSchema(path, fields, key, reason)

    def get(self, path: tuple[str, ...], key: RecordKey) -> Record:
        table = self._table(path)
        names = [c.name for c in table.columns]
        wanted = dict(key)
        for i in range(min(table.n_rows, _GET_SCAN)):
            row = table.row_fn(i)
            if all(row[names.index(k)] == v for k, v in wanted.items()):
                return Record(path, key, tuple(zip(names, row, strict=True)))
        raise NotFound(f"no record {key!r} in {path[-1]}")

    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        self._live()
        if self.read_only:
            raise ReadOnly("the connection is read-only")
        if any(isinstance(c, CreateIndex | DropIndex) for c in changes):
            raise NotSupported("index changes are planned with plan_index, not plan")
        return ChangePlan(tuple(PlannedStep(c, _statement(c), 1) for c in changes))

    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        self._live()
        raise ReadOnly("the fake store changes nothing: the plan was not applied")

    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        self._live()
        if self.read_only:
            raise ReadOnly("the connection is read-only")
        self._table(change.path)
        return IndexPlan(
            change,
            _statement(change),
            note="builds without blocking writes",
            warnings=("a failed build leaves an invalid index behind",),
            all_or_nothing=False,
            atomicity=Atomicity.STEP_BY_STEP,
        )

    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        self._live()
        raise ReadOnly("the fake store changes nothing: the index was not built")

    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        self._live()
        raise ReadOnly("the fake store changes nothing: the index was not dropped")

    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        ds = self._live()
        table = self._table(path)
        key = [c.name for c in table.columns if c.primary_key]
        found = list(ds.indexes.get(path, ()))
        if key:
            name = f"{path[-1]}_pkey"
            columns = ", ".join(_ident(k) for k in key)
            found.insert(
                0,
                IndexInfo(
                    name,
                    columns,
                    unique=True,
                    primary=True,
                    method="btree",
                    size_bytes=8192 + 16 * table.n_rows,
                    scans=table.n_rows,
                    definition=f"CREATE UNIQUE INDEX {_ident(name)} ON {_qualified(path)}"
                    f" USING btree ({columns})",
                ),
            )
        return found

    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        ds = self._live()
        path = self._selected_table(ds, statement)
        if path is None:
            raise QueryFailed("the fake store explains SELECT * FROM a table only")
        rows = float(ds.tables[path].n_rows)
        scan = PlanNode(
            f"Seq Scan on {path[-1]}",
            0.0,
            rows / 100 + 1,
            rows / 100 + 1,
            rows,
            rows if analyze else None,
            1 if analyze else None,
            rows / 1000 if analyze else None,
            rows / 1000 if analyze else None,
            (("Relation", path[-1]), ("Schema", path[-2] if len(path) > 1 else "")),
        )
        root = PlanNode(
            "Limit",
            0.0,
            scan.total_cost,
            0.0,
            rows,
            scan.actual_rows,
            scan.loops,
            scan.actual_time_ms,
            0.0 if analyze else None,
            (),
            (scan,),
        )
        return Explained(statement, root, analyze, 0.1, 1.0 if analyze else None, "{}")

    def stats(self) -> Stats:
        ds = self._live()
        self._samples += 1
        n = self._samples
        return Stats(
            _SAMPLED_FROM + 2.0 * n,
            (
                Metric("connections", float(len(ds.sessions) + 1)),
                Metric("commits", 1000.0 + 10 * n * n, MetricKind.COUNTER),
            ),
            (
                StatsTable(
                    "Sessions",
                    _SESSION_COLUMNS,
                    ds.sessions,
                    key_column=0,
                    actions=_SESSION_ACTIONS,
                    roles=_SESSION_ROLES,
                ),
            ),
        )

    def session_action(self, action: str, session_id: Any) -> str:
        ds = self._live()
        for row in ds.sessions:
            if row[0] == session_id:
                return f"{action}: session {session_id} ({row[1]}) was asked to stop"
        raise NotFound(f"no session {session_id}")

    def _table(self, path: tuple[str, ...]) -> FakeTable:
        ds = self._live()
        table = ds.tables.get(path)
        if table is None or table.documents:
            raise NotFound(f"{'/'.join(path)} is not a table")
        return table

    def _selected_table(self, ds: Dataset, statement: str) -> tuple[str, ...] | None:
        """The table of ``SELECT * FROM [schema.]name`` (None for another
        statement); a table that is not there fails as PostgreSQL does."""
        match = _SELECT.match(statement)
        if match is None:
            return None
        names = [_identifier(part) for part in _IDENT.findall(match.group("name"))]
        for path in sorted(ds.tables):
            if path[-len(names) :] == tuple(names):
                return path
        shown = ".".join(names)
        raise QueryFailed(f'relation "{shown}" does not exist', position=match.start("name"))

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


#: Rows ``get`` looks through for a key (the fake's record tables are small).
_GET_SCAN = 10_000
#: ``Stats.taken_at`` of the first sample: fixed, so rates never depend on the clock.
_SAMPLED_FROM = 1_800_000_000.0
_SESSION_COLUMNS = (
    "pid",
    "user",
    "database",
    "application",
    "state",
    "query duration",
    "query",
)
_SESSION_ROLES = {
    ColumnRole.ID: (0,),
    ColumnRole.USER: (1,),
    ColumnRole.DATABASE: (2,),
    ColumnRole.STATE: (4,),
    ColumnRole.DURATION: (5,),
    ColumnRole.TEXT: (6,),
}
_WHO = (
    "Session {id} (user {user}, db {database})",
    "Session {id} (user {user})",
    "Session {id} (db {database})",
    "Session {id}",
)
_SESSION_ACTIONS = (
    MonitorAction(
        "cancel",
        "Cancel",
        "c",
        title="Cancel the query of session {id}?",
        confirm="Cancel query",
        text=(_WHO, "query running for {duration}", "{text}"),
    ),
    MonitorAction(
        "terminate",
        "Terminate",
        "k",
        title="Terminate session {id}?",
        confirm="Terminate",
        text=(_WHO, "query running for {duration}", "{text}", "Ends the session."),
        danger=ActionDanger.DESTRUCTIVE,
    ),
)
_CAPABILITIES = {
    "query": Capability.QUERY,
    "records": Capability.RECORDS | Capability.PLAN,
    "indexes": Capability.INDEXES | Capability.PLAN,
    "explain": Capability.QUERY | Capability.EXPLAIN,
    "monitor": Capability.MONITOR,
}
# An identifier as PostgreSQL writes it: plain, "quoted" or U&"unicode \+00001b escaped".
_ONE_IDENT = r'(?:[Uu]&)?"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*'
_IDENT = re.compile(_ONE_IDENT)
_SELECT = re.compile(
    rf"\s*select\s+\*\s+from\s+(?P<name>(?:{_ONE_IDENT})(?:\.(?:{_ONE_IDENT}))*)", re.IGNORECASE
)
_UNICODE_ESCAPE = re.compile(r"\\(\\|[0-9A-Fa-f]{4}|\+[0-9A-Fa-f]{6})")


def _capabilities(names: set[str]) -> Capability:
    caps = Capability.NONE
    for name in names:
        if name == "all":
            for flags in _CAPABILITIES.values():
                caps |= flags
        elif name in _CAPABILITIES:
            caps |= _CAPABILITIES[name]
        else:
            raise NotSupported(
                f"unknown fake capability {name!r}; expected: all, " + ", ".join(_CAPABILITIES)
            )
    return caps


def _identifier(token: str) -> str:
    """The name an identifier token of ``_IDENT`` stands for."""
    if token[:2].upper() == "U&":
        body = token[3:-1].replace('""', '"')
        return _UNICODE_ESCAPE.sub(
            lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1).lstrip("+"), 16)), body
        )
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token.lower()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(path: tuple[str, ...]) -> str:
    return ".".join(_ident(p) for p in path[1:])


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _where(key: RecordKey) -> str:
    return " AND ".join(f"{_ident(k)} = {_literal(v)}" for k, v in key)


def _statement(change: Change) -> str:
    """What a SQL store would run for ``change``, values inlined (for the
    change plan; the fake never runs it)."""
    if isinstance(change, Insert):
        names = ", ".join(_ident(k) for k, _ in change.fields)
        values = ", ".join(_literal(v) for _, v in change.fields)
        return f"INSERT INTO {_qualified(change.path)} ({names}) VALUES ({values})"
    if isinstance(change, Update):
        sets = ", ".join(f"{_ident(_column(k))} = {_literal(v)}" for k, v in change.changes)
        return f"UPDATE {_qualified(change.path)} SET {sets} WHERE {_where(change.key)}"
    if isinstance(change, Delete):
        return f"DELETE FROM {_qualified(change.path)} WHERE {_where(change.key)}"
    if isinstance(change, CreateIndex):
        columns = ", ".join(change.spec.columns)
        name = f" {_ident(change.spec.name)}" if change.spec.name else ""
        online = " CONCURRENTLY" if change.spec.online else ""
        return f"CREATE INDEX{online}{name} ON {_qualified(change.path)} ({columns})"
    if isinstance(change, DropIndex):
        online = " CONCURRENTLY" if change.online else ""
        return f"DROP INDEX{online} {_ident(change.name)}"
    if isinstance(change, Command):
        return change.text
    raise NotSupported(f"the fake store plans no {type(change).__name__}")


def _column(name: str | FieldPath) -> str:
    """A change's field as the fake's flat columns name it."""
    if isinstance(name, str):
        return name
    if len(name) == 1 and isinstance(name[0], str):
        return name[0]
    raise NotSupported("the fake store's columns hold no nested fields")


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


def _whole_value(value: Any) -> Any:
    """The whole value a stored preview stands for (see the module docstring)."""
    if not isinstance(value, Truncated) or not value.preview:
        return value
    preview = value.preview
    size = value.total_size
    if isinstance(preview, bytes):
        return (preview * (size // len(preview) + 1))[:size]
    if value.unit == "bytes":  # a size in UTF-8 bytes: repeat whole characters up to it
        copies, rest = divmod(size, len(preview.encode()))
        tail = preview.encode()[:rest].decode("utf-8", "ignore")
        return preview * copies + tail
    return (preview * (size // len(preview) + 1))[:size]


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
