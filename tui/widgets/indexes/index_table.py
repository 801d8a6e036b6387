"""IndexTable: a table's indexes, one row each, flags marked in theme colours.

Columns: a mark, name, flags, the indexed fields (headed with the store's
word for them, ``StoreWords.fields``: PostgreSQL's "columns"), kind
(primary/unique), method, size, scans, valid. The flags come right after the name, in one
word each ("duplicate"; the detail line names the other index), so a narrow
terminal (80 columns, the catalog beside) still shows them. The mark and the name carry the colour: the error
colour for an invalid index (a failed online build, maintained on every
write and never used), the warning colour for one worth a look (unused,
duplicate of another, redundant with another). ``flag_explanation`` says in
words what each flag means, for the panel's detail line.

Every cell is a ``Text`` of sanitized text (``tui.sanitize``): DataTable
would parse a plain ``str`` cell as markup, and names come from the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.store_words import words_near

if TYPE_CHECKING:
    from collections.abc import Sequence

    from storescope.backends.types import IndexInfo

_PLAIN = Style()

#: The one-line legend under the list.
LEGEND = "✕ invalid  ⚠ unused / duplicate / redundant — the line below the list says why"
#: The legend when no listed index is invalid (most stores never have one).
LEGEND_VALID = "⚠ unused / duplicate / redundant — the line below the list says why"


def legend(indexes: Sequence[IndexInfo]) -> str:
    """The legend for ``indexes``: the ✕ mark is explained only when one of
    them is invalid."""
    return LEGEND if any(severity(i) == "error" for i in indexes) else LEGEND_VALID


def size_text(n: int | None) -> str:
    """A size in binary units, one decimal under 10: 16 kB, 2.6 MB."""
    if n is None:
        return ""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    if value < 10:
        return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{value:.0f} {unit}"


def kind_text(index: IndexInfo) -> str:
    return "primary" if index.primary else "unique" if index.unique else ""


def flag_explanation(flag: str) -> str:
    """What a flag of ``IndexInfo.flags`` means and what to do about it."""
    if flag == "invalid":
        return (
            "invalid: a failed build left it behind; it is updated on every write "
            "but never used — drop it (d) before building it again"
        )
    if flag == "unused":
        return "unused: no scan has used it since statistics were reset; it still costs every write"
    if flag.startswith("duplicate of "):
        name = flag.removeprefix("duplicate of ")
        return f"{flag}: same columns, method and predicate as {name}; one of them can go"
    if flag.startswith("redundant with "):
        name = flag.removeprefix("redundant with ")
        return f"{flag}: its columns lead {name}, which serves the same lookups"
    return flag


def short_flag(flag: str) -> str:
    """A flag as the list shows it ("duplicate", not "duplicate of x_idx"):
    the full flag is in the detail line under the list."""
    return flag.split(" of ", 1)[0].split(" with ", 1)[0]


def severity(index: IndexInfo) -> str:
    """The colour of an index's row: "error" (invalid), "warning" (other
    flags) or "" (nothing to say)."""
    if not index.valid or "invalid" in index.flags:
        return "error"
    return "warning" if index.flags else ""


class IndexTable(DataTable[Text]):
    """The index list (rows keyed by index name)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "index-table--error",
        "index-table--warning",
        "index-table--dim",
    }

    DEFAULT_CSS: ClassVar[str] = """
    IndexTable {
        height: 1fr;
        & > .index-table--error { color: $text-error; text-style: bold; }
        & > .index-table--warning { color: $text-warning; }
        & > .index-table--dim { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.indexes: list[IndexInfo] = []

    def on_mount(self) -> None:
        fields = words_near(self).fields  # "columns", "fields"
        self.add_column("", key="mark")
        for key in ("name", "flags", "columns", "kind", "method", "size", "scans", "valid"):
            self.add_column(fields if key == "columns" else key, key=key)

    def show(self, indexes: list[IndexInfo], *, keep: str | None = None) -> None:
        """Replace the rows; the cursor goes to ``keep`` (a name) when listed."""
        self.indexes = list(indexes)
        self.clear()
        dim = self.get_component_rich_style("index-table--dim", partial=True, default=_PLAIN)
        for index in indexes:
            level = severity(index)
            style = (
                self.get_component_rich_style(f"index-table--{level}", partial=True, default=_PLAIN)
                if level
                else _PLAIN
            )
            mark = "✕" if level == "error" else "⚠" if level == "warning" else ""
            self.add_row(
                Text(mark, style=style),
                Text(sanitize(index.name), style=style),
                Text(sanitize(", ".join(short_flag(f) for f in index.flags)), style=style),
                Text(sanitize(index.columns)),
                Text(kind_text(index)),
                Text(sanitize(index.method), style=dim),
                Text(size_text(index.size_bytes), justify="right"),
                Text("" if index.scans is None else f"{index.scans:,}", justify="right"),
                Text("yes" if index.valid else "NO", style=_PLAIN if index.valid else style),
                key=index.name,
            )
        if keep is not None:
            row = next((i for i, x in enumerate(indexes) if x.name == keep), None)
            if row is not None:
                self.move_cursor(row=row)

    @property
    def current(self) -> IndexInfo | None:
        """The index under the cursor."""
        if not self.indexes or not 0 <= self.cursor_row < len(self.indexes):
            return None
        return self.indexes[self.cursor_row]
