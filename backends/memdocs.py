"""An in-memory document store: the second, non-SQL implementer of every
capability, for panel tests, snapshots and the conformance suite.

``memdocs://NAME`` opens the store registered under NAME; an unknown NAME
gets its own copy of the default dataset (``default_store``). A store holds
databases -> collections -> documents (nested dicts and lists, each with an
``_id``). ``memdocs://NAME/DB`` makes DB the database commands run in (the
first database otherwise); ``?delay=MS`` makes every call take MS
milliseconds. Nothing reads the clock for what a picture shows.

Its words are its own, never SQL's:

- Query language "memdocs commands" (files ``.mdq``), one command per line
  or ``;``-separated, JSON arguments that may span lines::

      use shop
      find orders {"status": "open", "customer.address.city": "Oslo"}
      count orders {"total": {"$gt": 100}}
      insert orders {"_id": 5000, "status": "new"}
      update orders {"status": "open"} {"$set": {"status": "paid"}, "$unset": {"note": 1}}
      replace orders {"_id": 7} {"status": "void"}
      delete orders {"status": "void"}
      createIndex orders {"status": 1, "created": -1} {"unique": false, "sparse": true}
      dropIndex orders status_1_created_-1
      sleep 2

  Filters match dotted paths with equality (an array field matches when it
  holds the value) and ``$gt $gte $lt $lte $ne $in $nin $exists``.
  Collection names that are not plain words are written as JSON strings.
- No transactions: a change plan runs step by step, each step on its own;
  a failed step leaves the steps before it applied.
- Indexes: fields with a direction (1 or -1), unique, sparse, and a TTL
  ("expireAfterSeconds"); the ``_id_`` index always exists.
- Explain: no costs; documents examined against returned, keys examined,
  and the rejected alternative (a collection scan) when an index wins.
- Monitor: an "Operations" table of in-flight operations; its action is
  "kill op" (a running command of this store is stopped at once).
- Cancel: a running command (a scan, ``sleep``) stops with ``Cancelled``.

Threads: calls come from worker threads; the store's state is guarded by
one lock per store, held only while data is read or changed (never during
``sleep``), and ``cancel()`` may come from any thread.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from .base import Backend, Capability
from .errors import (
    Cancelled,
    ConnectionLost,
    NotFound,
    NotSupported,
    QueryFailed,
    ReadOnly,
)
from .language import CompletionRules, ExplainWords, QueryLanguage
from .types import (
    DEFAULT,
    MISSING,
    UNSET,
    ActionDanger,
    AppliedPlan,
    Atomicity,
    ChangePlan,
    Column,
    ColumnRole,
    CreateIndex,
    Delete,
    DropIndex,
    Explained,
    FieldInfo,
    Filter,
    IndexDirection,
    IndexInfo,
    IndexOptions,
    IndexPlan,
    IndexSpec,
    Insert,
    Metric,
    MetricKind,
    MonitorAction,
    Node,
    NodeAction,
    NodeActionKind,
    NodeKind,
    Page,
    PlanMeasure,
    PlanMetric,
    PlannedStep,
    PlanNode,
    Record,
    RecordSchema,
    Replace,
    Result,
    ServerInfo,
    Sort,
    SortDirection,
    Statement,
    StatementKind,
    Stats,
    StatsTable,
    Update,
    ValueCodec,
)
from .types import Command as CommandStep

if TYPE_CHECKING:
    from .types import Change, RecordKey

Doc = dict[str, Any]

PRODUCT = "memdocs"
VERSION = "0.1"
LANGUAGE_NAME = "memdocs commands"
FILE_EXTENSION = ".mdq"
#: The monitor's one action on its Operations table.
KILL_OP = "kill op"
KILL_ACTION = MonitorAction(
    id=KILL_OP,
    label="Kill op",
    key="x",
    title="Kill operation {id}?",
    confirm="Kill op",
    text=(
        "{text}",
        "It has run for {duration} in {database}.",
        "The operation stops at once; what it already changed stays changed.",
    ),
    danger=ActionDanger.DISRUPTIVE,
)
#: The first sample's ``taken_at``: fixed, so rates never depend on the clock.
_SAMPLED_FROM = 1_900_000_000.0
#: How many documents a scan looks at between two looks at its cancel flag.
_CANCEL_EVERY = 64


# -- the store ------------------------------------------------------------------


def _id_key(value: Any) -> tuple[int, Any]:
    """Order of ``_id`` values: numbers, then strings, then anything else by
    its JSON text (the order pages are cut in)."""
    if isinstance(value, bool):
        return (2, json.dumps(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


@dataclass
class MemIndex:
    name: str
    fields: tuple[tuple[str, int], ...]  # (dotted path, 1 or -1)
    unique: bool = False
    sparse: bool = False
    ttl_seconds: int | None = None
    hashed: bool = False
    scans: int = 0

    def describe(self) -> str:
        kind = "hashed" if self.hashed else None
        return ", ".join(f"{f} {kind or d}" for f, d in self.fields)

    def definition(self) -> str:
        keys = {f: ("hashed" if self.hashed else d) for f, d in self.fields}
        options: dict[str, Any] = {}
        if self.unique:
            options["unique"] = True
        if self.sparse:
            options["sparse"] = True
        if self.ttl_seconds is not None:
            options["expireAfterSeconds"] = self.ttl_seconds
        text = json.dumps(keys, ensure_ascii=False)
        return f"{text} {json.dumps(options)}" if options else text


@dataclass
class MemCollection:
    """Documents by ``_id`` plus their ``_id`` keys in order. Documents are
    never changed in place (an update stores a new dict), so a list of them
    is a consistent snapshot for a query result."""

    docs: dict[Any, Doc] = field(default_factory=dict)
    order: list[tuple[int, Any]] = field(default_factory=list)
    ids: dict[tuple[int, Any], Any] = field(default_factory=dict)
    indexes: list[MemIndex] = field(
        default_factory=lambda: [MemIndex("_id_", (("_id", 1),), unique=True)]
    )

    def put(self, doc: Doc) -> None:
        key = _id_key(doc["_id"])
        if key not in self.ids:
            bisect.insort(self.order, key)
            self.ids[key] = doc["_id"]
        self.docs[key] = doc

    def remove(self, _id: Any) -> None:
        key = _id_key(_id)
        if key in self.ids:
            del self.docs[key], self.ids[key]
            self.order.pop(bisect.bisect_left(self.order, key))

    def get(self, _id: Any) -> Doc | None:
        try:
            return self.docs.get(_id_key(_id))
        except TypeError:
            return None

    def in_order(self, start: int = 0) -> Iterable[Doc]:
        for key in itertools.islice(self.order, start, None):
            yield self.docs[key]


@dataclass(frozen=True)
class Operation:
    """One row of the monitor's Operations table."""

    opid: int
    op: str
    namespace: str
    seconds: float
    command: str
    cancel: threading.Event | None = None


@dataclass
class MemStore:
    """One memdocs server: databases of collections, plus what the monitor
    shows. ``lock`` guards everything here."""

    databases: dict[str, dict[str, MemCollection]] = field(default_factory=dict)
    operations: dict[int, Operation] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    commands: int = 0
    next_opid: int = 1000
    #: Where commands run unless the URL or ``use`` says otherwise: the
    #: first database added.
    default_db: str = ""

    def collection(self, db: str, name: str) -> MemCollection:
        try:
            return self.databases[db][name]
        except KeyError:
            raise NotFound(f"no collection {name!r} in database {db!r}") from None

    def add(self, db: str, name: str, docs: Iterable[Doc] = ()) -> MemCollection:
        """Create (or empty) collection ``db``/``name`` holding ``docs``."""
        with self.lock:
            coll = MemCollection()
            for doc in docs:
                coll.put(doc)
            self.databases.setdefault(db, {})[name] = coll
            self.default_db = self.default_db or db
            return coll


_STORES: dict[str, MemStore] = {}
_STORES_LOCK = threading.Lock()


def register_store(name: str, store: MemStore) -> MemStore:
    with _STORES_LOCK:
        _STORES[name] = store
    return store


def get_store(name: str) -> MemStore:
    """The store called ``name``, made from ``default_store()`` on first use."""
    with _STORES_LOCK:
        if name not in _STORES:
            _STORES[name] = default_store()
        return _STORES[name]


# -- values and paths -------------------------------------------------------------


#: A field path as changes and sorts name it (``FieldPath``), or dotted text.
PathLike = str | tuple[str | int, ...]


def _segments(path: PathLike) -> list[str | int]:
    """Dotted text splits on its dots; a ``FieldPath`` is taken as it is
    (its segments may hold dots: ``("dotted.key",)`` is one field)."""
    return list(path.split(".")) if isinstance(path, str) else list(path)


def _index(target: Any, part: str | int) -> int | None:
    """``part`` as a position in the list ``target``, if it is one."""
    if not isinstance(target, list):
        return None
    if isinstance(part, int):
        return part if 0 <= part < len(target) else None
    return int(part) if part.isdigit() and int(part) < len(target) else None


def _path_get(doc: Any, path: PathLike) -> Any:
    """The value at ``path`` (a list segment may be a position), or
    ``MISSING``. A field whose name holds a dot is found whole first."""
    if isinstance(path, str) and isinstance(doc, dict) and path in doc:
        return doc[path]
    value = doc
    for part in _segments(path):
        at = _index(value, part)
        if at is not None:
            value = value[at]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list):
            # A field of the documents in an array: their values, so that
            # {"items.sku": "lamp"} matches an order with a lamp among its items.
            found = [v[part] for v in value if isinstance(v, dict) and part in v]
            if not found:
                return MISSING
            value = found
        else:
            return MISSING
    return value


def _path_set(doc: Doc, path: PathLike, value: Any) -> None:
    parts = _segments(path)
    shown = ".".join(str(p) for p in parts)
    target: Any = doc
    for part in parts[:-1]:
        at = _index(target, part)
        if at is not None:
            target = target[at]
            continue
        if not isinstance(target, dict):
            raise QueryFailed(f"cannot set {shown}: {part!r} is not inside a document")
        if not isinstance(target.get(part), dict | list):
            target[part] = {}
        target = target[part]
    last = parts[-1]
    at = _index(target, last)
    if at is not None:
        target[at] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise QueryFailed(f"cannot set {shown}: its parent is not a document")


def _path_unset(doc: Doc, path: PathLike) -> None:
    parts = _segments(path)
    target: Any = doc
    for part in parts[:-1]:
        at = _index(target, part)
        if at is not None:
            target = target[at]
        elif isinstance(target, dict) and isinstance(target.get(part), dict | list):
            target = target[part]
        else:
            return
    if isinstance(target, dict):
        target.pop(parts[-1], None)
    elif (at := _index(target, parts[-1])) is not None:
        del target[at]


def _compare(value: Any, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (value is not MISSING) == bool(arg)
    if op == "$ne":
        return not _equals(value, arg)
    if op == "$in":
        return any(_equals(value, a) for a in arg)
    if op == "$nin":
        return not any(_equals(value, a) for a in arg)
    if value is MISSING or value is None:
        return False
    try:
        if op == "$gt":
            return bool(value > arg)
        if op == "$gte":
            return bool(value >= arg)
        if op == "$lt":
            return bool(value < arg)
        if op == "$lte":
            return bool(value <= arg)
    except TypeError:
        return False
    raise QueryFailed(f"unknown filter operator {op}")


def _equals(value: Any, target: Any) -> bool:
    """Equality as filters mean it: an array matches a value it holds, a
    missing field matches null, and true is not 1."""
    if isinstance(value, list) and not isinstance(target, list):
        return any(_equals(v, target) for v in value)
    if value is MISSING:
        return target is None
    if isinstance(value, bool) or isinstance(target, bool):
        return type(value) is type(target) and value == target
    return bool(value == target)


def matches(doc: Doc, filter_doc: dict[str, Any]) -> bool:
    """Whether ``doc`` matches a memdocs filter document."""
    for path, cond in filter_doc.items():
        value = _path_get(doc, path)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            if not all(_compare(value, op, arg) for op, arg in cond.items()):
                return False
        elif not _equals(value, cond):
            return False
    return True


def type_name(value: Any) -> str:
    """A value's type in this store's own words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, datetime):
        return "date"
    return type(value).__name__


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)


def _name_token(name: str) -> str:
    """A collection name as a command writes it."""
    return name if _WORD.fullmatch(name) else _json(name)


def _filter_of(flt: Filter | None) -> dict[str, Any] | None:
    """A browse filter: a JSON filter document, as ``find`` takes it."""
    if flt is None or not flt.text.strip():
        return None
    try:
        value = json.loads(flt.text)
    except ValueError as e:
        raise QueryFailed(f"a memdocs filter is a JSON document: {e}") from e
    if not isinstance(value, dict):
        raise QueryFailed('a memdocs filter is a JSON object, e.g. {"status": "open"}')
    return value


class _Desc:
    """Reverses the order of the value it wraps (a descending sort field)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[int, Any]) -> None:
        self.key = key

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.key < self.key)

    def __gt__(self, other: _Desc) -> bool:
        return bool(other.key > self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


_Rank = tuple[Any, ...]


def _sort_key(sort: Sort) -> Callable[[Doc], _Rank]:
    """A document's rank under ``sort``: per field (absent or null last in
    either direction, then the value), then its ``_id``."""

    def rank(doc: Doc) -> _Rank:
        parts: list[Any] = []
        for path, direction in sort.fields:
            value = _path_get(doc, path)
            if value is MISSING or value is None:
                parts.append((1, None))
                continue
            key = _id_key(value)
            parts.append((0, _Desc(key) if direction is SortDirection.DESCENDING else key))
        parts.append(_id_key(doc["_id"]))
        return tuple(parts)

    return rank


def _cursor_of(rank: _Rank) -> list[Any]:
    """A rank as JSON: each part [absent, descending, type, value]."""
    out: list[Any] = []
    for part in rank[:-1]:
        absent, key = part
        if absent:
            out.append([1])
        elif isinstance(key, _Desc):
            out.append([0, 1, *key.key])
        else:
            out.append([0, 0, *key])
    out.append(list(rank[-1]))
    return out


def _rank_of_cursor(data: Any) -> _Rank:
    if not isinstance(data, list) or not data:
        raise ValueError("not a sort cursor")
    parts: list[Any] = []
    for part in data[:-1]:
        if part[0]:
            parts.append((1, None))
        else:
            key = (part[2], part[3])
            parts.append((0, _Desc(key) if part[1] else key))
    parts.append((data[-1][0], data[-1][1]))
    return tuple(parts)


# -- the command language ----------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_READS = {"find", "count", "sleep"}
_WRITES = {"insert", "update", "replace", "delete"}
_DDL = {"createIndex", "dropIndex"}
_COMMANDS = _READS | _WRITES | _DDL | {"use"}


@dataclass(frozen=True)
class Parsed:
    verb: str
    collection: str = ""
    args: tuple[Any, ...] = ()

    @property
    def kind(self) -> StatementKind:
        if self.verb in _READS:
            return StatementKind.READ
        if self.verb in _WRITES:
            return StatementKind.WRITE
        if self.verb in _DDL:
            return StatementKind.DDL
        return StatementKind.OTHER

    @property
    def filter(self) -> dict[str, Any]:
        f = self.args[0] if self.args else {}
        if not isinstance(f, dict):
            raise QueryFailed(f"{self.verb}: the filter must be a JSON object, not {_json(f)}")
        return f


def parse_command(text: str) -> Parsed:
    """One command of the language (see the module docstring)."""
    body = text.strip()
    match = re.match(r"\s*([A-Za-z]+)", body)
    if match is None:
        raise QueryFailed("expected a command: " + ", ".join(sorted(_COMMANDS)), position=0)
    verb = match.group(1)
    if verb not in _COMMANDS:
        raise QueryFailed(
            f"unknown command {verb!r}; expected one of: " + ", ".join(sorted(_COMMANDS)),
            position=0,
        )
    rest = body[match.end() :]
    pos = match.end()
    decoder = json.JSONDecoder()

    def skip() -> None:
        nonlocal pos
        while pos < len(body) and body[pos].isspace():
            pos += 1

    skip()
    if verb == "sleep":
        try:
            return Parsed(verb, "", (float(rest.strip() or "0"),))
        except ValueError:
            raise QueryFailed("sleep takes a number of seconds", position=pos) from None
    if pos >= len(body):
        raise QueryFailed(f"{verb}: which collection?", position=pos)
    if body[pos] == '"':
        try:
            name, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as e:
            raise QueryFailed(f"{verb}: bad collection name ({e.msg})", position=e.pos) from e
    else:
        end = pos
        while end < len(body) and not body[end].isspace() and body[end] not in "{[":
            end += 1
        name, pos = body[pos:end], end
    args: list[Any] = []
    while True:
        skip()
        if pos >= len(body):
            break
        if verb in ("dropIndex", "use") and body[pos] not in '{["':
            args.append(body[pos:].strip())
            break
        try:
            value, pos = decoder.raw_decode(body, pos)
        except json.JSONDecodeError as e:
            raise QueryFailed(f"{verb}: bad JSON argument ({e.msg})", position=e.pos) from e
        args.append(value)
    return Parsed(verb, str(name), tuple(args))


def split_commands(text: str) -> list[Statement]:
    """The commands of a script: split on ``;`` and on line ends outside
    JSON strings and brackets; ``#`` lines are comments."""
    statements: list[Statement] = []
    start = 0
    depth = 0
    quote = False
    escaped = False
    comment = False

    def flush(end: int) -> None:
        chunk = text[start:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            body = chunk.strip()
            s = start + lead
            verb = re.match(r"[A-Za-z]*", body)
            kind = StatementKind.OTHER
            destructive = False
            try:
                cmd = parse_command(body)
                kind = cmd.kind
                destructive = (cmd.verb in ("update", "delete") and not cmd.filter) or (
                    cmd.verb == "dropIndex"
                )
            except QueryFailed:
                if verb and verb.group(0) in _READS:
                    kind = StatementKind.READ
            statements.append(Statement(body, s, s + len(body), kind, destructive))

    for i, ch in enumerate(text):
        if comment:
            if ch == "\n":
                comment = False
                start = i + 1
            continue
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth = max(0, depth - 1)
        elif ch == "#" and not text[start:i].strip():
            comment = True
        elif depth == 0 and ch in ";\n":
            flush(i)
            start = i + 1
    if not comment:
        flush(len(text))
    return statements


# -- the backend ---------------------------------------------------------------------


@dataclass
class _Handle:
    statement: str
    docs: list[Doc]
    whole: bool


class MemDocsBackend(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("memdocs",)
    product: ClassVar[str] = PRODUCT
    capabilities: ClassVar[Capability] = (
        Capability.QUERY
        | Capability.RECORDS
        | Capability.PLAN
        | Capability.INDEXES
        | Capability.EXPLAIN
        | Capability.MONITOR
        | Capability.CANCEL
    )
    default_page_size: ClassVar[int] = 200
    record_style: ClassVar[str] = "documents"
    index_methods: ClassVar[tuple[str, ...]] = ("ordered", "hashed")
    node_action_table: ClassVar[tuple[NodeAction, ...] | None] = (
        NodeAction(
            "browse",
            "Browse documents",
            NodeActionKind.BROWSE,
            kinds=frozenset({NodeKind.COLLECTION}),
            key="b",
            help="Show the collection's documents in the grid, in _id order",
        ),
        NodeAction(
            "find",
            "Find in query",
            NodeActionKind.OPEN_IN_QUERY,
            kinds=frozenset({NodeKind.COLLECTION}),
            key="f",
            help="Write a find command for the collection in the query editor",
        ),
        NodeAction(
            "indexes",
            "Indexes",
            NodeActionKind.INDEXES,
            kinds=frozenset({NodeKind.COLLECTION}),
            key="i",
            help="List the collection's indexes",
        ),
    )
    language: ClassVar[QueryLanguage] = QueryLanguage(
        name=LANGUAGE_NAME,
        extension=FILE_EXTENSION,
        # No tree-sitter grammar fits (and tree-sitter-json is not installed).
        highlight=None,
        completion=CompletionRules(keywords=tuple(sorted(_COMMANDS)), word_chars="_$.-"),
        title_of=lambda statement: statement.text.split(None, 1)[0][:12],
        format=None,
        open_template=lambda path: f"find {_name_token(path[-1])} {{}}",
        open_label="Find in this collection",
        explain=ExplainWords(
            label="Explain",
            title="Plan",
            analyze_label="Explain, counted",
            analyze_title="Plan, counted",
            analyze_runs=False,
            analyze_warning="Counting reads every matching document; it changes nothing.",
        ),
        transactions=None,
    )

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        parts = urlsplit(url)
        self.store_name = unquote(parts.hostname or "") or "demo"
        self._database = unquote(parts.path.strip("/"))
        params = parse_qs(parts.query)
        delay = params.get("delay", ["0"])[0]
        self._delay = float(delay) / 1000 if delay.replace(".", "", 1).isdigit() else 0.0
        self._store: MemStore | None = None
        self._results: dict[str, _Handle] = {}
        self._handles = itertools.count(1)
        self._samples = 0
        # cancel(): the event of the call running now, if any.
        self._running: threading.Event | None = None
        self._running_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------

    def connect(self) -> None:
        self._pause()
        self._store = get_store(self.store_name)

    def close(self) -> None:
        self._store = None
        self._results.clear()

    def ping(self) -> float:
        self._live()
        return 0.0

    def server_info(self) -> ServerInfo:
        self._live()
        details = [("store", self.store_name), ("database", self._current_db())]
        details.append(("read-only", "yes" if self.read_only else "no"))
        return ServerInfo(PRODUCT, VERSION, tuple(details))

    # -- catalog --------------------------------------------------------------

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        store = self._live()
        with store.lock:
            if path == ():
                return [
                    Node((db,), db, NodeKind.DATABASE, expandable=True)
                    for db in sorted(store.databases)
                ]
            if len(path) == 1 and path[0] in store.databases:
                colls = store.databases[path[0]]
                return [
                    Node(
                        (path[0], name),
                        name,
                        NodeKind.COLLECTION,
                        browsable=True,
                        estimate=len(colls[name].docs),
                        detail=f"{len(colls[name].indexes)} idx",
                    )
                    for name in sorted(colls)
                ]
            if len(path) == 2:
                store.collection(*path)
                return []
        raise NotFound(f"{'/'.join(path)} does not exist")

    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Filter | None = None,
        sort: Sort | None = None,
        whole: bool = False,
    ) -> Page:
        store = self._live()
        if limit < 1:
            raise QueryFailed(f"invalid limit {limit}")
        flt = _filter_of(filter)
        after: Any = None
        if cursor is not None:
            try:
                after = json.loads(cursor)
                if sort is None:
                    after = _id_key(after)
            except (ValueError, TypeError) as e:
                raise QueryFailed(f"invalid cursor {cursor!r}") from e
        with store.lock:
            coll = self._collection(store, path)
            total = len(coll.docs)
            if sort is None:
                start = 0 if after is None else bisect.bisect_right(coll.order, after)
                docs: list[Doc] = []
                for doc in coll.in_order(start):
                    if flt is None or matches(doc, flt):
                        docs.append(doc)
                        if len(docs) > limit:  # one more than asked: is there more?
                            break
            else:
                # In memory a sort is a sort of every match; the cursor holds
                # the last record's sort values and _id, so pages stay exact.
                order = _sort_key(sort)
                ranked = sorted(
                    (order(d), d) for d in coll.in_order() if flt is None or matches(d, flt)
                )
                if after is not None:
                    mark = _rank_of_cursor(after)
                    ranked = [r for r in ranked if r[0] > mark]
                docs = [d for _, d in ranked[: limit + 1]]
        more = len(docs) > limit
        docs = docs[:limit]
        next_cursor = None
        if more:
            last = docs[-1]
            next_cursor = _json(last["_id"] if sort is None else _cursor_of(_sort_key(sort)(last)))
        columns, rows = _tabulate(docs)
        return Page(columns, rows, next_cursor, total)

    # -- QUERY ----------------------------------------------------------------

    def split(self, text: str) -> list[Statement]:
        return split_commands(text)

    def execute(self, statement: str, *, limit: int = 200, whole: bool = False) -> Result:
        store = self._live()
        cmd = parse_command(statement)
        if self.read_only and cmd.kind in (StatementKind.WRITE, StatementKind.DDL):
            raise ReadOnly(f"{cmd.verb} changes data; this connection is read-only")
        started = time.monotonic()
        with self._operation(store, cmd, statement) as cancel:
            result = self._run(store, cmd, statement, cancel, limit, whole)
        return _with_elapsed(result, time.monotonic() - started)

    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        self._live()
        try:
            handle, offset_text, statement = json.loads(cursor)
            offset = int(offset_text)
        except (ValueError, TypeError) as e:
            raise QueryFailed(f"invalid result cursor {cursor!r}") from e
        held = self._results.get(handle)
        if held is None:
            # Released or from an older connection: a read is run again
            # and positioned; anything else has expired with its result.
            cmd = parse_command(statement)
            if cmd.verb != "find":
                raise QueryFailed("the result has expired")
            store = self._live()
            with store.lock:
                docs = self._find(store, cmd, None)
            held = _Handle(statement, docs, False)
        docs = held.docs[offset : offset + limit]
        more = offset + limit < len(held.docs)
        columns, rows = _tabulate(docs)
        next_cursor = _json([handle, offset + limit, held.statement]) if more else None
        return Page(columns, rows, next_cursor, len(held.docs))

    def release(self, handle: str) -> None:
        self._results.pop(handle, None)

    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        store = self._live()
        names: list[tuple[str, str]] = [(verb, "command") for verb in sorted(_COMMANDS)]
        with store.lock:
            db = path[0] if path else self._current_db()
            for name, coll in sorted(store.databases.get(db, {}).items()):
                names.append((_name_token(name), "collection"))
                seen: dict[str, None] = {}
                for doc in itertools.islice(coll.in_order(), 50):
                    seen.update(dict.fromkeys(doc))
                names.extend((f"{name}.{f}", "field") for f in seen)
        return names[:5000]

    # -- CANCEL ---------------------------------------------------------------

    def cancel(self) -> None:
        with self._running_lock:
            if self._running is not None:
                self._running.set()

    # -- RECORDS --------------------------------------------------------------

    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        store = self._live()
        with store.lock:
            coll = self._collection(store, path)
            seen: dict[str, str] = {}
            for doc in itertools.islice(coll.in_order(), 100):
                for name, value in doc.items():
                    seen.setdefault(name, type_name(value))
        seen.setdefault("_id", "int")
        fields = tuple(
            FieldInfo(
                name,
                kind,
                nullable=name != "_id",
                primary_key=name == "_id",
                editable=name != "_id",
            )
            for name, kind in seen.items()
        )
        return RecordSchema(path, fields, ("_id",), None, codec=CODEC)

    def record_key(
        self, path: tuple[str, ...], row: tuple[Any, ...], columns: Sequence[str]
    ) -> RecordKey:
        names = list(columns)
        if "_id" not in names:
            raise ReadOnly(f"{path[-1]}: the page holds no _id")
        return (("_id", row[names.index("_id")]),)

    def get(self, path: tuple[str, ...], key: RecordKey) -> Record:
        store = self._live()
        _id = _key_id(key)
        with store.lock:
            doc = self._collection(store, path).get(_id)
        if doc is None:
            raise NotFound(f"no document with _id {_json(_id)} in {path[-1]}")
        return Record(path, key, tuple(copy.deepcopy(doc).items()))

    # -- PLAN -----------------------------------------------------------------

    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        store = self._live()
        self._refuse_read_only()
        steps: list[PlannedStep] = []
        with store.lock:
            for change in changes:
                step = self._as_step(change)
                text = change.text if isinstance(change, CommandStep) else _command_text(step)
                steps.append(PlannedStep(change, text, self._count(store, step)))
        warnings = (
            "memdocs has no transactions: each step is applied on its own, and a failed"
            " step leaves the steps before it applied",
        )
        return ChangePlan(tuple(steps), Atomicity.STEP_BY_STEP, warnings if len(steps) > 1 else ())

    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        """Step by step, no rollback (``Atomicity.STEP_BY_STEP``)."""
        store = self._live()
        self._refuse_read_only()
        started = time.monotonic()
        steps = [self._as_step(change) for change in changes]
        affected: list[int | None] = []
        for at, step in enumerate(steps):
            try:
                with store.lock:
                    affected.append(self._apply_one(store, step))
            except (QueryFailed, NotFound) as e:
                done = f" (steps 1–{at} stay applied)" if at else ""
                raise QueryFailed(f"step {at + 1} failed: {e}{done}", step=at) from e
        return AppliedPlan(tuple(affected), time.monotonic() - started)

    def _as_step(self, change: Change) -> Change | _Command:
        """A ``Command`` step parsed into the change it runs (its text must
        be a write on the step's collection); other changes as they are."""
        if not isinstance(change, CommandStep):
            return change
        cmd = parse_command(change.text)
        if cmd.kind not in (StatementKind.WRITE, StatementKind.DDL):
            raise NotSupported(f"a plan step changes data; {cmd.verb} does not")
        return _change_of((change.path[0], cmd.collection or change.path[-1]), cmd)

    # -- INDEXES --------------------------------------------------------------

    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        store = self._live()
        with store.lock:
            coll = self._collection(store, path)
            n = len(coll.docs)
            found = []
            for index in coll.indexes:
                flags = []
                if index.scans == 0 and index.name != "_id_":
                    flags.append("unused")
                if index.ttl_seconds is not None:
                    flags.append(f"TTL {index.ttl_seconds} s")
                if index.sparse:
                    flags.append("sparse")
                found.append(
                    IndexInfo(
                        index.name,
                        index.describe(),
                        unique=index.unique,
                        primary=index.name == "_id_",
                        method="hashed" if index.hashed else "ordered",
                        size_bytes=4096 + 24 * n * len(index.fields),
                        scans=index.scans,
                        definition=index.definition(),
                        flags=tuple(flags),
                    )
                )
        return found

    def index_options(self, path: tuple[str, ...]) -> IndexOptions:
        return INDEX_OPTIONS

    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        store = self._live()
        self._refuse_read_only()
        with store.lock:
            coll = self._collection(store, change.path)
            if isinstance(change, DropIndex):
                _droppable(coll, change.name)
                note = "queries that used it scan the collection instead"
            else:
                index = _index_of(change.spec)
                if any(i.name == index.name for i in coll.indexes):
                    raise QueryFailed(f"an index named {index.name} already exists")
                note = f"reads the {len(coll.docs)} documents of {change.path[-1]} once"
        return IndexPlan(change, _command_text(change), note)

    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        self._index_change(CreateIndex(path, spec))

    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        # memdocs has no online choice (IndexOptions.online is False).
        self._index_change(DropIndex(path, name, online=online))

    def _index_change(self, change: CreateIndex | DropIndex) -> None:
        store = self._live()
        self._refuse_read_only()
        with store.lock:
            self._apply_one(store, change)

    # -- EXPLAIN --------------------------------------------------------------

    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        """No costs: documents examined against returned, keys examined,
        and the collection scan the planner rejected when an index wins.
        ``analyze`` counts what the command would return (it never writes)."""
        store = self._live()
        cmd = parse_command(statement)
        if cmd.verb not in ("find", "count", "update", "delete", "replace"):
            raise QueryFailed(
                f"memdocs explains find, count, update, delete and replace, not {cmd.verb}"
            )
        with store.lock:
            coll = self._collection(store, self._path(cmd.collection))
            flt = cmd.filter
            index = _usable_index(coll, flt)
            total = len(coll.docs)
            keys = 0
            if index is not None:
                first = index.fields[0][0]
                keys = sum(1 for d in coll.in_order() if _equals(_path_get(d, first), flt[first]))
            returned = sum(1 for d in coll.in_order() if matches(d, flt))
        examined = keys if index is not None else total
        name = cmd.collection

        def measures(docs: int, keys_read: int | None) -> tuple[PlanMetric, ...]:
            out = [PlanMetric(PlanMeasure.EXAMINED, float(docs), "docs examined")]
            if keys_read is not None:
                out.append(PlanMetric(PlanMeasure.KEYS_EXAMINED, float(keys_read)))
            out.append(PlanMetric(PlanMeasure.RETURNED, float(returned), "docs returned"))
            return tuple(out)

        returned_rows = float(returned) if analyze else None
        scan_all = PlanNode(
            f"scan the whole collection {name}",
            est_rows=float(returned),
            actual_rows=returned_rows,
            details=(("filter", _json(flt)),),
            metrics=measures(total, None),
        )
        rejected: tuple[PlanNode, ...] = ()
        if index is None:
            root = scan_all
        else:
            lookup = PlanNode(
                f"look up {index.name}",
                est_rows=float(keys),
                actual_rows=float(keys) if analyze else None,
                details=(("index", index.name), ("fields", index.describe())),
                metrics=(PlanMetric(PlanMeasure.KEYS_EXAMINED, float(keys)),),
            )
            root = PlanNode(
                "fetch the documents found",
                est_rows=float(returned),
                actual_rows=returned_rows,
                details=(("filter", _json(flt)),),
                children=(lookup,),
                metrics=measures(keys, None),
            )
            rejected = (scan_all,)
        raw = _json(
            {
                "command": statement,
                "winning": root.label,
                "docsExamined": examined,
                "docsReturned": returned,
                "keysExamined": keys,
                "rejected": [p.label for p in rejected],
            }
        )
        return Explained(
            statement,
            root,
            analyze,
            None,
            None,
            raw,
            heading="memdocs plan, counted" if analyze else "memdocs plan",
            rejected=rejected,
            metrics=measures(examined, keys),
        )

    # -- MONITOR --------------------------------------------------------------

    def stats(self) -> Stats:
        store = self._live()
        self._samples += 1
        n = self._samples
        with store.lock:
            docs = sum(len(c.docs) for db in store.databases.values() for c in db.values())
            ops = sorted(store.operations.values(), key=lambda o: o.opid)
        rows = tuple((o.opid, o.op, o.namespace, _running_for(o), o.command) for o in ops)
        return Stats(
            _SAMPLED_FROM + 2.0 * n,
            (
                Metric("documents", float(docs), unit="docs"),
                Metric("operations in flight", float(len(ops))),
                Metric("commands", 500.0 + 7.0 * n * n, MetricKind.COUNTER),
            ),
            (
                StatsTable(
                    "Operations",
                    ("opid", "op", "namespace", "running for", "command"),
                    rows,
                    key_column=0,
                    actions=(KILL_ACTION,),
                    note="" if rows else "no operation is running",
                    roles={
                        ColumnRole.ID: (0,),
                        ColumnRole.DATABASE: (2,),
                        ColumnRole.DURATION: (3,),
                        ColumnRole.TEXT: (4,),
                    },
                ),
            ),
        )

    def session_action(self, action: str, session_id: Any) -> str:
        store = self._live()
        if action != KILL_OP:
            raise NotSupported(f"memdocs operations know one action, {KILL_OP!r}, not {action!r}")
        with store.lock:
            op = store.operations.get(session_id)
            if op is None:  # as on PostgreSQL: an operation that has ended is an outcome
                return f"operation {session_id} is gone"
            if op.cancel is not None:
                op.cancel.set()
            else:
                del store.operations[session_id]
        return f"operation {session_id} ({op.op} on {op.namespace}) was killed"

    # -- internals --------------------------------------------------------------

    def _pause(self) -> None:
        if self._delay:
            time.sleep(self._delay)

    def _live(self) -> MemStore:
        self._pause()
        if self._store is None:
            raise ConnectionLost("not connected to the memdocs store")
        return self._store

    def _refuse_read_only(self) -> None:
        if self.read_only:
            raise ReadOnly("this connection is read-only: nothing was changed")

    def _current_db(self) -> str:
        if self._database:
            return self._database
        store = self._store
        if store is None or not store.databases:
            return "test"
        with store.lock:
            return store.default_db

    def _path(self, collection: str) -> tuple[str, str]:
        return (self._current_db(), collection)

    def _collection(self, store: MemStore, path: tuple[str, ...]) -> MemCollection:
        if len(path) != 2:
            if len(path) == 1 and path[0] in store.databases:
                raise NotSupported(f"{path[0]} is a database, not a collection")
            raise NotFound(f"{'/'.join(path)} does not exist")
        return store.collection(path[0], path[1])

    class _Op:
        """The context of one running command: an entry in the store's
        Operations table and the event ``cancel()``/``kill op`` set."""

        def __init__(self, backend: MemDocsBackend, store: MemStore, entry: Operation) -> None:
            self.backend, self.store, self.entry = backend, store, entry

        def __enter__(self) -> threading.Event:
            event = self.entry.cancel
            assert event is not None
            with self.backend._running_lock:
                self.backend._running = event
            with self.store.lock:
                self.store.operations[self.entry.opid] = self.entry
                self.store.commands += 1
            return event

        def __exit__(self, *exc: object) -> None:
            with self.backend._running_lock:
                self.backend._running = None
            with self.store.lock:
                self.store.operations.pop(self.entry.opid, None)

    def _operation(self, store: MemStore, cmd: Parsed, text: str) -> MemDocsBackend._Op:
        with store.lock:
            store.next_opid += 1
            opid = store.next_opid
        entry = Operation(
            opid,
            cmd.verb,
            f"{self._current_db()}.{cmd.collection}" if cmd.collection else self._current_db(),
            time.monotonic(),
            text[:200],
            threading.Event(),
        )
        return MemDocsBackend._Op(self, store, entry)

    def _run(
        self,
        store: MemStore,
        cmd: Parsed,
        statement: str,
        cancel: threading.Event,
        limit: int,
        whole: bool,
    ) -> Result:
        if cmd.verb == "sleep":
            if cancel.wait(max(0.0, float(cmd.args[0]))):
                raise Cancelled("the command was cancelled")
            return Result(statement, status="slept")
        if cmd.verb == "use":
            name = cmd.collection
            with store.lock:
                if name not in store.databases:
                    raise NotFound(f"no database {name!r}")
            self._database = name
            return Result(statement, status=f"using {name}")
        path = self._path(cmd.collection)
        if cmd.verb == "find":
            with store.lock:
                docs = self._find(store, cmd, cancel)
            handle = f"m{next(self._handles)}"
            self._results[handle] = _Handle(statement, docs, whole)
            first = docs[:limit]
            columns, rows = _tabulate(first)
            more = _json([handle, limit, statement]) if len(docs) > limit else None
            return Result(
                statement,
                columns,
                rows,
                more,
                handle,
                status=f"found {len(docs)} document{'s' if len(docs) != 1 else ''}",
            )
        if cmd.verb == "count":
            with store.lock:
                count = len(self._find(store, cmd, cancel))
            return Result(
                statement, (Column("count", "int"),), ((count,),), status=f"count {count}"
            )
        change = _change_of(path, cmd)
        with store.lock:
            n = self._apply_one(store, change, cancel)
        word = {"insert": "inserted", "update": "modified", "replace": "replaced"}.get(
            cmd.verb, "deleted"
        )
        if isinstance(change, CreateIndex | DropIndex):
            return Result(statement, status=f"{cmd.verb} {cmd.collection}")
        return Result(statement, status=f"{word} {n}", rowcount=n)

    def _find(self, store: MemStore, cmd: Parsed, cancel: threading.Event | None) -> list[Doc]:
        coll = self._collection(store, self._path(cmd.collection))
        flt = cmd.filter
        index = _usable_index(coll, flt)
        if index is not None:
            index.scans += 1
        found: list[Doc] = []
        for i, doc in enumerate(coll.in_order()):
            if cancel is not None and i % _CANCEL_EVERY == 0 and cancel.is_set():
                raise Cancelled("the command was cancelled")
            if matches(doc, flt):
                found.append(doc)
        return found

    def _count(self, store: MemStore, change: Change | _Command) -> int | None:
        if isinstance(change, CreateIndex | DropIndex):
            return None
        if isinstance(change, Insert):
            return 1
        if isinstance(change, UpdateMany | DeleteMany):
            coll = self._collection(store, change.path)
            return sum(1 for d in coll.in_order() if matches(d, change.filter))
        if isinstance(change, CommandStep):
            return change.affected
        coll = self._collection(store, change.path)
        return 1 if coll.get(_key_id(change.key)) is not None else 0

    def _apply_one(
        self, store: MemStore, change: Change | _Command, cancel: threading.Event | None = None
    ) -> int | None:
        """Apply one change under the store's lock; the affected count."""
        coll = self._collection(store, change.path)
        if isinstance(change, Insert):
            doc: Doc = {}
            for name, value in change.fields:
                if value is not DEFAULT and value is not MISSING and value is not UNSET:
                    _path_set(doc, name, copy.deepcopy(value))
            if "_id" not in doc:
                doc["_id"] = _next_id(coll)
            if coll.get(doc["_id"]) is not None:
                raise QueryFailed(f"duplicate _id {_json(doc['_id'])} in {change.path[-1]}")
            _check_unique(coll, doc)
            coll.put(doc)
            return 1
        if isinstance(change, Update):
            old = coll.get(_key_id(change.key))
            if old is None:
                raise NotFound(f"no document with _id {_json(_key_id(change.key))}")
            new = _updated(old, change.changes)
            _check_unique(coll, new, old["_id"])
            coll.put(new)
            return 1
        if isinstance(change, Replace):
            old = coll.get(_key_id(change.key))
            if old is None:
                raise NotFound(f"no document with _id {_json(_key_id(change.key))}")
            new = {"_id": old["_id"]}
            for name, value in change.document:
                if name != "_id" and value not in (DEFAULT, MISSING, UNSET):
                    new[name] = copy.deepcopy(value)
            _check_unique(coll, new, old["_id"])
            coll.put(new)
            return 1
        if isinstance(change, Delete):
            _id = _key_id(change.key)
            if coll.get(_id) is None:
                return 0
            coll.remove(_id)
            return 1
        if isinstance(change, UpdateMany):
            hits = [d for d in coll.in_order() if matches(d, change.filter)]
            replaced = [(d, _operators(d, change.update, change.replace)) for d in hits]
            for old, new in replaced:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("the command was cancelled")
                _check_unique(coll, new, old["_id"])
                coll.put(new)
            return len(replaced)
        if isinstance(change, DeleteMany):
            hits = [d["_id"] for d in coll.in_order() if matches(d, change.filter)]
            for _id in hits:
                coll.remove(_id)
            return len(hits)
        if isinstance(change, CreateIndex):
            index = _index_of(change.spec)
            if any(i.name == index.name for i in coll.indexes):
                raise QueryFailed(f"an index named {index.name} already exists")
            if index.unique:
                seen: set[str] = set()
                for d in coll.in_order():
                    value = _json([_path_get(d, f) for f, _ in index.fields])
                    if value in seen and not (index.sparse and _all_missing(d, index)):
                        raise QueryFailed(f"{index.name}: duplicate key {value}")
                    seen.add(value)
            coll.indexes.append(index)
            return None
        if isinstance(change, DropIndex):
            _droppable(coll, change.name)
            coll.indexes = [i for i in coll.indexes if i.name != change.name]
            return None
        raise NotSupported(f"memdocs cannot apply {type(change).__name__}")


# -- change helpers -------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateMany:
    """A store command step (``update``/``replace`` of every match)."""

    path: tuple[str, ...]
    filter: dict[str, Any]
    update: dict[str, Any]
    replace: bool = False


@dataclass(frozen=True)
class DeleteMany:
    path: tuple[str, ...]
    filter: dict[str, Any]


def _change_of(path: tuple[str, ...], cmd: Parsed) -> Change | _Command:
    if cmd.verb == "insert":
        if not cmd.args or not isinstance(cmd.args[0], dict):
            raise QueryFailed("insert takes a document: insert COLLECTION {...}")
        return Insert(path, tuple(cmd.args[0].items()))
    if cmd.verb in ("update", "replace"):
        if len(cmd.args) != 2 or not isinstance(cmd.args[1], dict):
            raise QueryFailed(f"{cmd.verb} takes a filter and a document")
        return UpdateMany(path, cmd.filter, cmd.args[1], cmd.verb == "replace")
    if cmd.verb == "delete":
        if not cmd.args:
            raise QueryFailed("delete takes a filter ({} deletes every document)")
        return DeleteMany(path, cmd.filter)
    if cmd.verb == "createIndex":
        keys = cmd.args[0] if cmd.args else None
        if not isinstance(keys, dict) or not keys:
            raise QueryFailed('createIndex takes its fields: createIndex COLL {"field": 1}')
        options = cmd.args[1] if len(cmd.args) > 1 and isinstance(cmd.args[1], dict) else {}
        hashed = any(v == "hashed" for v in keys.values())
        ttl = options.get("expireAfterSeconds")
        spec = IndexSpec(
            tuple(keys),
            unique=bool(options.get("unique", False)),
            method="hashed" if hashed else "",
            name=str(options.get("name", "")),
            online=False,
            directions=tuple(
                IndexDirection.DESCENDING if v == -1 else IndexDirection.ASCENDING
                for v in keys.values()
            ),
            ttl_seconds=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
            sparse=bool(options.get("sparse", False)),
        )
        return CreateIndex(path, spec)
    if cmd.verb == "dropIndex":
        if not cmd.args:
            raise QueryFailed("dropIndex takes an index name")
        return DropIndex(path, str(cmd.args[0]), online=False)
    raise QueryFailed(f"{cmd.verb} is not a change")


#: Changes only typed commands make (``update``/``delete`` of every match).
_Command = UpdateMany | DeleteMany

_DESCENDING_WORDS = ("-1", "desc", "descending")


def _index_of(spec: IndexSpec) -> MemIndex:
    fields: list[tuple[str, int]] = []
    for column, given in spec.fields:
        text = column.strip()
        direction = -1 if given is IndexDirection.DESCENDING else 1
        if given is IndexDirection.DEFAULT:
            # Typed as one entry: "-created" or "created -1" / "created desc".
            if text.startswith("-"):
                text, direction = text[1:], -1
            elif " " in text:
                text, _, word = text.rpartition(" ")
                direction = -1 if word.lower() in _DESCENDING_WORDS else 1
                text = text.strip()
        if not text:
            raise QueryFailed("an index field has no name")
        fields.append((text, direction))
    if not fields:
        raise QueryFailed("an index needs at least one field")
    if spec.partial_filter.strip():
        raise NotSupported("memdocs indexes have no partial filter (sparse leaves out documents)")
    hashed = spec.method == "hashed"
    name = spec.name or "_".join(f"{f}_{'hashed' if hashed else d}" for f, d in fields)
    return MemIndex(
        name,
        tuple(fields),
        unique=spec.unique,
        sparse=spec.sparse,
        ttl_seconds=spec.ttl_seconds,
        hashed=hashed,
    )


def _droppable(coll: MemCollection, name: str) -> None:
    if name == "_id_":
        raise QueryFailed("the _id_ index cannot be dropped")
    if not any(i.name == name for i in coll.indexes):
        raise NotFound(f"no index named {name}")


def _usable_index(coll: MemCollection, flt: dict[str, Any]) -> MemIndex | None:
    """The index a filter's equality on its first field can use."""
    for index in coll.indexes:
        first = index.fields[0][0]
        if first in flt and not isinstance(flt[first], dict):
            return index
    return None


def _all_missing(doc: Doc, index: MemIndex) -> bool:
    return all(_path_get(doc, f) is MISSING for f, _ in index.fields)


def _check_unique(coll: MemCollection, doc: Doc, own_id: Any = MISSING) -> None:
    for index in coll.indexes:
        if not index.unique or index.name == "_id_":
            continue
        if index.sparse and _all_missing(doc, index):
            continue
        value = [_path_get(doc, f) for f, _ in index.fields]
        for other in coll.in_order():
            if own_id is not MISSING and _equals(other["_id"], own_id):
                continue
            if [_path_get(other, f) for f, _ in index.fields] == value:
                raise QueryFailed(f"{index.name}: duplicate key {_json(value)}")


def _updated(old: Doc, changes: Iterable[tuple[Any, Any]]) -> Doc:
    """A copy of ``old`` with ``changes`` set (a dotted name or a tuple of
    segments is a nested path; ``MISSING`` removes the field)."""
    new = copy.deepcopy(old)
    for name, value in changes:
        if name == "_id" or (isinstance(name, tuple) and name[:1] == ("_id",)):
            if value != old["_id"]:
                raise QueryFailed("_id cannot be changed")
            continue
        if value is MISSING or value is UNSET:
            _path_unset(new, name)
        else:
            _path_set(new, name, copy.deepcopy(value))
    return new


def _operators(old: Doc, update: dict[str, Any], replace: bool) -> Doc:
    if replace:
        if any(k.startswith("$") for k in update):
            raise QueryFailed("replace takes a whole document, not $ operators")
        new = copy.deepcopy(update)
        new["_id"] = old["_id"]
        return new
    unknown = [k for k in update if k not in ("$set", "$unset", "$inc")]
    if unknown or not update:
        raise QueryFailed(
            "update takes $set, $unset or $inc" + (f", not {unknown[0]}" if unknown else "")
        )
    changes: list[tuple[Any, Any]] = list(update.get("$set", {}).items())
    changes += [(k, MISSING) for k in update.get("$unset", {})]
    for k, by in update.get("$inc", {}).items():
        current = _path_get(old, k)
        base = 0 if current is MISSING else current
        if not isinstance(base, int | float) or not isinstance(by, int | float):
            raise QueryFailed(f"$inc needs numbers at {k}")
        changes.append((k, base + by))
    return _updated(old, changes)


def _next_id(coll: MemCollection) -> int:
    numbers = [k[1] for k in coll.order if k[0] == 0]
    return int(max(numbers, default=0)) + 1


def _key_id(key: RecordKey) -> Any:
    fields = dict(key)
    if "_id" not in fields:
        raise NotFound("a memdocs record is found by its _id")
    return fields["_id"]


def _command_text(change: Any) -> str:
    """The memdocs command a change runs, as a user could type it."""
    coll = _name_token(change.path[-1])
    if isinstance(change, Insert):
        return f"insert {coll} {_json(dict(change.fields))}"
    if isinstance(change, Update):
        sets = {_dotted(k): v for k, v in change.changes if v is not MISSING and v is not UNSET}
        unsets = {_dotted(k): 1 for k, v in change.changes if v is MISSING or v is UNSET}
        update: dict[str, Any] = {}
        if sets:
            update["$set"] = sets
        if unsets:
            update["$unset"] = unsets
        return f"update {coll} {_json(dict(change.key))} {_json(update)}"
    if isinstance(change, Replace):
        return f"replace {coll} {_json(dict(change.key))} {_json(dict(change.document))}"
    if isinstance(change, CommandStep):
        return change.text
    if isinstance(change, Delete):
        return f"delete {coll} {_json(dict(change.key))}"
    if isinstance(change, UpdateMany):
        verb = "replace" if change.replace else "update"
        return f"{verb} {coll} {_json(change.filter)} {_json(change.update)}"
    if isinstance(change, DeleteMany):
        return f"delete {coll} {_json(change.filter)}"
    if isinstance(change, CreateIndex):
        index = _index_of(change.spec)
        keys = {f: ("hashed" if index.hashed else d) for f, d in index.fields}
        options: dict[str, Any] = {"name": index.name}
        if index.unique:
            options["unique"] = True
        if index.sparse:
            options["sparse"] = True
        if index.ttl_seconds is not None:
            options["expireAfterSeconds"] = index.ttl_seconds
        return f"createIndex {coll} {_json(keys)} {_json(options)}"
    if isinstance(change, DropIndex):
        return f"dropIndex {coll} {change.name}"
    return repr(change)


def _dotted(name: Any) -> str:
    return ".".join(str(p) for p in name) if isinstance(name, tuple) else str(name)


def _tabulate(docs: Sequence[Doc]) -> tuple[tuple[Column, ...], tuple[tuple[Any, ...], ...]]:
    """Columns: the union of the documents' top-level fields in order of
    first appearance; a field a document lacks is ``MISSING``."""
    names: dict[str, None] = {}
    for doc in docs:
        names.update(dict.fromkeys(doc))
    columns = tuple(Column(n, primary_key=n == "_id") for n in names)
    rows = tuple(tuple(copy.deepcopy(doc.get(n, MISSING)) for n in names) for doc in docs)
    return columns, rows


def _with_elapsed(result: Result, elapsed: float) -> Result:
    return Result(
        result.statement,
        result.columns,
        result.rows,
        result.next_cursor,
        result.handle,
        result.status,
        result.rowcount,
        elapsed,
        result.notices,
    )


def _running_for(op: Operation) -> timedelta:
    if op.cancel is None:  # a seeded operation: its age is fixed
        return timedelta(seconds=op.seconds)
    return timedelta(seconds=round(max(0.0, time.monotonic() - op.seconds), 1))


# -- the store's words for the editors -------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemDocsCodec(ValueCodec):
    """Typed text becomes a value by the field's type: a "string" field
    keeps the text as it is; any other field reads JSON (numbers, true,
    false, null, documents, arrays), and text that is not JSON stays text."""

    def parse(self, field: FieldInfo | None, text: str) -> Any:
        if field is not None and field.type_name == "string":
            return text
        try:
            return json.loads(text)
        except ValueError:
            return text


CODEC = MemDocsCodec(null_word="null", unset_word="unset", default_word="")

INDEX_OPTIONS = IndexOptions(
    fields_label="Fields",
    fields_placeholder="status, customer.name, created -1",
    field_noun="field path",
    expressions=False,
    directions=True,
    ascending_words=("1", "asc"),
    descending_words=_DESCENDING_WORDS,
    methods=("ordered", "hashed"),
    method_label="Kind",
    unique=True,
    partial=False,
    online=False,
    ttl=True,
    ttl_label="expire after (s)",
    sparse=True,
    sparse_label="sparse (skip documents without the fields)",
    name_placeholder="empty: fields and directions, e.g. status_1",
)


# -- the default dataset -------------------------------------------------------------

_EPOCH = datetime(2024, 3, 1, 9, 0)
_STATUSES = ("open", "paid", "shipped", "void")
_CITIES = ("Lisbon", "Oslo", "Kyoto", "Lima", "Accra", "Quito", "Perth", "Tallinn", "Zürich")
_NAMES = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Radia", "Edsger", "Hedy", "Alan", "Joan")
_SKUS = ("pen", "ink", "pad", "lamp", "desk", "mug")
#: Orders in the default store: over 1,000, so paging crosses boundaries
#: at limits 1, 7 and 500 (1,100 = 157 * 7 + 1 = 2 * 500 + 100).
ORDERS = 1_100


def _order(i: int) -> Doc:
    doc: Doc = {
        "_id": i + 1,
        "status": _STATUSES[i % len(_STATUSES)],
        "customer": {
            "name": _NAMES[i % len(_NAMES)],
            "address": {"city": _CITIES[i % len(_CITIES)], "zip": f"{1000 + i * 7 % 9000}"},
        },
        "items": [
            {"sku": _SKUS[(i + k) % len(_SKUS)], "qty": 1 + (i + k) % 3} for k in range(1 + i % 3)
        ],
        "total": round((i * 37 % 5000) / 10 + 0.5, 2),
        "created": (_EPOCH + timedelta(hours=i)).isoformat(),
    }
    if i % 5 == 0:
        doc["note"] = f"call before delivery #{i}"
    if i % 11 == 0:
        doc["gift"] = True
    return doc


def default_store() -> MemStore:
    """The default dataset: ``shop`` (orders, customers, an odd name) and
    ``logs`` (events of mixed shapes), plus a few seeded operations."""
    store = MemStore()
    orders = store.add("shop", "orders", (_order(i) for i in range(ORDERS)))
    orders.indexes.append(MemIndex("status_1", (("status", 1),), scans=42))
    orders.indexes.append(
        MemIndex("customer.name_1_created_-1", (("customer.name", 1), ("created", -1)))
    )
    store.add(
        "shop",
        "customers",
        (
            {
                "_id": f"c{i:02d}",
                "name": _NAMES[i % len(_NAMES)],
                "tags": ["vip"] if i % 4 == 0 else [],
                "contact": {"email": f"{_NAMES[i % len(_NAMES)].lower()}@example.org"},
            }
            for i in range(12)
        ),
    )
    store.add(
        "shop",
        'odd "names" ünï.coll',
        (
            {"_id": 1, "dotted.key": "a field name with a dot", "$weird": 1},
            {"_id": 2, "spaced key": [1, [2, [3]]], "empty": {}},
        ),
    )
    store.add(
        "logs",
        "events",
        (
            {"_id": 1, "level": "info", "msg": "started"},
            {"_id": 2, "level": "warn", "msg": "slow disk", "detail": {"ms": 812}},
            {"_id": 3, "level": "error", "msg": None, "trace": ["a", "b"]},
            {"_id": "x-4", "kind": "string _id", "level": 3},
        ),
    )
    store.operations[101] = Operation(
        101, "find", "shop.orders", 12, 'find orders {"status": "open"}'
    )
    store.operations[102] = Operation(
        102, "update", "shop.customers", 3, 'update customers {"tags": "vip"} {"$set": {"tier": 1}}'
    )
    store.operations[103] = Operation(
        103, "createIndex", "shop.orders", 41, 'createIndex orders {"created": -1}'
    )
    return store


__all__ = [
    "FILE_EXTENSION",
    "KILL_OP",
    "LANGUAGE_NAME",
    "MemDocsBackend",
    "MemStore",
    "default_store",
    "get_store",
    "matches",
    "parse_command",
    "register_store",
    "split_commands",
]
