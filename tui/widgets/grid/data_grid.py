"""DataGrid: a virtual grid over pages of records that never holds a whole table.

Textual's DataTable measures every row before painting (about 8 s for 100k
rows here), so this grid is a Line API ``ScrollView``: ``render_line`` paints
only the visible rows, from a cache of pages.

Paging: the grid does not know where rows come from. When the viewport (plus
one screen of prefetch) reaches rows it does not hold, it posts
``PageRequested`` with the page's start cursor; its owner runs the backend call
in a worker and hands the result back through ``add_page``. What is held, and
for how long, is the ``PageWindow``'s business (page_window.py): a bounded
number of pages, evicted far from the viewport and fetched again from their
remembered start cursors; the union of the columns seen, with stable widths.

Pinned rows: the owner may set ``pinned_rows`` rows drawn above the browsed
ones (the data panel's staged inserts), drawn only from ``row_marks``. Row
indexes (``cursor_row``, ``row``, ``row_marks``, ``cell_region``) count them;
paging never sees them (page rows are offset by ``pinned_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from storescope.tui.messages import PageRequest
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.grid.cells import CellKind, fit, slice_cells
from storescope.tui.widgets.grid.page_window import PAD, PK_MARK, PageWindow
from storescope.tui.widgets.store_words import NEUTRAL_WORDS, words_near

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual import events

    from storescope.backends.types import Column, Page, StoreWords

_KIND_CLASS: dict[CellKind, str] = {
    CellKind.NULL: "datagrid--null",
    CellKind.MISSING: "datagrid--missing",
    CellKind.NUMBER: "datagrid--number",
    CellKind.BOOL: "datagrid--special",
    CellKind.BINARY: "datagrid--special",
    CellKind.JSON: "datagrid--special",
    CellKind.TAGGED: "datagrid--special",
    CellKind.TRUNCATED: "datagrid--special",
}

_PLAIN = Style()
_MOVE = Binding.Group("Move", compact=True)
_PAGE = Binding.Group("Page")
_ENDS = Binding.Group("Top/end")

#: Kinds whose text ends in "(size)": cut in the middle so the size stays.
_TAILED = frozenset({CellKind.BINARY, CellKind.TRUNCATED})


@dataclass(frozen=True, slots=True)
class RowMarks:
    """How a row differs from what was browsed, as its owner's staged changes
    say (see ``DataGrid.row_marks``): staged cell values by column index (as
    text and kind), struck through when staged for deletion, selected, or the
    change a failed commit stopped at. A pinned row (``inserted``) is drawn
    from ``cells`` alone."""

    cells: dict[int, tuple[str, CellKind]] = field(default_factory=dict)
    deleted: bool = False
    selected: bool = False
    failed: bool = False
    inserted: bool = False


def _mark_glyph(marks: RowMarks) -> str:
    """The gutter's last cell for a marked row."""
    if marks.inserted:
        return "+"
    if marks.deleted:
        return "✕"
    if marks.cells:
        return "~"
    return "●" if marks.selected else " "


@dataclass(frozen=True, slots=True)
class _Styles:
    base: Style
    header: Style
    header_cursor: Style
    cursor: Style
    cell_cursor: Style
    gutter: Style
    dim: Style
    by_kind: dict[CellKind, Style]
    staged: Style
    deleted: Style
    selected: Style
    failed: Style


class DataGrid(ScrollView, can_focus=True):
    """A grid of records paged lazily from its owner (see module docstring)."""

    DEFAULT_CSS: ClassVar[str] = """
    DataGrid {
        height: 1fr;
        width: 1fr;
        scrollbar-size-vertical: 1;
        /* The scrollbar's column is always reserved: when the first page
           arrived and the bar appeared, every line was drawn twice, a frame
           apart, with the columns shifted by one cell. */
        scrollbar-gutter: stable;
        /* Staged changes (tui/widgets/staging.py): edited cells, rows to
           delete, selected rows, and the change a failed commit stopped at. */
        & > .datagrid--staged {
            background: $warning 35%;
            color: $foreground;
            text-style: bold;
        }
        & > .datagrid--deleted {
            color: $text-muted;
            text-style: strike;
        }
        & > .datagrid--selected {
            background: $secondary 40%;
            color: $foreground;
        }
        & > .datagrid--failed {
            background: $error 40%;
            color: $foreground;
        }
        /* Keys scroll sideways (the cell cursor); at 80x24 a scrollbar row
           costs more than it gives. */
        overflow-x: hidden;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=True, group=_MOVE, key_display="↑"),
        Binding("down", "cursor_down", "Down", show=True, group=_MOVE, key_display="↓"),
        Binding("left", "cursor_left", "Left", show=True, group=_MOVE, key_display="←"),
        Binding("right", "cursor_right", "Right", show=True, group=_MOVE, key_display="→"),
        Binding("pageup", "page_up", "Page up", show=True, group=_PAGE, key_display="PgUp"),
        Binding("pagedown", "page_down", "Page down", show=True, group=_PAGE, key_display="PgDn"),
        Binding("home", "first_column", "First column", show=False),
        Binding("end", "last_column", "Last column", show=False),
        Binding(
            "ctrl+home,g", "first_row", "First row", show=True, group=_ENDS, key_display="^Home"
        ),
        Binding(
            "ctrl+end,G", "last_row", "Last loaded row", show=True, group=_ENDS, key_display="^End"
        ),
        Binding("f5", "retry", "Reload rows", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datagrid--header",
        "datagrid--header-cursor",
        "datagrid--cursor",
        "datagrid--cell-cursor",
        "datagrid--gutter",
        "datagrid--dim",
        "datagrid--null",
        "datagrid--missing",
        "datagrid--number",
        "datagrid--special",
        "datagrid--staged",
        "datagrid--deleted",
        "datagrid--selected",
        "datagrid--failed",
    }

    @dataclass
    class PageRequested(Message):
        """The grid needs a page; its owner should load it and call ``add_page``."""

        grid: DataGrid
        request: PageRequest

    @dataclass
    class WindowMoved(Message):
        """What the grid shows changed; ``summary`` is e.g. "rows 1–38 of ≥ 400"
        (in the store's words: "documents 1–38 of ≥ 400")."""

        grid: DataGrid
        summary: str

    def __init__(
        self,
        *,
        max_pages: int = 20,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_pages = max_pages
        #: What the grid says when it shows no source; None: the store's
        #: "Choose a table in the catalog and press Enter." (``StoreWords``).
        self.placeholder: str | None = None
        self._words: StoreWords | None = None
        self._line_cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(256)
        self._gen = 0  # bumped whenever cached lines may be stale
        self._styles: _Styles | None = None
        self._pinned = 0
        self._reset_source(token=0, page_size=200)
        self._path: tuple[str, ...] = ()
        #: Set by the owner while it has staged changes or a selection: how
        #: row ``index`` differs from what was browsed (None: it does not).
        #: Called only when a line is drawn anew (lines are cached), so it
        #: costs nothing while paging through unmarked rows.
        self.row_marks: Callable[[int], RowMarks | None] | None = None

    # -- state -----------------------------------------------------------------

    def _reset_source(self, *, token: int, page_size: int) -> None:
        self._token = token
        self._open = token > 0
        self._w = PageWindow(
            page_size=page_size, max_pages=self.max_pages, null_word=self.words.no_value
        )
        self._pending: int | None = None
        self._error: str | None = None
        self._summary = ""
        self._pinned = 0
        self.cursor_row = 0
        self.cursor_col = 0

    @property
    def words(self) -> StoreWords:
        """The store's nouns for what the grid says ("rows 1–19", "(no
        documents)", a NULL cell): given, or those of the panel the grid is
        in (``store_words``), else the neutral ones."""
        if self._words is not None:
            return self._words
        if not self.is_attached:
            return NEUTRAL_WORDS
        self._words = words_near(self)
        return self._words

    @words.setter
    def words(self, words: StoreWords) -> None:
        self._words = words
        self._w.null_word = words.no_value

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def token(self) -> int:
        """Changes whenever the rows shown are replaced (open, clear, reload):
        a ``PageRequest`` with another token is stale."""
        return self._token

    @property
    def path(self) -> tuple[str, ...]:
        """The source shown (as given to ``open``)."""
        return self._path if self._open else ()

    @property
    def columns(self) -> list[Column]:
        return list(self._w.columns)

    @property
    def row_count(self) -> int:
        """Rows known to exist so far (all of them once ``complete``)."""
        return self._w.row_count

    @property
    def complete(self) -> bool:
        return self._w.complete

    @property
    def cached_row_count(self) -> int:
        return self._w.cached_row_count

    @property
    def cached_pages(self) -> list[int]:
        return sorted(self._w.pages)

    @property
    def is_loading(self) -> bool:
        return self._pending is not None

    @property
    def summary(self) -> str:
        return self._summary

    @property
    def pinned_rows(self) -> int:
        """Rows the owner draws above the browsed ones (see module docstring)."""
        return self._pinned

    @property
    def _rows(self) -> int:
        """Rows drawn: the pinned ones and the browsed ones known so far."""
        return self._pinned + self._w.row_count

    def row(self, index: int) -> tuple[Any, ...] | None:
        """Row ``index`` aligned with ``columns`` (MISSING-padded), if cached
        (None for a pinned row)."""
        if index < self._pinned:
            return None
        return self._w.row(index - self._pinned)

    # -- the owner's side ------------------------------------------------------

    def open(self, path: tuple[str, ...] = (), *, page_size: int = 200) -> None:
        """Start showing the source ``path`` from its first page."""
        self._reset_source(token=self._token + 1, page_size=page_size)
        self._path = path
        self._changed(structure=True)
        self.scroll_to(0, 0, animate=False)
        self._ensure_pages()

    def clear(self, placeholder: str | None = None) -> None:
        """Show no source (and ``placeholder`` in place of rows)."""
        if placeholder is not None:
            self.placeholder = sanitize(placeholder)
        self._reset_source(token=self._token + 1, page_size=self._w.page_size)
        self._open = False
        self._changed(structure=True)

    def reload(self) -> None:
        """Fetch the rows again from the remembered page cursors (after a
        reconnect), keeping the position."""
        if not self._open:
            return
        self._token += 1
        self._w.drop_rows()
        self._pending = None
        self._error = None
        self._changed()
        self._ensure_pages()

    def add_page(self, request: PageRequest, page: Page) -> None:
        if request.token != self._token:
            return  # for a source no longer shown
        if self._pending == request.index:
            self._pending = None
        self._error = None
        self._w.max_pages = self.max_pages
        self._w.add(request.index, page, near_row=max(0, self.scroll_offset.y - self._pinned))
        self._changed(structure=True)
        self._ensure_pages()

    def set_pinned_rows(self, count: int) -> None:
        """Draw ``count`` pinned rows above the browsed ones; the cursor stays
        on the browsed row it was on."""
        count = max(0, count)
        if count == self._pinned:
            return
        if self.cursor_row >= self._pinned:
            self.cursor_row += count - self._pinned
        self._pinned = count
        self._changed(structure=True)
        self._scroll_to_cursor()
        self._ensure_pages()

    def marks_changed(self) -> None:
        """The owner's ``row_marks`` answer differently now: draw the rows again."""
        self._gen += 1
        self.refresh()

    def cell_region(self, row: int, col: int) -> Region | None:
        """Where cell (``row``, ``col``) is drawn, in the grid's own
        coordinates (cut to the view), or None when it is not on screen."""
        if not (0 <= col < len(self._w.columns)):
            return None
        scroll_x, scroll_y = self.scroll_offset
        y = 1 + row - scroll_y
        if not (1 <= y <= self._body_height):
            return None
        gutter = self._gutter_width
        view = self.scrollable_content_region.width
        left = gutter + self._w.offsets[col] - scroll_x
        right = left + self._w.widths[col] + 2 * PAD
        left, right = max(left, gutter), min(right, view)
        if right <= left:
            return None
        return Region(left, y, right - left, 1)

    def page_failed(self, request: PageRequest | None, message: str) -> None:
        if request is not None and request.token != self._token:
            return
        self._pending = None
        self._error = sanitize(message)
        self._changed()

    def _ensure_pages(self) -> None:
        """Ask for the first page missing around the viewport (one at a time)."""
        if not self._open or self._error is not None:
            return
        top = max(0, self.scroll_offset.y - self._pinned)
        index = self._w.wanted(top, max(1, self._body_height))
        if index is None or index == self._pending:
            return  # nothing missing, or already on its way
        # A pending page that is no longer wanted (the user jumped away) is
        # replaced; the owner's exclusive worker drops its result.
        self._pending = index
        request = PageRequest(
            self._token, index, self._w.starts[index], self._w.page_size, self._path
        )
        self.post_message(self.PageRequested(self, request))
        self._changed()

    # -- geometry ----------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return self.scrollable_content_region.height - 1

    @property
    def _gutter_width(self) -> int:
        biggest = max(self._w.row_count, self._w.estimate or 0, 99)
        return len(str(biggest)) + 2

    def _extra_line(self) -> bool:
        """A line after the rows for "loading…", an error or "(no rows)"
        (the store's noun)."""
        return not self._open or not self._w.complete or self._w.row_count == 0

    def _update_virtual_size(self) -> None:
        height = 1 + self._rows + (1 if self._extra_line() else 0)
        # Room past the last column: scrolling by whole columns may need an
        # offset beyond "last column flush right" (the scroll is keyboard-driven).
        slack = max(self._w.widths, default=0) + 2 * PAD
        self.virtual_size = Size(self._gutter_width + self._w.body_width + slack, height)

    def _changed(self, *, structure: bool = False) -> None:
        self._gen += 1
        if structure:
            self._update_virtual_size()
            self.cursor_row = min(self.cursor_row, max(0, self._rows - 1))
            self.cursor_col = min(self.cursor_col, max(0, len(self._w.columns) - 1))
        self.refresh()
        self._post_summary()

    #: Called at once with each new summary, when set by the owner. A posted
    #: message reaches the owner after this frame is composed, so whatever it
    #: shows the summary in would repaint one frame (~17 ms) behind the rows.
    summary_sink: Callable[[str], None] | None = None

    def _post_summary(self) -> None:
        summary = self._make_summary()
        if summary != self._summary:
            self._summary = summary
            if self.summary_sink is not None:
                self.summary_sink(summary)
            else:
                self.post_message(self.WindowMoved(self, summary))

    def _make_summary(self) -> str:
        if not self._open:
            return ""
        w = self._w
        if w.row_count == 0:
            return "loading…" if not w.complete else f"no {self.words.records}"
        # Browsed rows only: pinned rows are not the table's (yet).
        top = max(0, self.scroll_offset.y - self._pinned)
        # A grid opened before it has a height (in a hidden tab) would say
        # "rows 1–0"; on_resize recounts once it is laid out.
        bottom = self.scroll_offset.y + max(self._body_height, 1) - self._pinned
        last = max(min(bottom, w.row_count), top + 1)
        total = f"{w.row_count:,}" if w.complete else f"≥ {w.row_count:,}"
        text = f"{self.words.records} {top + 1:,}–{last:,} of {total}"
        if not w.complete and w.estimate is not None:
            text += f" · est. {w.estimate:,}"
        return text

    # -- rendering ---------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._gen += 1

    def _on_resize(self, event: events.Resize) -> None:
        # The window of rows shown depends on the height: recount it.
        self._post_summary()

    def _on_focus(self, event: events.Focus) -> None:
        self._styles = None
        self._gen += 1
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._styles = None
        self._gen += 1
        self.refresh()

    def _get_styles(self) -> _Styles:
        if self._styles is None:
            base = self.rich_style

            def full(name: str) -> Style:
                # Full (not partial) styles, so translucent theme colours
                # are blended over the grid's own background.
                return self.get_component_rich_style(name, default=base)

            def foreground(name: str) -> Style:
                # Only the text attributes: a kind's colour must not paint
                # over the cursor row's background.
                style = full(name)
                return Style(
                    color=style.color,
                    bold=style.bold,
                    italic=style.italic,
                    underline=style.underline,
                    strike=style.strike,
                )

            self._styles = _Styles(
                base=base,
                header=full("datagrid--header"),
                header_cursor=full("datagrid--header-cursor"),
                cursor=full("datagrid--cursor"),
                cell_cursor=full("datagrid--cell-cursor"),
                gutter=full("datagrid--gutter"),
                dim=full("datagrid--dim"),
                by_kind={kind: foreground(name) for kind, name in _KIND_CLASS.items()},
                staged=full("datagrid--staged"),
                deleted=foreground("datagrid--deleted"),
                selected=full("datagrid--selected"),
                failed=full("datagrid--failed"),
            )
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        row = -1 if y == 0 else scroll_y + y - 1
        cursor = self.cursor_col if (row == -1 or row == self.cursor_row) else -1
        key = (row, scroll_x, width, cursor, self._gen)
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._render_row(row, scroll_x, width, cursor)
            self._line_cache[key] = strip
        return strip

    def _render_row(self, row: int, scroll_x: int, width: int, cursor: int) -> Strip:
        # One Strip per line, built with its length known: Strip objects are
        # costly to create, so no intermediate strips (crop/join) are made.
        styles = self._get_styles()
        gutter_width = min(self._gutter_width, width)
        view = width - gutter_width
        # Columns are cut where the scrollbar starts, not under it, so a
        # column cut at the right edge shows its "…" (``_render_cells``).
        shown = max(0, min(view, self.scrollable_content_region.width - gutter_width))
        if row == -1:
            gutter = Segment(" " * gutter_width, styles.header if self._w.columns else styles.base)
            body, used = self._render_cells(None, scroll_x, shown, cursor, styles)
        elif row < self._rows:
            pinned = row < self._pinned
            cells = self._blank_cells() if pinned else self._w.cells(row - self._pinned)
            is_cursor = row == self.cursor_row
            marks = self.row_marks(row) if self.row_marks is not None and cells else None
            number = "" if pinned else f"{row - self._pinned + 1}"
            label = number.rjust(gutter_width - 1)[-(gutter_width - 1) :]
            gutter_style = styles.cursor if is_cursor else styles.gutter
            if marks is None:
                label += " "
            else:
                label += _mark_glyph(marks)
                if marks.failed:
                    gutter_style = styles.failed
                elif marks.selected:
                    gutter_style = styles.selected
            gutter = Segment(label, gutter_style)
            if cells is None:
                body, used = [Segment(fit("loading…", view), styles.dim)], view
            else:
                body, used = self._render_cells(
                    cells, scroll_x, shown, cursor if is_cursor else -2, styles, marks
                )
        else:
            gutter = Segment(" " * gutter_width, styles.base)
            text = self._placeholder_text(row)
            body, used = [Segment(fit(f" {text}" if text else "", view), styles.dim)], view
        if used < view:
            body.append(Segment(" " * (view - used), styles.base))
        return Strip([gutter, *body], width)

    def _blank_cells(self) -> list[tuple[str, CellKind]]:
        """A pinned row's cells before its marks fill them in."""
        return [("", CellKind.TEXT)] * max(1, len(self._w.columns))

    def _placeholder_text(self, row: int) -> str:
        if row != self._rows:
            return ""
        if not self._open:
            return self.words.choose_hint if self.placeholder is None else self.placeholder
        if self._error is not None:
            return f"⚠ {self._error} — F5 retries"
        if not self._w.complete:
            return "loading…"
        return f"(no {self.words.records})" if self._w.row_count == 0 else ""

    def _render_cells(
        self,
        cells: list[tuple[str, CellKind]] | None,
        scroll_x: int,
        view: int,
        cursor: int,
        styles: _Styles,
        marks: RowMarks | None = None,
    ) -> tuple[list[Segment], int]:
        """Segments of the columns that intersect [scroll_x, scroll_x + view),
        cut at both edges, and their total width in cells.

        ``cells`` None renders the header. ``cursor``: the cursor column on
        the cursor row or header, -2 for a plain row, -1 for none.
        """
        segments: list[Segment] = []
        used = 0
        end = scroll_x + view
        row_style = styles.cursor if cursor != -2 and cells is not None else styles.base
        staged: dict[int, tuple[str, CellKind]] = {}
        if marks is not None:
            staged = marks.cells
            if marks.failed:
                row_style = row_style + styles.failed
            elif marks.selected and cursor == -2:
                row_style = styles.selected
            if marks.deleted:
                row_style = row_style + styles.deleted
        pad = " " * PAD
        for c, x in enumerate(self._w.offsets):
            w = self._w.widths[c]
            cell_width = w + 2 * PAD
            if x + cell_width <= scroll_x:
                continue
            if x >= end:
                break
            cut_left = max(0, scroll_x - x)
            cut_right = max(0, x + cell_width - end)
            # A column cut by the right edge is drawn in the room it has, its
            # text cut with "…" there: right-aligned numbers would otherwise
            # show only their padding, and read as missing data.
            room = w
            if cut_right and not cut_left:
                room = max(1, w + PAD - cut_right)
            if cells is None:
                column = self._w.columns[c]
                text = fit(
                    self._w.labels[c] + (PK_MARK if column.primary_key else ""),
                    room,
                    right=self._w.numeric[c],
                )
                style = styles.header_cursor if c == cursor else styles.header
            else:
                value, kind = cells[c] if c < len(cells) else ("·", CellKind.MISSING)
                if c in staged:
                    value, kind = staged[c]
                text = fit(value, room, right=kind is CellKind.NUMBER, keep_tail=kind in _TAILED)
                if c == cursor:
                    style = styles.cell_cursor
                elif c in staged:
                    style = styles.staged + styles.by_kind.get(kind, _PLAIN)
                else:
                    kind_style = styles.by_kind.get(kind)
                    style = row_style + kind_style if kind_style is not None else row_style
            text = f"{pad}{text}{pad}"
            if cut_left or cut_right:
                text = slice_cells(text, cut_left, cell_width - cut_right)
            segments.append(Segment(text, style))
            used += cell_width - cut_left - cut_right
        return segments, used

    # -- cursor and keys ---------------------------------------------------------

    def _move_to(self, row: int, col: int) -> None:
        last_row = max(0, self._rows - 1)
        row = max(0, min(row, last_row))
        col = max(0, min(col, len(self._w.columns) - 1)) if self._w.columns else 0
        old_row, old_col = self.cursor_row, self.cursor_col
        self.cursor_row, self.cursor_col = row, col
        self._scroll_to_cursor()
        if (old_row, old_col) != (row, col):
            self._refresh_row(old_row)
            self._refresh_row(row)
            if old_col != col:
                self.refresh(Region(0, 0, self.size.width, 1))
        self._post_summary()
        self._ensure_pages()

    def _refresh_row(self, row: int) -> None:
        y = 1 + row - self.scroll_offset.y
        if 0 < y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _scroll_to_cursor(self) -> None:
        scroll_x, scroll_y = self.scroll_offset
        body = max(1, self._body_height)
        y = scroll_y
        if self.cursor_row < scroll_y:
            y = self.cursor_row
        elif self.cursor_row >= scroll_y + body:
            y = self.cursor_row - body + 1
        x = scroll_x
        if self._w.columns:
            view = self.scrollable_content_region.width - self._gutter_width
            left = self._w.offsets[self.cursor_col]
            right = left + self._w.widths[self.cursor_col] + 2 * PAD
            if left < scroll_x or right - left > view:
                x = left
            elif right > scroll_x + view:
                # Scroll by whole columns, so the leftmost one is not cut.
                x = next(o for o in self._w.offsets if right - o <= view)
        if (x, y) != (scroll_x, scroll_y):
            self.scroll_to(x, y, animate=False, force=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._post_summary()
            self._ensure_pages()

    def action_cursor_up(self) -> None:
        self._move_to(self.cursor_row - 1, self.cursor_col)

    def action_cursor_down(self) -> None:
        self._move_to(self.cursor_row + 1, self.cursor_col)

    def action_cursor_left(self) -> None:
        self._move_to(self.cursor_row, self.cursor_col - 1)

    def action_cursor_right(self) -> None:
        self._move_to(self.cursor_row, self.cursor_col + 1)

    def action_page_down(self) -> None:
        body = max(1, self._body_height)
        self.scroll_to(y=self.scroll_offset.y + body, animate=False, force=True)
        self._move_to(self.cursor_row + body, self.cursor_col)

    def action_page_up(self) -> None:
        body = max(1, self._body_height)
        self.scroll_to(y=max(0, self.scroll_offset.y - body), animate=False, force=True)
        self._move_to(self.cursor_row - body, self.cursor_col)

    def action_first_column(self) -> None:
        self._move_to(self.cursor_row, 0)

    def action_last_column(self) -> None:
        self._move_to(self.cursor_row, len(self._w.columns) - 1)

    def action_first_row(self) -> None:
        self._move_to(0, self.cursor_col)

    def action_last_row(self) -> None:
        self._move_to(self._rows - 1, self.cursor_col)

    def action_retry(self) -> None:
        """F5: after a failed page, fetch it again (keeping the rows shown);
        otherwise fetch the rows shown again, keeping the position."""
        if self._error is not None:
            self._error = None
            self._changed()
            self._ensure_pages()
        else:
            self.reload()

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0 or not self._w.columns:
            return
        row = self.scroll_offset.y + event.y - 1
        x = self.scroll_offset.x + event.x - self._gutter_width
        col = self.cursor_col
        for c, left in enumerate(self._w.offsets):
            if left <= x < left + self._w.widths[c] + 2 * PAD:
                col = c
                break
        self._move_to(row, col)
