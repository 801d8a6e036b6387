"""PostgreSQL RECORDS and PLAN: rows by key, change plans applied in one transaction.

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
field an ``Insert`` leaves out) is the column's default. Other neutral values
are adapted by psycopg2 (dict/list into json/jsonb as JSON; Decimal infinities,
which psycopg2 would send as NaN, as their text). A ``Truncated`` preview is
never written back. A key value is always cast to its column's type (numbers
as text, ``'1.1'::real``), so it compares as the column does; only an integer
of an integer column goes bare (``"id" = 1``), which compares exactly.

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
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql

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
    AppliedPlan,
    Change,
    ChangePlan,
    Delete,
    FieldInfo,
    Insert,
    PlannedStep,
    Record,
    RecordKey,
    RecordSchema,
    Truncated,
    Update,
)
from .core import _ALIAS, PostgresCore, _bound_rows, _ident, _Relation, _scrubbed

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
class _Field:
    info: FieldInfo
    cast: str  # the type without modifier, as SQL: what a typed value is cast to
    json: bool  # json/jsonb: dict and list values go in as JSON


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


class RecordsMixin(PostgresCore):
    #: ``lock_timeout`` of the connection that applies changes, in ms: how
    #: long a change waits for a row another session holds locked before the
    #: whole apply fails (instead of hanging the editor).
    write_lock_timeout_ms: ClassVar[int] = 10_000

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._write_conns: dict[str, Any] = {}

    def close(self) -> None:
        super().close()
        conns = list(self._write_conns.values())
        self._write_conns.clear()
        for conn in conns:
            # Thrown away either way; a dead socket may fail to close cleanly.
            with contextlib.suppress(psycopg2.Error):
                conn.close()

    # -- RECORDS ------------------------------------------------------------------------

    @_scrubbed
    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        return self._target(path).schema

    @_scrubbed
    def record_key(
        self, path: tuple[str, ...], row: tuple[Any, ...], columns: Sequence[str]
    ) -> RecordKey:
        target = self._target(path)
        if not target.schema.key:
            raise ReadOnly(target.schema.read_only_reason or "these rows have no key")
        names = list(columns)
        key: list[tuple[str, Any]] = []
        for name in target.schema.key:
            if name not in names:
                raise ReadOnly(f"the page has no column {name}, which is part of the key")
            value = row[names.index(name)]
            if isinstance(value, Truncated):
                raise ReadOnly(f"the key column {name} holds a preview, not the whole value")
            if isinstance(value, memoryview | bytearray):
                value = bytes(value)
            key.append((name, value))
        return tuple(key)

    @_scrubbed
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
            self._select_list(rel, [], RECORD_BOUND), target.table, _ALIAS, where
        )
        rows = self._query(rel.db, query, tuple(params))
        if not rows:
            raise NotFound(f"the row {_key_text(key)} of {rel.label} is not there (any more)")
        values = _bound_rows(rel, rows[:1], RECORD_BOUND)[0]
        names = [c.name for c in rel.columns]
        fields = tuple(zip(names, values, strict=True))
        by_name = dict(fields)
        return Record(
            path=path, key=tuple((k, by_name[k]) for k in target.schema.key), fields=fields
        )

    # -- PLAN ---------------------------------------------------------------------------

    @_scrubbed
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
        return ChangePlan(steps=tuple(steps), atomic=True)

    @_scrubbed
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
                try:
                    cur.execute(query, params)
                except psycopg2.Error as e:
                    raise self._step_failed(e, conn, db, i, len(changes)) from e
                change = changes[i]
                # An insert a trigger redirects (a partitioning BEFORE INSERT
                # trigger returning NULL) touches 0 rows here: that is its result.
                if isinstance(change, Update | Delete) and cur.rowcount != 1:
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
            self._not_browsable(path)
        db, schema, name = path
        rel = self._relation(db, schema, name)
        generated = "a.attgenerated" if self._conn(db).server_version >= 120000 else "''"
        rows = self._query(db, _SQL_FIELDS.format(generated=generated), (rel.oid,))
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
            fields[col_name] = _Field(info, cast, base_oid in _JSON_TYPES)
        refusal = self._refusal(rel, key_names, (may_insert, may_update, may_delete))
        schema_info = RecordSchema(
            path=path,
            fields=tuple(f.info for f in fields.values()),
            key=key_names,
            read_only_reason=refusal.message if refusal else None,
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
        if self.read_only:
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
            if not isinstance(change, Insert | Update | Delete):
                raise NotSupported("index changes are planned and applied by the index panel")
        if self.read_only:
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
            return _build(change, targets[change.path])
        except _Invalid as e:
            raise QueryFailed(
                f"{_which(i, len(changes))} is not valid: {e}", title="Invalid change", step=i
            ) from e

    # -- the write connection -----------------------------------------------------------------

    def _write_conn(self, db: str) -> Any:
        conn = self._write_conns.get(db)
        if conn is not None and not conn.closed:
            return conn
        conn = self._open(db)
        with self._guard(conn, db):
            conn.cursor().execute(
                "SELECT set_config('lock_timeout', %s, false)", (str(self.write_lock_timeout_ms),)
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
            f"the connection to database {db} was lost {when}: {self._message(e)}"
        )

    def _step_failed(
        self, e: psycopg2.Error, conn: Any, db: str, i: int, total: int, *, planning: bool = False
    ) -> BackendError:
        if conn.closed:
            when = "while planning" if planning else "before the changes were committed"
            return self._lost(e, conn, db, f"{when}; nothing was applied")
        message = self._message(e)
        code = e.pgcode or ""
        if code == "55P03":
            message = (
                f"waited more than {self.write_lock_timeout_ms / 1000:g} s for a row another "
                f"session holds locked ({message})"
            )
        detail = getattr(getattr(e, "diag", None), "message_detail", None)
        if detail and code.startswith("23"):
            detail = " ".join(str(detail).split())
            if len(detail) > _MAX_DETAIL:
                detail = detail[:_MAX_DETAIL] + "…"
            message += f" ({self._scrub(detail)})"
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
        return QueryFailed(f"COMMIT failed, nothing was applied: {self._message(e)}")


# -- building statements ---------------------------------------------------------------------


def _which(i: int, total: int) -> str:
    return f"change {i + 1} of {total}"


def _key_text(key: RecordKey) -> str:
    text = ", ".join(f"{name}={value!r}" for name, value in key)
    return text if len(text) <= 200 else text[:200] + "…"


def _value(field: _Field, value: Any) -> tuple[sql.Composable, list[Any]]:
    """The SQL of one value for ``field`` and its parameters."""
    name = field.info.name
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
    if isinstance(change, Update):
        if not change.changes:
            raise _Invalid("it changes no field")
        sets = _assignments(change.changes, target)
        where, key_params = _where(target, change.key, None)
        query = sql.SQL("UPDATE {} SET {} WHERE {}").format(
            target.table,
            sql.SQL(", ").join(sql.SQL("{} = {}").format(_ident(n), lit) for n, lit, _ in sets),
            where,
        )
        params = tuple(p for _, _, more in sets for p in more) + tuple(key_params)
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
    if affected or not isinstance(change, Update | Delete):
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


def _created_earlier(change: Update | Delete, earlier: Sequence[Change], target: _Target) -> bool:
    """Whether an earlier change of the plan may give a row the key ``change``
    addresses (an insert with those key values, an update of a key column)."""
    wanted = {name: str(value) for name, value in change.key}
    for other in earlier:
        if other.path != change.path:
            continue
        if isinstance(other, Update) and any(n in target.schema.key for n, _ in other.changes):
            return True
        if isinstance(other, Insert):
            given = {name: str(value) for name, value in other.fields}
            if all(given.get(name) == value for name, value in wanted.items()):
                return True
    return False
