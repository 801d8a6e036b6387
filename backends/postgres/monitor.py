"""PostgreSQL MONITOR: sessions, locks and blocking chains, server numbers.

``stats()`` runs on the monitor's own clone every couple of seconds, so a
sample is one statement that returns everything as JSON (metrics, sessions,
blocked sessions, locks, databases), plus one small query on
pg_stat_statements when that extension is installed: two round-trips in the
steady state, a few ms on an idle server. Every table is bounded on the
server (``LIMIT``, query texts cut with ``left()``), and the polling
connection leaves itself out of every table and count (``pg_backend_pid()``).

Two things are not read on every sample:

- database sizes: ``pg_database_size()`` stats every file of a database, which
  adds up on servers with many databases or relations; sizes are taken every
  ``db_size_interval`` seconds and the samples between reuse them;
- statement texts: ``pg_stat_statements(true)`` reads the whole query-text
  file on each call (megabytes on a busy server), so the top statements are
  read with ``showtext => false`` and a text is fetched only for a statement
  that was not seen before.

Durations (transaction, query, lock wait) are ``timedelta``; timestamps are
timezone-aware ``datetime``; numbers are ``int``/``float``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from psycopg2 import sql

from ..errors import NotFound, NotSupported, ReadOnly
from ..types import (
    ActionDanger,
    ColumnRole,
    Metric,
    MetricKind,
    MonitorAction,
    Stats,
    StatsTable,
)
from .core import PostgresCore

#: Rows per table and characters per query text, both cut on the server.
MAX_ROWS = 200
MAX_DATABASES = 100
MAX_STATEMENTS = 20
QUERY_CHARS = 300

#: What ``session_action`` accepts.
SESSION_ACTION_IDS = ("cancel", "terminate")

# How the monitor panel asks before acting on a session ({...}: the row's
# facts by ColumnRole; a line naming a fact the row lacks is left out, and of
# alternatives the first whose facts are all there shows).
_WHO = (
    "Session {id} (user {user}, db {database})",
    "Session {id} (user {user})",
    "Session {id} (db {database})",
    "Session {id}",
)
_RUNNING = "query running for {duration}"
_TERMINATE_WARNING = "Ends the session; its open transaction rolls back."


def _session_actions(*, running: bool) -> tuple[MonitorAction, ...]:
    """Cancel (c) and terminate (k); ``running``: the confirmation says how
    long the query has run (the Blocking table's duration is a lock wait)."""
    timing = (_RUNNING,) if running else ()
    return (
        MonitorAction(
            "cancel",
            "Cancel",
            "c",
            title="Cancel the query of session {id}?",
            confirm="Cancel query",
            text=(_WHO, *timing, "{text}"),
            danger=ActionDanger.DISRUPTIVE,
        ),
        MonitorAction(
            "terminate",
            "Terminate",
            "k",
            title="Terminate session {id}?",
            confirm="Terminate",
            text=(_WHO, *timing, "{text}", _TERMINATE_WARNING),
            danger=ActionDanger.DESTRUCTIVE,
        ),
    )


#: The Sessions table's actions: cancel its running query, terminate it.
SESSION_ACTIONS = _session_actions(running=True)
#: The Blocking table's: the same on the blocked session.
BLOCKING_ACTIONS = _session_actions(running=False)

_PGSS_MISSING = (
    "pg_stat_statements is not installed in this database (CREATE EXTENSION "
    "pg_stat_statements; it also needs shared_preload_libraries)"
)
_PGSS_NOT_LOADED = (
    "pg_stat_statements is installed but not loaded: add it to "
    "shared_preload_libraries and restart the server"
)

# One statement for a whole sample. ``act`` is pg_stat_activity without our
# own session (one snapshot per transaction, so every reference agrees);
# ``lk`` is pg_locks without our own locks and without the granted
# virtualxid/transactionid locks every transaction holds on itself (a waiter
# on one of those is still listed, and its holder shows in "Blocking"); a
# pg_dump holds a lock per table, so names are looked up only for the rows
# shown. pg_blocking_pids() takes the lock manager's partition locks, so it is
# only called for sessions that wait on a lock.
_SQL_SAMPLE = """
WITH act AS (
  SELECT a.pid, a.usename, a.datname, a.application_name, a.client_addr, a.client_port,
         a.state, a.wait_event_type, a.wait_event, a.backend_start, a.xact_start,
         a.query_start, a.state_change, left(a.query, {chars}) AS query,
         {client_backend} AS client_backend
  FROM pg_catalog.pg_stat_activity a
  WHERE a.pid <> pg_catalog.pg_backend_pid()
),
lk AS (
  SELECT l.pid, l.mode, l.locktype, l.granted, {waitstart} AS waitstart, l.relation, l.database
  FROM pg_catalog.pg_locks l
  WHERE l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
    AND (NOT l.granted OR l.locktype NOT IN ('virtualxid', 'transactionid'))
),
blocked AS (
  SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid) AS blockers, a.query, a.query_start
  FROM act a
  WHERE a.wait_event_type = 'Lock'
  ORDER BY a.query_start NULLS LAST, a.pid
  LIMIT {rows}
),
sessions AS (
  SELECT a.*,
         CASE a.state WHEN 'active' THEN 0 WHEN 'idle in transaction' THEN 1
                      WHEN 'idle in transaction (aborted)' THEN 1 ELSE 2 END AS rank,
         coalesce(CASE WHEN a.state = 'active' THEN a.query_start END,
                  a.xact_start, a.state_change, a.backend_start) AS since
  FROM act a
  WHERE a.client_backend
  ORDER BY rank, since NULLS LAST, a.pid
  LIMIT {rows}
),
dbs AS (
  SELECT d.datname,
         CASE WHEN %(sizes)s AND pg_catalog.has_database_privilege(d.oid, 'CONNECT')
              THEN pg_catalog.pg_database_size(d.oid) END AS size,
         (SELECT count(*) FROM act a WHERE a.datname = d.datname AND a.client_backend)
           AS connections
  FROM pg_catalog.pg_database d
  WHERE NOT d.datistemplate
  ORDER BY d.datname
  LIMIT {databases}
)
SELECT
  (SELECT count(*) FROM act WHERE client_backend),
  (SELECT count(*) FROM act WHERE client_backend AND state = 'active'),
  st.commits, st.rollbacks, st.blks_hit, st.blks_read, st.tup_read, st.tup_written,
  st.deadlocks, st.temp_bytes,
  (SELECT json_agg(json_build_array(
            s.pid, s.usename, s.datname, s.application_name,
            CASE WHEN pg_catalog.family(s.client_addr) = 6
                 THEN '[' || pg_catalog.host(s.client_addr) || ']:' || s.client_port
                 WHEN s.client_addr IS NOT NULL
                 THEN pg_catalog.host(s.client_addr) || ':' || s.client_port
                 WHEN s.client_port = -1 THEN 'local' END,
            s.state, s.wait_event_type || ':' || s.wait_event, s.backend_start,
            extract(epoch FROM pg_catalog.now() - s.xact_start)::float8,
            CASE WHEN s.state = 'active'
                 THEN extract(epoch FROM pg_catalog.now() - s.query_start)::float8 END,
            s.query) ORDER BY s.rank, s.since, s.pid)
     FROM sessions s),
  (SELECT json_agg(json_build_array(
            b.pid, b.blockers, w.mode, w.locktype, {relation_w},
            extract(epoch FROM pg_catalog.now() - coalesce(w.waitstart, b.query_start))::float8,
            b.query) ORDER BY b.query_start, b.pid)
     FROM blocked b
     LEFT JOIN LATERAL (SELECT * FROM lk WHERE lk.pid = b.pid AND NOT lk.granted LIMIT 1) w
       ON true
    WHERE cardinality(b.blockers) > 0),
  (SELECT json_object_agg(a.pid, a.query) FROM act a
    WHERE a.pid IN (SELECT unnest(blockers) FROM blocked)),
  (SELECT json_agg(json_build_array(
            l.pid, l.mode, l.locktype, {relation_l}, l.granted,
            extract(epoch FROM pg_catalog.now() - l.waitstart)::float8)
            ORDER BY l.granted, l.waitstart, l.relation, l.pid)
     FROM (SELECT * FROM lk ORDER BY granted, waitstart, relation, pid LIMIT {rows}) l),
  (SELECT json_agg(json_build_array(d.datname, d.size, d.connections) ORDER BY d.datname)
     FROM dbs d),
  (SELECT json_build_array(n.nspname, e.extversion)
     FROM pg_catalog.pg_extension e
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements'),
  CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements')
       THEN (SELECT setting FROM pg_catalog.pg_settings
              WHERE name = 'shared_preload_libraries') END,
  {own_query_id}
FROM (
  SELECT sum(xact_commit) AS commits, sum(xact_rollback) AS rollbacks,
         sum(blks_hit) AS blks_hit, sum(blks_read) AS blks_read,
         sum(tup_returned + tup_fetched) AS tup_read,
         sum(tup_inserted + tup_updated + tup_deleted) AS tup_written,
         sum(deadlocks) AS deadlocks, sum(temp_bytes) AS temp_bytes
  FROM pg_catalog.pg_stat_database
) st
"""

# The top statements without their texts (see the module docstring), leaving
# out the monitor's own queries where the server says their queryid
# (pg_stat_activity.query_id, PostgreSQL 14+). The column names changed in
# pg_stat_statements 1.8 (PostgreSQL 13).
_SQL_TOP_STATEMENTS = """
SELECT s.userid, s.dbid, s.queryid, s.calls, s.{total}, s.{mean}, s.rows,
       s.shared_blks_hit, s.shared_blks_read
FROM {schema}.pg_stat_statements(false) s
WHERE s.queryid <> ALL (%s::bigint[]){not_this}
ORDER BY s.{total} DESC
LIMIT {limit}
"""

_OWN_QUERY_ID = (
    "(SELECT query_id FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid())"
)

# Without pg_read_all_stats, another user's session shows its pid, user and
# database but not its backend_type: one that has a user and a database is
# taken for a client (a parallel worker of someone else's query would pass too).
_CLIENT_BACKEND = (
    "coalesce(a.backend_type = 'client backend', a.usename IS NOT NULL AND a.datname IS NOT NULL)"
)


def _relation_name(alias: str) -> sql.SQL:
    """The schema-qualified name of a lock's relation. Only the current
    database's relations (and shared catalogs) can be named; the others
    show their oid and database."""
    return sql.SQL(
        """CASE WHEN {a}.relation IS NOT NULL THEN coalesce(
  (SELECT n.nspname || '.' || c.relname
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = {a}.relation
      AND {a}.database IN (0, (SELECT oid FROM pg_catalog.pg_database
                                WHERE datname = pg_catalog.current_database()))),
  'oid ' || {a}.relation || coalesce(' in ' || (SELECT datname FROM pg_catalog.pg_database
                                                 WHERE oid = {a}.database), '')) END""".replace(
            "{a}", alias
        )
    )


_SQL_STATEMENT_TEXTS = """
SELECT s.userid, s.dbid, s.queryid, left(s.query, {chars}), {own_query_id}
FROM {schema}.pg_stat_statements(true) s
WHERE s.queryid = ANY (%s::bigint[])
"""

SESSIONS_COLUMNS = (
    "pid",
    "user",
    "database",
    "application",
    "client",
    "state",
    "wait event",
    "backend start",
    "xact duration",
    "query duration",
    "query",
)
BLOCKING_COLUMNS = (
    "blocked pid",
    "blocked by",
    "chain",
    "lock",
    "relation",
    "wait duration",
    "blocked query",
    "blocker query",
)
LOCKS_COLUMNS = ("pid", "mode", "locktype", "relation", "granted", "wait duration")
DATABASES_COLUMNS = ("database", "size (bytes)", "connections")
STATEMENTS_COLUMNS = ("query", "calls", "total ms", "mean ms", "rows", "shared hit %")

# Which column holds what (the monitor panel's layout and confirmations).
# "xact duration" has no role: the query's duration is the one that counts.
SESSIONS_ROLES = {
    ColumnRole.ID: (0,),
    ColumnRole.USER: (1,),
    ColumnRole.DATABASE: (2,),
    ColumnRole.STATE: (5,),
    ColumnRole.WAIT: (6,),
    ColumnRole.DURATION: (9,),
    ColumnRole.TEXT: (10,),
}
BLOCKING_ROLES = {
    ColumnRole.ID: (0,),
    ColumnRole.WAIT: (1, 3),
    ColumnRole.CHAIN: (2,),
    ColumnRole.DURATION: (5,),
    ColumnRole.TEXT: (6, 7),
}
LOCKS_ROLES = {ColumnRole.ID: (0,), ColumnRole.STATE: (4,), ColumnRole.DURATION: (5,)}
DATABASES_ROLES = {ColumnRole.DATABASE: (0,), ColumnRole.BYTES: (1,)}
STATEMENTS_ROLES = {ColumnRole.TEXT: (0,)}


@dataclass(slots=True)
class _MonitorState:
    """What the monitor keeps between samples."""

    sizes: dict[str, int | None] = field(default_factory=dict)
    sizes_at: float = -math.inf
    texts: dict[tuple[int, int, int], str] = field(default_factory=dict)
    # pg_stat_statements failed (not preloaded, no permission...): its note,
    # and when to try again, so a broken setup does not log an error on the
    # server every sample.
    statements_note: str = ""
    statements_retry_at: float = -math.inf
    # queryids of the monitor's own sample statement (one per server version
    # and setting, in practice one).
    own_query_ids: set[int] = field(default_factory=set)


class Monitor:
    """MONITOR of a PostgreSQL backend: samples and session actions on the
    backend's autocommit connection to its database; keeps what one sample
    needs of the last (database sizes, statement texts)."""

    def __init__(self, core: PostgresCore) -> None:
        self._core = core
        self._state = _MonitorState()

    def stats(self) -> Stats:
        """One sample: see the module docstring for what it costs.

        Metrics: "connections", "active" and "blocked" (client sessions other
        than this one, gauges); cumulative counters summed over
        pg_stat_database: "commits", "rollbacks", "blocks hit", "blocks read",
        "tuples read" (returned + fetched), "tuples written" (inserted +
        updated + deleted), "deadlocks", "temp bytes"; and "cache hit ratio"
        (gauge, %: blocks hit / (hit + read) since the statistics were reset,
        100 when nothing was read yet; a per-interval ratio comes from the
        rates of the two block counters).

        Tables: "Sessions" (client backends, active ones first, longest
        running first), "Blocking" (one row per session waiting on a lock:
        ``chain`` starts with the blocked pid and ends with the root blocker,
        "412 ← 398 ← 377" reads "412 waits for 398, which waits for 377"; a
        cycle not yet broken by the deadlock detector ends with the pid it
        returns to; "blocker query" is the query of the next pid in the
        chain), "Locks" (waiting locks first), "Databases" and "Statements"
        (top statements by total time from pg_stat_statements, or a note
        saying why there are none).
        """
        db = self._core._primary()
        conn = self._core._conn(db)
        if conn.server_version < 90600:
            raise NotSupported("monitoring needs PostgreSQL 9.6 or later")
        state = self._state
        now = time.monotonic()
        want_sizes = now - state.sizes_at >= self._core.db_size_interval
        query = sql.SQL(_SQL_SAMPLE).format(
            chars=sql.Literal(QUERY_CHARS),
            rows=sql.Literal(MAX_ROWS),
            databases=sql.Literal(MAX_DATABASES),
            client_backend=sql.SQL(_CLIENT_BACKEND if conn.server_version >= 100000 else "true"),
            waitstart=sql.SQL("l.waitstart" if conn.server_version >= 140000 else "NULL"),
            own_query_id=sql.SQL(_OWN_QUERY_ID if conn.server_version >= 140000 else "NULL"),
            relation_l=_relation_name("l"),
            relation_w=_relation_name("w"),
        )
        taken_at = time.time()
        with self._core._guard(conn, db):
            cur = conn.cursor()
            cur.execute(query, {"sizes": want_sizes})
            row = cur.fetchone()
        assert row is not None
        (connections, active, commits, rollbacks, hit, read, tup_read, tup_written) = row[:8]
        (deadlocks, temp_bytes, sessions, blocked, blocker_queries, locks) = row[8:14]
        (databases, extension, preload, own_query_id) = row[14:]
        if own_query_id is not None:
            state.own_query_ids.add(own_query_id)

        blocking = _blocking_rows(blocked or [], blocker_queries or {})
        hit, read = _number(hit), _number(read)
        metrics = (
            Metric("connections", float(connections)),
            Metric("active", float(active)),
            Metric("blocked", float(len(blocking))),
            Metric("commits", _number(commits), MetricKind.COUNTER),
            Metric("rollbacks", _number(rollbacks), MetricKind.COUNTER),
            Metric(
                "cache hit ratio", 100.0 * hit / (hit + read) if hit + read else 100.0, unit="%"
            ),
            Metric("blocks hit", hit, MetricKind.COUNTER, "blocks"),
            Metric("blocks read", read, MetricKind.COUNTER, "blocks"),
            Metric("tuples read", _number(tup_read), MetricKind.COUNTER, "rows"),
            Metric("tuples written", _number(tup_written), MetricKind.COUNTER, "rows"),
            Metric("deadlocks", _number(deadlocks), MetricKind.COUNTER),
            Metric("temp bytes", _number(temp_bytes), MetricKind.COUNTER, "bytes"),
        )

        if want_sizes:
            state.sizes = {name: size for name, size, _ in databases or []}
            state.sizes_at = now
        tables = (
            StatsTable(
                "Sessions",
                SESSIONS_COLUMNS,
                tuple(_session_row(r) for r in sessions or []),
                key_column=0,
                actions=SESSION_ACTIONS,
                roles=SESSIONS_ROLES,
            ),
            StatsTable(
                "Blocking",
                BLOCKING_COLUMNS,
                tuple(blocking),
                key_column=0,
                actions=BLOCKING_ACTIONS,
                roles=BLOCKING_ROLES,
            ),
            StatsTable(
                "Locks",
                LOCKS_COLUMNS,
                tuple((*r[:5], _duration(r[5])) for r in locks or []),
                roles=LOCKS_ROLES,
            ),
            StatsTable(
                "Databases",
                DATABASES_COLUMNS,
                tuple((name, state.sizes.get(name), n) for name, _, n in databases or []),
                roles=DATABASES_ROLES,
            ),
            self._statements_table(db, conn, state, extension, preload),
        )
        return Stats(taken_at=taken_at, metrics=metrics, tables=tables)

    def session_action(self, action: str, session_id: Any) -> str:
        """Signal session ``session_id`` (a pid): "cancel" cancels its running
        query, "terminate" ends the session (its open transaction rolls back).

        A read-only connection may cancel (that changes no data and is how a
        runaway query is stopped) but not terminate, which throws away
        another session's work: ``ReadOnly``. This backend's own sessions
        cannot be acted on (``NotSupported``); a pid that is no PostgreSQL
        session any more is an outcome ("... is gone"), not an error; a
        session the user has no right to signal raises ``PermissionDenied``.
        """
        if action not in SESSION_ACTION_IDS:
            raise NotSupported(f"unknown session action {action!r}: use cancel or terminate")
        try:
            pid = int(session_id)
        except (TypeError, ValueError) as e:
            raise NotFound(f"{session_id!r} is not a session id (a backend pid)") from e
        if action == "terminate" and self._core.read_only:
            raise ReadOnly(f"terminating session {pid} is not allowed on a read-only connection")
        own = self._core._own_pids()
        if pid in own:
            raise NotSupported(f"session {pid} is this connection's own session")
        db = self._core._primary()
        conn = self._core._conn(db)
        signal = "pg_cancel_backend" if action == "cancel" else "pg_terminate_backend"
        # One round-trip: the session's state as the signal is sent, so the
        # outcome can say whether there was a query to cancel.
        query = sql.SQL(
            "SELECT a.state, pg_catalog.{}(a.pid) FROM pg_catalog.pg_stat_activity a "
            "WHERE a.pid = %s"
        ).format(sql.Identifier(signal))
        with self._core._guard(conn, db):
            cur = conn.cursor()
            cur.execute(query, (pid,))
            row = cur.fetchone()
        if row is None or not row[1]:
            if action == "cancel":
                return f"Session {pid} had nothing to cancel or is gone"
            return f"Session {pid} is gone"
        state = row[0]
        if action == "terminate":
            return f"Terminated session {pid}"
        if state is not None and state != "active":
            return f"Session {pid} had nothing to cancel ({state})"
        return f"Cancelled the query of session {pid}"

    # -- helpers -------------------------------------------------------------------------

    def _statements_table(
        self,
        db: str,
        conn: Any,
        state: _MonitorState,
        extension: list[str] | None,
        preload: str | None,
    ) -> StatsTable:
        def table(rows: tuple[tuple[Any, ...], ...] = (), note: str = "") -> StatsTable:
            return StatsTable(
                "Statements", STATEMENTS_COLUMNS, rows, note=note, roles=STATEMENTS_ROLES
            )

        if extension is None:
            return table(note=_PGSS_MISSING)
        # pg_settings hides shared_preload_libraries from users without
        # pg_read_all_settings: then only running the query can tell.
        if preload is not None and "pg_stat_statements" not in preload:
            return table(note=_PGSS_NOT_LOADED)
        if time.monotonic() < state.statements_retry_at:
            return table(note=state.statements_note)
        schema, version = extension
        has_query_id = conn.server_version >= 140000
        own_query_id = _OWN_QUERY_ID if has_query_id else "NULL"
        new_names = _version(version) >= (1, 8)
        top = sql.SQL(_SQL_TOP_STATEMENTS).format(
            schema=sql.Identifier(schema),
            total=sql.Identifier("total_exec_time" if new_names else "total_time"),
            mean=sql.Identifier("mean_exec_time" if new_names else "mean_time"),
            limit=sql.Literal(MAX_STATEMENTS),
            not_this=sql.SQL(
                f" AND s.queryid IS DISTINCT FROM {own_query_id}" if has_query_id else ""
            ),
        )
        try:
            cur = conn.cursor()
            cur.execute(top, (_bigint_array(state.own_query_ids),))
            rows = cur.fetchall()
            missing = [
                r[2] for r in rows if r[2] is not None and (r[0], r[1], r[2]) not in state.texts
            ]
            if missing:
                if len(state.texts) + len(missing) > self._core.max_statement_texts:
                    state.texts.clear()
                cur.execute(
                    sql.SQL(_SQL_STATEMENT_TEXTS).format(
                        schema=sql.Identifier(schema),
                        chars=sql.Literal(QUERY_CHARS),
                        own_query_id=sql.SQL(own_query_id),
                    ),
                    (_bigint_array(missing),),
                )
                for userid, dbid, queryid, text, own in cur.fetchall():
                    state.texts[(userid, dbid, queryid)] = text
                    if own is not None:
                        state.own_query_ids.add(own)
        except psycopg2.Error as e:
            if conn.closed:
                raise self._core._translate(e, conn, db) from e
            message = self._core._message(e)
            if "shared_preload_libraries" in message:
                note = _PGSS_NOT_LOADED
            else:
                note = f"pg_stat_statements cannot be read: {message}"
            state.statements_note = note
            state.statements_retry_at = time.monotonic() + self._core.statements_retry_interval
            return table(note=note)
        out = []
        for userid, dbid, queryid, calls, total, mean, nrows, blk_hit, blk_read in rows:
            blocks = blk_hit + blk_read
            out.append(
                (
                    state.texts.get((userid, dbid, queryid)),
                    calls,
                    round(float(total), 3),
                    round(float(mean), 3),
                    nrows,
                    round(100.0 * blk_hit / blocks, 1) if blocks else None,
                )
            )
        return table(tuple(out))


# -- rows ----------------------------------------------------------------------------------


def _number(value: Any) -> float:
    """A summed counter (numeric, NULL on an empty pg_stat_database) as a float."""
    return float(value) if value is not None else 0.0


def _duration(seconds: float | None) -> dt.timedelta | None:
    # now() is our statement's start: a session that began after it would
    # show a few negative microseconds.
    return None if seconds is None else dt.timedelta(seconds=max(0.0, seconds))


def _timestamp(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _bigint_array(values: Iterable[int]) -> str:
    """A bigint[] parameter as one literal: psycopg2 sends a list as
    ARRAY[$1, $2...], a different statement (queryid) for each length."""
    return "{" + ",".join(str(int(v)) for v in sorted(values)) + "}"


def _session_row(r: list[Any]) -> tuple[Any, ...]:
    pid, user, database, app, client, state, wait, start, xact, running, query = r
    return (
        pid,
        user,
        database,
        app,
        client,
        state,
        wait,
        _timestamp(start),
        _duration(xact),
        _duration(running),
        query,
    )


def _chain(pid: int, waits_for: dict[int, list[int]]) -> list[int]:
    """``pid`` and whom it waits for, up to the root blocker. Where a session
    waits for several, the chain follows one that is itself blocked (a waiter
    queued ahead of it), so it ends at the session holding everyone up."""
    chain = [pid]
    seen = {pid}
    current = pid
    while waits_for.get(current):
        blockers = waits_for[current]
        step = next((b for b in blockers if b in waits_for and b not in seen), blockers[0])
        chain.append(step)
        if step in seen:  # a deadlock the detector has not broken yet
            break
        seen.add(step)
        current = step
    return chain


def _blocking_rows(blocked: list[list[Any]], queries: dict[str, str]) -> list[tuple[Any, ...]]:
    waits_for = {int(r[0]): [int(b) for b in r[1]] for r in blocked}
    rows = []
    for pid, blockers, mode, locktype, relation, wait, query in blocked:
        chain = _chain(pid, waits_for)
        lock = f"{mode} on {locktype}" if mode else None
        rows.append(
            (
                pid,
                ", ".join(str(b) for b in blockers),
                " ← ".join(str(p) for p in chain),
                lock,
                relation,
                _duration(wait),
                query,
                queries.get(str(chain[1])),
            )
        )
    return rows
