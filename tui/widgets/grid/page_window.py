"""PageWindow: the DataGrid's model, a bounded window over a paged source.

Plain Python (no Textual), so the paging rules are easy to read and test:

- Pages are forward-only: page ``i + 1`` can only be asked for with page
  ``i``'s ``next_cursor``. The window remembers each page's *start* cursor (a
  short string), so a page it evicted can be fetched again later.
- At most ``max_pages`` pages of rows are held; adding one past that evicts
  the pages farthest from where the user is looking.
- ``row_count`` is the number of rows known to exist so far; it never shrinks
  when pages are evicted, and becomes exact once the last page is seen.
- Columns: the union of the columns of every page seen (document stores may
  bring new fields later), new ones appended on the right. Widths come from
  the header and a sample of each page (capped at ``MAX_WIDTH``): they only
  grow, when a later page brings wider values (ids past 999), never shrink,
  so the layout moves only to show a value whole.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from storescope.backends.types import MISSING
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.grid.cells import CellKind, format_value, text_width

if TYPE_CHECKING:
    from storescope.backends.types import Column, Page

#: Widest a column gets (cells); longer values end in "…".
MAX_WIDTH = 40
#: Padding cells on each side of a cell.
PAD = 1
PK_MARK = "*"
#: Rows of a page looked at to size its new columns.
SAMPLE = 200

Cells = list[tuple[str, CellKind]]
Rows = tuple[tuple[Any, ...], ...]


class PageWindow:
    def __init__(self, *, page_size: int, max_pages: int, null_word: str = "NULL") -> None:
        self.page_size = max(1, page_size)
        self.max_pages = max(1, max_pages)
        #: What a cell holding None shows (the store's word, ``format_value``).
        self.null_word = null_word
        self.columns: list[Column] = []
        #: Each column's header as shown: its name, sanitized (the names in
        #: ``columns`` stay as the store spelled them, for keys and edits).
        self.labels: list[str] = []
        self.widths: list[int] = []
        self.numeric: list[bool] = []  # header right-aligned over numbers
        self.offsets: list[int] = []  # x of each column in the body
        self.body_width = 0
        self.pages: dict[int, Rows] = {}
        self.starts: list[str | None] = [None]  # start cursor of page i
        self.row_count = 0
        self.complete = False
        self.estimate: int | None = None
        self._col_index: dict[str, int] = {}
        self._formatted: dict[int, Cells] = {}

    # -- reading -----------------------------------------------------------------

    @property
    def cached_row_count(self) -> int:
        return sum(len(rows) for rows in self.pages.values())

    def row(self, index: int) -> tuple[Any, ...] | None:
        """Row ``index`` aligned with ``columns`` (MISSING-padded), if held."""
        rows = self.pages.get(index // self.page_size)
        offset = index % self.page_size
        if rows is None or offset >= len(rows):
            return None
        values = rows[offset]
        return values + (MISSING,) * (len(self.columns) - len(values))

    def cells(self, index: int) -> Cells | None:
        """Row ``index`` formatted for display (cached while its page is held)."""
        cells = self._formatted.get(index)
        if cells is None:
            values = self.row(index)
            if values is None:
                return None
            cells = [format_value(v, self.null_word) for v in values]
            self._formatted[index] = cells
        return cells

    def wanted(self, top: int, height: int) -> int | None:
        """The page to fetch next for a viewport of ``height`` rows at row
        ``top``: the visible ones first, then one screen either side (the
        prefetch). Only pages whose start cursor is known qualify."""
        size = self.page_size
        visible = range(top // size, (top + height) // size + 1)
        around = range(max(0, top - height) // size, (top + 2 * height) // size + 1)
        for index in itertools.chain(visible, around):
            if index not in self.pages and index < len(self.starts):
                return index
        return None

    # -- changing ----------------------------------------------------------------

    def add(self, index: int, page: Page, *, near_row: int) -> None:
        """Hold ``page`` as page ``index``; evict far pages (from ``near_row``)."""
        rows = self._adopt(page)
        self.pages[index] = rows
        first = index * self.page_size
        if page.next_cursor is None:
            self.complete = True
            self.row_count = first + len(rows)
            del self.starts[index + 1 :]
        else:
            if len(self.starts) == index + 1:
                self.starts.append(page.next_cursor)
            self.row_count = max(self.row_count, first + len(rows))
        if page.total_estimate is not None:
            self.estimate = page.total_estimate
        self._evict(near_row // self.page_size)

    def drop_rows(self) -> None:
        """Forget every row but keep the cursors (to fetch them again)."""
        self.pages.clear()
        self._formatted.clear()

    def _evict(self, here: int) -> None:
        for index in sorted(self.pages, key=lambda p: -abs(p - here)):
            if len(self.pages) <= self.max_pages:
                return
            del self.pages[index]
            first = index * self.page_size
            for row in range(first, first + self.page_size):
                self._formatted.pop(row, None)

    def _adopt(self, page: Page) -> Rows:
        """The page's rows in the window's column order, adding new columns."""
        mapping: list[int] = []
        new: list[int] = []
        for j, column in enumerate(page.columns):
            index = self._col_index.get(column.name)
            if index is None:
                index = len(self.columns)
                self._col_index[column.name] = index
                self.columns.append(column)
                self.labels.append(sanitize(column.name))
                new.append(j)
            mapping.append(index)
        self._measure(page, mapping, new)
        if mapping == list(range(len(mapping))):
            return page.rows
        width = len(self.columns)
        remapped = []
        for row in page.rows:
            values = [MISSING] * width
            for j, index in enumerate(mapping):
                values[index] = row[j]
            remapped.append(tuple(values))
        return tuple(remapped)

    def _measure(self, page: Page, mapping: list[int], new: list[int]) -> None:
        """Size the page's new columns, and widen (up to ``MAX_WIDTH``) the
        columns whose values on this page are wider than their width."""
        sample = page.rows[:SAMPLE]
        fresh = set(new)
        grew = False
        for j, column in enumerate(page.columns):
            index = mapping[j]
            if j in fresh:
                label = self.labels[index]
                width = text_width(label) + (len(PK_MARK) if column.primary_key else 0)
            else:
                width = self.widths[index]
                if width >= MAX_WIDTH:
                    continue
            kinds: set[CellKind] = set()
            for row in sample:
                text, kind = format_value(row[j], self.null_word)
                kinds.add(kind)
                width = max(width, text_width(text))
            width = min(max(width, 1), MAX_WIDTH)
            if j in fresh:
                self.widths.append(width)
                self.numeric.append(
                    CellKind.NUMBER in kinds and kinds <= {CellKind.NUMBER, CellKind.NULL}
                )
                grew = True
            elif width > self.widths[index]:
                self.widths[index] = width
                grew = True
        if not grew:
            return
        self.offsets = []
        x = 0
        for width in self.widths:
            self.offsets.append(x)
            x += width + 2 * PAD
        self.body_width = x
