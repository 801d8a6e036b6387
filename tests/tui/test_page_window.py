"""The grid's paging model, without a screen: what is held, what is asked for."""

from __future__ import annotations

from storescope.backends.types import MISSING, Column, Page
from storescope.tui.widgets.grid.page_window import MAX_WIDTH, PageWindow

COLS = (Column("id", "int", primary_key=True), Column("name", "text"))


def page(first: int, n: int, *, last: bool = False) -> Page:
    rows = tuple((i, f"name {i}") for i in range(first, first + n))
    return Page(COLS, rows, None if last else str(first + n), total_estimate=1_000_000)


def test_pages_chain_by_the_previous_pages_next_cursor() -> None:
    w = PageWindow(page_size=10, max_pages=5)
    assert w.wanted(0, 5) == 0 and w.starts == [None]
    w.add(0, page(0, 10), near_row=0)
    assert w.starts == [None, "10"] and w.row_count == 10 and not w.complete
    assert w.wanted(0, 5) == 1, "one screen of prefetch reaches page 1"
    w.add(1, page(10, 3, last=True), near_row=0)
    assert w.complete and w.row_count == 13 and w.wanted(0, 5) is None


def test_far_pages_are_evicted_and_asked_for_again_from_their_start_cursor() -> None:
    w = PageWindow(page_size=10, max_pages=3)
    for i in range(8):
        w.add(i, page(10 * i, 10), near_row=10 * i)
    assert w.cached_row_count == 30 and sorted(w.pages) == [5, 6, 7]
    assert w.row_count == 80, "evicting rows does not forget they exist"
    assert w.row(3) is None
    assert w.wanted(0, 5) == 0
    assert w.starts[4] == "40", "each page's start cursor is kept to fetch it again"


def test_new_document_fields_become_columns_on_the_right() -> None:
    w = PageWindow(page_size=2, max_pages=5)
    w.add(0, Page((Column("_id"), Column("a")), (("x", 1), ("y", 2)), "2"), near_row=0)
    w.add(1, Page((Column("_id"), Column("b")), (("z", "new"), ("w", None)), None), near_row=0)
    assert [c.name for c in w.columns] == ["_id", "a", "b"]
    assert w.row(0) == ("x", 1, MISSING)
    assert w.row(2) == ("z", MISSING, "new")


def test_widths_come_from_the_values_and_are_capped() -> None:
    w = PageWindow(page_size=2, max_pages=5)
    cols = (Column("id", primary_key=True), Column("text"))
    w.add(0, Page(cols, ((1, "x" * 500), (22, "short")), "2"), near_row=0)
    assert w.widths == [3, MAX_WIDTH]  # "id*" is 3 wide
    assert w.numeric == [True, False]
    w.add(1, Page(cols, ((3, "y" * 10),), None), near_row=0)
    assert w.widths == [3, MAX_WIDTH], "narrower later pages never move the layout"
