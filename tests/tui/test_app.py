"""Pilot tests of the app shell, catalog and grid, on the fake backend."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input

from storescope.backends import fake
from storescope.backends.types import MISSING
from storescope.screens.help import HelpScreen
from storescope.tui.widgets import ConnectionTabs
from storescope.tui.widgets.catalog.catalog_tree import EntryState

from .conftest import drive, explorer_of, open_table, run_app, screen_text, wait_until_idle

BIG = ("shop", "public", "big")


async def test_one_tab_per_url_and_titles_never_show_a_password() -> None:
    urls = ["fake://demo", "fake://alice:hunter2@secretdemo/shop?password=hunter2"]
    async with run_app(urls) as (app, pilot):
        labels = app.query_one(ConnectionTabs).titles
        assert len(labels) == 2
        assert labels[0] == "Fake demo"
        assert "***" in labels[1] and "alice" in labels[1]
        text = screen_text(app)
        assert "Fake demo" in text.splitlines()[0] and "***" in text.splitlines()[0]
        assert "hunter2" not in text
        assert "hunter2" not in app.export_screenshot()


async def test_catalog_expands_one_level_at_a_time_and_enter_shows_first_rows() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        tree = explorer_of(app).catalog
        names = [n.data.node.name for n in tree.root.children if n.data and n.data.node]
        assert names == ["analytics", "postgres", "shop"]
        shop = tree.root.children[2]
        assert shop.data is not None and shop.data.state is EntryState.UNLOADED
        assert not shop.children, "children are listed only when the node is expanded"
        # shop -> expand -> public is the third schema -> expand -> big is the 2nd table
        await drive(
            pilot,
            ["down", "down", "right", "down", "down", "down", "right", "down", "down", "enter"],
        )
        grid = explorer_of(app).grid
        assert explorer_of(app).browse_path == BIG
        first = grid.row(0)
        assert first is not None and first[0] == 1
        text = screen_text(app)
        assert "user1@example.com" in text
        assert "rows 1–" in text and "est. 2,000,000" in text


async def test_pagedown_past_loaded_rows_loads_the_next_page_without_gaps() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        explorer = await open_table(app, pilot, BIG)
        grid = explorer.grid
        assert grid.row_count == 200
        await drive(pilot, ["pagedown"] * 8)
        assert grid.row_count >= 400
        assert grid.cursor_row > 200
        for i in range(grid.row_count):
            row = grid.row(i)
            assert row is not None and row[0] == i + 1, f"row {i} is {row!r}"
        assert f"user{grid.cursor_row + 1}@example.com" in screen_text(app)


async def test_scrolling_far_keeps_a_bounded_number_of_rows_and_scrolling_back_refetches() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        explorer = await open_table(app, pilot, BIG)
        grid = explorer.grid
        grid.max_pages = 3
        await drive(pilot, ["ctrl+end"] * 8)
        assert grid.cursor_row > 1000
        assert grid.cached_row_count <= 3 * 200
        assert 0 not in grid.cached_pages, "the first page should have been evicted"
        await drive(pilot, ["ctrl+home"])
        assert grid.cursor_row == 0
        first = grid.row(0)
        assert first is not None and first[0] == 1
        assert grid.cached_row_count <= 3 * 200
        assert "user1@example.com" in screen_text(app)


async def test_document_pages_add_new_fields_as_columns_on_the_right() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        explorer = await open_table(app, pilot, ("shop", "audit", "events"))
        grid = explorer.grid
        first = [c.name for c in grid.columns]
        assert first[0] == "_id" and "late_field" not in first
        await drive(pilot, ["pagedown"] * 10)
        names = [c.name for c in grid.columns]
        assert names[: len(first)] == first
        assert names[-1] == "late_field"
        row = grid.row(1)
        assert row is not None and row[-1] is MISSING


async def test_cells_show_null_missing_newlines_binary_and_json_distinctly() -> None:
    async with run_app(["fake://demo"], size=(260, 30)) as (app, pilot):
        await open_table(app, pilot, ("shop", "public", "mixed"))
        text = screen_text(app)
        assert "NULL" in text
        assert "line one⏎line two" in text
        assert "\\xdeadbeef" in text
        assert '{"k":0,"nested":{"ok":true},' in text
        assert "12345678901234567890.123456789" in text
        assert "(50.0 MB)" in text


async def test_wide_table_scrolls_right_with_the_cell_cursor() -> None:
    async with run_app(["fake://demo"], size=(80, 24)) as (app, pilot):
        explorer = await open_table(app, pilot, ("shop", "public", "wide"))
        grid = explorer.grid
        assert "col_20" not in screen_text(app)
        await drive(pilot, ["end"])
        assert grid.cursor_col == 19
        assert grid.scroll_offset.x > 0
        assert "col_20" in screen_text(app)
        await drive(pilot, ["home"])
        assert grid.scroll_offset.x == 0


async def test_empty_table_says_no_rows() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        await open_table(app, pilot, ("shop", "public", "empty"))
        text = screen_text(app)
        assert "(no rows)" in text and "no rows" in text.splitlines()[-2]


async def test_failing_connection_notifies_and_the_app_keeps_running() -> None:
    async with run_app(["fake://down?fail=connect", "fake://demo"], size=(100, 30)) as (app, pilot):
        explorer = explorer_of(app)
        assert explorer.state == "failed"
        text = screen_text(app)
        assert "Connection failed" in text
        assert "refused the connection" in text
        assert "Traceback" not in text
        await drive(pilot, ["right_square_bracket"])
        assert explorer_of(app).state == "connected"
        assert "analytics" in screen_text(app)


async def test_lost_connection_is_shown_and_reconnect_restores_the_rows() -> None:
    async with run_app(["fake://flaky"]) as (app, pilot):
        explorer = await open_table(app, pilot, BIG)
        fake.drop_connections("flaky")
        await drive(pilot, ["pagedown"] * 6)
        assert explorer.state == "lost"
        text = screen_text(app)
        assert "Connection lost" in text
        assert "connection lost · ctrl+r reconnects" in text
        await drive(pilot, ["ctrl+r"])
        assert explorer.state == "connected"
        grid = explorer.grid
        current = grid.row(grid.cursor_row)
        assert current is not None and current[0] == grid.cursor_row + 1
        top = grid.scroll_offset.y
        assert f"user{top + 1}@example.com" in screen_text(app), "the rows shown are fetched again"
        assert explorer.catalog.root.children, "the catalog is listed again"


async def test_catalog_error_notifies_and_the_tree_stays_usable() -> None:
    async with run_app(["fake://nolist?fail=list"]) as (app, pilot):
        text = screen_text(app)
        assert "Permission denied" in text
        assert explorer_of(app).state == "connected"
        await drive(pilot, ["r"])
        assert "failed — r retries" in screen_text(app)


async def test_browse_error_shows_in_the_grid_and_f5_retries() -> None:
    fake.set_failing("f5retry", "browse")
    async with run_app(["fake://f5retry"]) as (app, pilot):
        calls = fake.get_dataset("f5retry").calls
        await open_table(app, pilot, BIG)
        text = screen_text(app)
        assert "Query failed" in text
        assert "⚠ browsing shop/public/big failed (simulated) — F5 retries" in text
        assert explorer_of(app).state == "connected"
        tried = calls["browse"]
        await drive(pilot, ["f5"])
        assert calls["browse"] == tried + 1, "F5 asks the server again"
        assert "— F5 retries" in screen_text(app), "still failing: still said"
        fake.set_failing("f5retry")
        await drive(pilot, ["f5"])
        text = screen_text(app)
        assert "F5 retries" not in text
        assert "user1@example.com" in text
        assert explorer_of(app).grid.row(0) is not None


async def test_help_opens_with_question_mark_and_escape_closes_it() -> None:
    async with run_app(["fake://demo"], size=(80, 24)) as (app, pilot):
        await drive(pilot, ["question_mark"])
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Reconnect" in text and "Keys" in text
        await drive(pilot, ["escape"])
        assert not isinstance(app.screen, HelpScreen)


async def search_palette(pilot: Pilot[None], text: str) -> None:
    """Open the command palette and search for ``text``."""
    await drive(pilot, ["ctrl+p"])
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    # Typed at once: key by key, each keystroke starts another search.
    palette.query_one(Input).value = text
    await wait_until_idle(pilot)


def palette_hits(app: App[Any]) -> list[str]:
    """The commands the open palette offers, best match first."""
    commands = app.screen.query_one(CommandList)
    options = [commands.get_option_at_index(i) for i in range(commands.option_count)]
    return [o.hit.text or "" for o in options if isinstance(o, Command)]


async def run_command(pilot: Pilot[None], name: str) -> None:
    """Run the command palette's top hit for ``name`` (which must be it)."""
    await search_palette(pilot, name)
    assert palette_hits(pilot.app)[:1] == [name]
    await drive(pilot, ["enter"])


async def test_command_palette_reconnect_really_reconnects() -> None:
    async with run_app(["fake://palette"]) as (app, pilot):
        calls = fake.get_dataset("palette").calls
        before = calls["connect"]
        await drive(pilot, ["ctrl+p", *"reconn"])
        assert isinstance(app.screen, CommandPalette)
        assert "Reconnect" in screen_text(app)
        await drive(pilot, ["enter"])
        assert calls["connect"] >= before + 2, "the grid's and the catalog's connections"
        assert explorer_of(app).state == "connected"


PALETTE_NAMES = [
    "Reconnect",
    "Refresh catalog",
    "Refresh catalog node",
    "Open selected node",
    "Reload rows",
    "First row",
    "Last loaded row",
    "Focus catalog",
    "Focus grid",
    "Next connection",
    "Previous connection",
    "Show keys / help",
    "Quit",
]


async def test_command_palette_has_a_plain_name_for_every_key_action() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert [n for n in PALETTE_NAMES if n not in titles] == []
        await drive(pilot, ["ctrl+p"])
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        for name in PALETTE_NAMES:
            palette.query_one(Input).value = name
            await wait_until_idle(pilot)
            assert palette_hits(app)[:1] == [name], f"the palette does not offer {name!r}"
            assert name in screen_text(app)


async def test_palette_commands_act_on_the_active_explorer() -> None:
    async with run_app(["fake://routed"]) as (app, pilot):
        calls = fake.get_dataset("routed").calls
        explorer = explorer_of(app)
        # shop -> expand -> public -> expand -> big selected in the catalog
        await drive(
            pilot, ["down", "down", "right", "down", "down", "down", "right", "down", "down"]
        )
        await run_command(pilot, "Open selected node")
        assert explorer.browse_path == BIG
        grid = explorer.grid
        await run_command(pilot, "Last loaded row")
        assert grid.cursor_row == 199
        await run_command(pilot, "First row")
        assert grid.cursor_row == 0
        browsed = calls["browse"]
        await run_command(pilot, "Reload rows")
        assert calls["browse"] > browsed
        assert "user1@example.com" in screen_text(app)
        listed = calls["list_children"]
        await run_command(pilot, "Refresh catalog node")
        assert calls["list_children"] > listed


async def test_read_only_connections_say_so() -> None:
    async with run_app(["fake://demo"], read_only=True) as (app, pilot):
        assert "read-only" in screen_text(app).splitlines()[-2]


async def test_q_quits() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_layout_keeps_tabs_status_and_footer_at_80x24() -> None:
    async with run_app(["fake://demo"], size=(80, 24)) as (app, pilot):
        await open_table(app, pilot, BIG)
        await drive(pilot, ["pagedown"] * 3)
        lines = screen_text(app).splitlines()
        assert len(lines) == 24
        assert "Fake demo" in lines[0]
        assert "connected" in lines[-2] and "rows" in lines[-2]
        assert "Quit" in lines[-1]


async def test_clicking_a_tab_or_pressing_brackets_switches_connection() -> None:
    async with run_app(["fake://demo", "fake://other"]) as (app, pilot):
        assert app.active_index == 0
        tabs = app.query_one(ConnectionTabs)
        start, _ = tabs._spans[1]
        await pilot.click(ConnectionTabs, offset=(start + 2, 0))
        await wait_until_idle(pilot)
        assert app.active_index == 1
        assert app.focused is explorer_of(app).catalog
        assert "fake://other" in screen_text(app).splitlines()[-2]
        await drive(pilot, ["right_square_bracket"])
        assert app.active_index == 0


async def test_quitting_with_work_a_panel_would_lose_asks_first() -> None:
    """q with staged changes (or an open transaction) in some panel asks
    before quitting; Esc keeps the app running, Enter quits."""
    from storescope.screens.dialogs import ConfirmScreen

    async with run_app(["fake://demo"]) as (app, pilot):
        explorer = explorer_of(app)
        data = explorer.panels["data"]
        data.unsaved_work = lambda: "2 staged changes on shop/public/big"  # type: ignore[method-assign]
        await drive(pilot, ["q"])
        assert isinstance(app.screen, ConfirmScreen)
        assert "2 staged changes on shop/public/big" in screen_text(app)
        await drive(pilot, ["escape"])
        assert app.is_running and not isinstance(app.screen, ConfirmScreen)
        await drive(pilot, ["q", "enter"])
        assert not app.is_running


async def test_quitting_with_nothing_to_lose_does_not_ask() -> None:
    async with run_app(["fake://demo"]) as (app, pilot):
        await drive(pilot, ["q"])
        assert not app.is_running


# -- catalog node actions and panel keys ------------------------------------------

#: From the top of the catalog: shop expanded, then its "public" schema, then
#: the cursor on the table `big` (the view `active_customers` comes first).
TO_BIG = ["down", "down", "right", "down", "down", "down", "right", "down", "down"]


async def test_a_on_a_table_offers_its_actions_and_indexes_opens_them_on_that_table() -> None:
    from storescope.screens.dialogs import ChoiceScreen
    from storescope.tui.widgets.indexes.index_panel import IndexPanel

    async with run_app(["fake://actions?caps=all"], size=(80, 24)) as (app, pilot):
        explorer = explorer_of(app)
        await drive(pilot, TO_BIG)
        assert "a Actions" in screen_text(app).splitlines()[-1]
        await drive(pilot, ["a"])
        assert isinstance(app.screen, ChoiceScreen)
        text = screen_text(app)
        for line in ("b  Browse", "q  Open in query", "i  Indexes"):
            assert line in text
        await drive(pilot, ["i"])
        assert not isinstance(app.screen, ChoiceScreen)
        assert explorer.active_panel == "indexes"
        panel = explorer.panels["indexes"]
        assert isinstance(panel, IndexPanel) and panel.path == BIG
        text = screen_text(app)
        assert "Indexes of big" in text and "big_pkey" in text
        assert explorer.browse_path == BIG


async def test_node_actions_name_only_what_the_node_and_connection_can_do() -> None:
    """A view has no indexes; a schema offers nothing (a beeps, no menu); a
    connection without QUERY or INDEXES offers only Browse."""
    from storescope.screens.dialogs import ChoiceScreen

    async with run_app(["fake://actions?caps=all"]) as (app, pilot):
        explorer = explorer_of(app)
        await drive(pilot, TO_BIG[:-1])  # the view active_customers
        listed = explorer.node_actions()
        assert listed is not None and listed[0].name == "active_customers"
        assert [a.label for a in listed[1]] == ["Browse", "Open in query"]
        await drive(pilot, ["up"])  # the schema public
        assert explorer.node_actions() is None
        await drive(pilot, ["a"])
        assert not isinstance(app.screen, ChoiceScreen)
    async with run_app(["fake://actions"]) as (app, pilot):
        await drive(pilot, TO_BIG)
        listed = explorer_of(app).node_actions()
        assert listed is not None and [a.label for a in listed[1]] == ["Browse"]


async def test_choosing_open_in_query_writes_the_query_for_that_table() -> None:
    async with run_app(["fake://actions?caps=all"]) as (app, pilot):
        explorer = explorer_of(app)
        await drive(pilot, [*TO_BIG, "a", "q"])
        assert explorer.active_panel == "query"
        assert "SELECT * FROM public.big;" in screen_text(app)


async def test_palette_lists_the_highlighted_nodes_actions_and_runs_them() -> None:
    async with run_app(["fake://actions?caps=all"]) as (app, pilot):
        explorer = explorer_of(app)
        await drive(pilot, TO_BIG)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert [t for t in titles if t.endswith("· big")] == [
            "Browse · big",
            "Open in query · big",
            "Indexes · big",
        ]
        await run_command(pilot, "Browse · big")
        assert explorer.active_panel == "data" and explorer.browse_path == BIG
        assert "user1@example.com" in screen_text(app)


async def test_palette_shows_a_node_name_with_markup_as_it_is() -> None:
    """A node's name is store text: the palette (which reads titles as
    markup) shows `[bold red]x[/]` as those characters."""
    async with run_app(["fake://hostile?caps=all"]) as (app, pilot):
        explorer = explorer_of(app)
        # hostile -> public -> the second table
        await drive(pilot, ["down", "right", "down", "down", "right", "down", "down"])
        listed = explorer.node_actions()
        assert listed is not None and listed[0].name == "[bold red]x[/]"
        await search_palette(pilot, "Browse")
        assert "Browse · [bold red]x[/]" in palette_hits(app)
        assert "Browse · [bold red]x[/]" in screen_text(app)


async def test_each_panel_key_comes_from_the_panel_list_and_shows_its_panel() -> None:
    from storescope.screens.explorer import Explorer
    from storescope.tui.widgets.panel import PANELS

    keys = {b.key: b.action for b in Explorer.BINDINGS if hasattr(b, "key")}
    async with run_app(["fake://panelkeys?caps=all"]) as (app, pilot):
        explorer = await open_table(app, pilot, BIG)
        for spec in reversed(PANELS):
            assert keys[spec.key] == f"show_panel('{spec.id}')"
            await drive(pilot, [spec.key])
            assert explorer.active_panel == spec.id, spec.key
            assert f"{spec.key.upper()} {spec.title}" in screen_text(app).splitlines()[1]


async def test_panels_and_node_actions_follow_the_capabilities_after_a_reconnect(
    monkeypatch: Any,
) -> None:
    """The flags are read live: a server that gains INDEXES on reconnect
    offers the indexes panel and the Indexes action, without a restart."""
    from storescope.backends.base import Capability
    from storescope.backends.fake import FakeBackend

    async with run_app(["fake://livecaps"]) as (app, pilot):
        explorer = explorer_of(app)
        await drive(pilot, TO_BIG)
        assert [p.id for p in explorer.offered_panels()] == ["data"]
        monkeypatch.setattr(FakeBackend, "capabilities", Capability.INDEXES)
        explorer.reconnect()
        await wait_until_idle(pilot)
        assert [p.id for p in explorer.offered_panels()] == ["data", "indexes"]
        context = explorer.panels["data"].context
        assert Capability.INDEXES in context.capabilities
        listed = explorer.node_actions()
        assert listed is not None and [a.label for a in listed[1]] == ["Browse", "Indexes"]
        await drive(pilot, ["a", "i"])
        assert explorer.active_panel == "indexes"
        # ... and one that loses it again shows the data panel, not a dead one.
        monkeypatch.setattr(FakeBackend, "capabilities", Capability.NONE)
        explorer.reconnect()
        await wait_until_idle(pilot)
        assert [p.id for p in explorer.offered_panels()] == ["data"]
        assert explorer.active_panel == "data"
        await drive(pilot, ["f4"])
        assert explorer.active_panel == "data"


def _help_section(app: Any, title: str) -> dict[str, str]:
    """The open keys screen's section ``title``: description -> keys."""
    assert isinstance(app.screen, HelpScreen)
    for name, rows in app.screen.sections:
        if name == title:
            return {description: keys for keys, description in rows}
    return {}


_EDIT_KEYS = ("Edit", "Insert", "Delete", "Commit", "Select row", "Undo last change")


async def test_the_keys_screen_lists_only_the_record_keys_the_connection_offers() -> None:
    """A store without records (the plain fake) shows its rows but edits
    none: ? lists Enter (Record) and no editing key; with records the
    editing keys and the cell editor's ctrl+n in the store's word (the
    fake: NULL, as PostgreSQL); read-only, no editing key again."""
    cases = [
        ("fake://demo", False, False),
        ("fake://demo?caps=records", False, True),
        ("fake://demo?caps=records", True, False),
    ]
    for url, read_only, edits in cases:
        async with run_app([url], size=(160, 60), read_only=read_only) as (app, pilot):
            await drive(pilot, ["question_mark"])
            records = _help_section(app, "Records")
            assert records["Record"] == "⏎", (url, records)
            for key in _EDIT_KEYS:
                assert (key in records) is edits, (url, read_only, key, records)
            assert ("Set NULL" in records) is edits, (url, read_only, records)
            assert "Set null" not in records
            assert _help_section(app, "Grid cells")["null value"] == "NULL"
            await drive(pilot, ["escape"])


async def test_the_keys_screen_names_no_value_in_a_document_stores_word() -> None:
    """memdocs: ctrl+n is "Set null", its cells show null, and the primary
    key marks a field, not a column."""
    from storescope.backends import memdocs

    memdocs.register_store("keys-help", memdocs.default_store())
    async with run_app(["memdocs://keys-help"], size=(160, 60)) as (app, pilot):
        await drive(pilot, ["question_mark"])
        records = _help_section(app, "Records")
        assert records["Set null"] == "^n", records
        assert "Set NULL" not in records and "Edit" in records
        cells = _help_section(app, "Grid cells")
        assert cells["null value"] == "null" and "primary key field" in cells, cells
        assert "NULL" not in screen_text(app)
