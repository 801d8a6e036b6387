"""Completion for the query editor: an index of names built once in a worker,
and the popup (an ``OptionList`` overlay inside the panel) that shows matches.

The index keeps every name lower-cased in a sorted list, so the names starting
with what was typed are found with a binary search and read in order: opening
the popup costs the same with 10 tables or 10,000, and at most ``limit`` items
are ever shown. ``table.column`` names (and ``schema.table`` ones) are also
filed under their qualifier, for completion after a dot.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import ClassVar

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from storescope.tui.sanitize import has_controls, sanitize

#: Keywords offered for "sql" (upper-case, as inserted).
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
#: Kinds in the order offered, per context; kinds not listed come last.
_RANKS: dict[str, tuple[str, ...]] = {
    "tables": ("table", "view", "schema", "function", "keyword"),
    "columns": ("column", "function", "keyword"),
}

_WORD = re.compile(r'(?:(?P<q>"[^"]+"|[A-Za-z_][\w$]*)\.)?(?P<w>"?[\w$]*)$')

_Entry = tuple[str, str, str]  # (match key, name as inserted, kind)


def _key(name: str) -> str:
    return name.lower().lstrip('"')


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


@dataclass
class CompletionIndex:
    """Names to complete, searchable by prefix (see module docstring)."""

    top: list[_Entry] = field(default_factory=list)
    members: dict[str, list[_Entry]] = field(default_factory=dict)
    _top_keys: list[str] = field(default_factory=list)
    _member_keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, names: list[tuple[str, str]], keywords: tuple[str, ...] = ()) -> CompletionIndex:
        top: dict[tuple[str, str], str] = {}
        members: dict[str, dict[str, _Entry]] = {}
        for word in keywords:
            top[(word, "keyword")] = "keyword"
        for name, kind in names:
            if has_controls(name):
                # Completing it would write its control characters into
                # the editor, which shows them raw: such a name is typed
                # as a quoted identifier instead.
                continue
            parts = split_qualified(name)
            if parts is None:
                top[(name, kind)] = kind
                continue
            qualifier, member = parts
            members.setdefault(_key(qualifier), {})[member] = (_key(member), member, kind)
            # A column is also offered on its own (SELECT lists, WHERE).
            top[(member, kind)] = kind
        index = cls()
        index.top = sorted((_key(n), n, k) for (n, k) in top)
        index._top_keys = [e[0] for e in index.top]
        for qualifier, found in members.items():
            entries = sorted(found.values())
            index.members[qualifier] = entries
            index._member_keys[qualifier] = [e[0] for e in entries]
        return index

    def __len__(self) -> int:
        return len(self.top)

    def matches(
        self,
        prefix: str,
        qualifier: str | None = None,
        *,
        limit: int = 50,
        context: str | None = None,
    ) -> list[_Entry]:
        """Names starting with ``prefix`` (case-insensitive), below
        ``qualifier`` when given; at most ``limit``. With a ``context``
        ("tables", "columns": see ``context_before``) the kinds that fit it
        come first, each kind in alphabetical order."""
        ranks = _RANKS.get(context or "")
        scan = limit if ranks is None else limit * 4
        if qualifier is None:
            entries, keys = self.top, self._top_keys
        else:
            q = _key(qualifier).rstrip('"')
            entries = self.members.get(q, [])
            keys = self._member_keys.get(q, [])
        p = _key(prefix)
        out: list[_Entry] = []
        i = bisect.bisect_left(keys, p)
        while i < len(keys) and keys[i].startswith(p) and len(out) < scan:
            if keys[i] != p or entries[i][1] != prefix:
                out.append(entries[i])
            i += 1
        if ranks is not None:
            last = len(ranks)
            out.sort(key=lambda e: ranks.index(e[2]) if e[2] in ranks else last)
        return out[:limit]


def context_before(text: str) -> str | None:
    """ "tables" or "columns" by the last SQL keyword in ``text`` (the text
    before the word being completed), else None."""
    words = _CONTEXT.findall(text[-2000:])
    if not words:
        return None
    return "tables" if words[-1].lower() in _TABLE_WORDS else "columns"


def word_before(line: str) -> tuple[str | None, str]:
    """(qualifier, partial word) ending at the end of ``line``."""
    m = _WORD.search(line)
    if m is None:
        return None, ""
    return m.group("q"), m.group("w")


class CompletionList(OptionList):
    """The popup: shown under the editor's cursor while the editor keeps focus."""

    DEFAULT_CSS: ClassVar[str] = """
    CompletionList {
        overlay: screen;
        position: absolute;
        width: 20;
        height: auto;
        max-height: 10;
        border: none;
        padding: 0;
        background: $panel;
        display: none;
    }
    """

    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[_Entry] = []
        #: Characters of the word typed so far (replaced on accept).
        self.typed = 0

    def show(self, entries: list[_Entry], typed: int) -> None:
        self.entries = entries
        self.typed = typed
        self.set_options(
            [
                Option(Content.assemble(sanitize(name), (f"  {kind}", "$text-muted")))
                for _, name, kind in entries
            ]
        )
        self.highlighted = 0
        # A fixed width: "auto" would measure every option on each keystroke.
        widest = max(
            (cell_len(sanitize(name)) + len(kind) for _, name, kind in entries), default=10
        )
        self.styles.width = min(60, max(20, widest + 4))
        self.display = True

    def hide(self) -> None:
        self.display = False

    def move(self, step: int) -> None:
        if self.option_count:
            current = self.highlighted or 0
            self.highlighted = (current + step) % self.option_count

    @property
    def chosen(self) -> str | None:
        index = self.highlighted
        if index is None or index >= len(self.entries):
            return None
        return self.entries[index][1]
