"""PostgreSQL INDEXES (Capability.INDEXES): list, describe, create, drop.

**Listing.** One catalog query per table gives every index with its size
(``pg_relation_size``: no lock waits), scans (the cumulative statistics) and
flags: invalid, unused, duplicate of another, redundant with another.

**Changes** do not go through the change plan: ``plan_index`` writes the
statement (after checking the table, its columns, its indexes and the
server's index methods) and says what it does to the table meanwhile;
``create_index``/``drop_index`` run that very statement. They run on the
autocommit connection, never inside a transaction: ``CREATE/DROP INDEX
CONCURRENTLY`` (``IndexSpec.online``, ``drop_index(online=...)``) cannot run
in a transaction block, and a build waits for every open transaction of the
database, so an open one (on this connection or the query session) is
refused, not joined. A failed CONCURRENTLY build leaves an INVALID index,
which the error names. On a read-only connection nothing is planned or run.

``INDEX_OPTIONS`` describes the new-index form in PostgreSQL's words:
columns or expressions (direction written in the entry, ``name DESC``),
the server's index methods, unique, CONCURRENTLY (ticked), a partial-index
WHERE and an optional name.

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

An entry's ``IndexSpec.directions`` (when given) adds ``ASC``/``DESC`` after
it. ``partial_filter`` is used as written after ``WHERE``. Both are the
user's own SQL, as in the query editor; names are always quoted with
``psycopg2.sql``. ``ttl_seconds`` and ``sparse`` are refused: PostgreSQL has
neither.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from ..errors import BackendError, Cancelled, NotFound, NotSupported, QueryFailed, ReadOnly
from ..types import (
    Atomicity,
    CreateIndex,
    DropIndex,
    IndexDirection,
    IndexInfo,
    IndexOptions,
    IndexPlan,
    IndexSpec,
    TransactionState,
)
from .core import PostgresCore
from .query import QuerySession

#: The server's built-in index methods; the first is the default.
INDEX_METHODS = ("btree", "hash", "gist", "gin", "brin", "spgist")

#: The new-index form in PostgreSQL's words (see the module docstring).
INDEX_OPTIONS = IndexOptions(
    fields_label="Columns",
    fields_placeholder="col, other DESC, lower(name)",
    field_noun="column",
    expressions=True,
    methods=INDEX_METHODS,
    unique=True,
    unique_label="unique",
    partial=True,
    partial_label="Where",
    partial_placeholder="partial index: only rows matching this",
    online=True,
    online_label="concurrently",
    online_default=True,
    drop_online=True,
    name_placeholder="empty: the server picks one",
)

_DIRECTION_SQL = {IndexDirection.ASCENDING: "ASC", IndexDirection.DESCENDING: "DESC"}

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

# What plan_index() checks before it writes a statement: the table's kind and
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
    """What plan_index() knows of a table before writing an index statement."""

    db: str
    schema: str
    table: str
    relkind: str
    columns: frozenset[str]
    indexes: dict[str, str]  # index name -> relkind ('i', or 'I' partitioned)
    methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _IndexStep:
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


class IndexManager:
    """INDEXES of a PostgreSQL backend, on the backend's autocommit
    connections; ``session`` tells whether a user's transaction is open on
    the query session (an index build would wait for it)."""

    def __init__(self, core: PostgresCore, session: QuerySession) -> None:
        self._core = core
        self._session = session

    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        db, schema, table = self._indexed_table(path)
        rows = self._core._query(db, _SQL_INDEXES, (schema, table))
        if not rows:
            self._core._check_schema(db, schema)
            raise NotFound(f"table {schema}.{table} does not exist")
        relkind, indexes = rows[0]
        if relkind not in _INDEXABLE:
            if relkind in ("v", "f"):
                return []  # views and foreign tables simply have none
            what = _NO_INDEXES.get(relkind, "not a table")
            raise NotSupported(f"{schema}.{table} is {what}, which has no indexes")
        raw = [_raw_index(row) for row in indexes or ()]
        return [_index_info(index, raw) for index in raw]

    def index_options(self, path: tuple[str, ...]) -> IndexOptions:
        return INDEX_OPTIONS

    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        """The statement ``create_index``/``drop_index`` will run for
        ``change``, its lock note, and the warning a failed build deserves."""
        step = self._planned_index_step(change)
        warnings: tuple[str, ...] = ()
        if step.concurrent and isinstance(change, CreateIndex):
            warnings = (
                "A CREATE INDEX CONCURRENTLY that fails leaves an INVALID index behind; "
                "drop it before trying again.",
            )
        return IndexPlan(
            change=change,
            text=step.text,
            note=step.note,
            warnings=warnings,
            all_or_nothing=not step.concurrent,
            # A plain CREATE/DROP INDEX runs in one transaction; CONCURRENTLY
            # runs in several and a failed build stays behind, INVALID.
            atomicity=Atomicity.STEP_BY_STEP if step.concurrent else Atomicity.ONE_TRANSACTION,
        )

    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        """Run what ``plan_index(CreateIndex(path, spec))`` says; the module
        docstring says how ``spec.columns`` become SQL."""
        self._run_index_step(self._planned_index_step(CreateIndex(path, spec)))

    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        self._run_index_step(self._planned_index_step(DropIndex(path, name, online=online)))

    def _planned_index_step(self, change: CreateIndex | DropIndex) -> _IndexStep:
        if self._core.read_only:
            raise ReadOnly("this connection is read-only: indexes cannot be created or dropped")
        return self._index_step(change, self._index_target(change.path))

    def _indexed_table(self, path: tuple[str, ...]) -> tuple[str, str, str]:
        if len(path) != 3:
            if len(path) > 3:
                raise NotFound(f"no such path: {'/'.join(path)}")
            raise NotSupported("pick a table to see or change its indexes")
        return path[0], path[1], path[2]

    def _index_target(self, path: tuple[str, ...]) -> _Target:
        db, schema, table = self._indexed_table(path)
        rows = self._core._query(db, _SQL_INDEX_TARGET, (schema, table))
        if not rows:
            self._core._check_schema(db, schema)
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

    def _index_step(self, change: CreateIndex | DropIndex, t: _Target) -> _IndexStep:
        conn = self._core._conn(t.db)
        notes: list[str] = []
        if isinstance(change, CreateIndex):
            spec = change.spec
            if not spec.columns:
                raise QueryFailed("an index needs at least one column or expression")
            if spec.directions and len(spec.directions) != len(spec.columns):
                raise QueryFailed("an index needs one direction per column, or none")
            if spec.ttl_seconds is not None:
                raise NotSupported("PostgreSQL indexes have no time to live")
            if spec.sparse:
                raise NotSupported("PostgreSQL has no sparse indexes: use a partial index (WHERE)")
            method = spec.method or "btree"
            if method not in t.methods:
                raise QueryFailed(
                    f"PostgreSQL has no index method {method} here (it has {', '.join(t.methods)})"
                )
            concurrent = spec.online
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
            elements = [
                _index_element(c, t.columns)
                if d not in _DIRECTION_SQL
                else sql.SQL("{} {}").format(
                    _index_element(c, t.columns), sql.SQL(_DIRECTION_SQL[d])
                )
                for c, d in spec.fields
            ]
            parts.append(
                sql.SQL("ON {}.{} USING {} ({})").format(
                    sql.Identifier(t.schema),
                    sql.Identifier(t.table),
                    using,
                    sql.SQL(", ").join(elements),
                )
            )
            if spec.partial_filter.strip():
                parts.append(sql.SQL("WHERE {}").format(sql.SQL(spec.partial_filter.strip())))
            notes.insert(0, _NOTE_CREATE_CONCURRENTLY if concurrent else _NOTE_CREATE)
            created: str | None = spec.name
        else:
            kind = t.indexes.get(change.name)
            if kind is None:
                raise NotFound(f"index {change.name} does not exist on {t.schema}.{t.table}")
            concurrent = change.online
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
        with self._core._guard(conn, t.db):
            text = statement.as_string(conn)
        return _IndexStep(
            db=t.db,
            schema=t.schema,
            table=t.table,
            statement=statement,
            text=text,
            note="; ".join(notes),
            concurrent=concurrent,
            created=created,
        )

    def _run_index_step(self, step: _IndexStep) -> None:
        before: set[str] = set()
        if step.created == "":
            # The server names the index: remember the invalid ones already
            # there, to name the one a failed build leaves behind.
            before = {
                r[0]
                for r in self._core._query(step.db, _SQL_INVALID_INDEXES, (step.schema, step.table))
            }
        conn = self._core._conn(step.db)
        try:
            with self._autocommit_for(conn, step):
                conn.cursor().execute(step.statement)  # no parameters: the text runs as shown
        except psycopg2.Error as e:
            error = self._core._translate(e, conn, step.db)
            if not isinstance(error, QueryFailed):
                raise error from e
            sentences = [error.message]
            detail = getattr(getattr(e, "diag", None), "message_detail", None)
            if detail:
                sentences[0] += f": {self._core._scrub(str(detail)).rstrip('.')}"
            if step.created is not None and not conn.closed:
                left = self._left_invalid(step, before)
                if left:
                    sentences.append(
                        f"The failed build left the INVALID index {left} behind: "
                        "drop it before trying again"
                    )
            message = ". ".join(sentences)
            cls = Cancelled if e.pgcode == "57014" else QueryFailed
            raise cls(message, position=None) from e

    def _left_invalid(self, step: _IndexStep, before: set[str]) -> str | None:
        try:
            names = [
                r[0]
                for r in self._core._query(step.db, _SQL_INVALID_INDEXES, (step.schema, step.table))
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
            step.db == self._core._primary()
            and self._session.transaction_state() is not TransactionState.IDLE
        ):
            raise QueryFailed(
                f"a transaction is open on database {step.db}: commit or roll it back "
                "before changing indexes"
            )
        if conn.autocommit:
            yield
            return
        conn.autocommit = True
        try:
            yield
        finally:
            conn.autocommit = False
