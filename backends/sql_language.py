"""Standard SQL as the query editor describes it (``backends.language``).

The pieces a SQL store shares: the keywords offered by completion, which
names fit after the last keyword (a table after FROM/JOIN, a column after
SELECT/WHERE), identifier quoting (``"..."``, and the standard's Unicode
escapes for a name holding control characters), the formatter, the
``SELECT * FROM`` that "open in query" writes, and the transaction words.
PostgreSQL's description (``backends.postgres.sql_text``) is this one with
its own splitter-backed pieces.
"""

from __future__ import annotations

import dataclasses
import re

from .language import (
    CompletionContext,
    CompletionRules,
    ExplainWords,
    QueryLanguage,
    TransactionWords,
)
from .types import Statement, StatementKind

#: Keywords offered by completion (upper-case, as inserted).
_KEYWORDS = """SELECT FROM WHERE AND OR NOT NULL IS IN EXISTS BETWEEN LIKE ILIKE AS ON JOIN LEFT RIGHT
    FULL INNER OUTER CROSS LATERAL USING GROUP BY ORDER HAVING LIMIT OFFSET DISTINCT UNION ALL
    EXCEPT INTERSECT INSERT INTO VALUES UPDATE SET DELETE RETURNING CREATE TABLE VIEW INDEX
    UNIQUE PRIMARY KEY FOREIGN REFERENCES DROP ALTER ADD COLUMN CONSTRAINT DEFAULT CHECK
    TRUNCATE BEGIN COMMIT ROLLBACK SAVEPOINT RELEASE EXPLAIN ANALYZE VERBOSE BUFFERS WITH
    RECURSIVE CASE WHEN THEN ELSE END CAST ASC DESC NULLS FIRST LAST TRUE FALSE COUNT SUM AVG
    MIN MAX COALESCE NULLIF SCHEMA DATABASE GRANT REVOKE VACUUM SHOW TEMPORARY TEMP IF
    CONCURRENTLY MATERIALIZED REFRESH FUNCTION RETURNS LANGUAGE OVER PARTITION WINDOW FILTER
    ONLY FETCH NEXT ROWS ROW FOR SHARE NOWAIT SKIP LOCKED"""
SQL_KEYWORDS: tuple[str, ...] = tuple(_KEYWORDS.split())

#: The last of these keywords before the cursor says what the name typed is
#: likely to be: a table (after FROM, JOIN...) or a column (SELECT, WHERE...).
_CONTEXT = re.compile(
    r"\b(from|join|into|update|table|select|where|on|and|or|by|set|having|returning"
    r"|using|when|then|else)\b",
    re.IGNORECASE,
)
_TABLE_WORDS = {"from", "join", "into", "update", "table"}
#: Kinds in the order offered after a table word, and after a column word.
_TABLES = ("table", "view", "schema", "function", "keyword")
_COLUMNS = ("column", "function", "keyword")

_WORD = re.compile(r'(?:(?P<q>"[^"\n]+"|[A-Za-z_][\w$]*)\.)?(?P<w>"?[\w$]*)$')


def sql_context(text: str, cursor: int) -> CompletionContext:
    """The (possibly ``"``-quoted, possibly qualified) name ending at
    ``cursor``; unqualified, the kinds that fit after the last keyword."""
    before = text[:cursor]
    line = before.rpartition("\n")[2]
    m = _WORD.search(line)
    if m is None:
        return CompletionContext(None, "")
    qualifier, word = m.group("q"), m.group("w")
    prefer: tuple[str, ...] = ()
    if qualifier is None:
        words = _CONTEXT.findall(before[: len(before) - len(word)][-2000:])
        if words:
            prefer = _TABLES if words[-1].lower() in _TABLE_WORDS else _COLUMNS
    return CompletionContext(qualifier, word, prefer)


def split_qualified(name: str) -> tuple[str, str] | None:
    """``"a.b".c`` -> ('"a.b"', 'c'); None when ``name`` is not qualified."""
    if name.startswith('"'):
        end = name.find('"', 1)
        while end != -1 and name[end + 1 : end + 2] == '"':
            end = name.find('"', end + 2)
        if end == -1 or name[end + 1 : end + 2] != ".":
            return None
        return name[: end + 1], name[end + 2 :]
    head, dot, tail = name.partition(".")
    return (head, tail) if dot and tail else None


def quote_identifier(name: str) -> str:
    """``name`` as SQL reads it back: as it is when it is a plain lower-case
    identifier, else double-quoted; a name holding anything unprintable
    (control characters, line breaks, bidi marks) is written with the
    standard's Unicode escapes (``U&"..."``), which name the same object
    and put nothing raw in an editor that shows its text as it is."""
    if name.isidentifier() and name == name.lower():
        return name
    if not name.isprintable():
        return 'U&"' + "".join(_unicode_escaped(ch) for ch in name) + '"'
    return '"' + name.replace('"', '""') + '"'


def _unicode_escaped(ch: str) -> str:
    """One character inside a ``U&"..."`` identifier."""
    if ch == "\\":
        return "\\\\"
    if ch == '"':
        return '""'
    if not ch.isprintable():
        return f"\\+{ord(ch):06x}"
    return ch


def select_all(path: tuple[str, ...]) -> str:
    """``SELECT * FROM schema.table;`` for a catalog path whose first part
    is the database (the connection's own, so it is left out)."""
    name = ".".join(quote_identifier(p) for p in path[1:]) if len(path) > 1 else path[0]
    return f"SELECT * FROM {name};"


def format_sql(text: str) -> str:
    """Re-indented, keywords upper-case (sqlparse)."""
    import sqlparse

    formatted: str = sqlparse.format(text, reindent=True, keyword_case="upper")
    return formatted


def first_word(statement: Statement) -> str:
    """A result tab's title: the statement's first word ("SELECT")."""
    word = re.match(r"\s*([A-Za-z]+)", statement.text)
    return word.group(1).upper()[:10] if word else "?"


#: The name a statement works on: after FROM, INTO, UPDATE, TABLE, JOIN...
_TITLE_NAME = re.compile(
    r"\b(?:from|into|update|table|join|index|view|truncate|on)\s+"
    r"(?:only\s+)?(?:if\s+(?:not\s+)?exists\s+)?"
    r'(?P<name>(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))*)(?![\w$]|\()',
    re.IGNORECASE,
)
_TITLE_WIDTH = 20


def statement_title(statement: Statement) -> str:
    """A result tab's title: the statement's first word and the first name
    it works on ("SELECT orders", "UPDATE items"), at most 20 characters."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", statement.text, flags=re.DOTALL)
    word = first_word(Statement(text, 0, len(text)))
    m = _TITLE_NAME.search(text)
    if m is None or word == "WITH":  # a WITH's names are mostly its own
        return word
    last = re.split(r"\s*\.\s*(?=[\"A-Za-z_])", m.group("name"))[-1]
    name = last[1:-1].replace('""', '"') if last.startswith('"') else last
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    title = f"{word} {name}"
    return title if len(title) <= _TITLE_WIDTH else title[: _TITLE_WIDTH - 1] + "…"


def begins_by_text(statement: Statement) -> bool:
    """BEGIN or START TRANSACTION, by its first word."""
    return (
        statement.kind is StatementKind.TRANSACTION
        and statement.text.lstrip().upper().startswith(("BEGIN", "START"))
    )


SQL_COMPLETION = CompletionRules(
    keywords=SQL_KEYWORDS,
    context=sql_context,
    split_name=split_qualified,
    quote=quote_identifier,
    word_chars='_$."',
)

SQL_EXPLAIN = ExplainWords(
    label="Explain",
    title="EXPLAIN",
    analyze_label="Explain analyze",
    analyze_title="EXPLAIN ANALYZE",
    analyze_runs=True,
    analyze_warning="EXPLAIN ANALYZE runs the statement; it will be rolled back.",
)

SQL_TRANSACTIONS = TransactionWords(
    begin="BEGIN",
    commit="COMMIT",
    rollback="ROLLBACK",
    begins=begins_by_text,
)

STANDARD_SQL = QueryLanguage(
    name="SQL",
    extension=".sql",
    highlight="sql",
    completion=SQL_COMPLETION,
    title_of=statement_title,
    format=format_sql,
    open_template=select_all,
    open_label="SELECT current table",
    explain=SQL_EXPLAIN,
    transactions=SQL_TRANSACTIONS,
)


def _postgres_begins(statement: Statement) -> bool:
    # Imported when first asked (a statement was run, so the backend and
    # pglast are loaded already): describing the language loads no driver.
    from .postgres.sql_text import begins_transaction

    return begins_transaction(statement)


#: PostgreSQL's SQL as the query editor shows it: standard SQL, with BEGIN
#: told from the other transaction statements by PostgreSQL's grammar.
POSTGRES_SQL = dataclasses.replace(
    STANDARD_SQL,
    transactions=dataclasses.replace(SQL_TRANSACTIONS, begins=_postgres_begins),
)
