"""PostgreSQL QUERY, CANCEL and TRANSACTIONS: the SQL editor's statements.

**Why pglast and psycopg 3 (read-only on a hostile text).** A read-only
session is only as safe as the line it draws between statements. A
hand-written splitter that lexes SQL differently from the server (nested
``/* /* */ */`` comments, ``standard_conforming_strings = off``) let the
server run a ``COMMIT; BEGIN READ WRITE; INSERT ...`` that the splitter had
taken for a comment or a string. So:

- ``split()`` and every judgement of a statement use ``pglast``, which is
  libpg_query: the server's own scanner and grammar. Its reading is that of a
  server with ``standard_conforming_strings = on``; a read-only session
  refuses to run anything while the server's setting is off, and refuses any
  statement that changes it (or ``role``, ``session_authorization``,
  ``(default_)transaction_read_only``, or the transaction).
- The statements a user types run on a connection of their own, opened with
  psycopg 3, whose cursor always uses the **extended query protocol**: one
  Parse message per statement, and the server itself answers "cannot insert
  multiple commands into a prepared statement" when a text is more than one
  statement. If pglast and the server ever disagree on where a statement
  ends, the server refuses the text instead of running the rest. psycopg2
  has no way to send the extended protocol without parameters (a plain
  ``execute`` is the simple protocol, which runs every statement in the
  text); psycopg 3 does it with no parameters too, but only from a cursor
  that forces it (``_ExtendedCursor``: it overrides one private method, so
  pyproject bounds psycopg to the versions it was checked with and
  ``tests/backends/test_pg_read_only.py`` fails if the server ever runs two
  statements again). Catalog, browsing, records and the monitor keep
  psycopg2 on their own connections: they only send SQL storescope wrote.
- The price: our statements around a user's (``BEGIN READ ONLY``,
  ``DECLARE ... FOR <statement>``, ``FETCH``) are separate round-trips, a few
  tenths of a millisecond each on a local server, and while a streamed
  statement's rows are produced pg_stat_activity shows its ``FETCH`` (as
  with psql's ``FETCH_COUNT``).

**Splitting** and judging a statement need no connection: they live in
``sql_text`` (the server's own scanner and grammar, through pglast), which
also describes the language to the query editor (``POSTGRES_SQL``).

**Streaming.** A statement that ``DECLARE`` accepts (SELECT, VALUES, TABLE,
WITH ... SELECT) runs as ``DECLARE c SCROLL CURSOR FOR <statement>`` and its
pages come with ``FETCH FORWARD limit+1`` (the extra row says whether more
follows, and is kept for the next page), so the first rows of a 5M-row result
arrive without the server sending the rest. Outside a user's transaction the
cursor lives in a short read transaction of ours that ends when the result
has been read to the end, when another statement is executed, on
``release()``, or ``read_idle_timeout`` (5 s) after its last page was handed
out; it ends with ``COMMIT`` on a read-write session (the first run of a
statement is the user's, see below) and with ``ROLLBACK`` on a read-only one.
Until then it holds a snapshot and share locks on the tables read (another
session's ALTER TABLE or CREATE INDEX CONCURRENTLY waits).
``transaction_state()`` does not count it.

Why a timer: ``idle_in_transaction_session_timeout`` would end the whole
session (its temporary tables and SETs with it), and moving result cursors to
a second connection would hide the session's temporary tables and settings
from the statement. So each call of the query session (and ``explain``) holds a call
lock and, when it leaves our read transaction open, arms a ``threading.Timer``;
the timer takes the lock without waiting (a running call re-arms it when it
ends), skips while another method is using the connection, and ends it. Calls
also end an overdue read themselves on entry. The only effect a user sees: a
page asked for later re-runs the statement (read-only, see below). Owners
should still ``release()`` what they stop reading (the CLI does at
``--limit``; the query panel after 5 s without paging).

**Re-runs never write.** The first run of a streamed statement is the user's
statement: a SELECT calling a writing function writes, once. Every re-run
(after its cursor went away) starts ``BEGIN READ ONLY``, so such a statement
fails with "this result cannot be re-read: the statement writes" instead of
writing twice. Known gap: inside a user's own read-write transaction a cursor
that went away (``release()``, eviction, a NO SCROLL cursor paged backwards)
is re-declared in that transaction.

**Cancel.** "Is a statement running" and the cancel request happen under one
lock, and so do setting and clearing the running flag (with the request flag
cleared at each start), so a cancel never reaches the next statement nor an
internal follow-up query. EXPLAIN runs through the same mechanism. Inside a
user's transaction (typed ``BEGIN`` or ``begin()``) the cursor is declared in
that transaction and closed when read to the end. A locking SELECT (``FOR
UPDATE``...) cannot be scrollable, so it gets a ``NO SCROLL`` cursor that
re-runs to go backwards. Such a result's ``status`` is PostgreSQL's tag
``SELECT n`` when the first page holds every row, and a bare ``SELECT`` while
more follow (the count is known only at the end).

Cursors are opaque strings naming a result (its ``handle``) and a row offset.
An older page is read again with ``MOVE ABSOLUTE``. When the cursor's state is
gone (released, its transaction ended, the connection was reconnected) a READ
statement is re-run and positioned with ``MOVE``; anything else raises
``QueryFailed`` saying the result has expired.

Every other statement (INSERT ... RETURNING, SHOW, EXPLAIN, FETCH from the
user's own cursor, DDL) runs on a plain cursor. libpq receives such a result
whole; of its rows at most ``plain_rows_kept`` (10,000) are kept, converted,
for paging, and a notice says when more were cut.

**Values.** The same neutral values as the rest of the backend: psycopg 3's
own for numbers (``Decimal`` for numeric), booleans, text, bytea (bytes),
json (parsed), dates and times (aware for ``timestamptz``), intervals
(``timedelta``), and lists for arrays of those; the server's text for every
other type (ranges, uuid, inet, money, records...) and for the values Python
cannot hold or would change (``infinity``, BC dates, ``24:00``, intervals of
months or years).

**Sessions.** Everything a user types runs on one autocommit session of its
own (the query session), so SET, temporary tables and cursors persist between
statements; catalog reads never run on it. A connection that dies raises
``ConnectionLost`` and the next call reconnects (a fresh session: SET and
temporary tables are gone).

**Read-only connections.** The session starts with
``default_transaction_read_only``; on top of that, outside a user's
transaction every statement runs inside a ``BEGIN READ ONLY`` of ours that
ends in ``ROLLBACK``, never ``COMMIT``, so whatever transactional slipped
through (a large object, a NOTIFY) is undone, and a ``COMMIT`` inside a
function fails. The exceptions: a SET/RESET of a setting that may change
runs as it is (the ROLLBACK would undo it), and a cursor must be declared in
a transaction the user opened (ours would drop it at once). Before anything is sent, judged from pglast's parse tree:
only reading statements run (SELECT/VALUES/TABLE/WITH without a
data-modifying CTE, SHOW, EXPLAIN, cursors, harmless SET/RESET/DISCARD,
UNLISTEN); transaction control, SET of the settings above, ``RESET ALL``,
``DISCARD ALL``, NOTIFY/LISTEN, PREPARE/EXECUTE/DEALLOCATE, DO, CALL, COPY,
VACUUM, ALTER SYSTEM and every write or schema change are refused, and so is
any call, anywhere in the tree (subqueries, CTEs, EXPLAIN bodies), of a
function in ``SIDE_EFFECT_FUNCTIONS``: what PostgreSQL lets a read-only
transaction do outside the database. ``begin()``/``rollback()`` (storescope's
own) still open and end a read-only transaction; ``commit()`` rolls back.
The session setting is checked before each call and after each statement
and page: a change slipped through a function defined in the database is
undone and reported. Not covered: functions and views defined in the
database that call such functions, or extensions' functions not in the
table. Use a role without those privileges for production.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import psycopg.conninfo
import psycopg.types.datetime as pg_datetime
from pglast import ast as pg_ast
from psycopg import postgres as pg_types
from psycopg import pq
from psycopg.types.string import TextLoader

from .. import cursors
from ..errors import (
    BackendError,
    Cancelled,
    ConnectionFailed,
    ConnectionLost,
    NotSupported,
    QueryFailed,
    ReadOnly,
)
from ..types import Column, Page, Result, Statement, StatementKind, TransactionState
from .core import (
    _NEUTRAL_SCALARS,
    PostgresCore,
    _encode_cursor,
    bounded,
    error_for_sqlstate,
)
from .sql_text import (
    READ_ONLY,
    SIDE_EFFECT_FUNCTIONS,
    Shape,
    analyse,
    function_name,
    read_only_refusal,
    split_statements,
    walk,
)

_TX = pq.TransactionStatus
_EXPIRED = "this result has expired; run the statement again"
_WRITES = "this result cannot be re-read: the statement writes; run it again to see more"
_READ_ONLY = READ_ONLY

# -- values -----------------------------------------------------------------------------

# Columns of these types hold values that are never long nor driver objects.
_PLAIN_OIDS = frozenset({16, 20, 21, 23, 26, 700, 701, 1700, 1082, 1083, 1114, 1184, 1186, 1266})
# Arrays of types that load as neutral values (lists of them).
_NEUTRAL_ARRAYS = frozenset(
    {1000, 1001, 1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1231,
     1182, 1183, 1115, 1185, 1187, 1270, 199, 3807}
)  # fmt: skip
_NEUTRAL_OIDS = _NEUTRAL_SCALARS | _NEUTRAL_ARRAYS | {705}  # 705: unknown, i.e. text


def _keeping_text(base: type[Any], keep: Callable[[str], bool]) -> type[Any]:
    """A loader of ``base``'s type that returns the server's text where
    ``keep`` says Python's value would be wrong, or where loading fails."""

    class KeepingText(base):  # type: ignore[misc]
        def load(self, data: Any) -> Any:
            text = bytes(data).decode("utf-8", "replace")
            if keep(text):
                return text
            try:
                return super().load(data)
            except (ValueError, OverflowError, psycopg.DataError):
                return text

    KeepingText.__name__ = f"KeepingText{base.__name__}"
    return KeepingText


def _neutral_loaders(adapters: Any) -> None:
    """Make ``adapters`` (a connection's) load what the rest of the backend
    returns: the server's text for every built-in type outside the neutral
    ones, and text for dates and times Python cannot hold (see the module
    docstring). Types psycopg does not know already arrive as text."""
    for info in pg_types.types:
        for oid in (info.oid, getattr(info, "array_oid", 0)):
            if oid and oid not in _NEUTRAL_OIDS:
                adapters.register_loader(oid, TextLoader)

    # 'infinity', '-infinity' and '... BC' are the texts not ending in a digit.
    def date_like(v: str) -> bool:
        return v[-1:] > "9"

    for oid, base, keep in (
        (1082, pg_datetime.DateLoader, date_like),
        (1114, pg_datetime.TimestampLoader, date_like),
        (1184, pg_datetime.TimestamptzLoader, date_like),
        (1083, pg_datetime.TimeLoader, lambda v: v.startswith("24:")),
        (1266, pg_datetime.TimetzLoader, lambda v: v.startswith("24:")),
        (1186, pg_datetime.IntervalLoader, lambda v: "mon" in v or "year" in v),
    ):
        adapters.register_loader(oid, _keeping_text(base, keep))


def _cell(value: Any, whole: bool = False) -> Any:
    if isinstance(value, memoryview):
        value = value.tobytes()
    elif isinstance(value, list):
        return [_cell(v, whole) for v in value]
    return value if whole else bounded(value)  # whole: execute(whole=True), issue 8 item 6


def _convert(
    rows: Sequence[tuple[Any, ...]], positions: Sequence[int], whole: bool = False
) -> list[tuple[Any, ...]]:
    if not positions:
        return list(rows)
    out = []
    for row in rows:
        values = list(row)
        for i in positions:
            values[i] = _cell(values[i], whole)
        out.append(tuple(values))
    return out


class _ExtendedCursor(psycopg.Cursor[Any]):
    """A cursor that always sends the extended query protocol (Parse, Bind,
    Execute), even without parameters: the server then refuses a text that
    holds more than one statement, instead of running them all as the
    simple protocol does. psycopg chooses the simple protocol for a
    parameterless ``execute`` in this one private method; forcing it here is
    the smallest change (tests/backends/test_pg_read_only.py checks it)."""

    def _execute_send(
        self, query: Any, *, force_extended: bool = False, binary: Any = None
    ) -> None:
        super()._execute_send(query, force_extended=True, binary=binary)


# -- results --------------------------------------------------------------------------------


@dataclasses.dataclass(eq=False, slots=True)
class _Live:
    """A server-side cursor of a result."""

    name: str
    conn: Any
    epoch: int  # the transaction it lives in (see ``_epoch``)
    internal: bool  # in our read transaction (not the user's)
    delivered: int = 0  # rows handed out up to the last page's end
    buffer: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)  # fetched, not handed

    @property
    def position(self) -> int:
        """Rows the server cursor has moved past."""
        return self.delivered + len(self.buffer)


@dataclasses.dataclass(eq=False, slots=True)
class _Query:
    """What the backend remembers of a result, under its handle."""

    handle: str
    statement: str
    body: str  # the statement without its ';' (what follows DECLARE ... FOR)
    rerun: bool  # a streamed READ: may be re-run when its cursor is gone
    scroll: bool
    columns: tuple[Column, ...] = ()
    convert: tuple[int, ...] = ()
    live: _Live | None = None
    kept: list[tuple[Any, ...]] | None = None  # a plain statement's rows
    declared: bool = False  # ran once: any later DECLARE is a re-run
    whole: bool = False  # values never cut to previews (``execute(whole=True)``)


@dataclasses.dataclass(slots=True)
class _Run:
    """One cancellable statement: whether ``cancel()`` was asked while it ran."""

    cancelled: bool = False


def _decode(cursor: str) -> tuple[str, int]:
    try:
        token = json.loads(cursors.decode_cursor(cursor))  # bounded (backends.cursors)
    except (ValueError, RecursionError) as e:  # CursorError, JSON and UTF-8 errors
        raise QueryFailed("this result cursor is not valid", title="Invalid cursor") from e
    if (
        not isinstance(token, dict)
        or token.get("m") != "q"
        or not isinstance(token.get("h"), str)
        or not isinstance(token.get("o"), int)
        or token["o"] < 0
    ):
        raise QueryFailed("this result cursor is not valid", title="Invalid cursor")
    return token["h"], token["o"]


_SQL_COMPLETIONS = """
(SELECT nspname::text, 'schema', 0 FROM pg_catalog.pg_namespace
  WHERE nspname !~ '^pg_toast' AND nspname !~ '^pg_temp_'
  ORDER BY 1)
UNION ALL
(SELECT CASE WHEN pg_catalog.pg_table_is_visible(c.oid) THEN pg_catalog.quote_ident(c.relname)
             ELSE pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) END,
        CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'matview' ELSE 'table' END, 1
   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY 1 LIMIT %s)
UNION ALL
(SELECT DISTINCT pg_catalog.quote_ident(p.proname), 'function', 2
   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY 1 LIMIT %s)
UNION ALL
(SELECT pg_catalog.quote_ident(c.relname) || '.' || pg_catalog.quote_ident(a.attname), 'column', 3
   FROM pg_catalog.pg_attribute a
   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  ORDER BY c.relname, a.attnum LIMIT %s)
LIMIT %s
"""


_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_SAVEPOINT = "storescope_explain"


class QuerySession:
    """The query session of a PostgreSQL backend: QUERY, CANCEL and
    TRANSACTIONS (and the EXPLAIN of ``Explainer``), on a psycopg 3
    connection of its own (see the module docstring)."""

    def __init__(self, core: PostgresCore) -> None:
        # The backend's connections and settings: read_only, the libpq
        # keywords, the message scrubber, the catalog connection (for
        # completions) and the tunables ``read_idle_timeout``,
        # ``plain_rows_kept``, ``max_results``, ``max_kept_results`` and
        # ``max_completions`` (read at each use: owners may change them).
        self._core = core
        self._session: Any = None  # the query session (psycopg 3), opened on first use
        self._notice_buffer: list[str] = []
        self._results: OrderedDict[str, _Query] = OrderedDict()
        # Bumped whenever a transaction holding cursors may have ended: a
        # cursor of an older epoch is gone (re-run or expired).
        self._epoch = 0
        self._read_txn: Any = None  # the connection our read transaction is open on
        self._cursor_names = itertools.count(1)
        self._type_names: dict[int, str] = {}
        self._type_names_conn: Any = None
        # cancel() runs on another thread: "is a statement running" and
        # "send the cancel" happen under one lock, as do setting and clearing
        # the running flag, so a cancel never reaches the next statement.
        self._cancel_lock = threading.Lock()
        self._running = False
        self._cancel_requested = False
        self._last_state = TransactionState.IDLE
        # Held for each call of this session (explain included), and by the timer
        # that ends an idle read transaction (see the module docstring).
        self._lock = threading.RLock()
        self._idle_since: float | None = None
        self._timer: threading.Timer | None = None
        self._expiry_error: psycopg.Error | None = None

    @property
    def lock(self) -> threading.RLock:
        """Held for each call of this session and by its idle timer: the
        backend closes everything under it."""
        return self._lock

    def close(self) -> None:
        """Forget the session (and our read transaction), closing its
        connection; the next call opens a fresh one."""
        with self._lock:
            self._disarm()
            self._read_txn = None
            self._idle_since = None
            self._epoch += 1
            conn, self._session = self._session, None
            if conn is not None:
                # Closing a session that already died can only fail in ways
                # that do not matter: it is being thrown away.
                with contextlib.suppress(psycopg.Error):
                    conn.close()

    def own_pids(self) -> set[int]:
        """The backend pid of the query session, when it is open."""
        conn = self._session
        if conn is not None and not conn.closed:
            return {int(conn.info.backend_pid)}
        return set()

    # -- the query session ------------------------------------------------------------------

    def _conn(self) -> Any:
        """The query session (psycopg 3, extended protocol), opened on first use."""
        conn = self._session
        if conn is not None and not conn.closed:
            return conn
        # The same libpq keywords as every other connection (keepalives and
        # tcp_user_timeout included: a server that stops answering is noticed).
        params = self._core.connect_params(self._core._primary())
        try:
            # prepare_threshold=None: psycopg would otherwise prepare a
            # statement run five times, visible in pg_prepared_statements.
            conn = psycopg.Connection.connect(
                psycopg.conninfo.make_conninfo(**params),
                autocommit=True,
                prepare_threshold=None,
                cursor_factory=_ExtendedCursor,
            )
        except psycopg.Error as e:
            raise ConnectionFailed(self._message(e, full=True)) from e
        try:
            _neutral_loaders(conn.adapters)
            conn.add_notice_handler(self._on_notice)
            if self._core.read_only:
                conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as e:
            conn.close()
            raise ConnectionFailed(self._message(e)) from e
        self._session = conn
        self._read_txn = None
        self._epoch += 1
        return conn

    def _on_notice(self, diag: Any) -> None:
        text = f"{diag.severity or 'NOTICE'}: {diag.message_primary or ''}"
        if diag.message_detail:
            text += f" DETAIL: {diag.message_detail}"
        if diag.message_hint:
            text += f" HINT: {diag.message_hint}"
        self._notice_buffer.append(text)

    def _message(self, e: psycopg.Error, *, full: bool = False) -> str:
        primary = e.diag.message_primary
        if primary:
            return self._core._scrub(str(primary))
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
        text = " ".join(lines) if full else (lines[0] if lines else type(e).__name__)
        return self._core._scrub(text)

    def _drop(self, conn: Any) -> None:
        """The session is gone (terminated, server shutting down): so are its
        SET state, temporary tables and cursors. The next call reconnects."""
        if self._read_txn is conn:
            self._read_txn = None
        if self._session is conn:
            self._session = None
        self._epoch += 1
        with contextlib.suppress(psycopg.Error):
            conn.close()

    def _translate(self, e: psycopg.Error, conn: Any, db: str) -> BackendError:
        message = self._message(e)
        if conn.closed or conn.broken:
            self._drop(conn)
            return ConnectionLost(f"the connection to database {db} was lost: {message}")
        return error_for_sqlstate(e.sqlstate or "", message)

    # -- QUERY ------------------------------------------------------------------------------

    def split(self, text: str) -> list[Statement]:
        return split_statements(text)

    def execute(self, statement: str, *, limit: int = 200, whole: bool = False) -> Result:
        """Run one statement (see ``Backend.execute``). A streamed result
        keeps a read transaction open until it is read to the end, released
        (``release(result.handle)``), another statement runs, or
        ``read_idle_timeout`` seconds pass without a page: owners of a result
        they stop reading should release it."""
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        parts = analyse(statement)
        if len(parts) > 1:
            raise QueryFailed(
                f"this text holds {len(parts)} statements; run them one at a time",
                position=parts[1][0].start,
            )
        with self._interactive_call(end_reads=True):
            db = self._core._primary()
            conn = self._conn()
            if not parts:
                return Result(statement=statement)
            stmt, shape = parts[0]
            if self._core.read_only:
                self._refuse_read_write(conn, stmt, shape)
            node = shape.node
            if isinstance(node, pg_ast.CopyStmt) and node.filename is None and not node.is_program:
                raise QueryFailed(
                    "COPY ... FROM STDIN / TO STDOUT needs a client-side stream; "
                    "use COPY with a server file, or psql's \\copy",
                    title="Not supported here",
                )
            body = statement[: stmt.end - 1] if stmt.text.endswith(";") else statement[: stmt.end]
            query = _Query(
                handle=secrets.token_hex(8),
                statement=statement,
                body=body,
                rerun=shape.declare,
                scroll=shape.scroll,
                whole=whole,
            )
            self._notice_buffer.clear()
            started = time.perf_counter()
            if not shape.declare:
                return self._plain(conn, db, query, shape, stmt, limit, started)
            rows = self._declare(conn, db, query, 0, limit)
            elapsed = time.perf_counter() - started
            if self._core.read_only:
                self._check_still_read_only(conn, db)
            more = len(rows) > limit
            if more:
                self._remember(query)
            else:
                self._finish(query)
            return Result(
                statement=statement,
                columns=query.columns,
                rows=tuple(rows[:limit]),
                next_cursor=self._cursor(query, limit) if more else None,
                handle=query.handle if more else None,
                status="SELECT" if more else f"SELECT {len(rows)}",
                elapsed=elapsed,
                notices=self._notices(),
            )

    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        handle, offset = _decode(cursor)
        with self._interactive_call():
            query = self._results.get(handle)
            if query is None:
                raise QueryFailed(_EXPIRED, title="Result expired")
            self._results.move_to_end(handle)
            if query.kept is not None:
                rows = query.kept[offset : offset + limit + 1]
            else:
                db = self._core._primary()
                conn = self._conn()
                live = query.live
                if live is not None and not self._alive(live, conn):
                    query.live = live = None
                if live is None and not query.rerun:
                    raise QueryFailed(_EXPIRED, title="Result expired")
                if live is None:
                    rows = self._declare(conn, db, query, offset, limit)
                else:
                    rows = self._continue(conn, db, query, live, offset, limit)
                if self._core.read_only:
                    self._check_still_read_only(conn, db)
                if len(rows) <= limit:
                    self._finish(query)
            more = len(rows) > limit
            return Page(
                columns=query.columns,
                rows=tuple(rows[:limit]),
                next_cursor=self._cursor(query, offset + limit) if more else None,
            )

    def release(self, handle: str) -> None:
        """Free a result's server state (see ``Backend.release``): here its
        cursor and, with the last unfinished result, our read transaction,
        whose snapshot and share locks hold back VACUUM and other sessions'
        ALTER TABLE. Call it for every result not read to its end."""
        with self._interactive_call():
            query = self._results.get(handle)
            if query is None:
                return
            query.kept = None
            if not query.rerun:  # nothing to re-run it from: forget it
                del self._results[handle]
            self._finish(query)

    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        with self._interactive_call():
            db = path[0] if path else self._core._primary()
            rows = self._core._query(db, _SQL_COMPLETIONS, (self._core.max_completions,) * 4)
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        for name, kind, _ in rows:
            if (name, kind) not in seen:
                seen.add((name, kind))
                out.append((name, kind))
        return out

    # -- EXPLAIN (the statement of Explainer.explain, on the query session) ------------------

    def explain_json(self, statement: str, *, analyze: bool, buffers: bool) -> str:
        """EXPLAIN (FORMAT JSON) of the one statement in ``statement``, as
        text. EXPLAIN takes one statement: a second one would run
        un-explained (and, with ANALYZE, for real)."""
        parts = analyse(statement)
        if not parts:
            raise QueryFailed("there is no statement to explain")
        if len(parts) > 1:
            raise QueryFailed(
                f"EXPLAIN takes one statement; this text holds {len(parts)}",
                position=parts[1][0].start,
            )
        stmt, shape = parts[0]
        body = stmt.text[:-1] if stmt.text.endswith(";") else stmt.text
        # Anything but a plain SELECT/VALUES/TABLE/WITH that reads (no
        # data-modifying CTE, SELECT INTO or locking clause) may write.
        if analyze and self._core.read_only and not (shape.declare and shape.scroll):
            raise ReadOnly(
                "this connection is read-only and EXPLAIN ANALYZE would execute this "
                "statement (it would be rolled back); EXPLAIN without ANALYZE works"
            )
        with self._interactive_call(end_reads=True):
            db = self._core._primary()
            conn = self._conn()
            if self._core.read_only:
                self._refuse_read_write(conn, stmt, shape, planned_only=not analyze)
            options = ["FORMAT JSON"]
            if analyze:
                options.append("ANALYZE")
            if buffers and (analyze or conn.info.server_version >= 130000):
                options.append("BUFFERS")  # before PG 13 BUFFERS needs ANALYZE
            prefix = f"EXPLAIN ({', '.join(options)}) "
            run = _Run()
            try:
                return self._run_explain(conn, prefix + body, contained=analyze, run=run)
            except psycopg.Error as e:
                raise self._explain_error(e, conn, db, len(prefix), stmt.start, run) from e

    def _run_explain(self, conn: Any, query: str, *, contained: bool, run: _Run) -> str:
        """Run ``query`` and return its JSON text. ``contained``: inside a
        transaction (or savepoint) that is rolled back, so what it executes
        leaves no trace. In a user's transaction the savepoint also keeps a
        failing EXPLAIN from aborting that transaction. On a read-only
        connection it always runs in a read-only transaction: planning may
        evaluate (immutable) functions. ``run`` says whether it was cancelled."""
        cur = conn.cursor()
        cur.adapters.register_loader(114, TextLoader)  # the plan as json text
        if conn.info.transaction_status != _TX.IDLE:
            cur.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                row = self._explain_row(cur, query, run)
            finally:
                cur.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                cur.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        elif contained or self._core.read_only:
            cur.execute("BEGIN READ ONLY" if self._core.read_only else "BEGIN")
            try:
                row = self._explain_row(cur, query, run)
            finally:
                cur.execute("ROLLBACK")
        else:
            row = self._explain_row(cur, query, run)
        if row is None:
            raise QueryFailed("EXPLAIN returned no plan")
        return str(row[0])

    def _explain_row(self, cur: Any, query: str, run: _Run) -> Any:
        """The EXPLAIN itself, the one part ``cancel()`` may stop."""
        failed: psycopg.Error | None = None
        with self._cancellable() as running:
            try:
                cur.execute(query)
            except psycopg.Error as e:
                failed = e
        run.cancelled = running.cancelled  # final once the statement is over
        if failed is not None:
            raise failed
        return cur.fetchone()

    def _explain_error(
        self, e: psycopg.Error, conn: Any, db: str, prefix: int, start: int, run: _Run
    ) -> BackendError:
        """PostgreSQL's error, with its position moved from the text we sent
        (1-based, after a ``prefix``-character "EXPLAIN (...) ") to the user's
        text (0-based, where the statement begins at ``start``)."""
        error = self._translate(e, conn, db)
        if type(error) is not QueryFailed:
            return error
        position = None
        raw = e.diag.statement_position
        if raw is not None and str(raw).isdigit() and int(raw) - 1 >= prefix:
            position = int(raw) - 1 - prefix + start
        cancelled = e.sqlstate == "57014" and (run.cancelled or "user request" in error.message)
        cls = Cancelled if cancelled else QueryFailed
        return cls(error.message, position=position)

    # -- CANCEL -----------------------------------------------------------------------------

    def cancel(self) -> None:
        with self._cancel_lock:
            if not self._running:
                return
            conn = self._session
            if conn is None or conn.closed:
                return
            self._cancel_requested = True
            try:
                conn.cancel_safe(timeout=max(2.0, self._core.connect_timeout))
            except psycopg.Error as e:
                raise QueryFailed(f"could not cancel: {self._message(e)}") from e

    @contextlib.contextmanager
    def _cancellable(self) -> Iterator[_Run]:
        """Marks a user's statement as running, so ``cancel()`` may stop it;
        internal follow-up queries run outside and are never cancelled."""
        run = _Run()
        with self._cancel_lock:
            self._cancel_requested = False
            self._running = True
        try:
            yield run
        finally:
            with self._cancel_lock:
                run.cancelled = self._cancel_requested
                self._running = False
                self._cancel_requested = False

    # -- TRANSACTIONS -----------------------------------------------------------------------

    def begin(self) -> None:
        self._transaction_command("BEGIN READ ONLY" if self._core.read_only else "BEGIN")

    def commit(self) -> None:
        """Commit the user's transaction; on a read-only connection end it
        with ROLLBACK instead: whatever a read-only transaction did (a large
        object, a NOTIFY) is undone, never committed."""
        if self._core.read_only:
            self._transaction_command("ROLLBACK")
            return
        if self._transaction_command("COMMIT") == "ROLLBACK":
            raise QueryFailed(
                "the transaction had failed, so COMMIT rolled it back: nothing was committed",
                title="Transaction rolled back",
            )

    def rollback(self) -> None:
        self._transaction_command("ROLLBACK")

    def transaction_state(self) -> TransactionState:
        conn = self._session
        if conn is None or conn.closed:
            return TransactionState.IDLE
        status = conn.info.transaction_status
        if status == _TX.ACTIVE:
            return self._last_state  # a statement is running: as it was before
        if status == _TX.INERROR:
            return TransactionState.FAILED
        if status == _TX.INTRANS and self._read_txn is not conn:
            return TransactionState.OPEN
        return TransactionState.IDLE

    def _transaction_command(self, command: str) -> str:
        with self._interactive_call(end_reads=True):
            db = self._core._primary()
            conn = self._conn()
            cur = conn.cursor()
            self._run(conn, db, cur, [(command, 0)], statement=command)
            self._epoch += 1
            self._last_state = self.transaction_state()
            return str(cur.statusmessage or "")

    # -- calls and idle read transactions ------------------------------------------------------

    @contextlib.contextmanager
    def _interactive_call(self, *, end_reads: bool = False) -> Iterator[None]:
        """One call on the query session: holds the call lock (the idle
        timer waits), first ends a read transaction idle too long (or, with
        ``end_reads``, any: another statement is about to run) and puts a
        read-only session's setting back; afterwards arms the idle timer."""
        with self._lock:
            self._disarm()
            try:
                failed, self._expiry_error = self._expiry_error, None
                conn = self._session
                if failed is not None and conn is not None:
                    raise self._translate(failed, conn, self._core._primary())
                if conn is not None and not conn.closed:
                    db = self._core._primary()
                    idle = self._idle_since
                    if end_reads or (
                        idle is not None and time.monotonic() - idle >= self._core.read_idle_timeout
                    ):
                        self._end_read_transaction(conn, db)
                    if self._core.read_only:
                        self._restore_read_only(conn, db)
                yield
            finally:
                self._arm()

    def _disarm(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _arm(self) -> None:
        """After a call: when our read transaction stays open (a result not
        read to its end), end it ``read_idle_timeout`` seconds from now
        unless another call comes first."""
        conn = self._read_txn
        if conn is None or conn.closed:
            self._idle_since = None
            return
        self._idle_since = time.monotonic()
        self._schedule(self._core.read_idle_timeout)

    def _schedule(self, delay: float) -> None:
        self._disarm()
        timer = threading.Timer(max(0.0, delay), self._on_idle_timer)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _on_idle_timer(self) -> None:
        """The timer thread: end our read transaction if it is still idle.
        Never waits for a running call (it re-arms the timer when it ends)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._timer is not threading.current_thread():
                return  # disarmed or replaced meanwhile
            self._timer = None
            conn, idle = self._read_txn, self._idle_since
            if conn is None or conn.closed or idle is None:
                return
            left = idle + self._core.read_idle_timeout - time.monotonic()
            if left > 0 or conn.info.transaction_status == _TX.ACTIVE:
                # Early, or another method is using the connection right now.
                self._schedule(max(left, 0.1))
                return
            self._read_txn, self._idle_since = None, None
            self._epoch += 1
            if conn.info.transaction_status != _TX.INTRANS:
                return
            try:
                conn.execute(self._read_end)
            except psycopg.Error as e:
                # Reported by the next call (this thread has no caller).
                self._expiry_error = e
        finally:
            self._lock.release()

    @property
    def _read_end(self) -> str:
        """How our read transactions end: a read-only one never commits."""
        return "ROLLBACK" if self._core.read_only else "COMMIT"

    # -- running ----------------------------------------------------------------------------

    def _run(
        self,
        conn: Any,
        db: str,
        cur: Any,
        steps: Sequence[tuple[str, int | None]],
        *,
        statement: str,
    ) -> None:
        """Execute each ``(text, offset)`` of ``steps`` in turn, one statement
        each, where the user's ``statement`` starts after ``offset``
        characters of ours (``None``: it is not in there), translating
        errors. The one place that blocks on a user's statement, so the one
        place ``cancel()`` interrupts."""
        failed: psycopg.Error | None = None
        offset: int | None = None
        with self._cancellable() as run:
            for text, at in steps:
                try:
                    cur.execute(text)
                except psycopg.Error as e:
                    failed, offset = e, at
                    break
        try:
            if failed is not None:
                raise self._failed(
                    failed, conn, db, statement, offset, cancelled=run.cancelled
                ) from failed
        finally:
            self._last_state = self.transaction_state()

    def _failed(
        self,
        e: psycopg.Error,
        conn: Any,
        db: str,
        statement: str,
        offset: int | None,
        *,
        cancelled: bool,
    ) -> BackendError:
        if conn.closed or conn.broken or e.sqlstate in ("57P01", "57P02", "57P03"):
            self._drop(conn)
            return ConnectionLost(f"the connection to database {db} was lost: {self._message(e)}")
        self._recover(conn, db)
        message = self._detailed(e)
        if e.sqlstate == "57014" and (cancelled or "user request" in message):
            return Cancelled(message)
        if e.sqlstate == "25006":
            return ReadOnly(message)
        position = None
        raw = e.diag.statement_position
        if raw and offset is not None:
            at = int(raw) - 1 - offset
            if 0 <= at <= len(statement):
                position = at
        title = "Permission denied" if e.sqlstate == "42501" else None
        return QueryFailed(message, title, position=position)

    def _recover(self, conn: Any, db: str) -> None:
        """After an error inside our read transaction, roll it back (its
        cursors are gone); a user's failed transaction stays for them to end."""
        if self._read_txn is not conn:
            return
        self._read_txn = None
        self._epoch += 1
        if conn.info.transaction_status == _TX.IDLE:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error as e:
            raise self._translate(e, conn, db) from e

    def _detailed(self, e: psycopg.Error) -> str:
        """PostgreSQL's message, with its DETAIL and HINT as psql shows them."""
        text = self._message(e)
        if e.diag.message_detail:
            text += f" DETAIL: {e.diag.message_detail}"
        if e.diag.message_hint:
            text += f" HINT: {e.diag.message_hint}"
        return self._core._scrub(text)

    def _alive(self, live: _Live, conn: Any) -> bool:
        return live.conn is conn and not conn.closed and live.epoch == self._epoch

    def _notices(self) -> tuple[str, ...]:
        notices = tuple(self._core._scrub(" ".join(n.split())) for n in self._notice_buffer)
        self._notice_buffer.clear()
        return notices

    def _end_read_transaction(self, conn: Any, db: str) -> None:
        """End our read transaction (closing its cursors) before anything else runs."""
        if self._read_txn is None:
            return
        txn, self._read_txn = self._read_txn, None
        self._epoch += 1
        if txn is not conn or conn.closed:
            return
        if conn.info.transaction_status == _TX.IDLE:
            return
        try:
            conn.execute(self._read_end)
        except psycopg.Error as e:
            raise self._translate(e, conn, db) from e

    def _declare(self, conn: Any, db: str, query: _Query, offset: int, limit: int) -> list[Any]:
        """Declare ``query``'s cursor and fetch the page at ``offset`` (the
        ``limit + 1``-th row, if any, is kept for the next page)."""
        status = conn.info.transaction_status
        internal = status == _TX.IDLE or (self._read_txn is conn and status == _TX.INTRANS)
        rerun = query.declared
        steps: list[tuple[str, int | None]] = []
        if status == _TX.IDLE:
            # The first run is the user's statement, writes and all (a SELECT
            # may write through a function). A re-run must not write again:
            # in a read-only transaction such a statement fails instead.
            steps.append(("BEGIN READ ONLY" if self._core.read_only or rerun else "BEGIN", None))
        name = f"storescope_q{next(self._cursor_names)}"
        prefix = f"DECLARE {name} {'' if query.scroll else 'NO '}SCROLL CURSOR FOR "
        steps.append((prefix + query.body, len(prefix)))
        if offset:
            steps.append((f"MOVE FORWARD {offset} IN {name}", None))
        steps.append((f"FETCH FORWARD {limit + 1} FROM {name}", None))
        cur = conn.cursor()
        if query.live is not None:
            self._close_live(query)
        if status == _TX.IDLE:
            self._read_txn = conn  # before running: a failure must roll it back
        try:
            self._run(conn, db, cur, steps, statement=query.statement)
        except ReadOnly as e:
            if not rerun or self._core.read_only or status != _TX.IDLE:
                raise
            query.rerun = False  # it will fail the same way every time
            raise QueryFailed(_WRITES, title="Result expired") from e
        query.declared = True
        query.live = _Live(name=name, conn=conn, epoch=self._epoch, internal=internal)
        rows = cur.fetchall()
        if not query.columns:
            query.columns, query.convert = self._columns(conn, db, cur.description)
        return self._take(query, query.live, offset, rows, limit)

    def _continue(
        self, conn: Any, db: str, query: _Query, live: _Live, offset: int, limit: int
    ) -> list[Any]:
        """The page at ``offset`` from a cursor still open."""
        rows: list[Any] = []
        steps: list[tuple[str, int | None]]
        if offset == live.delivered:
            rows, live.buffer = live.buffer, []
            steps = [(f"FETCH FORWARD {limit + 1 - len(rows)} FROM {live.name}", None)]
        elif query.scroll:
            live.buffer = []
            steps = [
                (f"MOVE ABSOLUTE {offset} IN {live.name}", None),
                (f"FETCH FORWARD {limit + 1} FROM {live.name}", None),
            ]
        elif offset > live.delivered:
            skip = offset - live.delivered
            kept = live.buffer[skip:]
            moved = max(0, skip - len(live.buffer))
            rows, live.buffer = kept, []
            steps = [(f"MOVE FORWARD {moved} IN {live.name}", None)] if moved else []
            steps.append((f"FETCH FORWARD {limit + 1 - len(rows)} FROM {live.name}", None))
        else:  # backwards on a NO SCROLL cursor: start it again
            return self._declare(conn, db, query, offset, limit)
        if len(rows) > limit:
            fetched: list[Any] = []
        else:
            cur = conn.cursor()
            self._run(conn, db, cur, steps, statement=query.statement)
            fetched = cur.fetchall()
        converted = _convert(fetched, query.convert, query.whole)
        return self._take(query, live, offset, rows + converted, limit, converted=True)

    def _take(
        self,
        query: _Query,
        live: _Live,
        offset: int,
        rows: list[Any],
        limit: int,
        *,
        converted: bool = False,
    ) -> list[Any]:
        if not converted:
            rows = _convert(rows, query.convert, query.whole)
        live.delivered = offset + min(len(rows), limit)
        live.buffer = rows[limit:]
        return rows

    def _finish(self, query: _Query) -> None:
        """The result was read to its end or released: free its cursor, and end
        our read transaction when no other result of it is still being read."""
        live, query.live = query.live, None
        if live is None:
            return
        conn = live.conn
        if not self._alive(live, conn):
            return
        db = self._core._primary()
        others = [
            q
            for q in self._results.values()
            if q is not query
            and q.live is not None
            and self._alive(q.live, conn)
            and q.live.internal
        ]
        try:
            if live.internal and not others:
                self._end_read_transaction(conn, db)
            elif conn.info.transaction_status != _TX.INERROR:
                conn.execute(f"CLOSE {live.name}")
        except psycopg.Error as e:
            raise self._translate(e, conn, db) from e

    def _close_live(self, query: _Query) -> None:
        live, query.live = query.live, None
        if live is None or not self._alive(live, live.conn):
            return
        if live.conn.info.transaction_status == _TX.INERROR:
            return
        try:
            live.conn.execute(f"CLOSE {live.name}")
        except psycopg.Error as e:
            raise self._translate(e, live.conn, self._core._primary()) from e

    def _remember(self, query: _Query) -> None:
        self._results[query.handle] = query
        self._results.move_to_end(query.handle)
        while len(self._results) > self._core.max_results:
            oldest = next(iter(self._results.values()))
            del self._results[oldest.handle]
            self._finish(oldest)
        kept = [q for q in reversed(self._results.values()) if q.kept is not None]
        for old in kept[self._core.max_kept_results :]:
            del self._results[old.handle]

    def _cursor(self, query: _Query, offset: int) -> str:
        return _encode_cursor({"m": "q", "h": query.handle, "o": offset})

    def _columns(
        self, conn: Any, db: str, description: Any
    ) -> tuple[tuple[Column, ...], tuple[int, ...]]:
        """The result's columns with their type names, and which of them may
        need converting (bytea, long text, arrays...)."""
        if description is None:
            return (), ()
        oids = [int(d.type_code) for d in description]
        if self._type_names_conn is not conn:
            self._type_names, self._type_names_conn = {}, conn
        unknown = sorted({o for o in oids if o not in self._type_names})
        if unknown:
            try:
                cur = conn.execute(
                    "SELECT t.oid::int8, pg_catalog.format_type(t.oid, NULL)"
                    " FROM pg_catalog.pg_type t WHERE t.oid::int8 = ANY(%s)",
                    (unknown,),
                )
                found = cur.fetchall()
            except psycopg.Error as e:
                raise self._translate(e, conn, db) from e
            self._type_names.update({int(o): str(n) for o, n in found})
        columns = tuple(
            Column(name=d.name, type_name=self._type_names.get(o, str(o)))
            for d, o in zip(description, oids, strict=True)
        )
        convert = tuple(i for i, o in enumerate(oids) if o not in _PLAIN_OIDS)
        return columns, convert

    def _plain(
        self,
        conn: Any,
        db: str,
        query: _Query,
        shape: Shape,
        stmt: Statement,
        limit: int,
        started: float,
    ) -> Result:
        """A statement DECLARE does not take: run as it is, rows bounded."""
        before = conn.info.transaction_status
        cur = conn.cursor()
        text = query.statement[: stmt.end]
        transaction = shape.kind is StatementKind.TRANSACTION
        # Read-only: outside a user's transaction every statement runs in a
        # read-only transaction of ours that ends in ROLLBACK, so whatever it
        # does PostgreSQL checks it and nothing transactional is kept. Two
        # exceptions, both judged already (``read_only_refusal``): a SET or
        # RESET of a setting that may change runs as it is (autocommit, in
        # the session's default read-only transaction), or the ROLLBACK would
        # silently undo it; and a cursor, which dies with that ROLLBACK, is
        # refused with a word on where it can live.
        session_setting = shape.isa(pg_ast.VariableSetStmt)
        wrap = (
            self._core.read_only and not transaction and before == _TX.IDLE and not session_setting
        )
        if wrap and shape.isa(pg_ast.DeclareCursorStmt):
            raise QueryFailed(
                "a cursor lives in a transaction, and on a read-only connection every "
                "statement outside yours is rolled back at once: open a transaction "
                "first (transaction mode), then DECLARE and FETCH",
                title="Cursor needs a transaction",
            )
        steps: list[tuple[str, int | None]] = [("BEGIN READ ONLY", None)] if wrap else []
        steps.append((text, 0))
        if wrap:
            self._read_txn = conn  # a failure rolls it back
        try:
            self._run(conn, db, cur, steps, statement=query.statement)
        finally:
            # A transaction's end closes its cursors, and so do CLOSE ALL and DISCARD.
            if transaction or shape.isa(pg_ast.ClosePortalStmt, pg_ast.DiscardStmt):
                self._epoch += 1
        after = conn.info.transaction_status
        if after == _TX.IDLE and before != after:
            self._epoch += 1
        notices = list(self._notices())
        rows: list[Any] = []
        rowcount = cur.rowcount
        if cur.description is not None:
            kept = cur.fetchmany(self._core.plain_rows_kept)
            query.columns, query.convert = self._columns(conn, db, cur.description)
            rows = _convert(kept, query.convert, query.whole)
            if rowcount > len(rows):
                notices.append(
                    f"only the first {len(rows)} of {rowcount} rows were kept; "
                    "a SELECT streams all of its rows"
                )
        elapsed = time.perf_counter() - started
        status = str(cur.statusmessage or "")
        cur.close()
        if wrap:
            self._end_read_transaction(conn, db)
        if self._core.read_only:
            self._check_still_read_only(conn, db)
        tag = status.split(" ", 1)[0]
        count = None
        if (shape.kind is StatementKind.WRITE or tag in _DML or tag == "COPY") and rowcount >= 0:
            count = int(rowcount)
        commit = shape.isa(pg_ast.TransactionStmt) and "COMMIT" in str(
            getattr(shape.node.kind, "name", "")
        )
        if tag == "ROLLBACK" and commit:
            notices.append("the transaction had failed, so COMMIT rolled it back")
        more = len(rows) > limit
        if more:
            query.kept = rows
            self._remember(query)
        self._last_state = self.transaction_state()
        return Result(
            statement=query.statement,
            columns=query.columns,
            rows=tuple(rows[:limit]),
            next_cursor=self._cursor(query, limit) if more else None,
            handle=query.handle if more else None,
            status=status,
            rowcount=count,
            elapsed=elapsed,
            notices=tuple(notices),
        )

    # -- read-only ----------------------------------------------------------------------------

    def _refuse_read_write(
        self, conn: Any, stmt: Statement, shape: Shape, *, planned_only: bool = False
    ) -> None:
        """Refuse, before it is sent, what could make a read-only session
        writable or act outside a read-only transaction's reach (see the
        module docstring). ``planned_only``: the statement is only planned
        (EXPLAIN without ANALYZE), so only its function calls count."""
        if conn.info.parameter_status("standard_conforming_strings") != "on":
            raise ReadOnly(
                f"{_READ_ONLY}, and the server reads strings with "
                "standard_conforming_strings off, unlike the parser storescope judges "
                "statements with; nothing is run (set it on for this role or database)"
            )
        if planned_only:
            calls = [
                function_name(n)
                for n in walk(shape.node)
                if isinstance(n, pg_ast.FuncCall) and function_name(n) in SIDE_EFFECT_FUNCTIONS
            ]
            if shape.node is not None and not calls:
                return
        reason = read_only_refusal(stmt, shape)
        if reason:
            raise ReadOnly(reason)

    def _writable_session(self, conn: Any, db: str) -> bool:
        """Whether default_transaction_read_only is off (reported by the
        server from PostgreSQL 14; asked for before that)."""
        if conn.info.server_version >= 140000:
            return bool(conn.info.parameter_status("default_transaction_read_only") == "off")
        try:
            row = conn.execute("SHOW default_transaction_read_only").fetchone()
        except psycopg.Error as e:
            raise self._translate(e, conn, db) from e
        return row is not None and row[0] == "off"

    def _restore_read_only(self, conn: Any, db: str) -> bool:
        """Turn default_transaction_read_only back on if something turned it
        off; whether it had to."""
        if not self._writable_session(conn, db):
            return False
        try:
            conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as e:
            raise self._translate(e, conn, db) from e
        return True

    def _check_still_read_only(self, conn: Any, db: str) -> None:
        """After a statement or a page: undo a change of
        default_transaction_read_only made through a function. Truthful: the
        statement ran in a read-only transaction, so it wrote nothing."""
        if self._restore_read_only(conn, db):
            raise ReadOnly(
                f"{_READ_ONLY}: the statement turned read-only off; that was undone "
                "(it ran in a read-only transaction, so it wrote nothing)"
            )
