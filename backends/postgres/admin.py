"""PostgreSQL EXPLAIN and INDEXES.

**EXPLAIN** runs ``EXPLAIN (FORMAT JSON[, ANALYZE][, BUFFERS])`` on the primary
database's connection and turns the JSON into a ``PlanNode`` tree labelled the
way psql prints it ("Index Scan using orders_pkey on orders o", "Hash Left
Join", "HashAggregate"). ``actual_rows`` is per loop, like ``est_rows`` and
like psql; ``actual_time_ms`` is the node's time over all its loops (Actual
Total Time x Actual Loops), so ``self_time_ms`` (that minus the children's,
floored at 0) is comparable between nodes.

With ``analyze`` the statement really runs, so it always runs inside a
transaction that is rolled back afterwards (BEGIN ... ROLLBACK, or a savepoint
when the connection is already inside a user's transaction): not only
INSERT/UPDATE/DELETE/MERGE and SELECT INTO write, a SELECT can write through a
volatile function too. EXPLAIN runs on the query session
(``QueryMixin._explain_json``): the text must hold exactly one statement, as
pglast (the server's grammar) reads it; on a read-only connection the same
checks as for a statement run apply (side-effect functions anywhere in it,
and with ANALYZE only a reading statement), and every EXPLAIN runs in a
read-only transaction, where PostgreSQL refuses whatever they miss
(nextval(), a writing function). It runs through the query mixin's call lock
and cancel mechanism, so ``cancel()`` stops EXPLAIN ANALYZE.

**Indexes** are listed from the catalog in one query with size, scans and
flags. Index changes join the change plan: ``plan``/``apply`` here take the
``CreateIndex``/``DropIndex`` changes and hand every other change to
``RecordsMixin`` (next in the MRO) through ``super()``. Index steps never run
inside the record changes' transaction: ``CREATE/DROP INDEX CONCURRENTLY``
cannot run in a transaction block, so they run one by one on the autocommit
connection, after the record changes, and such a plan is not atomic.

How ``IndexSpec.columns`` entries become SQL (the table's columns are read
from the catalog first):

1. the exact name of a column of the table -> a quoted identifier
   (``Order Id`` -> ``"Order Id"``, ``select`` -> ``"select"``);
2. a column's name followed by ordering or operator-class words
   (``name DESC NULLS LAST``, ``name text_pattern_ops``) -> the quoted
   identifier followed by those words;
3. text starting with ``(`` or ``"`` -> used as written, so
   ``(lower(name)) text_pattern_ops`` and ``"Name" DESC`` work;
4. a plain word that is no column -> a quoted identifier (PostgreSQL then
   says the column does not exist);
5. anything else (``lower(name)``, ``a + b``, ``data->>'k'``) is an
   expression, used as written inside parentheses.

``where`` is used as written after ``WHERE``. Both are the user's own SQL, as
in the query editor; names are always quoted with ``psycopg2.sql``.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from ..errors import (
    BackendError,
    Cancelled,
    NotFound,
    NotSupported,
    QueryFailed,
    ReadOnly,
)
from ..types import (
    AppliedPlan,
    Change,
    ChangePlan,
    CreateIndex,
    DropIndex,
    Explained,
    IndexInfo,
    IndexSpec,
    PlannedStep,
    PlanNode,
)
from .core import PostgresCore, _scrubbed

# -- EXPLAIN --------------------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


def _quote(name: str) -> str:
    """psql's quote_identifier, near enough: quotes when the name needs it."""
    if _PLAIN_NAME.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


_JOIN_SUFFIX = " Join"
_AGG_NAMES = {
    "Plain": "Aggregate",
    "Sorted": "GroupAggregate",
    "Hashed": "HashAggregate",
    "Mixed": "MixedAggregate",
}


def _label(node: dict[str, Any]) -> str:
    """The node's headline as psql's text format prints it."""
    kind = str(node.get("Node Type", "?"))
    if kind == "Aggregate":
        kind = _AGG_NAMES.get(str(node.get("Strategy")), kind)
        if node.get("Partial Mode") in ("Partial", "Finalize"):
            kind = f"{node['Partial Mode']} {kind}"
    elif kind == "SetOp":
        kind = "HashSetOp" if node.get("Strategy") == "Hashed" else "SetOp"
        if node.get("Command"):
            kind += f" {node['Command']}"
    elif kind == "ModifyTable":
        kind = str(node.get("Operation", kind))
    elif kind == "Custom Scan" and node.get("Custom Plan Provider"):
        kind += f" ({node['Custom Plan Provider']})"
    join = node.get("Join Type")
    if join and join != "Inner":
        base = kind[: -len(_JOIN_SUFFIX)] if kind.endswith(_JOIN_SUFFIX) else kind
        kind = f"{base} {join} Join"
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if node.get("Async Capable"):
        kind = f"Async {kind}"
    if node.get("Scan Direction") == "Backward":
        kind += " Backward"
    index = node.get("Index Name")
    target = None
    for key in ("Relation Name", "Function Name", "CTE Name", "Tuplestore Name"):
        if node.get(key):
            target = str(node[key])
            break
    alias = node.get("Alias")
    if index and node.get("Node Type") == "Bitmap Index Scan":
        return f"{kind} on {_quote(str(index))}"
    if index:
        kind += f" using {_quote(str(index))}"
    if target is not None:
        kind += f" on {_quote(target)}"
        if alias and alias != target:
            kind += f" {_quote(str(alias))}"
    elif alias:
        kind += f" on {_quote(str(alias))}"
    return kind


# Keys shown in the label, the cost/row/time fields, or grouped below.
_NOT_DETAILS = frozenset(
    {
        "Node Type", "Parallel Aware", "Async Capable", "Join Type", "Relation Name",
        "Schema", "Alias", "Index Name", "Startup Cost", "Total Cost", "Plan Rows",
        "Plan Width", "Actual Startup Time", "Actual Total Time", "Actual Rows",
        "Actual Loops", "Plans", "Strategy", "Partial Mode", "Operation", "Command",
        "Scan Direction", "Function Name", "CTE Name", "Tuplestore Name",
        "Parent Relationship", "Custom Plan Provider", "Inner Unique",
        "Original Hash Buckets", "Original Hash Batches", "Sort Space Used",
        "Sort Space Type", "Workers",
    }
)  # fmt: skip
_KB = frozenset({"Peak Memory Usage", "Disk Usage", "Sort Space Used"})
# Shown only when not zero, as psql does.
_ZERO_HIDDEN = ("Rows Removed by", "Disk Usage", "Planned Partitions", "Exact Heap", "Lossy Heap")
_BUFFER_KINDS = ("Shared", "Local", "Temp")
_BUFFER_OPS = ("Hit", "Read", "Dirtied", "Written")


def _is_buffer_key(key: str) -> bool:
    return key.endswith(" Blocks") and key.split(" ", 1)[0] in _BUFFER_KINDS


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _buffers(node: dict[str, Any]) -> str:
    """psql's "shared hit=3 read=2, temp written=1"; "" when all are zero."""
    groups = []
    for kind in _BUFFER_KINDS:
        parts = [
            f"{op.lower()}={node[f'{kind} {op} Blocks']}"
            for op in _BUFFER_OPS
            if node.get(f"{kind} {op} Blocks")
        ]
        if parts:
            groups.append(f"{kind.lower()} {' '.join(parts)}")
    return ", ".join(groups)


def _io_timings(node: dict[str, Any]) -> str:
    parts = [
        f"{key.replace(' I/O', '').replace(' Time', '').lower()}={_number(value)}"
        for key, value in node.items()
        if "I/O" in key and isinstance(value, int | float) and value
    ]
    return " ".join(parts)


def _details(node: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    buffers_done = io_done = False
    for key, value in node.items():
        if key in _NOT_DETAILS:
            continue
        if _is_buffer_key(key):
            if not buffers_done:
                buffers_done = True
                text = _buffers(node)
                if text:
                    out.append(("Buffers", text))
            continue
        if "I/O" in key:
            if not io_done:
                io_done = True
                text = _io_timings(node)
                if text:
                    out.append(("I/O Timings", text))
            continue
        if key == "Sort Method":
            text = str(value)
            if node.get("Sort Space Type"):
                text += f"  {node['Sort Space Type']}: {node.get('Sort Space Used')}kB"
            out.append((key, text))
            continue
        if isinstance(value, bool):
            if value:
                out.append((key, "true"))
            continue
        if isinstance(value, int | float):
            if not value and key.startswith(_ZERO_HIDDEN):
                continue
            out.append((key, _number(value) + ("kB" if key in _KB else "")))
        elif isinstance(value, str):
            out.append((key, value))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            out.append((key, ", ".join(str(v) for v in value)))
    return tuple(out)


def _plan_node(node: dict[str, Any], analyzed: bool) -> PlanNode:
    children = tuple(_plan_node(child, analyzed) for child in node.get("Plans") or ())
    total_cost = _float(node.get("Total Cost"))
    self_cost = None
    if total_cost is not None:
        # Rounded as PostgreSQL prints costs and times, without float noise.
        self_cost = round(max(0.0, total_cost - sum(c.total_cost or 0.0 for c in children)), 2)
    loops = actual_rows = actual_time = self_time = None
    if analyzed and "Actual Loops" in node:
        loops = int(node["Actual Loops"])
        actual_rows = _float(node.get("Actual Rows"))
        per_loop = _float(node.get("Actual Total Time")) or 0.0
        actual_time = round(per_loop * loops, 3)
        children_time = sum(c.actual_time_ms or 0.0 for c in children)
        self_time = round(max(0.0, actual_time - children_time), 3)
    details = _details(node)
    if analyzed and loops == 0:
        details = (("Never executed", "true"), *details)
    return PlanNode(
        label=_label(node),
        startup_cost=_float(node.get("Startup Cost")),
        total_cost=total_cost,
        self_cost=self_cost,
        est_rows=_float(node.get("Plan Rows")),
        actual_rows=actual_rows,
        loops=loops,
        actual_time_ms=actual_time,
        self_time_ms=self_time,
        details=details,
        children=children,
    )


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _explained(statement: str, raw: str, analyzed: bool) -> Explained:
    try:
        doc = json.loads(raw)
        top = doc[0]
        root = _plan_node(top["Plan"], analyzed)
    except (ValueError, LookupError, TypeError) as e:
        raise QueryFailed(f"PostgreSQL returned a plan that could not be read: {e}") from e
    extra: list[tuple[str, str]] = []
    planning = top.get("Planning")
    if isinstance(planning, dict) and _buffers(planning):
        extra.append(("Planning Buffers", _buffers(planning)))
    for trigger in top.get("Triggers") or ():
        name = f"Trigger {trigger.get('Trigger Name', '?')}"
        if trigger.get("Relation"):
            name += f" on {trigger['Relation']}"
        extra.append((name, f"time={_number(trigger.get('Time'))} calls={trigger.get('Calls')}"))
    jit = top.get("JIT")
    if isinstance(jit, dict) and jit.get("Functions"):
        extra.append(("JIT", f"functions={jit['Functions']}"))
    if extra:
        root = PlanNode(
            label=root.label,
            startup_cost=root.startup_cost,
            total_cost=root.total_cost,
            self_cost=root.self_cost,
            est_rows=root.est_rows,
            actual_rows=root.actual_rows,
            loops=root.loops,
            actual_time_ms=root.actual_time_ms,
            self_time_ms=root.self_time_ms,
            details=root.details + tuple(extra),
            children=root.children,
        )
    return Explained(
        statement=statement,
        root=root,
        analyzed=analyzed,
        planning_ms=_float(top.get("Planning Time")),
        execution_ms=_float(top.get("Execution Time")),
        raw=raw,
    )


# -- indexes ------------------------------------------------------------------------------

# One round-trip: the relation and every index on it. Sizes come from
# pg_relation_size (no lock waits: it only stats the files), scans from the
# cumulative statistics (pg_stat_user_indexes.idx_scan).
_SQL_INDEXES = """
SELECT c.relkind,
  (SELECT json_agg(json_build_array(
            ic.relname, i.indisunique, i.indisprimary, i.indisexclusion, i.indisvalid,
            am.amname, ic.relkind,
            CASE WHEN ic.relkind = 'i' THEN pg_catalog.pg_relation_size(i.indexrelid) END,
            CASE WHEN ic.relkind = 'i' THEN pg_catalog.pg_stat_get_numscans(i.indexrelid) END,
            pg_catalog.pg_get_indexdef(i.indexrelid),
            i.indnkeyatts,
            ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true)
                    FROM generate_series(1, i.indnatts) AS k ORDER BY k),
            i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[], i.indoption::int2[],
            pg_catalog.pg_get_expr(i.indexprs, i.indrelid),
            pg_catalog.pg_get_expr(i.indpred, i.indrelid, true))
          ORDER BY ic.relname)
     FROM pg_catalog.pg_index i
     JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_catalog.pg_am am ON am.oid = ic.relam
    WHERE i.indrelid = c.oid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""

# What plan() checks before it writes a statement: the table's kind and
# columns, its indexes' names and kinds, and the server's index methods.
_SQL_INDEX_TARGET = """
SELECT c.relkind,
  ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
  (SELECT json_object_agg(ic.relname, ic.relkind)
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = c.oid),
  ARRAY(SELECT amname::text FROM pg_catalog.pg_am WHERE amtype = 'i' ORDER BY amname)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""

_SQL_INVALID_INDEXES = """
SELECT ic.relname FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s AND NOT i.indisvalid
ORDER BY ic.relname
"""

_INDEXABLE = frozenset({"r", "p", "m"})
_NO_INDEXES = {"v": "a view", "f": "a foreign table", "S": "a sequence", "c": "a composite type"}
_NO_INDEXES |= {"i": "an index", "I": "a partitioned index", "t": "a TOAST table"}

# What may follow a column name in an index element: ordering, NULLS placement,
# and an operator class name.
_COLUMN_SUFFIX = re.compile(
    r"(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?\s+)?"
    r"(?:ASC|DESC)?\s*(?:NULLS\s+(?:FIRST|LAST))?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_SIMPLE_METHOD = re.compile(r"[a-z_][a-z0-9_]*")

_NOTE_CREATE_CONCURRENTLY = (
    "builds without blocking writes; cannot run inside a transaction; "
    "if it fails it leaves an INVALID index to drop"
)
_NOTE_CREATE = "blocks writes to the table while it builds"
_NOTE_DROP_CONCURRENTLY = "waits for running queries on the table without blocking new ones"
_NOTE_DROP = "locks the table (ACCESS EXCLUSIVE) while it drops"
_NOTE_PARTITIONED = (
    "partitioned tables cannot do this CONCURRENTLY, so it runs without it and "
    "locks every partition meanwhile"
)


@dataclass(frozen=True, slots=True)
class _Target:
    """What plan() knows of a table before writing an index statement."""

    db: str
    schema: str
    table: str
    relkind: str
    columns: frozenset[str]
    indexes: dict[str, str]  # index name -> relkind ('i', or 'I' partitioned)
    methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _IndexStep:
    position: int  # in the changes given to plan()/apply()
    db: str
    schema: str
    table: str
    statement: sql.Composed
    text: str
    note: str
    concurrent: bool
    created: str | None  # the name of the index a CREATE builds ("" = server chooses)


@dataclass(frozen=True, slots=True)
class _RawIndex:
    name: str
    unique: bool
    primary: bool
    exclusion: bool
    valid: bool
    method: str
    partitioned: bool
    size: int | None
    scans: int | None
    definition: str
    nkey: int
    column_defs: tuple[str, ...]
    keys: tuple[int, ...]
    classes: tuple[int, ...]
    collations: tuple[int, ...]
    options: tuple[int, ...]
    exprs: str | None
    predicate: str | None

    @property
    def enforcing(self) -> int:
        """How much the index enforces: 2 primary key, 1 unique/exclusion, 0 none."""
        return 2 if self.primary else 1 if self.unique or self.exclusion else 0

    @property
    def signature(self) -> tuple[Any, ...]:
        return (
            self.method,
            self.keys,
            self.classes,
            self.collations,
            self.options,
            self.exprs,
            self.predicate,
        )

    def covers_prefix(self, other: _RawIndex) -> bool:
        """Whether ``other``'s key columns are a strict leading prefix of ours
        (same operator classes, ordering, collations and predicate): a btree
        that makes ``other`` redundant."""
        n = other.nkey
        return (
            self.method == other.method == "btree"
            and self.nkey > n
            and self.keys[:n] == other.keys[:n]
            and self.classes[:n] == other.classes[:n]
            and self.collations[:n] == other.collations[:n]
            and self.options[:n] == other.options[:n]
            and self.predicate == other.predicate
        )


def _raw_index(row: list[Any]) -> _RawIndex:
    (name, unique, primary, exclusion, valid, method, relkind, size, scans, definition, nkey,
     column_defs, keys, classes, collations, options, exprs, predicate) = row  # fmt: skip
    return _RawIndex(
        name=name,
        unique=bool(unique),
        primary=bool(primary),
        exclusion=bool(exclusion),
        valid=bool(valid),
        method=method,
        partitioned=relkind == "I",
        size=None if size is None else int(size),
        scans=None if scans is None else int(scans),
        definition=definition,
        nkey=int(nkey),
        column_defs=tuple(column_defs or ()),
        keys=tuple(keys or ()),
        classes=tuple(classes or ()),
        collations=tuple(collations or ()),
        options=tuple(options or ()),
        exprs=exprs,
        predicate=predicate,
    )


def _index_flags(index: _RawIndex, others: list[_RawIndex]) -> tuple[str, ...]:
    flags: list[str] = []
    if not index.valid:
        flags.append("invalid")
    else:
        for other in others:
            if other is index or not other.valid:
                continue
            # Of two equal indexes, the one that enforces less is the one to
            # drop; when both enforce as much, either is (both are flagged).
            if other.signature == index.signature and index.enforcing <= other.enforcing:
                flags.append(f"duplicate of {other.name}")
        if not index.enforcing and not index.exprs and index.nkey == len(index.keys):
            for other in others:
                if other is not index and other.valid and other.covers_prefix(index):
                    flags.append(f"redundant with {other.name}")
                    break
    if index.scans == 0 and not index.enforcing:
        flags.append("unused")
    return tuple(flags)


def _index_info(index: _RawIndex, others: list[_RawIndex]) -> IndexInfo:
    columns = ", ".join(index.column_defs[: index.nkey])
    if len(index.column_defs) > index.nkey:
        columns += f" INCLUDE ({', '.join(index.column_defs[index.nkey :])})"
    return IndexInfo(
        name=index.name,
        columns=columns,
        unique=index.unique,
        primary=index.primary,
        method=index.method,
        size_bytes=index.size,
        scans=index.scans,
        valid=index.valid,
        definition=index.definition,
        flags=_index_flags(index, others),
    )


def _index_element(text: str, columns: frozenset[str]) -> sql.Composable:
    """One entry of ``IndexSpec.columns`` as SQL (rules in the module docstring)."""
    stripped = text.strip()
    if not stripped:
        raise QueryFailed("an index column cannot be empty")
    if text in columns:
        return sql.Identifier(text)
    if stripped in columns:
        return sql.Identifier(stripped)
    head, _, tail = stripped.partition(" ")
    tail = tail.strip()
    if head in columns and tail and _COLUMN_SUFFIX.fullmatch(tail):
        return sql.SQL("{} {}").format(sql.Identifier(head), sql.SQL(" ".join(tail.split())))
    if stripped[0] in '("':
        return sql.SQL(stripped)
    if _WORD.fullmatch(stripped):
        return sql.Identifier(stripped)
    return sql.SQL("({})").format(sql.SQL(stripped))


class AdminMixin(PostgresCore):
    index_methods: ClassVar[tuple[str, ...]] = ("btree", "hash", "gist", "gin", "brin", "spgist")

    # -- EXPLAIN -------------------------------------------------------------------------

    @_scrubbed
    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        raw = self._explain_json(statement, analyze=analyze, buffers=buffers)
        return _explained(statement, raw, analyze)

    # Hooks QueryMixin (before this class in PostgresBackend's MRO) fills in:
    # EXPLAIN runs on the query session, with its statement checks, call
    # lock and cancel(); whether a user's transaction is open there.

    def _explain_json(self, statement: str, *, analyze: bool, buffers: bool) -> str:
        raise NotSupported("EXPLAIN needs the query session")

    def _query_transaction_open(self) -> bool:
        return False

    # -- INDEXES --------------------------------------------------------------------------

    @_scrubbed
    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        db, schema, table = self._indexed_table(path)
        rows = self._query(db, _SQL_INDEXES, (schema, table))
        if not rows:
            self._check_schema(db, schema)
            raise NotFound(f"table {schema}.{table} does not exist")
        relkind, indexes = rows[0]
        if relkind not in _INDEXABLE:
            if relkind in ("v", "f"):
                return []  # views and foreign tables simply have none
            what = _NO_INDEXES.get(relkind, "not a table")
            raise NotSupported(f"{schema}.{table} is {what}, which has no indexes")
        raw = [_raw_index(row) for row in indexes or ()]
        return [_index_info(index, raw) for index in raw]

    @_scrubbed
    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        """Shorthand for ``apply([CreateIndex(path, spec)])``; the module
        docstring says how ``spec.columns`` become SQL."""
        self.apply([CreateIndex(path, spec)])

    @_scrubbed
    def drop_index(self, path: tuple[str, ...], name: str) -> None:
        self.apply([DropIndex(path, name)])

    # -- PLAN: index changes here, the rest to RecordsMixin ---------------------------------

    @_scrubbed
    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        self._refuse_changes_read_only()
        index_steps, others, _ = self._index_changes(changes)
        if not index_steps:
            return super().plan(changes)
        record_plan = super().plan(others) if others else None
        steps = tuple(
            PlannedStep(change=changes[s.position], text=s.text, affected=None, note=s.note)
            for s in index_steps
        )
        warnings: list[str] = list(record_plan.warnings) if record_plan else []
        concurrent = any(s.concurrent for s in index_steps)
        atomic = not concurrent and record_plan is None and len(index_steps) == 1
        if not atomic:
            why = "CONCURRENTLY cannot run inside a transaction" if concurrent else ""
            after = ", after the record changes" if others else ""
            warnings.append(
                f"Index steps run on their own, one by one{after}"
                + (f" ({why})" if why else "")
                + ": if one fails, the steps before it stay applied."
            )
        if concurrent and any(isinstance(changes[s.position], CreateIndex) for s in index_steps):
            warnings.append(
                "A CREATE INDEX CONCURRENTLY that fails leaves an INVALID index behind; "
                "drop it before trying again."
            )
        return ChangePlan(
            steps=(record_plan.steps if record_plan else ()) + steps,
            atomic=atomic,
            warnings=tuple(warnings),
        )

    @_scrubbed
    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        self._refuse_changes_read_only()
        index_steps, others, other_positions = self._index_changes(changes)
        if not index_steps:
            return super().apply(changes)
        started = time.perf_counter()
        affected: list[int | None] = []
        if others:
            try:
                done = super().apply(others)
            except QueryFailed as e:
                if e.step is not None and 0 <= e.step < len(other_positions):
                    e.step = other_positions[e.step]
                raise
            affected.extend(done.affected)
        for number, step in enumerate(index_steps):
            self._run_index_step(step, earlier=bool(others) or number > 0)
            affected.append(None)
        return AppliedPlan(affected=tuple(affected), elapsed=time.perf_counter() - started)

    def _refuse_changes_read_only(self) -> None:
        if self.read_only:
            raise ReadOnly("this connection is read-only: changes cannot be planned or applied")

    def _index_changes(
        self, changes: Sequence[Change]
    ) -> tuple[list[_IndexStep], list[Change], list[int]]:
        """The index steps (statements written, targets checked) and the
        other changes with their positions in ``changes``."""
        targets: dict[tuple[str, ...], _Target] = {}
        steps: list[_IndexStep] = []
        others: list[Change] = []
        positions: list[int] = []
        for position, change in enumerate(changes):
            if not isinstance(change, CreateIndex | DropIndex):
                others.append(change)
                positions.append(position)
                continue
            try:
                target = targets.get(change.path)
                if target is None:
                    target = targets[change.path] = self._index_target(change.path)
                steps.append(self._index_step(position, change, target))
            except QueryFailed as e:
                e.step = position
                raise
        return steps, others, positions

    def _indexed_table(self, path: tuple[str, ...]) -> tuple[str, str, str]:
        if len(path) != 3:
            if len(path) > 3:
                raise NotFound(f"no such path: {'/'.join(path)}")
            raise NotSupported("pick a table to see or change its indexes")
        return path[0], path[1], path[2]

    def _index_target(self, path: tuple[str, ...]) -> _Target:
        db, schema, table = self._indexed_table(path)
        rows = self._query(db, _SQL_INDEX_TARGET, (schema, table))
        if not rows:
            self._check_schema(db, schema)
            raise NotFound(f"table {schema}.{table} does not exist")
        relkind, columns, indexes, methods = rows[0]
        if relkind not in _INDEXABLE:
            what = _NO_INDEXES.get(relkind, "not a table")
            raise NotSupported(f"{schema}.{table} is {what}: only tables can have indexes")
        return _Target(
            db=db,
            schema=schema,
            table=table,
            relkind=relkind,
            columns=frozenset(columns or ()),
            indexes=dict(indexes or {}),
            methods=tuple(methods or ()),
        )

    def _index_step(self, position: int, change: CreateIndex | DropIndex, t: _Target) -> _IndexStep:
        conn = self._conn(t.db)
        notes: list[str] = []
        if isinstance(change, CreateIndex):
            spec = change.spec
            if not spec.columns:
                raise QueryFailed("an index needs at least one column or expression")
            method = spec.method or "btree"
            if method not in t.methods:
                raise QueryFailed(
                    f"PostgreSQL has no index method {method} here (it has {', '.join(t.methods)})"
                )
            concurrent = spec.concurrently
            if concurrent and t.relkind == "p":
                concurrent = False
                notes.append(_NOTE_PARTITIONED)
            parts: list[sql.Composable] = [sql.SQL("CREATE")]
            if spec.unique:
                parts.append(sql.SQL("UNIQUE"))
            parts.append(sql.SQL("INDEX"))
            if concurrent:
                parts.append(sql.SQL("CONCURRENTLY"))
            if spec.name:
                parts.append(sql.Identifier(spec.name))
            using = sql.SQL(method) if _SIMPLE_METHOD.fullmatch(method) else sql.Identifier(method)
            parts.append(
                sql.SQL("ON {}.{} USING {} ({})").format(
                    sql.Identifier(t.schema),
                    sql.Identifier(t.table),
                    using,
                    sql.SQL(", ").join(_index_element(c, t.columns) for c in spec.columns),
                )
            )
            if spec.where.strip():
                parts.append(sql.SQL("WHERE {}").format(sql.SQL(spec.where.strip())))
            notes.insert(0, _NOTE_CREATE_CONCURRENTLY if concurrent else _NOTE_CREATE)
            created: str | None = spec.name
        else:
            kind = t.indexes.get(change.name)
            if kind is None:
                raise NotFound(f"index {change.name} does not exist on {t.schema}.{t.table}")
            concurrent = change.concurrently
            if concurrent and kind == "I":
                concurrent = False
                notes.append(_NOTE_PARTITIONED)
            parts = [sql.SQL("DROP INDEX")]
            if concurrent:
                parts.append(sql.SQL("CONCURRENTLY"))
            parts.append(
                sql.SQL("{}.{}").format(sql.Identifier(t.schema), sql.Identifier(change.name))
            )
            notes.insert(0, _NOTE_DROP_CONCURRENTLY if concurrent else _NOTE_DROP)
            created = None
        statement = sql.SQL(" ").join(parts)
        with self._guard(conn, t.db):
            text = statement.as_string(conn)
        return _IndexStep(
            position=position,
            db=t.db,
            schema=t.schema,
            table=t.table,
            statement=statement,
            text=text,
            note="; ".join(notes),
            concurrent=concurrent,
            created=created,
        )

    def _run_index_step(self, step: _IndexStep, *, earlier: bool) -> None:
        before: set[str] = set()
        if step.created == "":
            # The server names the index: remember the invalid ones already
            # there, to name the one a failed build leaves behind.
            before = {
                r[0] for r in self._query(step.db, _SQL_INVALID_INDEXES, (step.schema, step.table))
            }
        conn = self._conn(step.db)
        try:
            with self._autocommit_for(conn, step):
                conn.cursor().execute(step.statement)  # no parameters: the text runs as shown
        except psycopg2.Error as e:
            error = self._translate(e, conn, step.db)
            if not isinstance(error, QueryFailed):
                raise error from e
            sentences = [error.message]
            detail = getattr(getattr(e, "diag", None), "message_detail", None)
            if detail:
                sentences[0] += f": {self._scrub(str(detail)).rstrip('.')}"
            if step.created is not None and not conn.closed:
                left = self._left_invalid(step, before)
                if left:
                    sentences.append(
                        f"The failed build left the INVALID index {left} behind: "
                        "drop it before trying again"
                    )
            if earlier:
                sentences.append("The steps before this one stay applied")
            message = ". ".join(sentences)
            cls = Cancelled if e.pgcode == "57014" else QueryFailed
            raise cls(message, position=None, step=step.position) from e

    def _left_invalid(self, step: _IndexStep, before: set[str]) -> str | None:
        try:
            names = [
                r[0] for r in self._query(step.db, _SQL_INVALID_INDEXES, (step.schema, step.table))
            ]
        except BackendError:
            return None  # the original error is what the user needs to see
        if step.created:
            return step.created if step.created in names else None
        new = [n for n in names if n not in before]
        return new[0] if new else None

    @contextlib.contextmanager
    def _autocommit_for(self, conn: Any, step: _IndexStep) -> Iterator[None]:
        """``conn`` in autocommit for one index statement. CONCURRENTLY cannot
        run in a transaction block, and a build waits for every open
        transaction of the database, which would include a user's transaction
        on this very connection or the query session: so an open one is
        refused, not joined."""
        if conn.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE or (
            step.db == self._primary() and self._query_transaction_open()
        ):
            raise QueryFailed(
                f"a transaction is open on database {step.db}: commit or roll it back "
                "before changing indexes",
                step=step.position,
            )
        if conn.autocommit:
            yield
            return
        conn.autocommit = True
        try:
            yield
        finally:
            conn.autocommit = False
