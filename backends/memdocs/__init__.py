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

The package: ``store`` (the data, field paths, filters, sorts and how a
change becomes a new document), ``commands`` (the command language and the
command text of a change), ``dataset`` (the default data) and, here, the
backend and its words for the panels.

Threads: calls come from worker threads; the store's state is guarded by
one lock per store, held only while data is read or changed (never during
``sleep``), and ``cancel()`` may come from any thread.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from ..base import Backend, Capability
from ..errors import (
    Cancelled,
    ConnectionLost,
    NotFound,
    NotSupported,
    QueryFailed,
    ReadOnly,
)
from ..language import CompletionRules, ExplainWords, QueryLanguage
from ..types import (
    DEFAULT,
    DOCUMENT_WORDS,
    INDEX_ALL_OR_NOTHING,
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
    RecordStyle,
    Replace,
    Result,
    ServerInfo,
    Sort,
    Statement,
    StatementKind,
    Stats,
    StatsTable,
    StoreWords,
    Update,
    ValueCodec,
)
from ..types import Command as CommandStep
from .commands import (
    _COMMANDS,
    DeleteMany,
    Parsed,
    UpdateMany,
    _change_of,
    _Command,
    _command_text,
    parse_command,
    split_commands,
)
from .dataset import (
    default_store,
)
from .store import (
    _DESCENDING_WORDS,
    Doc,
    MemCollection,
    MemStore,
    Operation,
    _all_missing,
    _check_unique,
    _cursor_of,
    _droppable,
    _equals,
    _filter_of,
    _id_key,
    _index_of,
    _json,
    _key_id,
    _name_token,
    _next_id,
    _operators,
    _path_get,
    _path_set,
    _rank_of_cursor,
    _sort_key,
    _tabulate,
    _updated,
    _usable_index,
    get_store,
    matches,
    register_store,
    type_name,
)

if TYPE_CHECKING:
    from ..types import Change, RecordKey


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
    record_style: ClassVar[RecordStyle] = RecordStyle.DOCUMENTS
    words: ClassVar[StoreWords] = DOCUMENT_WORDS
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
        # One step under the store's lock: it is built whole or not at all.
        return IndexPlan(change, _command_text(change), note, atomicity=INDEX_ALL_OR_NOTHING)

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


__all__ = [
    "CODEC",
    "FILE_EXTENSION",
    "INDEX_OPTIONS",
    "KILL_ACTION",
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
