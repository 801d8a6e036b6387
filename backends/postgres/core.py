"""PostgreSQL backend core (psycopg2): connections, catalog, browsing.

The capability groups live beside it (``query``, ``records``, ``explain``, ``indexes``,
``monitor``) as plain objects given this core; ``PostgresBackend`` in
``__init__`` is this core holding one of each, its methods delegating to them.

Paths are ``(database, schema, relation)``. The backend holds one autocommit
connection per database, opened lazily the first time a path under that
database is used, all closed by ``close()``. Autocommit means a failed catalog
or page query never leaves a connection in an aborted transaction, and no
snapshot or lock outlives a call.

Paging is stateless wherever the relation allows it; the opaque cursor string
says which of three strategies made it:

- **keyset** (tables with a primary key, or else a unique index over NOT NULL
  columns): ``WHERE (k1, k2) > (last1, last2) ORDER BY k1, k2 LIMIT n + 1``.
  The last key travels as text (the server's ``key::text``, or ``str()`` of
  values whose text is exact: integers, text, numeric) and is cast back with
  the column's type, so numeric, timestamps, uuid and odd text round-trip
  exactly. The page query walks the key index: a few ms whatever the table's
  size.
- **ctid** (heap tables without such a key, PG 14+; also materialized views,
  which are heap relations too and so page statelessly):
  ``ORDER BY ctid`` alone makes PostgreSQL sort every row after the cursor on
  each page, so each query is confined to a window of blocks
  (``ctid > last AND ctid < '(end,0)'``, a TID Range Scan) that doubles until
  it holds ``n + 1`` rows or reaches the end of the table. Positions move
  when rows are updated or the table is rewritten (VACUUM FULL, CLUSTER,
  REFRESH), which is covered by "data that does not change meanwhile".
- **held** (views, foreign tables, partitioned tables without a key, and keyless
  tables before PG 14): a server-side cursor, inside a transaction on a second
  connection per database reserved for such cursors. The cursor string names
  the handle and the number of rows already delivered. When the handle is gone
  (evicted, the session timed out or was reconnected) or an older page is asked
  for again, the backend re-declares the cursor and skips that many rows on
  the server (``MOVE``): pages still join, at the cost of the server
  re-reading the skipped rows. ``synchronize_seqscans`` is off on that
  connection so a re-run scan starts where the first one did. That
  transaction holds a snapshot and share locks on the view's tables, which
  block another session's ALTER or DROP TABLE and every query queued behind
  it, so it is kept short: it ends as soon as a page reaches the end of the
  result, when a different relation is browsed, and otherwise the server ends
  it after ``held_idle_timeout_ms`` (5 s) without a page
  (``idle_in_transaction_session_timeout``); the next page then restarts as
  above.

A first page reads the relation's columns and key from the catalog (one
query); the pages that follow reuse that reading, so a next page is one query
and keeps the columns it started with.

Values are plain Python. Types psycopg2 cannot map faithfully arrive as the
server's text: ranges, inet, money, enums, uuid and other non-core types (and
arrays of them as lists of text), 'infinity' and BC timestamps, intervals with
months, time '24:00'. numeric NaN and ±Infinity are Decimals too; timestamptz is
an aware datetime in the session's time zone; a domain is shown as its base type.

Long values never cross the wire whole: text, varchar, bytea, json/jsonb,
arrays, char(n) and anything selected as text are cut on the server to
``PREVIEW_CHARS`` characters (``PREVIEW_BYTES`` bytes for bytea), their true
length selected beside them in the same query, and arrive as ``Truncated``
(see "long values" below). Key columns are never cut. ``browse(whole=True)``
(exports) cuts nothing: see "whole pages" below.

A connection that dies raises ``ConnectionLost`` on the call that notices it
and is dropped; the next call, or ``connect()``, opens a fresh one. The
cursor-holding connection is the exception: its loss is expected (the idle
timeout above) and is repaired transparently once per call.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Concatenate, NoReturn, ParamSpec, TypeVar

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from .. import cursors
from ..base import Backend, Capability
from ..errors import (
    BackendError,
    ConnectionFailed,
    ConnectionLost,
    InvalidURL,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
    ReadOnly,
)
from ..secrets import scrub, url_secrets
from ..types import Column, Node, NodeKind, Page, ServerInfo, Truncated

# -- values ---------------------------------------------------------------------

# Types psycopg2 turns into neutral Python values by itself (by OID, after
# domains are resolved to their base type: the server reports a domain column
# with its base type's OID). Everything else is selected as ``::text`` (or
# ``::text[]`` for arrays), so ranges, inet, money, hstore, enums, uuid and
# user types arrive as the server's own text whatever typecasters other code
# has registered globally.
_NEUTRAL_SCALARS = frozenset(
    {
        16,  # bool
        17,  # bytea (memoryview, made bytes below)
        18,  # "char"
        19,  # name
        20, 21, 23, 26,  # int8 int2 int4 oid
        25, 1042, 1043,  # text bpchar varchar
        114, 3802,  # json jsonb
        700, 701, 1700,  # float4 float8 numeric
        1082, 1083, 1114, 1184, 1186, 1266,  # date time timestamp timestamptz interval timetz
    }
)  # fmt: skip
_BYTEA = 17
# int8 int2 int4 oid text bpchar varchar name "char" numeric (by value: Decimal
# may print 1E-7 where PostgreSQL prints 0.0000001; the cast compares equal).
_EXACT_TEXT = frozenset({20, 21, 23, 26, 25, 1042, 1043, 19, 18, 1700})

_TID_TEXT = re.compile(r"\(\d+,\d+\)")

# Values that can be long, and how each is cut on the server (``_Col.preview``).
_INLINE_PREVIEW = frozenset({25, 1043, 17})  # text varchar bytea
_TYPED_PREVIEW = frozenset({114, 3802, 1042})  # json jsonb bpchar
# Types selected ::text whose text is always short: enums, network
# addresses, money, dates and times, intervals, booleans; uuid.
_SHORT_CATEGORIES = frozenset("EINDTB")
_SHORT_TEXT = frozenset({2950})

# -- liveness --------------------------------------------------------------------

#: libpq keywords that make a peer that stopped answering surface as a lost
#: connection within 10 s instead of never (libpq's defaults leave it to the
#: kernel: two hours of silence). Keepalive probes go out after 3 s idle,
#: every 2 s; ``tcp_user_timeout`` (ms) then drops the connection once 9 s
#: pass with a probe or sent data unacknowledged (Linux lets it override
#: ``keepalives_count`` for probes). None of this limits how long a statement
#: runs: a healthy server's kernel acknowledges probes while its backend is
#: busy (``pg_sleep(30)`` runs to completion). A server whose kernel still
#: answers but whose process is stopped (``kill -STOP``) acknowledges them
#: too: that stall is reported by the UI's watchdog on long calls
#: (``tui.session``), not here. Values given in the URL win. Unix sockets
#: ignore them.
LIVENESS_PARAMS: dict[str, str] = {
    "keepalives": "1",
    "keepalives_idle": "3",
    "keepalives_interval": "2",
    "keepalives_count": "3",
    "tcp_user_timeout": "9000",
}


# Whether the login could write in this database if storescope did not stop
# it: a superuser, CREATE on the database or on a schema, or INSERT, UPDATE,
# DELETE or TRUNCATE on any table (stops at the first one found).
_SQL_ROLE_CAN_WRITE = """
SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
    OR pg_catalog.has_database_privilege(current_database(), 'CREATE')
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                WHERE left(n.nspname, 3) <> 'pg_' AND n.nspname <> 'information_schema'
                  AND pg_catalog.has_schema_privilege(n.oid, 'CREATE'))
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE'))
"""


def _build_casters() -> tuple[Any, ...]:
    """Typecasters that return the server's text instead of a wrong or failing
    Python value: psycopg2 maps 'infinity' to datetime.max, '24:00' to
    midnight and '1 mon' to 30 days, and raises ValueError on BC dates or
    years past 9999, which would fail a whole page over one cell. They run
    once per value, hence the terse checks."""
    ext = psycopg2.extensions
    failures = (ValueError, OverflowError, psycopg2.Error)

    def keeping_text(keep: Callable[[str], bool]) -> Callable[[Any], Any]:
        """Wrap psycopg2's caster ``base``: the server's text where ``keep``
        says psycopg2 would be wrong, or where it fails."""

        def wrap(base: Any) -> Callable[[str | None, Any], Any]:
            def cast(value: str | None, cur: Any) -> Any:
                if value is None or keep(value):
                    return value
                try:
                    return base(value, cur)
                except failures:
                    return value

            return cast

        return wrap

    # 'infinity', '-infinity' and '... BC' are the texts not ending in a digit.
    date_like = keeping_text(lambda v: v[-1] > "9")
    time_like = keeping_text(lambda v: v.startswith("24:"))
    interval_like = keeping_text(lambda v: "mon" in v or "year" in v)

    out: list[Any] = []
    for base, array, name, wrap in (
        (ext.PYDATE, ext.PYDATEARRAY, "SS_DATE", date_like),
        (ext.PYDATETIME, ext.PYDATETIMEARRAY, "SS_TIMESTAMP", date_like),
        (ext.PYDATETIMETZ, ext.PYDATETIMETZARRAY, "SS_TIMESTAMPTZ", date_like),
        (ext.PYTIME, ext.PYTIMEARRAY, "SS_TIME", time_like),
        (ext.PYINTERVAL, ext.PYINTERVALARRAY, "SS_INTERVAL", interval_like),
    ):
        scalar = ext.new_type(base.values, name, wrap(base))
        out += [scalar, ext.new_array_type(array.values, f"{name}_ARRAY", scalar)]
    return tuple(out)


_CASTERS = _build_casters()


#: Text longer than this (in characters) or bytea longer than this (in bytes)
#: is shown as a ``Truncated`` preview with its true size: the grid holds a
#: bounded window of rows, and a row must not hold a 50 MB cell.
PREVIEW_CHARS = 4096
PREVIEW_BYTES = 4096
#: A whole page (``browse(whole=True)``) ends early, after at least one row,
#: once its long values add up to more than this many characters or bytes:
#: an export of a table of 6 MB texts must not hold 5,000 of them at once.
WHOLE_PAGE_BYTES = 16 * 1024 * 1024


def bounded(value: Any, limit: int = PREVIEW_CHARS) -> Any:
    """``value``, or a ``Truncated`` preview of it when it is long text/bytes."""
    if isinstance(value, str) and len(value) > limit:
        return Truncated(value[:limit], len(value), "chars")
    if isinstance(value, bytes | bytearray | memoryview) and len(value) > limit:
        data = bytes(value)
        return Truncated(data[:limit], len(data), "bytes")
    return value


def _neutral(value: Any) -> Any:
    """Driver values that are not neutral yet (bytea and bytea inside arrays)."""
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, list):
        return [_neutral(v) for v in value]
    return value


# -- long values -------------------------------------------------------------------
#
# A page must not carry a 50 MB cell, yet must show that cell's true size, in
# one round-trip. So a long-able column is selected cut to ``bound`` on the
# server, with its length beside it only when it is longer (a NULL otherwise,
# a few bytes on the wire):
#
#   inline  CASE WHEN octet_length(x) > N THEN left(x, N) ELSE x END,
#           CASE WHEN octet_length(x) > N THEN length(x) END
#   typed   CASE WHEN length(x::text) > N THEN NULL ELSE x END,
#           CASE WHEN length(x::text) > N THEN left(x::text, N) END,
#           CASE WHEN length(x::text) > N THEN length(x::text) END
#
# octet_length() of a stored text or bytea reads the TOAST header only, and
# left()/substr() detoast just the slice they return; length() in characters
# reads a whole long text, but only the server does, and only for the long
# ones. A text of N characters has at least N bytes, so "octet_length > N"
# never misses a long one; when it catches a short multibyte one, left() keeps
# it whole and its length says it was not cut. Key columns are never cut:
# keyset cursors and record keys come from their exact values.
#
# Whole pages (``bound=None`` below) select every column as it is. Their size
# is bounded another way, so that an export holds about one page of values
# and never a table's worth (``WHOLE_PAGE_BYTES``). Keyset and ctid pages
# first run the preview query above, which is cheap and says the true size of
# every long value; when nothing on it was cut it already is the whole page,
# otherwise it is run again whole for as many rows as fit (``_rows_within``).
# A held cursor cannot go back, so it is declared whole and fetched in
# batches that start at one row and double while the rows stay small, the
# page ending once the rows it holds pass the bound.


def _previewed(rel: _Relation, bound: int | None = PREVIEW_CHARS) -> frozenset[int]:
    """Positions of the columns selected cut (long-able, not in the key);
    none for a whole page (``bound`` None)."""
    if bound is None:
        return frozenset()
    return frozenset(i for i, c in enumerate(rel.columns) if c.preview and i not in rel.key)


def _width(rel: _Relation, bound: int | None = PREVIEW_CHARS) -> int:
    """Where the extra columns of ``_select_list`` start in a row."""
    extra = sum(1 if rel.columns[i].preview == "inline" else 2 for i in _previewed(rel, bound))
    return len(rel.columns) + extra


def _value_size(value: Any) -> int:
    """About how much of a page's budget a value takes: the length of text
    and bytes (a ``Truncated``'s true size), nested values summed."""
    if isinstance(value, str | bytes | memoryview):
        return len(value)
    if isinstance(value, Truncated):
        return value.total_size
    if isinstance(value, list | tuple):
        return sum(_value_size(v) for v in value)
    if isinstance(value, dict):
        return sum(len(str(k)) + _value_size(v) for k, v in value.items())
    return 8


def _row_size(row: tuple[Any, ...]) -> int:
    """``_value_size`` of a row's values (text and numbers inline: this runs
    for every row of a whole page)."""
    size = 0
    for value in row:
        kind = type(value)
        if kind is str or kind is bytes:
            size += len(value)
        elif kind is int or kind is float or value is None:
            size += 8
        else:
            size += _value_size(value)
    return size


def _rows_within(rows: list[tuple[Any, ...]], budget: int = WHOLE_PAGE_BYTES) -> int:
    """How many leading ``rows`` fit in ``budget`` (at least one)."""
    used = 0
    for n, row in enumerate(rows):
        used += _row_size(row)
        if used > budget:
            return max(n, 1)
    return len(rows)


def _fetch_within(
    cur: Any, rows: list[tuple[Any, ...]], limit: int, batch: int
) -> tuple[list[Any], int, int]:
    """A whole page from a held cursor, after the ``rows`` it had buffered:
    fetched in batches of ``batch`` rows, doubling while the rows are small
    and shrinking to what the rest of the budget holds at their average size,
    until ``limit + 1`` rows are in or they pass ``WHOLE_PAGE_BYTES``. Returns
    the rows (the page, then at least one more when more follow), the page's
    length and the batch size to start the next page with."""
    rows = list(rows)
    used = sum(map(_row_size, rows))
    ended = False
    while len(rows) <= limit and used <= WHOLE_PAGE_BYTES:
        want = min(batch, limit + 1 - len(rows))
        got = cur.fetchmany(want)
        rows += got
        used += sum(map(_row_size, got))
        if len(got) < want:
            ended = True
            break
        average = max(1, used // len(rows))
        batch = max(1, min(batch * 2, (WHOLE_PAGE_BYTES - used) // average))
    page = min(limit, _rows_within(rows))
    if len(rows) == page and not ended:
        rows += cur.fetchmany(1)  # does more follow?
    return rows, page, batch


def _preview_items(
    col: _Col, ref: sql.Composable, bound: int, previews: list[sql.Composable]
) -> sql.Composable:
    """The cell expression of a long-able column; appends its preview columns."""
    n = sql.Literal(bound)
    if col.preview == "inline":
        long = sql.SQL("octet_length({}) > {}").format(ref, n)
        cut = "substr({}, 1, {})" if col.convert else "left({}, {})"
        size = "octet_length({})" if col.convert else "length({})"
        previews.append(sql.SQL("CASE WHEN {} THEN " + size + " END").format(long, ref))
        return sql.SQL("CASE WHEN {} THEN " + cut + " ELSE {} END").format(long, ref, n, ref)
    text = sql.SQL("{}.{}::text").format(_ALIAS, _ident(col.name))
    long = sql.SQL("length({}) > {}").format(text, n)
    previews.append(sql.SQL("CASE WHEN {} THEN left({}, {}) END").format(long, text, n))
    previews.append(sql.SQL("CASE WHEN {} THEN length({}) END").format(long, text))
    return sql.SQL("CASE WHEN {} THEN NULL ELSE {} END").format(long, ref)


def _bound_rows(
    rel: _Relation, rows: list[tuple[Any, ...]], bound: int | None
) -> list[tuple[Any, ...]]:
    """Rows selected by ``_select_list`` with the same ``bound``, as neutral
    values aligned with the columns: cut values become ``Truncated``, extra
    columns are dropped."""
    n = len(rel.columns)
    long_ones = sorted(_previewed(rel, bound))
    converters = [i for i, c in enumerate(rel.columns) if c.convert]
    if not long_ones and not converters:
        return [row[:n] if len(row) != n else row for row in rows]
    width = _width(rel, bound)
    out: list[tuple[Any, ...]] = []
    for row in rows:
        # The common row: nothing long (its extra columns all NULL), no bytea.
        if not converters and row[n:width].count(None) == width - n:
            out.append(row[:n])
            continue
        values = list(row[:n])
        for i in converters:
            values[i] = _neutral(values[i])
        at = n
        for i in long_ones:
            col = rel.columns[i]
            if col.preview == "inline":
                size = row[at]
                at += 1
                if size is not None and bound is not None and size > bound:
                    unit = "bytes" if col.convert else "chars"
                    values[i] = Truncated(values[i], size, unit)
            else:
                preview, size = row[at], row[at + 1]
                at += 2
                if preview is not None:
                    values[i] = Truncated(preview, size, "chars")
        out.append(tuple(values))
    return out


# -- catalog records -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Col:
    name: str
    type_name: str  # format_type(): valid SQL, used to cast cursor keys back
    select_as: str  # "" | "text" | "text[]"
    convert: bool  # may hold memoryviews
    # str() of the fetched value casts back to the same value, so a keyset
    # cursor can take it from the row instead of selecting key::text too.
    exact_text: bool = False
    # How a long value is bounded on the server (see ``_preview_items``):
    # "" never long, "inline" the cell itself is cut (text, varchar, bytea,
    # anything selected ::text), "typed" the cell stays typed when short and
    # is NULL when long, with its text cut in an extra column (json, jsonb,
    # arrays, char(n), whose padding a cut would lose).
    preview: str = ""


@dataclass(frozen=True, slots=True)
class _Relation:
    db: str
    schema: str
    name: str
    oid: int
    relkind: str
    estimate: int | None
    nblocks: int
    rows_per_block: float | None
    columns: tuple[_Col, ...]
    key: tuple[int, ...]  # positions in ``columns`` of the paging key
    key_is_primary: bool

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


_RELKINDS = {
    "r": NodeKind.TABLE,
    "p": NodeKind.TABLE,
    "v": NodeKind.VIEW,
    "m": NodeKind.MATVIEW,
    "f": NodeKind.FOREIGN_TABLE,
}
_OTHER_RELKINDS = {
    "S": "sequence",
    "i": "index",
    "I": "partitioned index",
    "c": "composite type",
    "t": "TOAST table",
}

_SQL_DATABASES = """
SELECT datname FROM pg_catalog.pg_database
WHERE datallowconn AND NOT datistemplate
ORDER BY datname
"""

_SQL_SCHEMAS = """
SELECT nspname FROM pg_catalog.pg_namespace
WHERE nspname !~ '^pg_toast' AND nspname !~ '^pg_temp_'
ORDER BY nspname IN ('pg_catalog', 'information_schema'), nspname
"""

_SQL_SCHEMA_EXISTS = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"

_SQL_RELATIONS = """
SELECT c.relname, c.relkind, c.reltuples::float8
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
ORDER BY c.relname
"""

# One round-trip for everything browse() needs: the relation, its columns
# (with the base type of domains, to pick how each is selected) and its paging
# key, the primary key or else the narrowest valid unique index without
# expressions or predicate over NOT NULL columns.
_SQL_RELATION = """
SELECT c.oid, c.relkind, c.reltuples::float8, c.relpages,
  CASE WHEN c.relkind IN ('r', 'm')
       THEN pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int
       ELSE 0 END,
  (SELECT json_agg(json_build_array(
            a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
            bt.oid::int8, bt.typcategory, bt.typelem::int8) ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
     JOIN pg_catalog.pg_type bt
       ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT json_build_array(i.indisprimary, (
            SELECT json_agg(a.attname ORDER BY k.ord)
              FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE k.ord <= i.indnkeyatts))
     FROM pg_catalog.pg_index i
    WHERE i.indrelid = c.oid AND i.indisvalid AND i.indisunique
      AND (i.indisprimary OR (
            i.indexprs IS NULL AND i.indpred IS NULL
            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
                               AND NOT a.attnotnull)))
      AND NOT (0 = ANY (i.indkey::int2[]))
    ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
    LIMIT 1)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""

_ALIAS = sql.Identifier("_r")


def _ident(name: str) -> sql.Identifier:
    # psycopg2 applies %-formatting to the whole query text when parameters
    # are passed, quoted identifiers included: a table named "50%" must reach
    # it as "50%%". Every query built with this is executed with a parameter
    # tuple (possibly empty), so the doubling is always undone.
    return sql.Identifier(name.replace("%", "%%"))


# -- cursors ------------------------------------------------------------------------


def error_for_sqlstate(code: str, message: str) -> BackendError:
    """The error a failed statement becomes, by its SQLSTATE (for psycopg2's
    and psycopg 3's errors alike)."""
    if code == "42501":  # insufficient_privilege
        return PermissionDenied(message)
    if code in ("42P01", "3F000", "3D000"):  # no such table, schema, database
        return NotFound(message)
    if code == "25006":  # read_only_sql_transaction
        return ReadOnly(message)
    return QueryFailed(message)


def _encode_cursor(token: dict[str, Any]) -> str:
    raw = json.dumps(token, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        return cursors.encode_cursor(raw)
    except cursors.CursorError as e:  # not in practice: btree keys stay under ~2.7 KB
        raise _bad_cursor(str(e)) from e


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        token = json.loads(cursors.decode_cursor(cursor))  # bounded (backends.cursors)
    except (ValueError, RecursionError) as e:  # CursorError, JSON and UTF-8 errors
        raise _bad_cursor() from e
    if not isinstance(token, dict) or token.get("m") not in ("k", "t", "h"):
        raise _bad_cursor()
    return token


def _bad_cursor(detail: str = "") -> QueryFailed:
    message = "this page cursor is not valid for this relation"
    return QueryFailed(f"{message}{': ' + detail if detail else ''}", title="Invalid cursor")


def _path_digest(path: tuple[str, ...]) -> str:
    return hashlib.sha1(json.dumps(path).encode()).hexdigest()[:12]


@dataclass(eq=False, slots=True)
class _Held:
    """A server-side cursor on a database's cursor connection."""

    id: str
    digest: str
    conn: Any
    cur: Any
    delivered: int = 0  # rows handed out in pages so far
    buffer: list[tuple[Any, ...]] = field(default_factory=list)  # fetched, not yet handed out
    whole: bool = False  # declared without cutting long values (``browse(whole=True)``)
    batch: int = 1  # rows of the next fetch of a whole page (see ``_fetch_within``)


class _SessionGone(Exception):
    """The cursor connection died; the caller reconnects and restarts once."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
# Typed by the class that defines the method, so PostgresBackend's public
# methods take the decorator as they are.
_S = TypeVar("_S", bound="PostgresCore")


def _scrubbed(
    method: Callable[Concatenate[_S, _P], _R],
) -> Callable[Concatenate[_S, _P], _R]:
    """Every error leaving a public method passes here, so none can show a
    secret of the URL, whichever path built its message (libpq echoes a
    malformed password when it cannot parse the URL, before any connection)."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except BackendError as e:
            clean = self._scrub(e.message)
            if clean != e.message:
                e.message = clean
                e.args = (clean,)
            raise

    return wrapper


# -- the backend -----------------------------------------------------------------------


class PostgresCore(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres")
    product: ClassVar[str] = "PostgreSQL"
    capabilities: ClassVar[Capability] = Capability.NONE

    #: How many server-side cursors stay open at once; the least recently
    #: used is closed first (and restarts by MOVE if used again). Browsing a
    #: relation closes those of every other, so only stale cursors of the
    #: same relation (an older page asked for again) count against this.
    max_held_cursors: ClassVar[int] = 8
    #: idle_in_transaction_session_timeout of the cursor connection, in ms:
    #: the longest a reader who stopped paging through a view keeps its
    #: tables' share locks, so the longest another session's ALTER/DROP TABLE
    #: (and every query queued behind it) can wait on us.
    held_idle_timeout_ms: ClassVar[int] = 5_000

    # Settings of the capability collaborators (``PostgresBackend``), read
    # from the backend at each use, so an owner (or a test) may change them
    # on the class or on one backend.

    #: Most rows kept of a statement that cannot stream (INSERT ... RETURNING,
    #: SHOW, EXPLAIN...); more are dropped with a notice saying so.
    plain_rows_kept: ClassVar[int] = 10_000
    #: Results remembered (to page, or to re-run when their state is gone);
    #: plain results keep their rows only among the most recent few.
    max_results: ClassVar[int] = 64
    max_kept_results: ClassVar[int] = 4
    #: Most names ``completions()`` returns.
    max_completions: ClassVar[int] = 20_000
    #: Seconds a half-read result may keep our read transaction open (its
    #: snapshot and share locks) after its last page was handed out; then the
    #: transaction is ended and a later page re-runs the statement.
    read_idle_timeout: float = 5.0
    #: ``lock_timeout`` of the connection that applies changes, in ms: how
    #: long a change waits for a row another session holds locked before the
    #: whole apply fails (instead of hanging the editor).
    write_lock_timeout_ms: ClassVar[int] = 10_000
    #: Seconds between two readings of the database sizes (monitor).
    db_size_interval: ClassVar[float] = 30.0
    #: Seconds before pg_stat_statements is asked again after it failed.
    statements_retry_interval: ClassVar[float] = 60.0
    #: Statement texts remembered by queryid (cleared when it overflows).
    max_statement_texts: ClassVar[int] = 1000

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._conns: dict[str, Any] = {}
        self._cursor_conns: dict[str, Any] = {}
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._primary_db: str | None = None
        self._params: dict[str, str] | None = None
        self._relations: dict[tuple[str, ...], _Relation] = {}
        # Rows the last whole page of a relation held (``browse(whole=True)``):
        # the next one's preview query asks for about that many, not ``limit``.
        self._whole_rows: dict[tuple[str, ...], int] = {}
        self._secrets = url_secrets(url)

    # -- lifecycle -----------------------------------------------------------------------

    @_scrubbed
    def connect(self) -> None:
        self.close()
        conn = self._open(None)
        self._primary_db = conn.info.dbname
        self._conns[conn.info.dbname] = conn

    def close(self) -> None:
        self._held.clear()
        self._relations.clear()
        conns = [*self._conns.values(), *self._cursor_conns.values()]
        self._conns.clear()
        self._cursor_conns.clear()
        for conn in conns:
            # Closing a socket that already died can only fail in ways that
            # do not matter here: the connection is being thrown away.
            with contextlib.suppress(psycopg2.Error):
                conn.close()

    @_scrubbed
    def ping(self) -> float:
        db = self._primary()
        conn = self._conn(db)
        start = time.perf_counter()
        with self._guard(conn, db):
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchone()
        return time.perf_counter() - start

    @_scrubbed
    def server_info(self) -> ServerInfo:
        db = self._primary()
        conn = self._conn(db)
        info = conn.info
        version = conn.get_parameter_status("server_version") or str(conn.server_version)
        host = info.host or ""
        server = f"{host}:{info.port}" if not host.startswith("/") else f"{host} (socket)"
        details = [
            ("database", info.dbname),
            ("user", info.user),
            ("server", server),
            ("read-only", "yes" if self.read_only else "no"),
        ]
        note = ""
        if self.read_only:
            if self._query(db, _SQL_ROLE_CAN_WRITE)[0][0]:
                # Said where the user looks: read-only is storescope's
                # refusal and a read-only transaction, not the server's.
                details.append(("enforced by", "storescope only: this role could write"))
                note = "app guard; role can write"
            else:
                details.append(("enforced by", "the server too: this role cannot write"))
        return ServerInfo(
            product=self.product,
            version=version,
            details=tuple(details),
            read_only_note=note,
        )

    # -- catalog -------------------------------------------------------------------------

    @_scrubbed
    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        if not path:
            db = self._primary()
            rows = self._query(db, _SQL_DATABASES)
            return [
                Node(path=(name,), name=name, kind=NodeKind.DATABASE, expandable=True)
                for (name,) in rows
            ]
        db = path[0]
        if len(path) == 1:
            rows = self._query(db, _SQL_SCHEMAS)
            return [
                Node(path=(db, name), name=name, kind=NodeKind.SCHEMA, expandable=True)
                for (name,) in rows
            ]
        schema = path[1]
        if len(path) == 2:
            rows = self._query(db, _SQL_RELATIONS, (schema,))
            if not rows:
                self._check_schema(db, schema)
            return [
                Node(
                    path=(db, schema, name),
                    name=name,
                    kind=_RELKINDS[relkind],
                    browsable=True,
                    estimate=_estimate(relkind, reltuples),
                    detail="partitioned" if relkind == "p" else "",
                )
                for name, relkind, reltuples in rows
            ]
        if len(path) == 3:
            self._relation(db, schema, path[2])
            return []
        raise NotFound(f"no such path: {'/'.join(path)}")

    @_scrubbed
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
        if filter is not None or sort is not None:
            raise NotSupported("filtering and sorting PostgreSQL relations is not supported yet")
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        if len(path) != 3:
            self._not_browsable(path)
        token = _decode_cursor(cursor) if cursor is not None else None
        # The reader moved on from any other held result: end its transaction
        # now rather than at the idle timeout (it restarts if paged again).
        digest = _path_digest(path)
        for handle in [h for h in self._held.values() if h.digest != digest]:
            self._close_held(handle)
        db, schema, name = path
        # A first page reads the catalog afresh; the pages after it reuse that
        # reading, so one browse keeps the same columns throughout and a next
        # page costs one query. Any error forgets it.
        rel = self._relations.get(path) if token is not None else None
        if rel is None:
            rel = self._relation(db, schema, name)
            self._relations[path] = rel
            while len(self._relations) > 64:
                del self._relations[next(iter(self._relations))]
        strategy = self._strategy(rel)
        if token is not None and token["m"] != strategy:
            raise _bad_cursor(f"{rel.label} pages differently now; reload it")
        try:
            if strategy == "h":
                return self._browse_held(rel, path, token, limit, whole)
            run = self._browse_keyset if strategy == "k" else self._browse_ctid
            if not whole:
                return run(rel, token, limit, PREVIEW_CHARS)
            # The preview page says how big each long value is: when none was
            # cut it is the whole page; otherwise read as many rows as fit
            # whole. It asks for twice the rows the last whole page held, so
            # a table of big values does not have them all measured per page.
            hint = self._whole_rows.pop(path, limit) if token is not None else limit
            page = run(rel, token, max(1, min(limit, 2 * hint)), PREVIEW_CHARS)
            long_ones = _previewed(rel)
            if not any(type(row[i]) is Truncated for i in long_ones for row in page.rows):
                whole_page = page  # nothing cut: no bigger than any preview page
            else:
                whole_page = run(rel, token, _rows_within(list(page.rows)), None)
            self._whole_rows[path] = len(whole_page.rows)
            while len(self._whole_rows) > 64:
                del self._whole_rows[next(iter(self._whole_rows))]
            return whole_page
        except BackendError as e:
            self._relations.pop(path, None)
            if getattr(e.__cause__, "pgcode", None) == "42P01":
                raise NotFound(f"table {rel.label} does not exist") from e.__cause__
            raise

    # -- connections ---------------------------------------------------------------------

    def _primary(self) -> str:
        if self._primary_db is None:
            self.connect()
        assert self._primary_db is not None
        return self._primary_db

    def _conn(self, db: str) -> Any:
        """The autocommit connection to ``db``, opened on first use."""
        primary = self._primary()
        conn = self._conns.get(db)
        if conn is not None and not conn.closed:
            return conn
        conn = self._open(db, check_exists=db != primary)
        self._conns[db] = conn
        return conn

    def _own_pids(self) -> set[int]:
        """The backend pids of this backend's own sessions."""
        conns = [*self._conns.values(), *self._cursor_conns.values()]
        return {int(c.info.backend_pid) for c in conns if not c.closed}

    def _cursor_conn(self, db: str) -> Any:
        """The connection of ``db`` that holds server-side cursors in a transaction."""
        conn = self._cursor_conns.get(db)
        if conn is not None and not conn.closed:
            return conn
        self._conn(db)  # resolves NotFound for an unknown database first
        conn = self._open(db)
        with self._guard(conn, db):
            cur = conn.cursor()
            # A re-declared cursor must see rows in the same order to skip
            # exactly the rows already delivered; a synchronized scan would
            # start wherever another scan of the table currently is.
            cur.execute("SET synchronize_seqscans = off")
            if conn.server_version >= 90600:
                cur.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
                    (str(self.held_idle_timeout_ms),),
                )
            conn.set_session(autocommit=False)
        self._cursor_conns[db] = conn
        return conn

    def _dsn_params(self) -> dict[str, str]:
        if self._params is None:
            try:
                self._params = dict(psycopg2.extensions.parse_dsn(self.url))
            except psycopg2.Error as e:
                raise InvalidURL(
                    f"invalid PostgreSQL URL {self.display_url}: {self._message(e)}"
                ) from e
        return self._params

    def connect_params(self, db: str | None) -> dict[str, str]:
        """The libpq keywords of every connection this backend opens to
        ``db`` (None: the URL's database), psycopg2's and psycopg 3's alike:
        the URL's, then our defaults where the URL is silent (the connect
        timeout, the application name, ``LIVENESS_PARAMS``)."""
        params = dict(self._dsn_params())
        if db is not None:
            params["dbname"] = db
        # libpq rounds up to whole seconds and treats anything below 2 as 2;
        # it bounds each address tried, including a server that accepts TCP
        # and never answers. A connect_timeout in the URL wins.
        params.setdefault("connect_timeout", str(max(2, math.ceil(self.connect_timeout))))
        params.setdefault("application_name", "storescope")
        for key, value in LIVENESS_PARAMS.items():
            params.setdefault(key, value)
        return params

    def _open(self, db: str | None, *, check_exists: bool = False) -> Any:
        params = self.connect_params(db)
        try:
            conn = psycopg2.connect(**params)
        except psycopg2.Error as e:
            if check_exists and db is not None and not self._database_exists(db):
                raise NotFound(f"database {db} does not exist") from e
            raise ConnectionFailed(self._message(e, full=True)) from e
        try:
            conn.autocommit = True
            if self.read_only:
                conn.set_session(readonly=True)
            for caster in _CASTERS:
                psycopg2.extensions.register_type(caster, conn)
        except psycopg2.Error as e:
            conn.close()
            raise ConnectionFailed(self._message(e)) from e
        return conn

    def _database_exists(self, db: str) -> bool:
        primary = self._conns.get(self._primary_db or "")
        if primary is None or primary.closed:
            return True  # cannot tell: report the connection error as it is
        try:
            cur = primary.cursor()
            cur.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (db,))
            return cur.fetchone() is not None
        except psycopg2.Error:
            # The caller reports the original connection error instead; a
            # dead primary connection is noticed by the next call that uses it.
            return True

    def _forget(self, db: str, conn: Any) -> None:
        if self._conns.get(db) is conn:
            del self._conns[db]
        if self._cursor_conns.get(db) is conn:
            del self._cursor_conns[db]
            for handle_id in [h.id for h in self._held.values() if h.conn is conn]:
                del self._held[handle_id]
        with contextlib.suppress(psycopg2.Error):
            conn.close()

    # -- errors ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, conn: Any, db: str) -> Iterator[None]:
        """Translate psycopg2 errors raised on ``conn`` into backend errors."""
        try:
            yield
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e

    def _translate(self, e: psycopg2.Error, conn: Any, db: str) -> BackendError:
        message = self._message(e)
        if conn.closed:
            self._forget(db, conn)
            return ConnectionLost(f"the connection to database {db} was lost: {message}")
        return error_for_sqlstate(e.pgcode or "", message)

    def _message(self, e: psycopg2.Error, *, full: bool = False) -> str:
        diag = getattr(e, "diag", None)
        primary = diag.message_primary if diag is not None else None
        if primary:
            text = str(primary)
        else:
            lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
            text = " ".join(lines) if full else (lines[0] if lines else type(e).__name__)
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        """``text`` without the URL's secrets (or a password given as a
        parameter libpq parsed), for every message this backend raises."""
        found = list(self._secrets)
        password = self._params.get("password") if self._params else None
        if password:
            found.append(password)
        return scrub(text, found)

    def _not_browsable(self, path: tuple[str, ...]) -> NoReturn:
        if not path:
            raise NotSupported("pick a table or view to browse")
        if len(path) > 3:
            raise NotFound(f"no such path: {'/'.join(path)}")
        if len(path) == 1:
            self._conn(path[0])
            raise NotSupported(f"{path[0]} is a database; pick a table or view to browse")
        self._check_schema(path[0], path[1])
        raise NotSupported(f"{path[1]} is a schema; pick a table or view to browse")

    # -- catalog helpers ---------------------------------------------------------------------

    def _query(self, db: str, query: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A bounded query on ``db``'s autocommit connection (catalog reads)."""
        conn = self._conn(db)
        with self._guard(conn, db):
            cur = conn.cursor()
            cur.execute(query, params)
            return list(cur.fetchall())

    def _check_schema(self, db: str, schema: str) -> None:
        if not self._query(db, _SQL_SCHEMA_EXISTS, (schema,)):
            raise NotFound(f"schema {schema} does not exist in database {db}")

    def _relation(self, db: str, schema: str, name: str) -> _Relation:
        rows = self._query(db, _SQL_RELATION, (schema, name))
        if not rows:
            self._check_schema(db, schema)
            raise NotFound(f"table {schema}.{name} does not exist")
        oid, relkind, reltuples, relpages, nblocks, cols, key = rows[0]
        if relkind not in _RELKINDS:
            what = _OTHER_RELKINDS.get(relkind, "relation")
            raise NotSupported(f"{schema}.{name} is a {what}, not a table or view")
        columns = tuple(_column(*c) for c in cols or ())
        key_pos: tuple[int, ...] = ()
        key_is_primary = False
        if key is not None:
            names = [c.name for c in columns]
            key_is_primary = bool(key[0])
            key_pos = tuple(names.index(k) for k in key[1] or ())
        return _Relation(
            db=db,
            schema=schema,
            name=name,
            oid=oid,
            relkind=relkind,
            estimate=_estimate(relkind, reltuples),
            nblocks=int(nblocks or 0),
            rows_per_block=reltuples / relpages if reltuples > 0 and relpages > 0 else None,
            columns=columns,
            key=key_pos,
            key_is_primary=key_is_primary,
        )

    def _strategy(self, rel: _Relation) -> str:
        if rel.key:
            return "k"
        if rel.relkind in ("r", "m") and self._conn(rel.db).server_version >= 140000:
            return "t"  # TID Range Scan exists from PG 14
        return "h"

    # -- paging ------------------------------------------------------------------------------

    def _select_list(
        self, rel: _Relation, extra: list[sql.Composable], bound: int | None = PREVIEW_CHARS
    ) -> sql.Composable:
        """The relation's columns (long values cut to ``bound`` characters or
        bytes on the server, see ``_preview_items``; none cut when ``bound``
        is None), then ``_width(rel, bound) - len(rel.columns)`` preview
        columns, then ``extra``."""
        items: list[sql.Composable] = []
        previews: list[sql.Composable] = []
        long_ones = _previewed(rel, bound)
        for i, col in enumerate(rel.columns):
            ref: sql.Composable = sql.SQL("{}.{}").format(_ALIAS, _ident(col.name))
            if col.select_as:
                ref = sql.SQL("{}::{}").format(ref, sql.SQL(col.select_as))
            if i in long_ones:
                assert bound is not None
                ref = _preview_items(col, ref, bound, previews)
            items.append(ref)
        return sql.SQL(", ").join(items + previews + extra)

    def _page(
        self,
        rel: _Relation,
        rows: list[tuple[Any, ...]],
        limit: int,
        next_cursor: str | None,
        bound: int | None = PREVIEW_CHARS,
    ) -> Page:
        body = _bound_rows(rel, rows[:limit], bound)
        key = set(rel.key) if rel.key_is_primary else set()
        columns = tuple(
            Column(name=c.name, type_name=c.type_name, primary_key=i in key)
            for i, c in enumerate(rel.columns)
        )
        return Page(
            columns=columns,
            rows=tuple(body),
            next_cursor=next_cursor,
            total_estimate=rel.estimate,
        )

    def _browse_keyset(
        self, rel: _Relation, token: dict[str, Any] | None, limit: int, bound: int | None
    ) -> Page:
        keys = [rel.columns[i] for i in rel.key]
        key_refs = [sql.SQL("{}.{}").format(_ALIAS, _ident(k.name)) for k in keys]
        from_row = all(k.exact_text for k in keys)
        extra = [] if from_row else [sql.SQL("{}::text").format(r) for r in key_refs]
        select = self._select_list(rel, extra, bound)
        params: list[Any] = []
        where: sql.Composable = sql.SQL("")
        if token is not None:
            values = token.get("v")
            if token.get("c") != [k.name for k in keys]:
                raise _bad_cursor(f"the key of {rel.label} changed since the last page; reload it")
            if not isinstance(values, list) or len(values) != len(keys):
                raise _bad_cursor()
            where = sql.SQL(" WHERE ({}) > ({})").format(
                sql.SQL(", ").join(key_refs),
                sql.SQL(", ").join(
                    sql.SQL("CAST(%s AS {})").format(sql.SQL(k.type_name)) for k in keys
                ),
            )
            params.extend(values)
        query = sql.SQL("SELECT {} FROM {}.{} AS {}{} ORDER BY {} LIMIT %s").format(
            select,
            _ident(rel.schema),
            _ident(rel.name),
            _ALIAS,
            where,
            sql.SQL(", ").join(key_refs),
        )
        params.append(limit + 1)
        rows = self._query(rel.db, query, tuple(params))
        next_cursor = None
        if len(rows) > limit:
            row = rows[limit - 1]
            last = [str(row[i]) for i in rel.key] if from_row else list(row[_width(rel, bound) :])
            next_cursor = _encode_cursor({"m": "k", "c": [k.name for k in keys], "v": last})
        return self._page(rel, rows, limit, next_cursor, bound)

    def _browse_ctid(
        self, rel: _Relation, token: dict[str, Any] | None, limit: int, bound: int | None
    ) -> Page:
        after = "(0,0)"  # offset 0 never holds a row: "> (b,0)" starts at block b
        if token is not None:
            after = token.get("v", "")
            if not isinstance(after, str) or not _TID_TEXT.fullmatch(after):
                raise _bad_cursor()
        ctid = sql.SQL("{}.ctid").format(_ALIAS)
        base = sql.SQL("SELECT {} FROM {}.{} AS {} WHERE {} > CAST(%s AS tid)").format(
            self._select_list(rel, [ctid], bound),
            _ident(rel.schema),
            _ident(rel.name),
            _ALIAS,
            ctid,
        )
        bounded = sql.SQL("{} AND {} < CAST(%s AS tid) ORDER BY {} LIMIT %s").format(
            base, ctid, ctid
        )
        open_ended = sql.SQL("{} ORDER BY {} LIMIT %s").format(base, ctid)
        need = limit + 1
        block = int(after[1:].split(",", 1)[0])
        density = rel.rows_per_block or 50.0
        window = max(1, math.ceil(need / density * 1.2))
        rows: list[tuple[Any, ...]] = []
        while len(rows) < need:
            end = block + window
            if end >= rel.nblocks:
                # Last window: no upper bound, so rows appended to the table
                # since the catalog was read are not missed.
                rows += self._query(rel.db, open_ended, (after, need - len(rows)))
                break
            rows += self._query(rel.db, bounded, (after, f"({end},0)", need - len(rows)))
            after, block, window = f"({end},0)", end, window * 2
        next_cursor = None
        if len(rows) > limit:
            next_cursor = _encode_cursor({"m": "t", "v": rows[limit - 1][-1]})
        return self._page(rel, rows, limit, next_cursor, bound)

    def _browse_held(
        self,
        rel: _Relation,
        path: tuple[str, ...],
        token: dict[str, Any] | None,
        limit: int,
        whole: bool = False,
    ) -> Page:
        digest = _path_digest(path)
        if token is None:
            # A first page starts a fresh result; an older handle on the same
            # relation would only hold a stale snapshot (and restarts if used).
            for handle in [h for h in self._held.values() if h.digest == digest]:
                self._close_held(handle)
            handle_id, position = secrets.token_hex(8), 0
        else:
            given_id, given_position = token.get("h"), token.get("p")
            if token.get("d") != digest or not isinstance(given_id, str):
                raise _bad_cursor()
            if not isinstance(given_position, int) or given_position < 0:
                raise _bad_cursor()
            handle_id, position = given_id, given_position
        try:
            return self._held_page(rel, handle_id, digest, position, limit, whole)
        except _SessionGone:
            pass
        try:
            return self._held_page(rel, handle_id, digest, position, limit, whole)
        except _SessionGone as e:
            raise ConnectionLost(f"the connection to database {rel.db} was lost: {e}") from (
                e.__cause__
            )
        except ConnectionFailed as e:
            raise ConnectionLost(str(e)) from e.__cause__

    def _held_page(
        self,
        rel: _Relation,
        handle_id: str,
        digest: str,
        position: int,
        limit: int,
        whole: bool = False,
    ) -> Page:
        conn = self._cursor_conn(rel.db)
        handle = self._held.get(handle_id)
        if handle is not None and (
            handle.conn is not conn
            or handle.digest != digest
            or handle.delivered > position
            or handle.whole != whole  # selected the other way: declare it again
        ):
            self._close_held(handle)
            handle = None
        try:
            if handle is None:
                handle = self._declare(conn, rel, handle_id, digest, whole)
            self._held.move_to_end(handle.id)
            skip = position - handle.delivered
            if skip > 0:
                dropped = min(skip, len(handle.buffer))
                del handle.buffer[:dropped]
                if skip > dropped:
                    handle.cur.scroll(skip - dropped)  # MOVE on the server
                handle.delivered = position
            rows, handle.buffer = handle.buffer, []
            if whole:
                rows, limit, handle.batch = _fetch_within(handle.cur, rows, limit, handle.batch)
            elif len(rows) <= limit:
                rows += handle.cur.fetchmany(limit + 1 - len(rows))
        except psycopg2.Error as e:
            self._held_failed(conn, rel.db, e)
        handle.buffer = rows[limit:]
        handle.delivered = position + min(len(rows), limit)
        next_cursor = None
        if handle.buffer:
            next_cursor = _encode_cursor(
                {"m": "h", "h": handle.id, "p": handle.delivered, "d": digest}
            )
        else:
            # Complete: release the snapshot and locks now (closing the last
            # handle on the connection, this one included, ends its transaction).
            for done in [h for h in self._held.values() if h.conn is conn]:
                self._close_held(done)
        return self._page(rel, rows, limit, next_cursor, None if whole else PREVIEW_CHARS)

    def _declare(
        self, conn: Any, rel: _Relation, handle_id: str, digest: str, whole: bool = False
    ) -> _Held:
        while len(self._held) >= self.max_held_cursors:
            self._close_held(next(iter(self._held.values())))
        bound = None if whole else PREVIEW_CHARS
        query = sql.SQL("SELECT {} FROM {}.{} AS {}").format(
            self._select_list(rel, [], bound), _ident(rel.schema), _ident(rel.name), _ALIAS
        )
        cur = conn.cursor(name=f"storescope_{handle_id}", scrollable=False)
        cur.itersize = 1000
        cur.execute(query, ())
        handle = _Held(id=handle_id, digest=digest, conn=conn, cur=cur, whole=whole)
        self._held[handle_id] = handle
        return handle

    def _held_failed(self, conn: Any, db: str, e: psycopg2.Error) -> NoReturn:
        """After an error the cursor connection's transaction is aborted, which
        closes every cursor on it: drop them all (they restart when used)."""
        if conn.closed:
            self._forget(db, conn)
            raise _SessionGone(self._message(e)) from e
        for handle_id in [h.id for h in self._held.values() if h.conn is conn]:
            del self._held[handle_id]
        try:
            conn.rollback()
        except psycopg2.Error as rollback_error:
            self._forget(db, conn)
            raise _SessionGone(self._message(rollback_error)) from rollback_error
        raise self._translate(e, conn, db) from e

    def _close_held(self, handle: _Held) -> None:
        self._held.pop(handle.id, None)
        conn = handle.conn
        if conn.closed:
            return
        try:
            handle.cur.close()
            if not any(h.conn is conn for h in self._held.values()):
                # End the transaction: no snapshot or lock outlives the last cursor.
                conn.rollback()
        except psycopg2.Error:
            # The session is unusable; the next cursor opens a new one.
            for db, c in list(self._cursor_conns.items()):
                if c is conn:
                    self._forget(db, conn)

    # -- test hooks ---------------------------------------------------------------------------

    def _session_setting(self, db: str, name: str) -> str:
        """``current_setting(name)`` on ``db``'s connection (for tests)."""
        rows = self._query(db, "SELECT current_setting(%s)", (name,))
        return str(rows[0][0])


def _estimate(relkind: str, reltuples: float) -> int | None:
    # Views have no row count; -1 means never vacuumed or analyzed (PG 14+).
    if relkind == "v" or reltuples is None or reltuples < 0:
        return None
    return int(reltuples)


def _column(name: str, type_name: str, base_oid: int, category: str, elem: int) -> _Col:
    if base_oid in _NEUTRAL_SCALARS or category == "A" and elem in _NEUTRAL_SCALARS:
        select_as = ""
    elif category == "A" and elem:
        select_as = "text[]"
    else:
        select_as = "text"
    convert = base_oid == _BYTEA or (category == "A" and elem == _BYTEA)
    exact_text = select_as == "text" or base_oid in _EXACT_TEXT
    if base_oid in _INLINE_PREVIEW:
        preview = "inline"
    elif base_oid in _TYPED_PREVIEW or category == "A":
        preview = "typed"
    elif select_as == "text" and category not in _SHORT_CATEGORIES and base_oid not in _SHORT_TEXT:
        preview = "inline"
    else:
        preview = ""
    return _Col(name, type_name, select_as, convert, exact_text, preview)
