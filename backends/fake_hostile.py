"""The fake backend's hostile dataset: names and values that try to reach the
terminal instead of being shown.

``fake://hostile`` (any dataset name starting with "hostile") opens it; add
``?caps=all`` to have the query, records, indexes, explain and monitor
panels fed from it too (see ``backends.fake``). Every string of ``CORPUS``
appears as a table name, as a column name, as cell values, in a document, in
an index, in a plan, in a server notice, in another session's query text and
in the server's version, so each widget can be checked with it
(``tests/tui/test_hostile_text.py``) or looked at by hand::

    python -m storescope 'fake://hostile?caps=all'

Nothing here is sanitized: it is what a hostile store would send.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .types import Column, IndexInfo

if TYPE_CHECKING:
    from .fake import Dataset

#: Sets the terminal's title, then clears the screen (OSC 0, CSI 2J).
OSC = "\x1b]0;PWNED\x07\x1b[2Jesc"
#: A line break inside a name: one catalog row must stay one row.
NEWLINE = "new\nline"
#: A right-to-left override: shown as "evilexe.txt" when obeyed.
BIDI = "evil\u202etxt.exe"
#: C1 controls: the one-byte CSI (U+009B) and NEXT LINE (U+0085).
C1 = "c1\x9b31mred\x85nel"
#: Other C0 controls and DEL.
C0 = "nul\x00bel\x07bs\x08cr\rdel\x7f"
#: Rich/Textual markup that must be shown, not applied.
MARKUP = "[bold red]x[/]"
#: A closing tag with nothing open: parsed as markup, it raises.
MARKUP_BROKEN = "oops[/]"
#: A terminal hyperlink in markup.
LINK = "[link=https://example.com]click[/link]"
#: A tab (expanded, never sent raw).
TAB = "tab\there"

CORPUS: tuple[str, ...] = (OSC, NEWLINE, BIDI, C1, C0, MARKUP, MARKUP_BROKEN, LINK, TAB)

#: Each hostile table's rows say which table they belong to: "<tag> 1".
TAGS: dict[str, str] = {
    OSC: "osc",
    NEWLINE: "newline",
    BIDI: "bidi",
    C1: "c1",
    C0: "c0",
    MARKUP: "markup",
    MARKUP_BROKEN: "broken",
    LINK: "link",
    TAB: "tab",
    "alpha": "alpha",
    "omega": "omega",
}

DATABASE = "hostile"
SCHEMA = "public"
#: The table whose columns and values hold the corpus.
VALUES = (DATABASE, SCHEMA, "values")
#: A schema and a database named with escape sequences.
ODD_SCHEMA = (DATABASE, "\x1b[2Jschema")
ODD_DATABASE = "\x1b]0;PWNED-DB\x07db"
#: The server's version, as the status line shows it.
VERSION = "1.0\x1b]0;PWNED-VERSION\x07"


def table_path(name: str) -> tuple[str, str, str]:
    return (DATABASE, SCHEMA, name)


def _tag_rows(tag: str) -> Any:
    return lambda i: (i + 1, f"{tag} {i + 1}")


def _value_row(i: int) -> tuple[Any, ...]:
    value = CORPUS[i % len(CORPUS)]
    return (
        i + 1,
        value,
        f"{TAGS[value]} {value}",
        {"k": value, value: [value, 1]},
        ["tag", value],
    )


_VALUE_COLUMNS = (
    Column("id", "integer", primary_key=True),
    Column("text", "text"),
    Column(OSC, "text"),
    Column(NEWLINE, "jsonb"),
    Column(MARKUP, "text[]"),
)


def fill(ds: Dataset) -> Dataset:
    """Seed ``ds`` with the hostile dataset (see the module docstring)."""
    from .fake import FakeTable

    two = (Column("id", "integer", primary_key=True), Column("what", "text"))
    for name in ("alpha", *CORPUS, "omega"):
        ds.add_table(table_path(name), FakeTable(two, 3, _tag_rows(TAGS[name])))
    ds.add_table(VALUES, FakeTable(_VALUE_COLUMNS, len(CORPUS) * 2, _value_row))
    ds.add_table((*ODD_SCHEMA, OSC), FakeTable(two, 1, _tag_rows("odd schema")))
    ds.add_table((ODD_DATABASE, SCHEMA, "inside"), FakeTable(two, 1, _tag_rows("odd db")))
    ds.version = VERSION
    ds.notices = (f"NOTICE: {OSC}", f"WARNING: {C1} {MARKUP_BROKEN}")
    ds.indexes[VALUES] = (
        IndexInfo(
            f"idx_{OSC}",
            f'"{NEWLINE}", lower("{MARKUP}")',
            method="btree",
            size_bytes=16_384,
            scans=0,
            definition=f'CREATE INDEX "idx_{OSC}" ON public."values" USING btree ("{NEWLINE}")',
            flags=("unused", f"duplicate of {BIDI}"),
        ),
    )
    ds.sessions = tuple(
        (
            100 + n,
            f"{TAGS[value]} {value}",
            DATABASE,
            value,
            "active",
            timedelta(seconds=5 + n),
            f"SELECT '{value}' -- {TAGS[value]}",
        )
        for n, value in enumerate(CORPUS)
    )
    return ds


__all__ = [
    "BIDI",
    "C0",
    "C1",
    "CORPUS",
    "LINK",
    "MARKUP",
    "MARKUP_BROKEN",
    "NEWLINE",
    "OSC",
    "TAB",
    "TAGS",
    "VALUES",
    "fill",
    "table_path",
]
