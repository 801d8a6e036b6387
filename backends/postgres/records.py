"""PostgreSQL RECORDS and PLAN: rows by key, change plans applied in one
transaction, and browsing with a filter and a sort.

A row is addressed by the key ``browse`` pages by: the primary key, or else
the narrowest unique index over NOT NULL columns (``core._relation`` picks
it). Views, materialized views, foreign tables, system catalogs and tables
without such a key are read-only here, and ``record_schema`` says why in a
sentence.

**Values.** A ``str`` is text the user typed: it reaches PostgreSQL as a
literal cast to the column's type (``'42'::integer``, ``'{1,2}'::integer[]``,
``'\\x00ff'::bytea``), so the type's own input function parses it. The cast
names the type without its modifier (``character varying``, ``bpchar``,
``"bit"``): an explicit cast to ``varchar(5)``, ``char(5)`` or ``bit(3)``
silently cuts a value that is too long, while the assignment into the column
that follows checks the length and fails. ``None`` is NULL; ``DEFAULT`` (or a
field an ``Insert`` leaves out) is the column's default. ``UNSET`` removes a
field inside a json/jsonb value (``#-``); a column itself cannot be removed.
The text an editor starts from is what the column's type parses back
(``PostgresValueCodec``: ``{1,2}`` for arrays, ``\\x00ff`` for bytea). Other neutral values
are adapted by psycopg2 (dict/list into json/jsonb as JSON; Decimal infinities,
which psycopg2 would send as NaN, as their text). A ``Truncated`` preview is
never written back. A key value is always cast to its column's type (numbers
as text, ``'1.1'::real``), so it compares as the column does; only an integer
of an integer column goes bare (``"id" = 1``), which compares exactly.

**Changes.** An ``Update`` names a column, or a path inside a json/jsonb
column (``("doc", "address", "city")``): the column becomes
``jsonb_set(...)`` of itself, and objects missing on the way are created, as
a document store's ``$set`` does. A ``Replace`` sets every column it gives
and every other settable column to its DEFAULT (the key columns it leaves
out stay as they are). A ``Command`` is one SQL statement run as written,
inside the plan's transaction (no transaction control); its plan step shows
its text and the count its producer gave.

**Filter and sort** (``browse``): a ``Filter`` is a WHERE expression, parsed
with the server's grammar (pglast) and refused when it is more than one
expression (another clause, a second statement, a function that acts outside
the transaction); what runs is the parsed expression printed again, so a
comment cannot swallow the rest of the query. It runs in a READ ONLY
transaction rolled back at once. A ``Sort`` names columns; pages are a
keyset over the sort columns then the key (or the row's ctid for a table
without one), NULLs last in either direction.

**Plans** show each statement exactly as it will run (``cursor.mogrify``:
identifiers quoted, values inlined) with the rows it touches, counted now by
the key (``SELECT count(*) ... WHERE key = ...``: 1, or 0 when the row has
gone; an insert is 1). The same query parses every value once
(``SELECT '42'::integer, ...``), so text its type rejects fails the plan, with
its ``step``, before the user confirms. It runs on the connection apply()
uses, in a transaction rolled back at once: nothing is written or kept locked.

**Apply** runs the record changes in one transaction on a connection of
their own per database, opened on first use and kept: never the interactive
connection, which may be inside the user's own transaction from the query
editor (a COMMIT there would commit the user's work too). Its
``lock_timeout`` (``write_lock_timeout_ms``) bounds the wait on a row another
session holds locked. Every UPDATE/DELETE must touch exactly one row: a row
that vanished since the plan rolls everything back. An INSERT reports the rows
it really wrote: 0 when a trigger redirected it (old-style partitioning). Any
error rolls back and raises ``QueryFailed`` whose ``step`` is the failed
change's index; a dead connection raises ``ConnectionLost`` (nothing is
retried: the next call opens fresh connections), and one that dies during
COMMIT says the outcome is unknown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql

from .. import cursors
from ..errors import (
    BackendError,
    ConnectionLost,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
    ReadOnly,
)
from ..types import (
    DEFAULT,
    UNSET,
    AppliedPlan,
    Atomicity,
    Change,
    ChangePlan,
    Command,
    Delete,
    FieldInfo,
    FieldPath,
    Filter,
    Insert,
    Page,
    PlannedStep,
    Record,
    RecordKey,
    RecordSchema,
    Replace,
    Sort,
    SortDirection,
    StatementKind,
    Truncated,
    Update,
    ValueCodec,
    field_path,
)
from .core import (
    _ALIAS,
    PREVIEW_CHARS,
    PostgresCore,
    _bad_cursor,
    _bound_rows,
    _encode_cursor,
    _ident,
    _Relation,
    _width,
)

#: A whole record's values are cut at this size (characters or bytes).
RECORD_BOUND = 1_048_576

_JSON_TYPES = frozenset({114, 3802})  # json jsonb (also as a domain's base type)
_BIT = 1560
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
_MAX_DETAIL = 300
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})

# Per column: display type, cast type (no modifier), NOT NULL, default,
# identity ('a' always, 'd' by default, ''), generated ('s' stored, ''),
# base type (through domains). And whether the user may write at all.
_SQL_FIELDS = """
SELECT pg_catalog.has_table_privilege(c.oid, 'INSERT'),
  pg_catalog.has_table_privilege(c.oid, 'UPDATE'),
  pg_catalog.has_table_privilege(c.oid, 'DELETE'),
  (SELECT json_agg(json_build_array(
            a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
            pg_catalog.format_type(a.atttypid, -1), a.attnotnull,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, {generated},
            bt.oid::int8) ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     JOIN pg_catalog.pg_type bt
       ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_catalog.pg_class c
WHERE c.oid = %s
"""


@dataclass(frozen=True, slots=True)
class PostgresValueCodec(ValueCodec):
    """Edit text is what the column type's input function parses back to the
    same value (typed text reaches PostgreSQL cast to the column's type, so
    ``parse`` keeps the text): arrays as array literals (``{1,"a b",NULL}``),
    intervals as ``1 day 02:00:00``, bytea as ``\\x`` hex, json as JSON."""

    def edit_text(self, field: FieldInfo | None, value: Any) -> str | None:
        type_name = field.type_name if field is not None else ""
        if isinstance(value, list) and type_name.endswith("]"):
            return _array_literal(value)
        if isinstance(value, dt.timedelta):
            return _interval_text(value)
        return ValueCodec.edit_text(self, field, value)


_CODEC = PostgresValueCodec()


def _array_literal(value: list[Any]) -> str:
    items: list[str] = []
    for item in value:
        if item is None:
            items.append("NULL")
        elif isinstance(item, list):
            items.append(_array_literal(item))
        else:
            text = _CODEC.edit_text(None, item)
            if text is None:
                text = str(item)
            if text == "" or text.upper() == "NULL" or any(c in text for c in '{}," \\\t\n'):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            items.append(text)
    return "{" + ",".join(items) + "}"


def _interval_text(value: dt.timedelta) -> str:
    """PostgreSQL's own form (``-1 days -02:00:00.5``), which it parses back."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    seconds = value.seconds
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if value.microseconds:
        clock += f".{value.microseconds:06d}"
    return f"{sign}{value.days} days {sign}{clock}"


@dataclass(frozen=True, slots=True)
class _Field:
    info: FieldInfo
    cast: str  # the type without modifier, as SQL: what a typed value is cast to
    json: bool  # json/jsonb: dict and list values go in as JSON
    jsonb: bool = False  # jsonb (not json): paths inside it are set with jsonb_set


@dataclass(frozen=True, slots=True)
class _Target:
    """A relation as the records code needs it (read fresh on each call)."""

    rel: _Relation
    fields: dict[str, _Field]
    schema: RecordSchema
    refusal: BackendError | None  # why its rows cannot be written, if they cannot

    @property
    def table(self) -> sql.Composable:
        return sql.SQL("{}.{}").format(_ident(self.rel.schema), _ident(self.rel.name))


class _Invalid(Exception):
    """A change that cannot become a statement (raised as QueryFailed with its step)."""


class RecordWriter:
    """RECORDS and PLAN of a PostgreSQL backend (and its filtered and sorted
    browse): reads on the backend's autocommit connections, writes on a
    connection of its own per database (``lock_timeout`` set to the
    backend's ``write_lock_timeout_ms``)."""

    def __init__(self, core: PostgresCore) -> None:
        self._core = core
        self._write_conns: dict[str, Any] = {}

    def close(self) -> None:
        """Close the write connections; the next change opens them afresh."""
        conns = list(self._write_conns.values())
        self._write_conns.clear()
        for conn in conns:
            # Thrown away either way; a dead socket may fail to close cleanly.
            with contextlib.suppress(psycopg2.Error):
                conn.close()

    # -- RECORDS ------------------------------------------------------------------------

    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        return self._target(path).schema

    def get(self, path: tuple[str, ...], key: RecordKey) -> Record:
        target = self._target(path)
        rel = target.rel
        if not target.schema.key:
            raise ReadOnly(target.schema.read_only_reason or "these rows have no key")
        try:
            where, params = _where(target, key, _ALIAS)
        except _Invalid as e:
            raise QueryFailed(str(e), title="Invalid key") from e
        query = sql.SQL("SELECT {} FROM {} AS {} WHERE {}").format(
            self._core._select_list(rel, [], RECORD_BOUND), target.table, _ALIAS, where
        )
        rows = self._core._query(rel.db, query, tuple(params))
        if not rows:
            raise NotFound(f"the row {_key_text(key)} of {rel.label} is not there (any more)")
        values = _bound_rows(rel, rows[:1], RECORD_BOUND)[0]
        names = [c.name for c in rel.columns]
        fields = tuple(zip(names, values, strict=True))
        by_name = dict(fields)
        return Record(
            path=path, key=tuple((k, by_name[k]) for k in target.schema.key), fields=fields
        )

    def check_value(self, path: tuple[str, ...], field: str, value: Any) -> None:
        """Typed text cast to the column's type (the catalog's name for it,
        as writes cast it) in a READ ONLY transaction rolled back at once:
        the text is only ever a parameter, parsed as a literal of the type,
        never run. Values already typed (numbers, NULL, DEFAULT) pass."""
        if not isinstance(value, str):
            return
        target = self._target(path)
        column = target.fields.get(field)
        if column is None:
            raise QueryFailed(f"{target.rel.label} has no column {field}", title="Invalid value")
        literal, params = _value(column, value)
        query = sql.SQL("SELECT ") + literal
        try:
            self._read_only_query(target.rel.db, query, tuple(params))
        except QueryFailed as e:
            raise QueryFailed(e.message, title="Invalid value") from e

    # -- PLAN ---------------------------------------------------------------------------

    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        if not changes:
            return ChangePlan(steps=())
        db, targets = self._targets(changes)
        built = [self._built(i, changes, targets) for i in range(len(changes))]
        # Counted on the connection apply() writes on, so both see the same
        # rows; a transaction rolled back at once, so nothing is held.
        conn = self._write_conn(db)
        codec = psycopg2.extensions.encodings.get(conn.encoding, "utf-8")
        steps: list[PlannedStep] = []
        try:
            cur = conn.cursor()
            for i, (change, step) in enumerate(zip(changes, built, strict=True)):
                if isinstance(change, Command):
                    # Not run to be counted: its producer's count is shown.
                    steps.append(PlannedStep(change, change.text, change.affected))
                    continue
                try:
                    text = cur.mogrify(*step.statement).decode(codec, "replace")
                    cur.execute(*step.probe)
                    row = cur.fetchone()
                except psycopg2.Error as e:
                    raise self._step_failed(e, conn, db, i, len(changes), planning=True) from e
                affected = int(row[0]) if row else 0
                steps.append(
                    PlannedStep(change, text, affected, _note(i, changes, targets, affected))
                )
        finally:
            self._roll_back(conn, db)
        return ChangePlan(steps=tuple(steps), atomic=Atomicity.ONE_TRANSACTION)

    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        if not changes:
            return AppliedPlan(affected=())
        started = time.perf_counter()
        db, targets = self._targets(changes)
        statements = [self._built(i, changes, targets).statement for i in range(len(changes))]
        conn = self._write_conn(db)
        affected: list[int | None] = []
        try:
            cur = conn.cursor()
            for i, (query, params) in enumerate(statements):
                change = changes[i]
                try:
                    if isinstance(change, Command):
                        cur.execute(change.text)  # no parameters: a % stays a %
                    else:
                        cur.execute(query, params)
                except psycopg2.Error as e:
                    raise self._step_failed(e, conn, db, i, len(changes)) from e
                if isinstance(change, Command):
                    affected.append(cur.rowcount if cur.rowcount >= 0 else None)
                    continue
                # An insert a trigger redirects (a partitioning BEFORE INSERT
                # trigger returning NULL) touches 0 rows here: that is its result.
                if isinstance(change, Update | Delete | Replace) and cur.rowcount != 1:
                    label = targets[change.path].rel.label
                    raise QueryFailed(
                        f"{_which(i, len(changes))} failed, nothing was applied: the row "
                        f"{_key_text(change.key)} of {label} is no longer there (another "
                        "session deleted it or changed its key)",
                        title="Row gone",
                        step=i,
                    )
                affected.append(cur.rowcount)
            try:
                conn.commit()
            except psycopg2.Error as e:
                raise self._commit_failed(e, conn, db) from e
        except BaseException:
            self._roll_back(conn, db)
            raise
        return AppliedPlan(affected=tuple(affected), elapsed=time.perf_counter() - started)

    # -- targets and statements -----------------------------------------------------------

    def _target(self, path: tuple[str, ...]) -> _Target:
        if len(path) != 3:
            self._core._not_browsable(path)
        db, schema, name = path
        rel = self._core._relation(db, schema, name)
        generated = "a.attgenerated" if self._core._conn(db).server_version >= 120000 else "''"
        rows = self._core._query(db, _SQL_FIELDS.format(generated=generated), (rel.oid,))
        if not rows:
            raise NotFound(f"table {rel.label} does not exist")
        may_insert, may_update, may_delete, raw = rows[0]
        key_names = tuple(rel.columns[i].name for i in rel.key)
        primary = set(key_names) if rel.key_is_primary else set()
        fields: dict[str, _Field] = {}
        for col_name, type_name, cast, notnull, default, identity, gen, base_oid in raw or ():
            if gen:
                default_text = f"generated always as ({default}) stored"
            elif identity:
                kind = "always" if identity == "a" else "by default"
                default_text = f"generated {kind} as identity"
            else:
                default_text = default or ""
            if base_oid == _BIT and cast == '"bit"':
                cast = "bit varying"  # the assignment checks bit(n)'s length
            info = FieldInfo(
                name=col_name,
                type_name=type_name,
                nullable=not notnull,
                default=default_text,
                primary_key=col_name in primary,
                editable=not gen and identity != "a",
            )
            fields[col_name] = _Field(info, cast, base_oid in _JSON_TYPES, base_oid == 3802)
        refusal = self._refusal(rel, key_names, (may_insert, may_update, may_delete))
        schema_info = RecordSchema(
            path=path,
            fields=tuple(f.info for f in fields.values()),
            key=key_names,
            read_only_reason=refusal.message if refusal else None,
            codec=_CODEC,
        )
        return _Target(rel=rel, fields=fields, schema=schema_info, refusal=refusal)

    def _refusal(
        self, rel: _Relation, key: tuple[str, ...], privileges: tuple[bool, bool, bool]
    ) -> BackendError | None:
        kind = {"v": "a view", "m": "a materialized view", "f": "a foreign table"}.get(rel.relkind)
        if kind == "a materialized view":
            return ReadOnly(
                f"{rel.label} is a materialized view; its rows cannot be edited "
                "(REFRESH MATERIALIZED VIEW recomputes them)"
            )
        if kind:
            return ReadOnly(f"{rel.label} is {kind}; its rows cannot be edited here")
        if rel.schema in _SYSTEM_SCHEMAS:
            return ReadOnly(f"{rel.label} is a system catalog; its rows cannot be edited here")
        if not key:
            return ReadOnly(
                f"{rel.label} has no primary key or unique NOT NULL key, so its rows "
                "cannot be addressed one by one"
            )
        if self._core.read_only:
            return ReadOnly("this connection is read-only: changes cannot be planned or applied")
        if not any(privileges):
            return PermissionDenied(
                f"you have no INSERT, UPDATE or DELETE privilege on {rel.label}"
            )
        return None

    def _targets(self, changes: Sequence[Change]) -> tuple[str, dict[tuple[str, ...], _Target]]:
        """The relations ``changes`` write to, read fresh; refuses what cannot
        be written (before anything is counted or run)."""
        for change in changes:
            if not isinstance(change, Insert | Update | Delete | Replace | Command):
                raise NotSupported("index changes are planned and applied by the index panel")
            if not change.path:
                raise NotSupported("a change must name the table (or database) it changes")
        if self._core.read_only:
            raise ReadOnly("this connection is read-only: changes cannot be planned or applied")
        databases = {c.path[0] for c in changes if c.path}
        if len(databases) > 1:
            raise NotSupported(
                "one plan can only change one database: "
                + ", ".join(sorted(databases))
                + " are several"
            )
        db = next(iter(databases))
        targets: dict[tuple[str, ...], _Target] = {}
        for change in changes:
            if isinstance(change, Command):
                continue  # names its tables itself; the server checks them
            if change.path not in targets:
                try:
                    target = self._target(change.path)
                except ConnectionLost:
                    # The server most likely dropped the write connection
                    # too: the next call opens both afresh.
                    conn = self._write_conns.get(db)
                    if conn is not None:
                        self._drop_write_conn(db, conn)
                    raise
                if target.refusal is not None:
                    raise target.refusal
                targets[change.path] = target
        return db, targets

    def _built(
        self, i: int, changes: Sequence[Change], targets: dict[tuple[str, ...], _Target]
    ) -> _Built:
        change = changes[i]
        try:
            if isinstance(change, Command):
                return self._command(change)
            return _build(change, targets[change.path])
        except _Invalid as e:
            raise QueryFailed(
                f"{_which(i, len(changes))} is not valid: {e}", title="Invalid change", step=i
            ) from e

    def _command(self, command: Command) -> _Built:
        """A command is one statement without transaction control: it runs
        inside the plan's transaction, which it must neither end nor leave."""
        from .sql_text import split_statements

        statements = split_statements(command.text)
        if len(statements) != 1:
            raise _Invalid(
                f"a command must be one SQL statement, not {len(statements) or 'no'} statements"
            )
        if statements[0].kind is StatementKind.TRANSACTION:
            raise _Invalid("a command cannot begin, commit or roll back: the plan does that")
        query: _Query = (sql.SQL(command.text.replace("%", "%%")), ())
        return _Built(query, query)

    # -- browsing with a filter and a sort ------------------------------------------------

    def browse_filtered(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None,
        limit: int,
        filter: Filter | None,
        sort: Sort | None,
        whole: bool,
    ) -> Page:
        """A browse with a filter or a sort (``PostgresBackend.browse`` checks
        their types, and passes a browse with neither to the core): a keyset
        over the sort columns, then the key."""
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        if whole:
            raise NotSupported("whole values are not read with a filter or a sort yet")
        if len(path) != 3:
            self._core._not_browsable(path)
        rel = self._core._relation(*path)
        condition = _filter_expression(filter.text) if filter is not None else None
        order = self._sort_columns(rel, sort)
        # The keyset: the sort columns, then what tells records apart.
        if rel.key:
            tie = [(_ident(rel.columns[i].name), rel.columns[i].type_name) for i in rel.key]
        elif rel.relkind in ("r", "m"):
            tie = [(sql.SQL("ctid"), "tid")]
        else:
            raise NotSupported(
                f"{rel.label} has no key and no row position to page a filtered or sorted browse by"
            )
        columns = [(ref, type_name, direction) for ref, type_name, direction in order]
        columns += [(ref, type_name, SortDirection.ASCENDING) for ref, type_name in tie]
        refs = [sql.SQL("{}.{}").format(_ALIAS, ref) for ref, _, _ in columns]
        digest = hashlib.sha1(
            json.dumps(
                [filter.text if filter else None, [list(map(str, c)) for c in columns]],
                default=str,
            ).encode()
        ).hexdigest()[:12]
        where: list[sql.Composable] = []
        params: list[Any] = []
        if condition is not None:
            where.append(sql.SQL("({})").format(sql.SQL(condition.replace("%", "%%"))))
        if cursor is not None:
            token = _filtered_cursor(cursor)
            values = token.get("v")
            if token.get("m") != "f" or token.get("d") != digest:
                raise _bad_cursor("it was made for another filter or sort; reload")
            if not isinstance(values, list) or len(values) != len(columns):
                raise _bad_cursor()
            after, after_params = _after(refs, columns, values)
            where.append(after)
            params.extend(after_params)
        order_by = sql.SQL(", ").join(
            sql.SQL("{} {} NULLS LAST").format(
                ref, sql.SQL("DESC" if direction is SortDirection.DESCENDING else "ASC")
            )
            for ref, (_, _, direction) in zip(refs, columns, strict=True)
        )
        query = sql.SQL("SELECT {} FROM {}.{} AS {}{} ORDER BY {} LIMIT %s").format(
            self._core._select_list(rel, [sql.SQL("{}::text").format(r) for r in refs]),
            _ident(rel.schema),
            _ident(rel.name),
            _ALIAS,
            sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
            order_by,
        )
        params.append(limit + 1)
        rows = self._read_only_query(rel.db, query, tuple(params))
        next_cursor = None
        if len(rows) > limit:
            last = list(rows[limit - 1][_width(rel, PREVIEW_CHARS) :])
            next_cursor = _encode_cursor({"m": "f", "d": digest, "v": last})
        return self._core._page(rel, rows, limit, next_cursor)

    def _sort_columns(
        self, rel: _Relation, sort: Sort | None
    ) -> list[tuple[sql.Composable, str, SortDirection]]:
        by_name = {c.name: c for c in rel.columns}
        out: list[tuple[sql.Composable, str, SortDirection]] = []
        for path, direction in sort.fields if sort is not None else ():
            if len(path) != 1 or not isinstance(path[0], str):
                raise NotSupported(
                    "PostgreSQL browses sort by columns, not by a path inside a column"
                )
            column = by_name.get(path[0])
            if column is None:
                raise QueryFailed(f"{rel.label} has no column {path[0]}", title="Invalid sort")
            out.append((_ident(column.name), column.type_name, SortDirection(direction)))
        return out

    def _read_only_query(
        self, db: str, query: sql.Composable, params: tuple[Any, ...]
    ) -> list[tuple[Any, ...]]:
        """``query`` in a READ ONLY transaction rolled back at once: a filter
        is the user's text, and a function it calls cannot write."""
        conn = self._core._conn(db)
        with self._core._guard(conn, db):
            cur = conn.cursor()
            cur.execute("BEGIN READ ONLY")
            try:
                cur.execute(query, params)
                return list(cur.fetchall())
            finally:
                if not conn.closed:
                    conn.cursor().execute("ROLLBACK")

    # -- the write connection -----------------------------------------------------------------

    def _write_conn(self, db: str) -> Any:
        conn = self._write_conns.get(db)
        if conn is not None and not conn.closed:
            return conn
        conn = self._core._open(db)
        with self._core._guard(conn, db):
            conn.cursor().execute(
                "SELECT set_config('lock_timeout', %s, false)",
                (str(self._core.write_lock_timeout_ms),),
            )
            conn.autocommit = False
        self._write_conns[db] = conn
        return conn

    def _drop_write_conn(self, db: str, conn: Any) -> None:
        if self._write_conns.get(db) is conn:
            del self._write_conns[db]
        with contextlib.suppress(psycopg2.Error):
            conn.close()

    def _roll_back(self, conn: Any, db: str) -> None:
        if conn.closed:
            self._drop_write_conn(db, conn)
            return
        try:
            conn.rollback()
        except psycopg2.Error:
            # The session cannot even roll back: it is unusable, and the
            # server rolls the transaction back when it goes.
            self._drop_write_conn(db, conn)

    def _lost(self, e: psycopg2.Error, conn: Any, db: str, when: str) -> ConnectionLost:
        self._drop_write_conn(db, conn)
        return ConnectionLost(
            f"the connection to database {db} was lost {when}: {self._core._message(e)}"
        )

    def _step_failed(
        self, e: psycopg2.Error, conn: Any, db: str, i: int, total: int, *, planning: bool = False
    ) -> BackendError:
        if conn.closed:
            when = "while planning" if planning else "before the changes were committed"
            return self._lost(e, conn, db, f"{when}; nothing was applied")
        message = self._core._message(e)
        code = e.pgcode or ""
        if code == "55P03":
            message = (
                f"waited more than {self._core.write_lock_timeout_ms / 1000:g} s for a row another "
                f"session holds locked ({message})"
            )
        detail = getattr(getattr(e, "diag", None), "message_detail", None)
        if detail and code.startswith("23"):
            detail = " ".join(str(detail).split())
            if len(detail) > _MAX_DETAIL:
                detail = detail[:_MAX_DETAIL] + "…"
            message += f" ({self._core._scrub(detail)})"
        title = "Permission denied" if code == "42501" else None
        outcome = "is not valid" if planning else "failed, nothing was applied"
        return QueryFailed(f"{_which(i, total)} {outcome}: {message}", title=title, step=i)

    def _commit_failed(self, e: psycopg2.Error, conn: Any, db: str) -> BackendError:
        if conn.closed:
            return self._lost(
                e,
                conn,
                db,
                "while committing; whether the changes were applied is unknown, reload to check",
            )
        return QueryFailed(f"COMMIT failed, nothing was applied: {self._core._message(e)}")


# -- building statements ---------------------------------------------------------------------


def _which(i: int, total: int) -> str:
    return f"change {i + 1} of {total}"


def _key_text(key: RecordKey) -> str:
    text = ", ".join(f"{name}={value!r}" for name, value in key)
    return text if len(text) <= 200 else text[:200] + "…"


def _value(field: _Field, value: Any) -> tuple[sql.Composable, list[Any]]:
    """The SQL of one value for ``field`` and its parameters."""
    name = field.info.name
    if value is UNSET:
        raise _Invalid(f"{name} is a column: a row cannot lose it (set it to NULL instead)")
    if value is DEFAULT:
        return sql.SQL("DEFAULT"), []
    if value is None:
        return sql.SQL("NULL"), []
    if isinstance(value, Truncated):
        raise _Invalid(f"{name} holds a preview of a long value, which cannot be written back")
    cast = sql.SQL("%s::" + field.cast.replace("%", "%%"))
    if isinstance(value, str):
        return cast, [value]
    if field.json and isinstance(value, dict | list):
        return cast, [psycopg2.extras.Json(value)]
    if isinstance(value, list):
        return cast, [value]  # ARRAY['1','2'] of typed text into integer[]
    if isinstance(value, Decimal) and not value.is_finite():
        return cast, [str(value)]  # psycopg2 would send every one as 'NaN'
    if isinstance(value, memoryview | bytearray):
        value = bytes(value)
    return sql.SQL("%s"), [value]


def _key_value(field: _Field, value: Any) -> tuple[sql.Composable, list[Any]]:
    """A key value, always cast to the key column's type: a number psycopg2
    sends bare would compare as its own type (``1.1`` as float8 never equals
    a ``real`` 1.1). Numbers go as text (``'1.1'::real``: the type parses
    them, and ``-32768`` stays one literal); values psycopg2 sends typed
    (``'…'::timestamptz``) get the column's cast on top."""
    cast = field.cast.replace("%", "%%")
    if type(value) is int and field.cast in _INTEGER_TYPES:
        return sql.SQL("%s"), [value]  # compares exactly; the plan reads "id" = 1
    if isinstance(value, float) and not math.isfinite(value):
        value = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        value = str(value)
    literal, params = _value(field, value)
    if params and literal == sql.SQL("%s"):
        literal = sql.SQL("%s::" + cast)
    return literal, params


def _field(target: _Target, name: str) -> _Field:
    field = target.fields.get(name)
    if field is None:
        raise _Invalid(f"{target.rel.label} has no column {name}")
    return field


def _where(
    target: _Target, key: RecordKey, alias: sql.Identifier | None
) -> tuple[sql.Composable, list[Any]]:
    """``k1 = v1 AND k2 = v2`` for the table's key; ``key`` must name exactly its columns."""
    given = dict(key)
    expected = target.schema.key
    if len(given) != len(key) or set(given) != set(expected):
        raise _Invalid(
            f"a row of {target.rel.label} is identified by {', '.join(expected)}, "
            f"not by {', '.join(given) or 'nothing'}"
        )
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for name in expected:
        value = given[name]
        if value is None or value is DEFAULT:
            raise _Invalid(f"the key column {name} has no value")
        if isinstance(value, Truncated):
            raise _Invalid(f"the key column {name} holds a preview, not the whole value")
        ref: sql.Composable = _ident(name)
        if alias is not None:
            ref = sql.SQL("{}.{}").format(alias, ref)
        literal, values = _key_value(_field(target, name), value)
        parts.append(sql.SQL("{} = {}").format(ref, literal))
        params.extend(values)
    return sql.SQL(" AND ").join(parts), params


_Query = tuple[sql.Composable, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Built:
    """One change as SQL: the statement apply() runs, and the probe plan()
    runs instead (the rows the key matches now, and every value once, so a
    value its type cannot parse fails at planning)."""

    statement: _Query
    probe: _Query


def _assignments(
    pairs: tuple[tuple[str, Any], ...], target: _Target
) -> list[tuple[str, sql.Composable, list[Any]]]:
    out: list[tuple[str, sql.Composable, list[Any]]] = []
    seen: set[str] = set()
    for name, value in pairs:
        field = _field(target, name)
        if name in seen:
            raise _Invalid(f"{name} is given twice")
        seen.add(name)
        if value is not DEFAULT:
            _check_editable(field, target)
        literal, params = _value(field, value)
        out.append((name, literal, params))
    return out


def _update_assignments(
    changes: tuple[tuple[str | FieldPath, Any], ...], target: _Target
) -> tuple[
    list[tuple[str, sql.Composable, list[Any]]], list[tuple[str, sql.Composable, list[Any]]]
]:
    """The SET items of an update: whole columns (as ``_assignments``), and
    columns changed at paths inside them (json/jsonb), each one expression
    built from the column's value (or the whole value the update gives it)."""
    whole: list[tuple[str, Any]] = []
    paths: dict[str, list[tuple[tuple[str | int, ...], Any]]] = {}
    for name_or_path, value in changes:
        path = field_path(name_or_path)
        if not path or not isinstance(path[0], str):
            raise _Invalid(f"{path!r} does not start with a column name")
        column = path[0]
        if len(path) == 1:
            whole.append((column, value))
            continue
        field = _field(target, column)
        if not field.json:
            raise _Invalid(
                f"{column} is {field.info.type_name}, not json or jsonb: it has no field "
                f"{path[1]!r}"
            )
        _check_editable(field, target)
        paths.setdefault(column, []).append((path[1:], value))
    sets = _assignments(tuple(whole), target)
    given = {name: (literal, params) for name, literal, params in sets}
    nested: list[tuple[str, sql.Composable, list[Any]]] = []
    for column, inner in paths.items():
        field = target.fields[column]
        start = given.pop(column, None)
        literal, params = _json_paths(field, start, inner)
        nested.append((column, literal, params))
    # A column set whole and at paths is one expression (in ``nested``).
    return [item for item in sets if item[0] in given], nested


def _json_paths(
    field: _Field,
    start: tuple[sql.Composable, list[Any]] | None,
    paths: list[tuple[tuple[str | int, ...], Any]],
) -> tuple[sql.Composable, list[Any]]:
    """The column's new value: its value (or ``start``) as jsonb, with each
    path set (``jsonb_set``, creating missing objects on the way) or removed
    (``#-``), in order, then cast back to the column's type."""
    if start is None:
        expr: sql.Composable = _ident(field.info.name)
        params: list[Any] = []
    else:
        expr, params = start
    expr = sql.SQL("COALESCE(({})::jsonb, '{{}}'::jsonb)").format(expr)
    for path, value in paths:
        segments = [str(p) for p in path]
        if value is UNSET:
            expr = sql.SQL("({} #- %s::text[])").format(expr)
            params = [*params, segments]
            continue
        if value is DEFAULT:
            raise _Invalid(f"{field.info.name} has no DEFAULT inside its value")
        if isinstance(value, Truncated):
            raise _Invalid(f"a value inside {field.info.name} is a preview, not the whole value")
        # Objects missing on the way are created (jsonb_set creates only the
        # last key): each level wraps the value so far once, so the text
        # grows with the depth, not twice per level.
        for depth in range(1, len(segments)):
            prefix = segments[:depth]
            expr = sql.SQL(
                "(SELECT jsonb_set(s.x, %s::text[], COALESCE(s.x #> %s::text[], '{{}}'::jsonb))"
                " FROM (SELECT {} AS x) AS s)"
            ).format(expr)
            params = [prefix, prefix, *params]
        expr = sql.SQL("jsonb_set({}, %s::text[], %s::jsonb, true)").format(expr)
        params = [*params, segments, psycopg2.extras.Json(_jsonable(value))]
    cast = field.cast.replace("%", "%%")
    return sql.SQL("({})::" + cast).format(expr), params


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    return value


def _replace_assignments(
    document: tuple[tuple[str, Any], ...], target: _Target
) -> list[tuple[str, sql.Composable, list[Any]]]:
    """Every settable column: the document's value, or DEFAULT; a key column
    the document leaves out keeps its value (DEFAULT would move the row)."""
    given = {name for name, _ in document}
    rest = tuple(
        (name, DEFAULT)
        for name, f in target.fields.items()
        if name not in given and f.info.editable and name not in target.schema.key
    )
    return _assignments(document + rest, target)


def _probe(count: sql.Composable, values: list[tuple[str, sql.Composable, list[Any]]]) -> _Query:
    """``SELECT <count>, <each value>`` (DEFAULT and NULL need no check)."""
    items = [count]
    params: list[Any] = []
    for _, literal, more in values:
        if more:
            items.append(literal)
            params.extend(more)
    return sql.SQL("SELECT {}").format(sql.SQL(", ").join(items)), tuple(params)


def _build(change: Change, target: _Target) -> _Built:
    if isinstance(change, Insert):
        # A field given DEFAULT is left out, as a field not given at all.
        checked = _assignments(change.fields, target)
        values = [a for a, (_, v) in zip(checked, change.fields, strict=True) if v is not DEFAULT]
        if values:
            query: sql.Composable = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                target.table,
                sql.SQL(", ").join(_ident(name) for name, _, _ in values),
                sql.SQL(", ").join(literal for _, literal, _ in values),
            )
        else:
            query = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(target.table)
        params = tuple(p for _, _, more in values for p in more)
        return _Built((query, params), _probe(sql.SQL("1"), values))
    if isinstance(change, Update | Replace):
        if isinstance(change, Update):
            if not change.changes:
                raise _Invalid("it changes no field")
            sets, nested = _update_assignments(change.changes, target)
        else:
            sets, nested = _replace_assignments(change.document, target), []
        where, key_params = _where(target, change.key, None)
        every = sets + nested
        query = sql.SQL("UPDATE {} SET {} WHERE {}").format(
            target.table,
            sql.SQL(", ").join(sql.SQL("{} = {}").format(_ident(n), lit) for n, lit, _ in every),
            where,
        )
        params = tuple(p for _, _, more in every for p in more) + tuple(key_params)
        count = sql.SQL("(SELECT count(*) FROM {} WHERE {})").format(target.table, where)
        probe, probe_params = _probe(count, sets)
        # The count's key parameters come first in the probe's text.
        return _Built((query, params), (probe, tuple(key_params) + probe_params))
    if isinstance(change, Delete):
        where, key_params = _where(target, change.key, None)
        query = sql.SQL("DELETE FROM {} WHERE {}").format(target.table, where)
        count = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(target.table, where)
        return _Built((query, tuple(key_params)), (count, tuple(key_params)))
    raise _Invalid("index changes are planned and applied by the index panel")


def _check_editable(field: _Field, target: _Target) -> None:
    if not field.info.editable:
        raise _Invalid(
            f"{field.info.name} of {target.rel.label} is {field.info.default}; it cannot be set"
        )


def _note(
    i: int, changes: Sequence[Change], targets: dict[tuple[str, ...], _Target], affected: int
) -> str:
    """What the user should know about step ``i`` before confirming."""
    change = changes[i]
    target = targets[change.path]
    if isinstance(change, Insert):
        given = {name for name, value in change.fields if value is not DEFAULT}
        missing = [
            f.info.name
            for f in target.fields.values()
            if not f.info.nullable and not f.info.default and f.info.name not in given
        ]
        if not missing:
            return ""
        verb, gets = ("is", "gets") if len(missing) == 1 else ("are", "get")
        return (
            f"{', '.join(missing)} {verb} NOT NULL, without a default, and {gets} no value "
            "here: the insert will fail"
        )
    if affected or not isinstance(change, Update | Delete | Replace):
        return ""
    if _created_earlier(change, changes[:i], target):
        return (
            "no row has this key now: an earlier change of this plan must create it, "
            "or applying the plan fails"
        )
    return (
        "the row is no longer there (deleted, or its key changed, since it was read): "
        "applying this plan will fail"
    )


def _created_earlier(
    change: Update | Delete | Replace, earlier: Sequence[Change], target: _Target
) -> bool:
    """Whether an earlier change of the plan may give a row the key ``change``
    addresses (an insert with those key values, an update of a key column)."""
    wanted = {name: str(value) for name, value in change.key}
    for other in earlier:
        if other.path != change.path:
            continue
        if isinstance(other, Update) and any(
            field_path(n)[0] in target.schema.key for n, _ in other.changes
        ):
            return True
        if isinstance(other, Replace) and any(n in target.schema.key for n, _ in other.document):
            return True
        if isinstance(other, Insert):
            given = {name: str(value) for name, value in other.fields}
            if all(given.get(name) == value for name, value in wanted.items()):
                return True
    return False


# -- filter and keyset -------------------------------------------------------------------------


def _filter_expression(text: str) -> str:
    """``text`` as one WHERE expression, printed again from its parse tree,
    or ``QueryFailed`` saying why it is not one."""
    from pglast import parser as pg_parser
    from pglast.stream import RawStream

    from .sql_text import SIDE_EFFECT_FUNCTIONS, function_name, walk

    if not text.strip():
        raise QueryFailed("the filter is empty", title="Invalid filter")
    try:
        raws = pg_parser.parse_sql(f"SELECT WHERE {text}")
    except pg_parser.ParseError as e:
        raise QueryFailed(f"the filter is not an expression: {e}", title="Invalid filter") from e
    stmt: Any = raws[0].stmt if len(raws) == 1 else None
    if (
        stmt is None
        or stmt.whereClause is None
        or getattr(stmt.op, "value", stmt.op) != 0
        or any(
            getattr(stmt, name, None)
            for name in (
                "targetList", "fromClause", "groupClause", "havingClause", "windowClause",
                "sortClause", "limitCount", "limitOffset", "lockingClause", "intoClause",
                "withClause", "distinctClause", "valuesLists",
            )
        )
    ):  # fmt: skip
        raise QueryFailed(
            "the filter must be one expression (what follows WHERE), without another clause "
            "or statement",
            title="Invalid filter",
        )
    for node in walk(stmt.whereClause):
        if type(node).__name__ == "FuncCall" and function_name(node) in SIDE_EFFECT_FUNCTIONS:
            raise QueryFailed(
                f"the filter calls {function_name(node)}(), which acts outside the transaction",
                title="Invalid filter",
            )
    return str(RawStream()(stmt.whereClause))


def _filtered_cursor(cursor: str) -> dict[str, Any]:
    """The token of a filtered or sorted browse's cursor (bounded decoding)."""
    try:
        token = json.loads(cursors.decode_cursor(cursor))
    except (ValueError, RecursionError) as e:  # CursorError, JSON and UTF-8 errors
        raise _bad_cursor() from e
    if not isinstance(token, dict):
        raise _bad_cursor()
    return token


def _after(
    refs: list[sql.Composable], columns: list[tuple[Any, str, SortDirection]], values: list[Any]
) -> tuple[sql.Composable, list[Any]]:
    """The records after the one whose keyset values (as text) are
    ``values``, in the order ``ORDER BY ref [ASC|DESC] NULLS LAST, ...``."""
    alternatives: list[sql.Composable] = []
    params: list[Any] = []
    equal: list[tuple[sql.Composable, list[Any]]] = []
    for ref, (_, type_name, direction), value in zip(refs, columns, values, strict=True):
        if value is not None and not isinstance(value, str):
            raise _bad_cursor()
        typed = sql.SQL("CAST(%s AS {})").format(sql.SQL(type_name.replace("%", "%%")))
        if value is None:
            beyond: tuple[sql.Composable, list[Any]] = (sql.SQL("FALSE"), [])
            same: tuple[sql.Composable, list[Any]] = (sql.SQL("{} IS NULL").format(ref), [])
        else:
            op = sql.SQL("<" if direction is SortDirection.DESCENDING else ">")
            beyond = (sql.SQL("({} {} {} OR {} IS NULL)").format(ref, op, typed, ref), [value])
            same = (sql.SQL("{} = {}").format(ref, typed), [value])
        parts = [*equal, beyond]
        alternatives.append(sql.SQL("({})").format(sql.SQL(" AND ").join(p for p, _ in parts)))
        params.extend(v for _, more in parts for v in more)
        equal.append(same)
    return sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)), params
