"""Column widths in the grid: they grow as wider values arrive in later
pages, and a column cut by the right edge shows its text cut with "…"
rather than blank cells (issue 10, items 1 and 2)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult

from storescope.backends.types import Column, Page
from storescope.tui.messages import PageRequest
from storescope.tui.widgets.grid.cells import fit
from storescope.tui.widgets.grid.data_grid import DataGrid
from storescope.tui.widgets.grid.page_window import MAX_WIDTH, PageWindow

KEYED = (Column("id", "int", primary_key=True), Column("name", "text"))


def keyed_page(ids: range, *, last: bool = False) -> Page:
    rows = tuple((i, f"n{i}") for i in ids)
    return Page(KEYED, rows, None if last else str(ids.stop))


def test_key_column_widens_when_a_later_page_brings_longer_ids() -> None:
    w = PageWindow(page_size=200, max_pages=5)
    w.add(0, keyed_page(range(1, 201)), near_row=0)
    assert w.widths[0] == 3, '"id*" and ids up to 200 are 3 wide'
    w.add(1, keyed_page(range(100_000, 100_200)), near_row=200)
    assert w.widths[0] == 6, "ids of six digits widen the column"
    cells = w.cells(200)
    assert cells is not None
    text = cells[0][0]
    assert fit(text, w.widths[0], right=True) == "100000", "the id is shown whole, not 10…"
    assert w.offsets[1] == 6 + 2, "the next column moved right to make room"
    assert w.body_width == sum(width + 2 for width in w.widths)


def test_widths_grow_only_up_to_the_maximum_and_never_shrink() -> None:
    w = PageWindow(page_size=2, max_pages=5)
    w.add(0, Page(KEYED, ((1, "a" * 30), (2, "b")), "2"), near_row=0)
    assert w.widths == [3, 30]
    w.add(1, Page(KEYED, ((3, "c" * 500), (4, "d")), "4"), near_row=2)
    assert w.widths == [3, MAX_WIDTH]
    w.add(2, Page(KEYED, ((5, "e"),), None), near_row=4)
    assert w.widths == [3, MAX_WIDTH], "narrow values later never shrink a column"


class GridApp(App[None]):
    CSS: ClassVar[str] = "DataGrid { width: 40; height: 6; }"

    def compose(self) -> ComposeResult:
        yield DataGrid()


PRICED = (Column("id", "int", primary_key=True), Column("name", "text"), Column("amount", "int"))


async def test_a_column_cut_at_the_right_edge_shows_its_text_cut_not_blanks() -> None:
    app = GridApp()
    async with app.run_test(size=(40, 6)) as pilot:
        grid = app.query_one(DataGrid)
        grid.open(("t",))
        rows = ((1, "x" * 20, 12345678), (2, "y" * 20, None))
        grid.add_page(PageRequest(grid.token, 0, None, 200, ("t",)), Page(PRICED, rows, None))
        await pilot.pause()
        lines = [grid.render_line(y).text for y in range(3)]
        # gutter 4, id 1+3+1, name 1+20+1: "amount" (8 wide) starts at x 31
        # and only 8 of its 10 cells are left before the scrollbar (x 39).
        header, first, second = (line[31:39] for line in lines)
        assert header == "  amount", "the header fits in the room left"
        assert first == " 123456…", "a right-aligned number cut at the edge shows its digits"
        assert second == f" {grid.words.no_value}".ljust(8)
        assert all(line[39] == " " for line in lines), "nothing is drawn under the scrollbar"
