"""SVG snapshots of what a user sees, on the deterministic fake backend.

Each test's docstring says what the picture must show. Update a snapshot
(``--snapshot-update``) only after looking at the new picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from storescope.tui.app import StorescopeApp
from storescope.tui.snapshot import drive

# From the top of the catalog: expand shop, then its "public" schema.
OPEN_PUBLIC = ["down", "down", "right", "down", "down", "down", "right"]
BIG = [*OPEN_PUBLIC, "down", "down", "enter"]
MIXED = [*OPEN_PUBLIC, "down", "down", "down", "down", "down", "enter"]
WIDE = [*OPEN_PUBLIC, *["down"] * 7, "enter"]


def keys(*pressed: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await drive(pilot, list(pressed))

    return run_before


class TestExplorer:
    def test_big_table_opened_from_the_catalog(self, snap_compare: Any) -> None:
        """The catalog expanded down to shop/public with `big` selected; the
        grid shows its first rows (id 1..) with a bold header, `id*` marked as
        primary key, numbers right-aligned; the status line says connected,
        Fake 1.0, the location and "rows 1–36 of ≥ 200 · est. 2,000,000"."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(120, 40), run_before=keys(*BIG))

    def test_grid_scrolled_down_and_focused(self, snap_compare: Any) -> None:
        """After Tab and two PageDowns the grid has the focus: the cursor row
        is highlighted with the id cell strong, the rows continue from 73
        without gaps and the footer shows the grid's keys."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(
            app, terminal_size=(120, 40), run_before=keys(*BIG, "tab", "pagedown", "pagedown")
        )

    def test_wide_table_scrolled_right(self, snap_compare: Any) -> None:
        """The 20-column table with the cell cursor moved to the last column:
        the header scrolled with the body by whole columns (no column cut at
        the left), col_20 highlighted, the row numbers fixed at the left."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(120, 40), run_before=keys(*WIDE, "tab", "end"))

    def test_mixed_values_at_80x24(self, snap_compare: Any) -> None:
        """At 80x24 every region still fits: tab bar, tree, grid, status and
        footer. NULL is dim italic, newlines show as ⏎, long text ends in …."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(80, 24), run_before=keys(*MIXED, "tab"))

    def test_three_connections_with_their_states(self, snap_compare: Any) -> None:
        """One tab per connection on a single line, each with its state
        glyph (● connected, ✕ failed); the password of the second URL shows
        as ***; the first tab is active."""
        app = StorescopeApp(
            ["fake://demo", "fake://alice:secret@other/shop", "fake://down?fail=connect"]
        )
        assert snap_compare(app, terminal_size=(100, 30), run_before=keys())


class TestScreens:
    def test_node_actions_menu_at_80x24(self, snap_compare: Any) -> None:
        """`a` on the table `big` (a connection with every capability): a
        small menu titled "big" over the grid side, listing "b  Browse",
        "q  Open in query", "i  Indexes" with the first highlighted and
        "⏎ choose   Esc cancel" under them; the catalog stays visible."""
        app = StorescopeApp(["fake://demo?caps=all"])
        assert snap_compare(
            app, terminal_size=(80, 24), run_before=keys(*OPEN_PUBLIC, "down", "down", "a")
        )

    def test_help_screen(self, snap_compare: Any) -> None:
        """The keys screen in two columns fits 80x24 unscrolled: global,
        catalog and grid keys, and what the cell marks mean."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(80, 24), run_before=keys("question_mark"))

    def test_connection_failed(self, snap_compare: Any) -> None:
        """A server that refuses the connection: a red status line saying
        "connection failed · ctrl+r retries", an error notification with the
        title and one-line message (no traceback), the grid saying how to
        retry."""
        app = StorescopeApp(["fake://down?fail=connect"])
        assert snap_compare(app, terminal_size=(80, 24), run_before=keys())
