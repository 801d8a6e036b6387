"""One table of the monitor panel (sessions, locks, databases...): a
``DataTable`` kept up to date in place, sample after sample.

The rows come again every couple of seconds, mostly unchanged. The table is
a fixed set of row *slots*: a sample writes into slot i the i-th row to show
(after the user's filter and sort), updating only the cells whose value
changed, and adds or removes slots at the end when the number of rows
changes. So an unchanged sample costs no redraw, a ticking duration redraws
one cell, the scroll position never jumps, and the cursor stays on the same
*row* (identified by the table's key column) wherever that row moved.

Values are formatted for a glance: durations as "4.2 s" / "3:05" /
"1:02:03", sizes in columns the backend declares as bytes
(``ColumnRole.BYTES``) as "1.2 MB", texts on one line and cut (the panel's
detail line shows the focused row's text whole).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import DataTable

from storescope.backends.types import ColumnRole, StatsTable
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.grid.cells import format_value, human_size, single_line
from storescope.tui.widgets.monitor.monitor_columns import ColumnLayout, plan, short_label

if TYPE_CHECKING:
    from textual import events

#: Characters of a text cell shown in the table (the detail line has all).
CELL_CHARS = 48
#: Rows measured for the column layout (the first ones shown).
MEASURED_ROWS = 200


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def format_cell(value: Any, *, size: bool = False) -> Text:
    """One cell: numbers right-aligned, nothing for NULL, texts cut (also
    by a narrow column, with "…")."""
    text = _format_cell(value, size=size)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def _format_cell(value: Any, *, size: bool = False) -> Text:
    if value is None:
        return Text("")
    if size and isinstance(value, int) and not isinstance(value, bool):
        return Text(human_size(value), justify="right")
    if isinstance(value, timedelta):
        return Text(format_duration(value), justify="right")
    if isinstance(value, datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(value, str):
        text = single_line(value)
        if len(text) > CELL_CHARS:
            text = text[: CELL_CHARS - 1] + "…"
        return Text(text)
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, float):
        return Text(f"{value:,.2f}".rstrip("0").rstrip("."), justify="right")
    if isinstance(value, int | Decimal):
        # No thousands separators: most integers here are ids.
        return Text(str(value), justify="right")
    text, _ = format_value(value)
    return Text(text[:CELL_CHARS])


def _size_cell(value: Any) -> Text:
    return format_cell(value, size=True)


def cell_text(value: Any) -> str:
    """What the filter matches: the whole text of a value, on one line."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _sort_key(value: Any) -> tuple[int, Any]:
    # Values of one column are of one type in practice; the rank keeps a
    # mixed column sortable instead of raising TypeError.
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float | Decimal):
        return (0, float(value))
    if isinstance(value, timedelta):
        return (1, value.total_seconds())
    if isinstance(value, datetime):
        return (2, value.timestamp())
    if isinstance(value, str):
        return (3, value.lower())
    return (4, str(value))


class StatsTableView(DataTable[Text]):
    """A ``StatsTable`` shown with the user's sort and filter (see module docstring)."""

    def __init__(self, name: str, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.table_name = name
        self.source = StatsTable(name, ())
        #: Column sorted on (None: the backend's order) and its direction.
        self.sort_column: int | None = None
        self.sort_reverse = False
        #: Case-insensitive text any cell of a shown row contains.
        self.filter_text = ""
        #: The rows shown, in slot order: (key, values).
        self.shown: list[tuple[str, tuple[Any, ...]]] = []
        self._columns: tuple[str, ...] = ()
        #: Columns shown as sizes (declared bytes).
        self._sizes: frozenset[int] = frozenset()
        self._formatters: list[Callable[[Any], Text]] = []
        #: Columns shown and in which order (see monitor_columns).
        self.column_layout = ColumnLayout(())
        #: The source changed while the table was not on screen.
        self.stale = False

    # -- what the panel asks ---------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.source.rows)

    @property
    def focused_key(self) -> str | None:
        row = self.cursor_row
        return self.shown[row][0] if 0 <= row < len(self.shown) else None

    @property
    def focused_values(self) -> tuple[Any, ...] | None:
        row = self.cursor_row
        return self.shown[row][1] if 0 <= row < len(self.shown) else None

    def focused_id(self) -> Any:
        """The focused row's value in the key column (what actions take)."""
        values = self.focused_values
        key_column = self.source.key_column
        if values is None or key_column is None or key_column >= len(values):
            return None
        return values[key_column]

    def fact(self, role: ColumnRole) -> Any:
        """The focused row's value in the first column with ``role``, or
        None (no such column, no row)."""
        values = self.focused_values
        columns = self.source.columns_of(role)
        if values is None or not columns or columns[0] >= len(values):
            return None
        return values[columns[0]]

    def declared_roles(self) -> dict[ColumnRole, tuple[int, ...]]:
        """The source's column roles, the id included (see ``StatsTable``)."""
        return {role: found for role in ColumnRole if (found := self.source.columns_of(role))}

    def set_source(self, table: StatsTable, *, visible: bool) -> None:
        """A new sample of this table; shown at once only when ``visible``."""
        self.source = table
        if visible:
            self.refresh_rows()
        else:
            self.stale = True

    def cycle_sort(self) -> None:
        """Sort on the next column as shown (after the last one: the
        backend's order)."""
        order = self.column_layout.order
        if self.sort_column is None or self.sort_column not in order:
            self.sort_column = order[0] if order else None
        else:
            at = order.index(self.sort_column) + 1
            self.sort_column = order[at] if at < len(order) else None
        self.sort_reverse = False
        self._label_columns()
        self.refresh_rows()

    def reverse_sort(self) -> None:
        if self.sort_column is None:
            self.sort_column = self.column_layout.order[0] if self.column_layout.order else None
        else:
            self.sort_reverse = not self.sort_reverse
        self._label_columns()
        self.refresh_rows()

    def set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self.refresh_rows()

    # -- applying a sample -----------------------------------------------------------

    def _wanted(self) -> list[tuple[str, tuple[Any, ...]]]:
        table = self.source
        rows: list[tuple[str, tuple[Any, ...]]] = []
        seen: dict[str, int] = {}
        key_column = table.key_column if table.key_column is not None else 0
        needle = self.filter_text.lower()
        for values in table.rows:
            if needle and not any(needle in cell_text(v).lower() for v in values):
                continue
            base = str(values[key_column]) if key_column < len(values) else ""
            # Rows without a unique key (locks) still keep the cursor on
            # "the second row with this key" rather than jumping to the top.
            n = seen.get(base, 0)
            seen[base] = n + 1
            rows.append((f"{base}#{n}" if n else base, values))
        column = self.sort_column
        if column is not None and column < len(table.columns):
            present = [r for r in rows if column < len(r[1]) and r[1][column] is not None]
            missing = [r for r in rows if not (column < len(r[1]) and r[1][column] is not None)]
            present.sort(key=lambda r: _sort_key(r[1][column]), reverse=self.sort_reverse)
            rows = present + missing  # NULLs last either way
        return rows

    def _on_resize(self, event: events.Resize) -> None:
        super()._on_resize(event)
        if self._columns and not self.stale:
            self.call_after_refresh(self.refresh_rows)

    def _plan(self, wanted: list[tuple[str, tuple[Any, ...]]]) -> ColumnLayout:
        """The column layout for the rows to show and the width there is."""
        columns = self.source.columns
        content = [0] * len(columns)
        formatters = self._formatters
        for _, values in wanted[:MEASURED_ROWS]:
            for c, value in enumerate(values[: len(content)]):
                content[c] = max(content[c], formatters[c](value).cell_len)
        available = self.scrollable_content_region.width
        return plan(
            columns, self.declared_roles(), content, available, padding=2 * self.cell_padding
        )

    def refresh_rows(self) -> None:
        """Show the source's rows through the filter and sort, in place."""
        self.stale = False
        sizes = frozenset(self.source.columns_of(ColumnRole.BYTES))
        if self.source.columns != self._columns or sizes != self._sizes:
            self._set_columns(self.source.columns, sizes)
        focused = self.focused_key
        wanted = self._wanted()
        layout = self._plan(wanted) if self.size.width else self.column_layout
        if layout != self.column_layout:
            self._add_columns(layout)
        shown = self.shown
        for slot, (_, values) in enumerate(wanted):
            if slot < len(shown):
                old = shown[slot][1]
                if old == values:
                    continue
                for c, value in enumerate(values):
                    if c >= len(old) or old[c] != value:
                        self.update_cell(
                            str(slot), str(c), self._formatters[c](value), update_width=True
                        )
            else:
                self.add_row(
                    *(
                        self._formatters[c](values[c] if c < len(values) else None)
                        for c in self.column_layout.order
                    ),
                    key=str(slot),
                )
        for slot in range(len(wanted), len(shown)):
            self.remove_row(str(slot))
        self.shown = wanted
        if focused is not None:
            index = next((i for i, (k, _) in enumerate(wanted) if k == focused), None)
            if index is not None and index != self.cursor_row:
                self.move_cursor(row=index)

    def _set_columns(self, columns: tuple[str, ...], sizes: frozenset[int]) -> None:
        self._columns = columns
        self._sizes = sizes
        self._formatters = [_size_cell if c in sizes else format_cell for c in range(len(columns))]
        if self.sort_column is not None and self.sort_column >= len(columns):
            self.sort_column = None
        self._add_columns(ColumnLayout(tuple(range(len(columns)))))

    def _add_columns(self, layout: ColumnLayout) -> None:
        """Columns in the layout's order; each keyed by its position in the
        source, so cells are found wherever their column shows."""
        self.clear(columns=True)
        self.shown = []
        self.column_layout = layout
        widths = dict(layout.widths)
        for c in layout.order:
            self.add_column(self._label(c), key=str(c), width=widths.get(c))

    def _label(self, column: int) -> Text:
        name = sanitize(self._columns[column])
        if self.column_layout.narrow:
            name = short_label(name)
        if column in self._sizes:
            name = name.replace(" (bytes)", "")  # shown as sizes with units
        # Two cells are kept for the sort mark on every column, so marking
        # one never changes a column's width.
        if column == self.sort_column:
            name += " ▼" if self.sort_reverse else " ▲"
        else:
            name += "  "
        return Text(name, style="bold", no_wrap=True, overflow="ellipsis")

    def _label_columns(self) -> None:
        for column in self.ordered_columns:
            if column.key.value is not None:
                column.label = self._label(int(column.key.value))
        # DataTable caches rendered lines (the header too) until its data
        # changes; a new label is no data change.
        self._clear_caches()
        self.refresh()
