"""PostgreSQL QUERY, CANCEL and TRANSACTIONS: the SQL editor's statements.

**Splitting.** ``split()`` tokenizes with sqlparse's lexer, set up for
PostgreSQL: standard strings where a backslash is an ordinary character
(``'C:\\'`` ends there), ``E'...'`` strings where it escapes, ``"..."``
identifiers, ``--`` comments only (``#`` is an operator here), dollar-quoted
bodies. The splitting itself is ours, not sqlparse's ``StatementSplitter``,
which is written for T-SQL/MySQL/PL-SQL blocks: it would not split after
``BEGIN ISOLATION LEVEL SERIALIZABLE;`` nor after a column called ``go``. A
``;`` ends a statement outside parentheses and outside a SQL-standard function
body (``CREATE FUNCTION ... BEGIN ATOMIC ... END``). Known gap: nested block
comments (``/* /* */ */``) end at the first ``*/``.

**Streaming.** A statement that ``DECLARE`` accepts (SELECT, VALUES, TABLE,
WITH ... SELECT) runs as ``DECLARE c SCROLL CURSOR FOR <statement>`` and its
pages come with ``FETCH FORWARD limit+1`` (the extra row says whether more
follows, and is kept for the next page), so the first rows of a 5M-row result
arrive without the server sending the rest. Outside a user's transaction the
cursor lives in a short read transaction of ours (``BEGIN; DECLARE ...; FETCH``
in one round-trip) that ends, with ``COMMIT``, when the result has been read to
the end, when another statement is executed, on ``release()``, or
``read_idle_timeout`` (5 s) after its last page was handed out. Until then it
holds a snapshot and share locks on the tables read (another session's
ALTER TABLE or CREATE INDEX CONCURRENTLY waits). ``transaction_state()`` does
not count it.

Why a timer: ``idle_in_transaction_session_timeout`` would end the whole
session (its temporary tables and SETs with it), and moving result cursors to
a second connection would hide the session's temporary tables and settings
from the statement. So each call of this mixin (and ``explain``) holds a call
lock and, when it leaves our read transaction open, arms a ``threading.Timer``;
the timer takes the lock without waiting (a running call re-arms it when it
ends), skips while another method is using the connection, and commits. Calls
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
internal follow-up query. EXPLAIN runs through the same mechanism. Inside a user's transaction (typed
``BEGIN`` or ``begin()``) the cursor is declared in that transaction and
closed when read to the end. A locking SELECT (``FOR UPDATE``...) cannot be
scrollable, so it gets a ``NO SCROLL`` cursor that re-runs to go backwards.
Such a result's ``status`` is PostgreSQL's tag ``SELECT n`` when the first page
holds every row, and a bare ``SELECT`` while more follow (the count is known
only at the end).

Cursors are opaque strings naming a result (its ``handle``) and a row offset.
An older page is read again with ``MOVE ABSOLUTE``. When the cursor's state is
gone (released, its transaction ended, the connection was reconnected) a READ
statement is re-run and positioned with ``MOVE``; anything else raises
``QueryFailed`` saying the result has expired.

Every other statement (INSERT ... RETURNING, SHOW, EXPLAIN, FETCH from the
user's own cursor, DDL) runs on a plain cursor. libpq receives such a result
whole; of its rows at most ``plain_rows_kept`` (10,000) are kept, converted,
for paging, and a notice says when more were cut.

**Sessions.** Everything runs on the primary database's autocommit connection,
so SET, temporary tables and prepared statements persist between statements.
A connection that dies raises ``ConnectionLost`` and the next call reconnects
(a fresh session: SET and temporary tables are gone).

**Read-only connections.** The core sets ``default_transaction_read_only``;
on top of that, outside a user's transaction every statement runs inside
``BEGIN READ ONLY; <statement>`` ... ``COMMIT`` of ours, so PostgreSQL itself
checks it: a ``COMMIT`` inside DO/CALL fails ("invalid transaction
termination") instead of starting a writable transaction, and VACUUM or ALTER
SYSTEM cannot run. A typed ``BEGIN`` is followed by ``SET TRANSACTION READ
ONLY``, and ``begin()`` says ``BEGIN READ ONLY``. Refused before they run:
``BEGIN/SET ... READ WRITE``, anything naming ``transaction_read_only`` or
``default_transaction_read_only`` (SET, RESET, ``set_config``) but SHOW, ``SET
SESSION CHARACTERISTICS``, ``RESET ALL``, ``DISCARD ALL``, ALTER SYSTEM, COPY
(a server file or PROGRAM), VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT,
LOAD and two-phase commit. The session setting is checked before each call
and after each statement and page (the server reports it from PostgreSQL 14;
asked with SHOW before): a change slipped through a function
(``set_config('default_...' || 'read_only', 'off', false)``) is undone and
reported; it ran in a read-only transaction, so it wrote nothing. Not covered:
what PostgreSQL allows a read-only transaction to do outside the database
(``pg_terminate_backend()``, ``lo_export()``, dblink...): use a role without
those privileges for that.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import itertools
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import psycopg2
import psycopg2.extensions
from sqlparse import keywords as sqlparse_keywords
from sqlparse import tokens as T
from sqlparse.lexer import Lexer

from ..errors import BackendError, Cancelled, NotSupported, QueryFailed, ReadOnly
from ..types import Column, Page, Result, Statement, StatementKind, TransactionState
from .core import _NEUTRAL_SCALARS, PostgresCore, _encode_cursor, _scrubbed, bounded

_STATUS = psycopg2.extensions
_EXPIRED = "this result has expired; run the statement again"
_WRITES = "this result cannot be re-read: the statement writes; run it again to see more"
_READ_ONLY = "this connection is read-only"

# -- lexing and splitting ---------------------------------------------------------------

_LEXER: Any = None


def _pg_lexer() -> Any:
    """sqlparse's lexer with PostgreSQL's string, identifier and comment rules
    (its default instance is shared process-wide, so this is a separate one)."""
    global _LEXER
    if _LEXER is None:
        regex: list[tuple[str, Any]] = [
            # E'...' strings: backslash escapes; tried before words so the E
            # does not become a name of its own.
            (r"E'(?:''|\\.|[^'\\])*'", T.String.Single),
        ]
        for rx, ttype in sqlparse_keywords.SQL_REGEX:
            if rx.startswith("(--|# )"):
                rx = "--" + rx[len("(--|# )") :]  # '#' is an operator in PostgreSQL
            elif rx.startswith(("`", "´", "(?<![\\w\\])])")):
                continue  # MySQL and SQLite quoting
            elif ttype is T.String.Single:
                rx = r"'(?:''|[^'])*'"  # standard_conforming_strings: no backslash escape
            elif ttype is T.String.Symbol:
                if rx.startswith("("):
                    continue
                rx = r'"(?:""|[^"])*"'
            regex.append((rx, ttype))
        lexer: Any = Lexer()
        lexer.default_initialization()
        lexer.set_SQL_REGEX(regex)
        _LEXER = lexer
    return _LEXER


def _skippable(ttype: Any) -> bool:
    """Whitespace and comments, which neither start nor end a statement."""
    return ttype in T.Whitespace or ttype in T.Comment


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    ttype: Any
    value: str
    start: int
    depth: int  # parenthesis depth at the token (before it, for '(')

    @property
    def words(self) -> list[str]:
        """Upper-cased words of a keyword or name token ("ORDER BY" is two)."""
        if self.ttype in T.Keyword or (
            self.ttype in T.Name and self.ttype is not T.Name.Placeholder
        ):
            return self.value.upper().split()
        return []


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    """What a statement is, for safety prompts and for how it runs."""

    kind: StatementKind
    destructive: bool
    words: tuple[tuple[str, int], ...]  # (WORD, depth), comments and literals left out
    declare: bool = False  # DECLARE CURSOR accepts it: rows are streamed
    scroll: bool = True  # no locking clause: the cursor may be SCROLL

    @property
    def lead(self) -> str:
        return self.words[0][0] if self.words else ""


def _tokens(text: str) -> Iterator[_Token]:
    pos = 0
    depth = 0
    for ttype, value in _pg_lexer().get_tokens(text):
        if ttype is T.Punctuation and value == ")":
            depth = max(0, depth - 1)
        yield _Token(ttype, value, pos, depth)
        if ttype is T.Punctuation and value == "(":
            depth += 1
        pos += len(value)


def _statements(text: str) -> Iterator[list[_Token]]:
    """The token lists of ``text``'s statements, each ending at its ``;``."""
    current: list[_Token] = []
    routine = False  # CREATE [OR REPLACE] FUNCTION/PROCEDURE: may have BEGIN ATOMIC
    atomic = 0  # BEGIN ATOMIC ... END nesting (with CASE ... END inside it)
    begin_seen = False
    lead: list[str] = []
    for tok in _tokens(text):
        current.append(tok)
        if _skippable(tok.ttype):
            continue
        words = tok.words
        if len(lead) < 4:
            lead += words
            routine = lead[:1] == ["CREATE"] and any(
                w in ("FUNCTION", "PROCEDURE") for w in lead[1:4]
            )
        if routine and words:
            if begin_seen and words[0] == "ATOMIC" or atomic and words[0] == "CASE":
                atomic += 1
            elif atomic and words[0] == "END":
                atomic -= 1
            begin_seen = words[-1] == "BEGIN"
        elif routine:
            begin_seen = False
        if tok.ttype is T.Punctuation and tok.value == ";" and tok.depth == 0 and atomic <= 0:
            yield current
            current, lead, routine, atomic, begin_seen = [], [], False, 0, False
    if current:
        yield current


def _statement(text: str, toks: list[_Token]) -> tuple[Statement, _Shape] | None:
    real = [t for t in toks if not _skippable(t.ttype)]
    if not [t for t in real if not (t.ttype is T.Punctuation and t.value == ";")]:
        return None  # empty, or only comments
    start = real[0].start
    end = real[-1].start + len(real[-1].value)
    shape = _shape(real)
    stmt = Statement(
        text=text[start:end],
        start=start,
        end=end,
        kind=shape.kind,
        destructive=shape.destructive,
    )
    return stmt, shape


def _analyse(text: str) -> list[tuple[Statement, _Shape]]:
    out = []
    for toks in _statements(text):
        found = _statement(text, toks)
        if found is not None:
            out.append(found)
    return out


# -- classifying ------------------------------------------------------------------------

_READ_LEADS = frozenset({"SELECT", "VALUES", "TABLE", "SHOW"})
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_DDL_LEADS = frozenset(
    {"CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT", "GRANT", "REVOKE", "SECURITY", "IMPORT"}
)
_TRANSACTION_LEADS = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"}
)
_INNER_LEADS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "TABLE", "WITH", "CREATE",
     "DECLARE", "EXECUTE"}
)  # fmt: skip
_DECLARABLE = frozenset({"SELECT", "VALUES", "TABLE", "WITH"})
_LOCKS = frozenset({"UPDATE", "SHARE", "NO", "KEY"})
# Statements a read-only connection refuses up front: PostgreSQL allows them
# in a read-only transaction (or runs them outside any), yet they change the
# server (VACUUM, ANALYZE, CLUSTER and REINDEX rewrite data or statistics;
# CHECKPOINT; LOAD runs a library's code).
_SERVER_LEADS = frozenset(
    {"VACUUM", "ANALYZE", "ANALYSE", "CLUSTER", "REINDEX", "CHECKPOINT", "LOAD"}
)


def _shape(real: list[_Token]) -> _Shape:
    words = tuple((w, t.depth) for t in real for w in t.words)
    kind, destructive = _classify(list(words))
    lead = words[0][0] if words else ""
    locking = any(
        w == "FOR" and i + 1 < len(words) and words[i + 1][0] in _LOCKS
        for i, (w, _) in enumerate(words)
    )
    return _Shape(
        kind=kind,
        destructive=destructive,
        words=words,
        declare=kind is StatementKind.READ and lead in _DECLARABLE,
        scroll=not locking,
    )


def _classify(words: list[tuple[str, int]]) -> tuple[StatementKind, bool]:
    """(kind, destructive) of a statement from its words and their depths."""
    if not words:
        return StatementKind.OTHER, False
    lead, base = words[0]
    top = [w for w, d in words if d == base]  # words outside any parenthesis
    if lead == "SELECT":
        return (StatementKind.WRITE if "INTO" in top else StatementKind.READ), False
    if lead in _READ_LEADS:
        return StatementKind.READ, False
    if lead == "WITH":
        return _classify_with(words, base)
    if lead in ("UPDATE", "DELETE"):
        return StatementKind.WRITE, "WHERE" not in top
    if lead in _DML or lead == "REFRESH":
        return StatementKind.WRITE, False
    if lead == "COPY":
        return (StatementKind.WRITE if "FROM" in top else StatementKind.READ), False
    if lead == "EXPLAIN":
        return _classify_explain(words)
    if lead in _DDL_LEADS:
        destructive = lead in ("DROP", "TRUNCATE") or (lead == "ALTER" and "DROP" in top)
        return StatementKind.DDL, destructive
    if lead in _TRANSACTION_LEADS or (lead == "PREPARE" and top[1:2] == ["TRANSACTION"]):
        return StatementKind.TRANSACTION, False
    return StatementKind.OTHER, False


def _classify_with(words: list[tuple[str, int]], base: int) -> tuple[StatementKind, bool]:
    # The main statement is the first statement word outside the CTEs'
    # parentheses; a data-modifying CTE makes the whole statement a write.
    main_at = next(
        (i for i, (w, d) in enumerate(words) if i and d == base and w in _INNER_LEADS), None
    )
    writes = any(
        w in _DML and not (w == "UPDATE" and i and words[i - 1][0] in ("FOR", "KEY"))
        for i, (w, _) in enumerate(words)
    )
    if main_at is None:
        return StatementKind.OTHER, False
    main = words[main_at][0]
    rest = [w for w, d in words[main_at + 1 :] if d == base]
    if main == "SELECT" and "INTO" in rest:
        writes = True
    destructive = main in ("UPDATE", "DELETE") and "WHERE" not in rest
    return (StatementKind.WRITE if writes else StatementKind.READ), destructive


def _classify_explain(words: list[tuple[str, int]]) -> tuple[StatementKind, bool]:
    inner_at = next(
        (i for i, (w, d) in enumerate(words) if i and d == 0 and w in _INNER_LEADS), None
    )
    options = words[1:inner_at] if inner_at is not None else words[1:]
    analyze = any(
        w in ("ANALYZE", "ANALYSE")
        and not (i + 1 < len(options) and options[i + 1][0] in ("FALSE", "OFF"))
        for i, (w, _) in enumerate(options)
    )
    if analyze and inner_at is not None:
        return _classify(words[inner_at:])  # it really runs
    return StatementKind.READ, False


# -- values -----------------------------------------------------------------------------

# Columns of these types hold values that are never long nor driver objects.
_PLAIN_OIDS = frozenset({16, 20, 21, 23, 26, 700, 701, 1700, 1082, 1083, 1114, 1184, 1186, 1266})
# Arrays of types psycopg2 already turns into neutral values.
_NEUTRAL_ARRAYS = frozenset(
    {1000, 1001, 1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1028, 1231,
     1182, 1183, 1115, 1185, 1187, 1270, 199, 3807}
)  # fmt: skip
_NEUTRAL_OIDS = _NEUTRAL_SCALARS | _NEUTRAL_ARRAYS | {705}  # 705: unknown, i.e. text

_TEXT_CASTERS: tuple[frozenset[int], tuple[Any, ...]] = (frozenset(), ())


def _text_casters() -> tuple[Any, ...]:
    """Typecasters (for a cursor) that keep the server's text for every type
    psycopg2 would turn into a driver object: ranges (``NumericRange``), and
    uuid, inet or hstore if someone registered them globally. Types nobody
    registered already arrive as text. Rebuilt when the global registry grows."""
    global _TEXT_CASTERS
    registry = psycopg2.extensions.string_types
    oids = frozenset(int(o) for o in registry) - _NEUTRAL_OIDS
    if oids != _TEXT_CASTERS[0]:
        ext = psycopg2.extensions

        def text(value: str | None, cur: Any) -> str | None:
            return value

        casters: list[Any] = []
        for oid in sorted(oids):
            name = str(getattr(registry[oid], "name", ""))
            if name.endswith(("ARRAY", "[]")):
                element = ext.new_type((0,), f"STORESCOPE_TEXT_{oid}_ELEM", text)
                casters.append(ext.new_array_type((oid,), f"STORESCOPE_TEXT_{oid}", element))
            else:
                casters.append(ext.new_type((oid,), f"STORESCOPE_TEXT_{oid}", text))
        _TEXT_CASTERS = (oids, tuple(casters))
    return _TEXT_CASTERS[1]


def _cell(value: Any) -> Any:
    if isinstance(value, memoryview):
        value = value.tobytes()
    elif isinstance(value, list):
        return [_cell(v) for v in value]
    return bounded(value)


def _convert(rows: Sequence[tuple[Any, ...]], positions: Sequence[int]) -> list[tuple[Any, ...]]:
    if not positions:
        return list(rows)
    out = []
    for row in rows:
        values = list(row)
        for i in positions:
            values[i] = _cell(values[i])
        out.append(tuple(values))
    return out


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


@dataclasses.dataclass(slots=True)
class _Run:
    """One cancellable statement: whether ``cancel()`` was asked while it ran."""

    cancelled: bool = False


def _decode(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        token = json.loads(raw)
    except (binascii.Error, ValueError) as e:
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


class QueryMixin(PostgresCore):
    query_language: ClassVar[str] = "sql"
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
    #: transaction is committed and a later page re-runs the statement.
    read_idle_timeout: float = 5.0

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._q_results: OrderedDict[str, _Query] = OrderedDict()
        # Bumped whenever a transaction holding cursors may have ended: a
        # cursor of an older epoch is gone (re-run or expired).
        self._q_epoch = 0
        self._q_read_txn: Any = None  # the connection our read transaction is open on
        self._q_cursor_names = itertools.count(1)
        self._q_type_names: dict[int, str] = {}
        self._q_type_names_conn: Any = None
        # cancel() runs on another thread: "is a statement running" and
        # "send the cancel" happen under one lock, as do setting and clearing
        # the running flag, so a cancel never reaches the next statement.
        self._q_cancel_lock = threading.Lock()
        self._q_running = False
        self._q_cancel_requested = False
        self._q_last_state = TransactionState.IDLE
        # Held for each call of this mixin (and explain), and by the timer
        # that ends an idle read transaction (see the module docstring).
        self._q_lock = threading.RLock()
        self._q_idle_since: float | None = None
        self._q_timer: threading.Timer | None = None
        self._q_expiry_error: psycopg2.Error | None = None

    def close(self) -> None:
        with self._q_lock:
            self._q_disarm()
            self._q_read_txn = None
            self._q_idle_since = None
            self._q_epoch += 1
            super().close()

    # -- QUERY ------------------------------------------------------------------------------

    def split(self, text: str) -> list[Statement]:
        return [stmt for stmt, _ in _analyse(text)]

    @_scrubbed
    def execute(self, statement: str, *, limit: int = 200) -> Result:
        """Run one statement (see ``Backend.execute``). A streamed result
        keeps a read transaction open until it is read to the end, released
        (``release(result.handle)``), another statement runs, or
        ``read_idle_timeout`` seconds pass without a page: owners of a result
        they stop reading should release it."""
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        parts = _analyse(statement)
        if len(parts) > 1:
            raise QueryFailed(
                f"this text holds {len(parts)} statements; run them one at a time",
                position=parts[1][0].start,
            )
        with self._interactive_call(end_reads=True):
            db = self._primary()
            conn = self._conn(db)
            if not parts:
                return Result(statement=statement)
            stmt, shape = parts[0]
            if self.read_only:
                self._q_refuse_read_write(stmt, shape)
            if shape.lead == "COPY" and any(w in ("STDIN", "STDOUT") for w, _ in shape.words):
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
            )
            del conn.notices[:]
            started = time.perf_counter()
            if not shape.declare:
                return self._q_plain(conn, db, query, shape, stmt, limit, started)
            rows = self._q_declare(conn, db, query, 0, limit)
            elapsed = time.perf_counter() - started
            if self.read_only:
                self._q_check_still_read_only(conn, db)
            more = len(rows) > limit
            if more:
                self._q_remember(query)
            else:
                self._q_finish(query)
            return Result(
                statement=statement,
                columns=query.columns,
                rows=tuple(rows[:limit]),
                next_cursor=self._q_cursor(query, limit) if more else None,
                handle=query.handle if more else None,
                status="SELECT" if more else f"SELECT {len(rows)}",
                elapsed=elapsed,
                notices=self._q_notices(conn),
            )

    @_scrubbed
    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        if limit < 1:
            raise NotSupported("the page size must be at least 1")
        handle, offset = _decode(cursor)
        with self._interactive_call():
            query = self._q_results.get(handle)
            if query is None:
                raise QueryFailed(_EXPIRED, title="Result expired")
            self._q_results.move_to_end(handle)
            if query.kept is not None:
                rows = query.kept[offset : offset + limit + 1]
            else:
                db = self._primary()
                conn = self._conn(db)
                live = query.live
                if live is not None and not self._q_alive(live, conn):
                    query.live = live = None
                if live is None and not query.rerun:
                    raise QueryFailed(_EXPIRED, title="Result expired")
                if live is None:
                    rows = self._q_declare(conn, db, query, offset, limit)
                else:
                    rows = self._q_continue(conn, db, query, live, offset, limit)
                if self.read_only:
                    self._q_check_still_read_only(conn, db)
                if len(rows) <= limit:
                    self._q_finish(query)
            more = len(rows) > limit
            return Page(
                columns=query.columns,
                rows=tuple(rows[:limit]),
                next_cursor=self._q_cursor(query, offset + limit) if more else None,
            )

    @_scrubbed
    def release(self, handle: str) -> None:
        """Free a result's server state (see ``Backend.release``): here its
        cursor and, with the last unfinished result, our read transaction,
        whose snapshot and share locks hold back VACUUM and other sessions'
        ALTER TABLE. Call it for every result not read to its end."""
        with self._interactive_call():
            query = self._q_results.get(handle)
            if query is None:
                return
            query.kept = None
            if not query.rerun:  # nothing to re-run it from: forget it
                del self._q_results[handle]
            self._q_finish(query)

    @_scrubbed
    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        with self._interactive_call():
            db = path[0] if path else self._primary()
            rows = self._query(db, _SQL_COMPLETIONS, (self.max_completions,) * 4)
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        for name, kind, _ in rows:
            if (name, kind) not in seen:
                seen.add((name, kind))
                out.append((name, kind))
        return out

    # -- CANCEL -----------------------------------------------------------------------------

    @_scrubbed
    def cancel(self) -> None:
        with self._q_cancel_lock:
            if not self._q_running:
                return
            conn = self._conns.get(self._primary_db or "")
            if conn is None or conn.closed:
                return
            self._q_cancel_requested = True
            try:
                conn.cancel()
            except psycopg2.Error as e:
                raise QueryFailed(f"could not cancel: {self._message(e)}") from e

    @contextlib.contextmanager
    def _cancellable(self) -> Iterator[_Run]:
        """Marks a user's statement as running, so ``cancel()`` may stop it;
        internal follow-up queries run outside and are never cancelled."""
        run = _Run()
        with self._q_cancel_lock:
            self._q_cancel_requested = False
            self._q_running = True
        try:
            yield run
        finally:
            with self._q_cancel_lock:
                run.cancelled = self._q_cancel_requested
                self._q_running = False
                self._q_cancel_requested = False

    # -- TRANSACTIONS -----------------------------------------------------------------------

    @_scrubbed
    def begin(self) -> None:
        self._q_transaction_command("BEGIN READ ONLY" if self.read_only else "BEGIN")

    @_scrubbed
    def commit(self) -> None:
        if self._q_transaction_command("COMMIT") == "ROLLBACK":
            raise QueryFailed(
                "the transaction had failed, so COMMIT rolled it back: nothing was committed",
                title="Transaction rolled back",
            )

    @_scrubbed
    def rollback(self) -> None:
        self._q_transaction_command("ROLLBACK")

    def transaction_state(self) -> TransactionState:
        conn = self._conns.get(self._primary_db or "")
        if conn is None or conn.closed:
            return TransactionState.IDLE
        status = conn.info.transaction_status
        if status == _STATUS.TRANSACTION_STATUS_ACTIVE:
            return self._q_last_state  # a statement is running: as it was before
        if status == _STATUS.TRANSACTION_STATUS_INERROR:
            return TransactionState.FAILED
        if status == _STATUS.TRANSACTION_STATUS_INTRANS and self._q_read_txn is not conn:
            return TransactionState.OPEN
        return TransactionState.IDLE

    def _q_transaction_command(self, command: str) -> str:
        with self._interactive_call(end_reads=True):
            db = self._primary()
            conn = self._conn(db)
            cur = self._q_cursor_on(conn)
            self._q_run(conn, db, cur, command, statement=command)
            self._q_epoch += 1
            self._q_last_state = self.transaction_state()
            return str(cur.statusmessage or "")

    # -- calls and idle read transactions ------------------------------------------------------

    @contextlib.contextmanager
    def _interactive_call(self, *, end_reads: bool = False) -> Iterator[None]:
        """One call on the primary connection: holds the call lock (the idle
        timer waits), first ends a read transaction idle too long (or, with
        ``end_reads``, any: another statement is about to run) and puts a
        read-only session's setting back; afterwards arms the idle timer."""
        with self._q_lock:
            self._q_disarm()
            try:
                failed, self._q_expiry_error = self._q_expiry_error, None
                conn = self._conns.get(self._primary_db or "")
                if failed is not None and conn is not None:
                    raise self._translate(failed, conn, self._primary())
                if conn is not None and not conn.closed:
                    db = self._primary()
                    idle = self._q_idle_since
                    if end_reads or (
                        idle is not None and time.monotonic() - idle >= self.read_idle_timeout
                    ):
                        self._q_end_read_transaction(conn, db)
                    if self.read_only:
                        self._q_restore_read_only(conn, db)
                yield
            finally:
                self._q_arm()

    def _q_disarm(self) -> None:
        timer, self._q_timer = self._q_timer, None
        if timer is not None:
            timer.cancel()

    def _q_arm(self) -> None:
        """After a call: when our read transaction stays open (a result not
        read to its end), end it ``read_idle_timeout`` seconds from now
        unless another call comes first."""
        conn = self._q_read_txn
        if conn is None or conn.closed:
            self._q_idle_since = None
            return
        self._q_idle_since = time.monotonic()
        self._q_schedule(self.read_idle_timeout)

    def _q_schedule(self, delay: float) -> None:
        self._q_disarm()
        timer = threading.Timer(max(0.0, delay), self._q_on_idle_timer)
        timer.daemon = True
        self._q_timer = timer
        timer.start()

    def _q_on_idle_timer(self) -> None:
        """The timer thread: commit our read transaction if it is still idle.
        Never waits for a running call (it re-arms the timer when it ends)."""
        if not self._q_lock.acquire(blocking=False):
            return
        try:
            if self._q_timer is not threading.current_thread():
                return  # disarmed or replaced meanwhile
            self._q_timer = None
            conn, idle = self._q_read_txn, self._q_idle_since
            if conn is None or conn.closed or idle is None:
                return
            left = idle + self.read_idle_timeout - time.monotonic()
            if left > 0 or conn.info.transaction_status == _STATUS.TRANSACTION_STATUS_ACTIVE:
                # Early, or another method is using the connection right now.
                self._q_schedule(max(left, 0.1))
                return
            self._q_read_txn, self._q_idle_since = None, None
            self._q_epoch += 1
            if conn.info.transaction_status != _STATUS.TRANSACTION_STATUS_INTRANS:
                return
            try:
                conn.cursor().execute("COMMIT")
            except psycopg2.Error as e:
                # Reported by the next call (this thread has no caller).
                self._q_expiry_error = e
        finally:
            self._q_lock.release()

    # -- running ----------------------------------------------------------------------------

    def _q_cursor_on(self, conn: Any) -> Any:
        cur = conn.cursor()
        for caster in _text_casters():
            psycopg2.extensions.register_type(caster, cur)
        return cur

    def _q_run(
        self, conn: Any, db: str, cur: Any, text: str, *, statement: str, offset: int | None = 0
    ) -> None:
        """Execute ``text``, where the user's ``statement`` starts after
        ``offset`` characters of ours (``None``: it is not in there), translating
        errors. The one place that blocks on a user's statement, so the one
        place ``cancel()`` interrupts."""
        failed: psycopg2.Error | None = None
        with self._cancellable() as run:
            try:
                cur.execute(text)
            except psycopg2.Error as e:
                failed = e
        try:
            if failed is not None:
                raise self._q_failed(
                    failed, conn, db, statement, offset, cancelled=run.cancelled
                ) from failed
        finally:
            self._q_last_state = self.transaction_state()

    def _q_failed(
        self,
        e: psycopg2.Error,
        conn: Any,
        db: str,
        statement: str,
        offset: int | None,
        *,
        cancelled: bool,
    ) -> BackendError:
        if conn.closed or e.pgcode in ("57P01", "57P02", "57P03"):
            # The session is gone (terminated, server shutting down): so are
            # its SET state, temporary tables and cursors. Next call reconnects.
            if self._q_read_txn is conn:
                self._q_read_txn = None
            self._q_epoch += 1
            if not conn.closed:
                conn.close()
            return self._translate(e, conn, db)
        self._q_recover(conn, db)
        message = self._q_detailed(e)
        if e.pgcode == "57014" and (cancelled or "user request" in message):
            return Cancelled(message)
        if e.pgcode == "25006":
            return ReadOnly(message)
        position = None
        raw = getattr(getattr(e, "diag", None), "statement_position", None)
        if raw and offset is not None:
            at = int(raw) - 1 - offset
            if 0 <= at <= len(statement):
                position = at
        title = "Permission denied" if e.pgcode == "42501" else None
        return QueryFailed(message, title, position=position)

    def _q_recover(self, conn: Any, db: str) -> None:
        """After an error inside our read transaction, roll it back (its
        cursors are gone); a user's failed transaction stays for them to end."""
        if self._q_read_txn is not conn:
            return
        self._q_read_txn = None
        self._q_epoch += 1
        if conn.info.transaction_status == _STATUS.TRANSACTION_STATUS_IDLE:
            return
        try:
            conn.cursor().execute("ROLLBACK")
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e

    def _q_detailed(self, e: psycopg2.Error) -> str:
        """PostgreSQL's message, with its DETAIL and HINT as psql shows them."""
        diag = getattr(e, "diag", None)
        text = self._message(e)
        if diag is not None:
            if diag.message_detail:
                text += f" DETAIL: {diag.message_detail}"
            if diag.message_hint:
                text += f" HINT: {diag.message_hint}"
        return self._scrub(text)

    def _q_alive(self, live: _Live, conn: Any) -> bool:
        return live.conn is conn and not conn.closed and live.epoch == self._q_epoch

    def _q_notices(self, conn: Any) -> tuple[str, ...]:
        notices = tuple(self._scrub(" ".join(str(n).split())) for n in conn.notices)
        del conn.notices[:]
        return notices

    def _q_end_read_transaction(self, conn: Any, db: str) -> None:
        """Commit our read transaction (closing its cursors) before anything else runs."""
        if self._q_read_txn is None:
            return
        txn, self._q_read_txn = self._q_read_txn, None
        self._q_epoch += 1
        if txn is not conn or conn.closed:
            return
        if conn.info.transaction_status == _STATUS.TRANSACTION_STATUS_IDLE:
            return
        try:
            conn.cursor().execute("COMMIT")
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e

    def _q_declare(self, conn: Any, db: str, query: _Query, offset: int, limit: int) -> list[Any]:
        """Declare ``query``'s cursor and fetch the page at ``offset`` (the
        ``limit + 1``-th row, if any, is kept for the next page)."""
        status = conn.info.transaction_status
        internal = status == _STATUS.TRANSACTION_STATUS_IDLE or (
            self._q_read_txn is conn and status == _STATUS.TRANSACTION_STATUS_INTRANS
        )
        begin = ""
        rerun = query.declared
        if status == _STATUS.TRANSACTION_STATUS_IDLE:
            # The first run is the user's statement, writes and all (a SELECT
            # may write through a function). A re-run must not write again:
            # in a read-only transaction such a statement fails instead.
            begin = "BEGIN READ ONLY; " if self.read_only or rerun else "BEGIN; "
        name = f"storescope_q{next(self._q_cursor_names)}"
        prefix = f"{begin}DECLARE {name} {'' if query.scroll else 'NO '}SCROLL CURSOR FOR "
        move = f"; MOVE FORWARD {offset} IN {name}" if offset else ""
        text = f"{prefix}{query.body}{move}; FETCH FORWARD {limit + 1} FROM {name}"
        cur = self._q_cursor_on(conn)
        if query.live is not None:
            self._q_close_live(query)
        if begin:
            self._q_read_txn = conn  # before running: a failure must roll it back
        try:
            self._q_run(conn, db, cur, text, statement=query.statement, offset=len(prefix))
        except ReadOnly as e:
            if not rerun or self.read_only or not begin:
                raise
            query.rerun = False  # it will fail the same way every time
            raise QueryFailed(_WRITES, title="Result expired") from e
        query.declared = True
        query.live = _Live(name=name, conn=conn, epoch=self._q_epoch, internal=internal)
        if not query.columns:
            query.columns, query.convert = self._q_columns(conn, db, cur.description)
        return self._q_take(query, query.live, offset, cur.fetchall(), limit)

    def _q_continue(
        self, conn: Any, db: str, query: _Query, live: _Live, offset: int, limit: int
    ) -> list[Any]:
        """The page at ``offset`` from a cursor still open."""
        rows: list[Any] = []
        if offset == live.delivered:
            rows, live.buffer = live.buffer, []
            text = f"FETCH FORWARD {limit + 1 - len(rows)} FROM {live.name}"
        elif query.scroll:
            live.buffer = []
            text = (
                f"MOVE ABSOLUTE {offset} IN {live.name}; FETCH FORWARD {limit + 1} FROM {live.name}"
            )
        elif offset > live.delivered:
            skip = offset - live.delivered
            kept = live.buffer[skip:]
            moved = max(0, skip - len(live.buffer))
            rows, live.buffer = kept, []
            move = f"MOVE FORWARD {moved} IN {live.name}; " if moved else ""
            text = f"{move}FETCH FORWARD {limit + 1 - len(rows)} FROM {live.name}"
        else:  # backwards on a NO SCROLL cursor: start it again
            return self._q_declare(conn, db, query, offset, limit)
        if len(rows) > limit:
            fetched: list[Any] = []
        else:
            cur = self._q_cursor_on(conn)
            self._q_run(conn, db, cur, text, statement=query.statement, offset=None)
            fetched = cur.fetchall()
        converted = _convert(fetched, query.convert)
        return self._q_take(query, live, offset, rows + converted, limit, converted=True)

    def _q_take(
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
            rows = _convert(rows, query.convert)
        live.delivered = offset + min(len(rows), limit)
        live.buffer = rows[limit:]
        return rows

    def _q_finish(self, query: _Query) -> None:
        """The result was read to its end or released: free its cursor, and end
        our read transaction when no other result of it is still being read."""
        live, query.live = query.live, None
        if live is None:
            return
        conn = live.conn
        if not self._q_alive(live, conn):
            return
        db = self._primary()
        others = [
            q
            for q in self._q_results.values()
            if q is not query
            and q.live is not None
            and self._q_alive(q.live, conn)
            and q.live.internal
        ]
        try:
            if live.internal and not others:
                self._q_end_read_transaction(conn, db)
            elif conn.info.transaction_status != _STATUS.TRANSACTION_STATUS_INERROR:
                conn.cursor().execute(f"CLOSE {live.name}")
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e

    def _q_close_live(self, query: _Query) -> None:
        live, query.live = query.live, None
        if live is None or not self._q_alive(live, live.conn):
            return
        if live.conn.info.transaction_status == _STATUS.TRANSACTION_STATUS_INERROR:
            return
        try:
            live.conn.cursor().execute(f"CLOSE {live.name}")
        except psycopg2.Error as e:
            raise self._translate(e, live.conn, self._primary()) from e

    def _q_remember(self, query: _Query) -> None:
        self._q_results[query.handle] = query
        self._q_results.move_to_end(query.handle)
        while len(self._q_results) > self.max_results:
            oldest = next(iter(self._q_results.values()))
            del self._q_results[oldest.handle]
            self._q_finish(oldest)
        kept = [q for q in reversed(self._q_results.values()) if q.kept is not None]
        for old in kept[self.max_kept_results :]:
            del self._q_results[old.handle]

    def _q_cursor(self, query: _Query, offset: int) -> str:
        return _encode_cursor({"m": "q", "h": query.handle, "o": offset})

    def _q_columns(
        self, conn: Any, db: str, description: Any
    ) -> tuple[tuple[Column, ...], tuple[int, ...]]:
        """The result's columns with their type names, and which of them may
        need converting (bytea, long text, arrays...)."""
        if description is None:
            return (), ()
        oids = [int(d.type_code) for d in description]
        if self._q_type_names_conn is not conn:
            self._q_type_names, self._q_type_names_conn = {}, conn
        unknown = sorted({o for o in oids if o not in self._q_type_names})
        if unknown:
            cur = conn.cursor()
            try:
                cur.execute(
                    "SELECT t.oid::int8, pg_catalog.format_type(t.oid, NULL)"
                    " FROM pg_catalog.pg_type t WHERE t.oid = ANY(%s::oid[])",
                    (unknown,),
                )
            except psycopg2.Error as e:
                raise self._translate(e, conn, db) from e
            self._q_type_names.update({int(o): str(n) for o, n in cur.fetchall()})
        columns = tuple(
            Column(name=d.name, type_name=self._q_type_names.get(o, str(o)))
            for d, o in zip(description, oids, strict=True)
        )
        convert = tuple(i for i, o in enumerate(oids) if o not in _PLAIN_OIDS)
        return columns, convert

    def _q_plain(
        self,
        conn: Any,
        db: str,
        query: _Query,
        shape: _Shape,
        stmt: Statement,
        limit: int,
        started: float,
    ) -> Result:
        """A statement DECLARE does not take: run as it is, rows bounded."""
        before = conn.info.transaction_status
        cur = self._q_cursor_on(conn)
        text = query.statement[: stmt.end]
        transaction = shape.kind is StatementKind.TRANSACTION
        # Read-only: outside a user's transaction every statement runs in a
        # read-only transaction of ours, so whatever it does PostgreSQL
        # checks it (a COMMIT inside DO/CALL fails, VACUUM cannot run).
        wrap = self.read_only and not transaction and before == _STATUS.TRANSACTION_STATUS_IDLE
        prefix = "BEGIN READ ONLY; " if wrap else ""
        if wrap:
            self._q_read_txn = conn  # a failure rolls it back
        try:
            self._q_run(conn, db, cur, prefix + text, statement=query.statement, offset=len(prefix))
        finally:
            # A transaction's end closes its cursors, and so do CLOSE ALL and DISCARD.
            if transaction or shape.lead in ("CLOSE", "DISCARD"):
                self._q_epoch += 1
        if self.read_only and shape.lead in ("BEGIN", "START"):
            try:  # a typed BEGIN opens a read-only transaction whatever the defaults say
                conn.cursor().execute("SET TRANSACTION READ ONLY")
            except psycopg2.Error as e:
                raise self._translate(e, conn, db) from e
        after = conn.info.transaction_status
        if after == _STATUS.TRANSACTION_STATUS_IDLE and before != after:
            self._q_epoch += 1
        notices = list(self._q_notices(conn))
        rows: list[Any] = []
        if cur.description is not None:
            query.columns, query.convert = self._q_columns(conn, db, cur.description)
            rows = _convert(cur.fetchmany(self.plain_rows_kept), query.convert)
            if cur.rowcount > len(rows):
                notices.append(
                    f"only the first {len(rows)} of {cur.rowcount} rows were kept; "
                    "a SELECT streams all of its rows"
                )
        elapsed = time.perf_counter() - started
        status = str(cur.statusmessage or "")
        cur.close()
        if wrap:
            self._q_end_read_transaction(conn, db)
        if self.read_only:
            self._q_check_still_read_only(conn, db)
        tag = status.split(" ", 1)[0]
        rowcount = None
        if (
            shape.kind is StatementKind.WRITE or tag in _DML or tag == "COPY"
        ) and cur.rowcount >= 0:
            rowcount = int(cur.rowcount)
        if tag == "ROLLBACK" and shape.lead in ("COMMIT", "END"):
            notices.append("the transaction had failed, so COMMIT rolled it back")
        more = len(rows) > limit
        if more:
            query.kept = rows
            self._q_remember(query)
        self._q_last_state = self.transaction_state()
        return Result(
            statement=query.statement,
            columns=query.columns,
            rows=tuple(rows[:limit]),
            next_cursor=self._q_cursor(query, limit) if more else None,
            handle=query.handle if more else None,
            status=status,
            rowcount=rowcount,
            elapsed=elapsed,
            notices=tuple(notices),
        )

    # -- read-only ----------------------------------------------------------------------------

    def _q_refuse_read_write(self, stmt: Statement, shape: _Shape) -> None:
        """Refuse, before it runs, what could make a read-only session
        writable or act on the server outside a transaction's reach."""
        words = [w for w, _ in shape.words]
        lead = shape.lead
        lowered = stmt.text.lower()
        read_write = ("READ", "WRITE") in set(itertools.pairwise(words))
        lifts = (
            (read_write and (shape.kind is StatementKind.TRANSACTION or lead == "SET"))
            # SET/RESET/set_config() of (default_)transaction_read_only, in
            # any statement (SHOW only reads it).
            or ("transaction_read_only" in lowered and lead != "SHOW")
            or (lead in ("SET", "RESET") and "characteristics" in lowered)
            or (lead in ("RESET", "DISCARD") and "ALL" in words)
        )
        if lifts:
            raise ReadOnly(f"{_READ_ONLY}: statements that make it writable are refused")
        what = ""
        if lead in _SERVER_LEADS:
            what = lead
        elif lead == "ALTER" and words[1:2] == ["SYSTEM"]:
            what = "ALTER SYSTEM"
        elif lead == "COPY":
            what = "COPY"  # TO a server file or PROGRAM writes outside the database
        elif "PREPARED" in words or (lead == "PREPARE" and words[1:2] == ["TRANSACTION"]):
            what = "two-phase commit"
        if what:
            raise ReadOnly(f"{_READ_ONLY}: {what} is refused")

    def _q_writable_session(self, conn: Any, db: str) -> bool:
        """Whether default_transaction_read_only is off (reported by the
        server from PostgreSQL 14; asked for before that)."""
        if conn.server_version >= 140000:
            return bool(conn.get_parameter_status("default_transaction_read_only") == "off")
        try:
            cur = conn.cursor()
            cur.execute("SHOW default_transaction_read_only")
            row = cur.fetchone()
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e
        return row is not None and row[0] == "off"

    def _q_restore_read_only(self, conn: Any, db: str) -> bool:
        """Turn default_transaction_read_only back on if something turned it
        off; whether it had to."""
        if not self._q_writable_session(conn, db):
            return False
        try:
            conn.cursor().execute("SET default_transaction_read_only = on")
        except psycopg2.Error as e:
            raise self._translate(e, conn, db) from e
        return True

    def _q_check_still_read_only(self, conn: Any, db: str) -> None:
        """After a statement or a page: undo a change of
        default_transaction_read_only made through a function. Truthful: the
        statement ran in a read-only transaction, so it wrote nothing."""
        if self._q_restore_read_only(conn, db):
            raise ReadOnly(
                f"{_READ_ONLY}: the statement turned read-only off; that was undone "
                "(it ran in a read-only transaction, so it wrote nothing)"
            )
