"""What a PostgreSQL text is, read with the server's own scanner and grammar
(pglast, i.e. libpg_query), with no connection: the statements of a script
(``split_statements``), what each one does (``StatementKind``, destructive or
not, streamable or not), and why a read-only session refuses one before it
is sent (``read_only_refusal``). ``query`` runs what this module judged;
``POSTGRES_SQL`` (in ``backends.sql_language``, which loads no driver) describes
the language to the query editor; its ``begins`` calls ``begins_transaction``.

**Splitting.** pglast's parse gives each statement's extent; ``Statement``
offsets start at its first token and end after its ``;`` (comments around it
left out), in characters of the script. A text pglast cannot parse is split
at the ``;`` tokens of the server's scanner instead, and each piece that
still does not parse is kept whole, unclassified (kind ``OTHER``): a
read-write session sends it so the user sees the server's own syntax error
and position; a read-only session refuses to send what it cannot judge.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterator
from typing import Any

from pglast import ast as pg_ast
from pglast import parser as pg_parser

from ..types import Statement, StatementKind

READ_ONLY = "this connection is read-only"

# -- side effects a read-only transaction allows -------------------------------------------

#: Functions a read-only session refuses to call, wherever they appear in a
#: statement (by name, in any schema: a same-named function of one's own is
#: refused too). PostgreSQL lets a read-only transaction run them, and what
#: they do outlives its ROLLBACK, or happens outside the database.
#: ``nextval``/``setval`` are not here: the server refuses them in a
#: read-only transaction (for all but temporary sequences).
SIDE_EFFECT_FUNCTIONS = frozenset(
    {
        # replication slots and origins: persistent, hold WAL back
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
        "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
        "pg_copy_logical_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",
        "pg_sync_replication_slots", "pg_logical_emit_message",
        "pg_replication_origin_create", "pg_replication_origin_drop",
        "pg_replication_origin_advance", "pg_replication_origin_session_setup",
        "pg_replication_origin_session_reset", "pg_replication_origin_xact_setup",
        "pg_replication_origin_xact_reset",
        # statistics: resets and restores
        "pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters", "pg_stat_reset_slru",
        "pg_stat_reset_replication_slot", "pg_stat_reset_subscription_stats",
        "pg_stat_reset_backend_stats", "pg_stat_statements_reset",
        "pg_restore_relation_stats", "pg_clear_relation_stats",
        "pg_restore_attribute_stats", "pg_clear_attribute_stats",
        # server configuration and logs
        "pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old", "pg_logfile_rotate",
        "pg_log_backend_memory_contexts", "set_config",
        # WAL, backups, recovery
        "pg_switch_wal", "pg_switch_xlog", "pg_create_restore_point",
        "pg_start_backup", "pg_stop_backup", "pg_backup_start", "pg_backup_stop",
        "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_xlog_replay_pause",
        "pg_xlog_replay_resume", "pg_promote",
        # signalling other backends
        "pg_cancel_backend", "pg_terminate_backend", "pg_signal_backend",
        # large objects that write (lo_import/lo_export touch server files)
        "lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink", "lo_from_bytea",
        "lo_put", "lowrite", "lo_truncate", "lo_truncate64",
        # notifications (delivered at commit; refused rather than relied upon)
        "pg_notify",
        # server files (adminpack)
        "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync",
        # other connections (dblink): whatever they run is not read-only
        "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_open",
        "dblink_fetch", "dblink_close", "dblink_send_query", "dblink_get_result",
        "dblink_disconnect", "dblink_cancel_query",
        # session-level advisory locks: held until the session ends, past the
        # ROLLBACK (the pg_advisory_xact_* ones end with the transaction)
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
        # SQL text run inside a function, which this check cannot see
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "ts_stat",
        "ts_rewrite",
        "crosstab", "crosstab2", "crosstab3", "crosstab4", "connectby",
    }
)  # fmt: skip

#: Settings a read-only session never changes: how later text is lexed, who
#: the session is, and read-only itself.
_LOCKED_SETTINGS = frozenset(
    {
        "standard_conforming_strings",
        "backslash_quote",
        "default_transaction_read_only",
        "transaction_read_only",
        "session_authorization",
        "role",
    }
)

# -- splitting and classifying (pglast: the server's scanner and grammar) --------------------

_COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})
_SEMICOLON = "ASCII_59"


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    """What a statement is, for safety prompts and for how it runs."""

    kind: StatementKind
    destructive: bool
    node: Any = None  # pglast's statement node; None when it could not parse the text
    error: tuple[str, int | None] | None = None  # pglast's message, position in the script
    declare: bool = False  # DECLARE CURSOR accepts it: rows are streamed
    scroll: bool = True  # no locking clause: the cursor may be SCROLL

    def isa(self, *types: type) -> bool:
        return isinstance(self.node, types)


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int  # exclusive
    name: str


def _tokens(text: str) -> list[_Token]:
    """The server scanner's tokens of ``text``, comments left out (raises
    ``pg_parser.ParseError`` on an unterminated string or comment)."""
    return [
        _Token(t.start, t.end + 1, t.name)  # pglast's ends are inclusive
        for t in pg_parser.scan(text)
        if t.name not in _COMMENTS
    ]


def walk(node: Any) -> Iterator[Any]:
    """``node`` and every node under it."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, pg_ast.Node):
            yield item
            stack.extend(getattr(item, name) for name in item)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _regions(text: str, tokens: list[_Token]) -> list[tuple[int, int, Any, Any]]:
    """(start, end, node, error) of each statement pglast finds; when the
    whole text does not parse, of each piece between ``;`` tokens, each
    parsed on its own."""
    try:
        raws = pg_parser.parse_sql(text)
    except pg_parser.ParseError:
        pass
    else:
        out: list[tuple[int, int, Any, Any]] = []
        for r in raws:
            lo = int(r.stmt_location or 0)
            out.append((lo, lo + r.stmt_len if r.stmt_len else len(text), r.stmt, None))
        return out
    out = []
    piece: list[_Token] = []
    for tok in [*tokens, None]:
        if tok is not None and tok.name != _SEMICOLON:
            piece.append(tok)
            continue
        if piece:
            lo, hi = piece[0].start, piece[-1].end
            node, error = None, None
            try:
                found = pg_parser.parse_sql(text[lo:hi])
            except pg_parser.ParseError as e:
                at = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None
                error = (str(e.args[0]), None if at is None else lo + at)
            else:
                if len(found) == 1:
                    node = found[0].stmt
                else:
                    error = ("this text could not be split into statements", lo)
            out.append((lo, hi, node, error))
        piece = []
    return out


def analyse(text: str) -> list[tuple[Statement, Shape]]:
    """The statements of ``text`` with their shapes, as the server reads them."""
    try:
        tokens = _tokens(text)
    except pg_parser.ParseError as e:  # an unterminated string or comment
        body = text.strip()
        if not body:
            return []
        start = text.index(body[0])
        at = e.args[1] if len(e.args) > 1 and isinstance(e.args[1], int) else None
        shape = Shape(StatementKind.OTHER, False, error=(str(e.args[0]), at))
        end = start + len(body)
        return [(Statement(text=text[start:end], start=start, end=end), shape)]
    starts = [t.start for t in tokens]
    out = []
    for lo, hi, node, error in _regions(text, tokens):
        first, past = bisect.bisect_left(starts, lo), bisect.bisect_left(starts, hi)
        while first < past and tokens[first].name == _SEMICOLON:
            first += 1
        if first == past:
            continue
        start, end = tokens[first].start, tokens[past - 1].end
        if past < len(tokens) and tokens[past].name == _SEMICOLON:
            end = tokens[past].end
        shape = _shape(node) if node is not None else Shape(StatementKind.OTHER, False, error=error)
        stmt = Statement(
            text=text[start:end],
            start=start,
            end=end,
            kind=shape.kind,
            destructive=shape.destructive,
        )
        out.append((stmt, shape))
    return out


def _option_on(option: Any) -> bool:
    """A boolean EXPLAIN option (``ANALYZE``, ``ANALYZE true``, ``ANALYZE off``...)."""
    arg = getattr(option, "arg", None)
    if arg is None:
        return True
    value = getattr(arg, "val", arg)
    for attr in ("sval", "boolval", "ival"):
        if hasattr(value, attr):
            raw = getattr(value, attr)
            return str(raw).lower() not in ("false", "off", "0", "no")
    return True


def _explain_analyzes(node: Any) -> bool:
    return any(
        getattr(o, "defname", "") in ("analyze", "analyse") and _option_on(o)
        for o in node.options or ()
    )


def _modifies(node: Any) -> bool:
    """A data-modifying CTE in a SELECT (``WITH d AS (DELETE ...)``): the
    server allows them only in the top-level WITH."""
    ctes = node.withClause.ctes if node.withClause is not None else ()
    return any(
        isinstance(
            cte.ctequery,
            pg_ast.InsertStmt | pg_ast.UpdateStmt | pg_ast.DeleteStmt | pg_ast.MergeStmt,
        )
        for cte in ctes or ()
    )


_DDL_PREFIXES = (
    "Create", "Alter", "Drop", "Define", "Rename", "Comment", "Grant", "SecLabel",
    "ImportForeignSchema", "Reassign",
)  # fmt: skip
_DDL_NODES = (
    pg_ast.IndexStmt,
    pg_ast.ViewStmt,
    pg_ast.RuleStmt,
    pg_ast.CompositeTypeStmt,
    pg_ast.TruncateStmt,
)


def _classify(node: Any) -> tuple[StatementKind, bool]:
    """(kind, destructive) of a parsed statement."""
    if isinstance(node, pg_ast.SelectStmt):
        writes = node.intoClause is not None or _modifies(node)
        return (StatementKind.WRITE if writes else StatementKind.READ), False
    if isinstance(node, pg_ast.UpdateStmt | pg_ast.DeleteStmt):
        return StatementKind.WRITE, node.whereClause is None
    if isinstance(node, pg_ast.InsertStmt | pg_ast.MergeStmt | pg_ast.RefreshMatViewStmt):
        return StatementKind.WRITE, False
    if isinstance(node, pg_ast.CopyStmt):
        return (StatementKind.WRITE if node.is_from else StatementKind.READ), False
    if isinstance(node, pg_ast.ExplainStmt):
        if _explain_analyzes(node):
            return _classify(node.query)  # it really runs
        return StatementKind.READ, False
    if isinstance(node, pg_ast.VariableShowStmt):
        return StatementKind.READ, False
    if isinstance(node, pg_ast.TransactionStmt):
        return StatementKind.TRANSACTION, False
    name = type(node).__name__
    if isinstance(node, _DDL_NODES) or name.startswith(_DDL_PREFIXES):
        destructive = name.startswith("Drop") or isinstance(node, pg_ast.TruncateStmt)
        if isinstance(node, pg_ast.AlterTableStmt):
            destructive = any(
                "Drop" in getattr(getattr(cmd, "subtype", None), "name", "")
                for cmd in node.cmds or ()
            )
        return StatementKind.DDL, destructive
    return StatementKind.OTHER, False


def _shape(node: Any) -> Shape:
    kind, destructive = _classify(node)
    declare = (
        kind is StatementKind.READ
        and isinstance(node, pg_ast.SelectStmt)
        and node.intoClause is None
    )
    locking = declare and any(isinstance(n, pg_ast.LockingClause) for n in walk(node))
    return Shape(
        kind=kind,
        destructive=destructive,
        node=node,
        declare=declare,
        scroll=not locking,
    )


def function_name(call: Any) -> str:
    names = [getattr(n, "sval", "") for n in call.funcname or ()]
    return str(names[-1]) if names else ""


def read_only_refusal(stmt: Statement, shape: Shape) -> str | None:
    """Why a read-only session refuses ``stmt`` before sending it, or None."""
    words = stmt.text.rstrip(";").split()
    what = words[0].upper() if words else ""
    if what in ("ALTER", "CREATE", "DROP", "PREPARE") and len(words) > 1 and words[1].isalpha():
        what += f" {words[1].upper()}"
    node = shape.node
    if node is None:
        message = shape.error[0] if shape.error else "it could not be parsed"
        return f"{READ_ONLY}: this statement cannot be checked ({message}), so it is not sent"
    for n in walk(node):
        if isinstance(n, pg_ast.FuncCall) and function_name(n) in SIDE_EFFECT_FUNCTIONS:
            return (
                f"{READ_ONLY}: {function_name(n)}() acts outside a read-only transaction, "
                "so it is refused"
            )
    if isinstance(node, pg_ast.TransactionStmt):
        return (
            f"{READ_ONLY}: transaction statements ({what}) are refused; "
            "storescope opens and ends read-only transactions itself"
        )
    if isinstance(node, pg_ast.VariableSetStmt):
        return _setting_refusal(node)
    if isinstance(node, pg_ast.ExplainStmt):
        if not _explain_analyzes(node):
            return None  # only planned
        inner = _shape(node.query)
        return read_only_refusal(stmt, inner) if inner.node is not None else None
    if isinstance(node, pg_ast.DeclareCursorStmt):
        inner = _shape(node.query)
        return None if inner.declare else f"{READ_ONLY}: this cursor's statement writes"
    if isinstance(node, pg_ast.DiscardStmt):
        if "ALL" in str(getattr(node.target, "name", "")):
            return f"{READ_ONLY}: DISCARD ALL is refused (it resets read-only)"
        return None
    if shape.declare or isinstance(
        node,
        pg_ast.VariableShowStmt | pg_ast.FetchStmt | pg_ast.ClosePortalStmt | pg_ast.UnlistenStmt,
    ):
        return None
    if shape.kind in (StatementKind.WRITE, StatementKind.DDL):
        return f"{READ_ONLY}: {what} writes, so it is refused"
    return f"{READ_ONLY}: {what} is refused"


def _setting_refusal(node: Any) -> str | None:
    kind = str(getattr(node.kind, "name", node.kind))
    name = str(node.name or "").lower()
    if kind == "VAR_RESET_ALL":
        return f"{READ_ONLY}: RESET ALL is refused (it resets read-only)"
    if name == "session characteristics":
        return f"{READ_ONLY}: SET SESSION CHARACTERISTICS is refused"
    if name in _LOCKED_SETTINGS:
        return f"{READ_ONLY}: {name} cannot be changed on a read-only connection"
    if name.startswith("transaction"):
        for option in node.args or ():
            if getattr(option, "defname", "") == "transaction_read_only" and not _option_on(option):
                return f"{READ_ONLY}: READ WRITE transactions are refused"
    return None


def split_statements(text: str) -> list[Statement]:
    """The statements of ``text`` (see the module docstring)."""
    return [stmt for stmt, _ in analyse(text)]


def begins_transaction(statement: Statement) -> bool:
    """BEGIN or START TRANSACTION, as the grammar reads it (not COMMIT,
    ROLLBACK, SAVEPOINT or PREPARE TRANSACTION)."""
    if statement.kind is not StatementKind.TRANSACTION:
        return False
    try:
        parsed = pg_parser.parse_sql(statement.text)
    except pg_parser.ParseError:
        return False
    node = parsed[0].stmt if len(parsed) == 1 else None
    if not isinstance(node, pg_ast.TransactionStmt):
        return False
    kind = str(getattr(node.kind, "name", node.kind))
    return kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
