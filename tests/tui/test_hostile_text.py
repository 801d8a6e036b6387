"""Text from a store never reaches the terminal as commands (issue 8, item 3).

Every widget is fed, through the fake backend's hostile dataset
(``fake://hostile?caps=all``, see ``backends/fake_hostile.py``), names and
values holding C0 and C1 controls, OSC/CSI sequences, bidi overrides, line
breaks and markup. Each test then checks what the app would draw:

- no segment of the composed screen (the compositor's strips, toasts and
  modal screens included) holds a raw control character, bidi control or
  lone surrogate, and the bytes the driver would write for it hold no OSC,
  no BEL and no screen clear (``assert_clean``);
- the visible escapes are there: ``\\x1b]0;PWNED\\x07``, ``new⏎line``,
  ``evil\\u202etxt.exe``, ``[bold red]x[/]`` shown as typed.

What goes back to the store is the original text (paths, keys, SQL): the
tests check that too where it matters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from rich.style import Style
from textual._compositor import LayoutUpdate
from textual.pilot import Pilot

from storescope.backends import fake, sandbox
from storescope.backends.fake_hostile import (
    BIDI,
    C0,
    C1,
    CORPUS,
    LINK,
    MARKUP,
    MARKUP_BROKEN,
    NEWLINE,
    OSC,
    TAB,
    TAGS,
    VALUES,
    table_path,
)
from storescope.screens.change_plan import ChangePlanScreen
from storescope.screens.dialogs import ConfirmScreen
from storescope.screens.help import HelpScreen
from storescope.screens.record_view import RecordViewScreen
from storescope.tui import formats
from storescope.tui.app import StorescopeApp
from storescope.tui.sanitize import has_controls, sanitize, sanitize_lines
from storescope.tui.widgets.catalog.catalog_tree import CatalogTree
from storescope.tui.widgets.indexes.index_panel import IndexPanel
from storescope.tui.widgets.monitor.monitor_panel import MonitorPanel
from storescope.tui.widgets.query.query_panel import QueryPanel
from storescope.tui.widgets.records.data_panel import DataPanel
from tests.pg_helpers import execute

from .conftest import drive, explorer_of, open_table, run_app, screen_text, wait_until_idle

URL = "fake://hostile?caps=all"
SIZE = (160, 45)

#: How each corpus string must look on screen.
SHOWN = {
    OSC: r"\x1b]0;PWNED\x07\x1b[2Jesc",
    NEWLINE: "new⏎line",
    BIDI: r"evil\u202etxt.exe",
    C1: r"c1\x9b31mred\x85nel",
    C0: r"nul\x00bel\x07bs\x08cr\rdel\x7f",
    MARKUP: "[bold red]x[/]",
    MARKUP_BROKEN: "oops[/]",
    LINK: "[link=https://example.com]click[/link]",
    TAB: "tab here",
}

#: What must never be in a drawn segment.
RAW = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def assert_clean(app: StorescopeApp) -> str:
    """Check the whole composed screen (see the module docstring); return
    its text for further checks."""
    screen = app.screen
    update = screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    assert isinstance(update, LayoutUpdate)
    segments = [
        segment.text
        for line in update.strips
        for strip in line
        for segment in strip
        if not segment.control
    ]
    dirty = [text for text in segments if RAW.search(text)]
    assert not dirty, f"raw control characters drawn: {dirty!r}"
    raw = update.render_segments(app.console)
    for sequence in ("\x1b]", "\x07", "\x1b[2J", "\x9b", "\x85", "\u202e"):
        assert sequence not in raw, f"{sequence!r} would be written to the terminal"
    return screen_text(app)


@pytest.fixture(autouse=True)
def _fresh_hostile_datasets() -> Iterator[None]:
    """Each test gets the hostile datasets as seeded (failures cleared)."""
    yield
    for name in [n for n in fake._DATASETS if n.startswith("hostile")]:
        del fake._DATASETS[name]


# -- the sanitizer itself -------------------------------------------------------------


def test_one_sanitizer_for_the_tui_and_the_cli() -> None:
    for text, shown in SHOWN.items():
        assert sanitize(text) == shown
        assert formats.escape_controls(text) == shown, "the CLI's escapes are the same"
    assert sanitize("a\r\nb") == "a⏎b"
    assert sanitize("\u2066x\u2069\u200e\u061c\u2028") == r"\u2066x\u2069\u200e\u061c\u2028"
    undecodable = b"key\xff".decode("utf-8", "surrogateescape")
    assert sanitize(undecodable) == r"key\xff"
    # Printable text of any script passes as it is (emoji with joiners too).
    for text in ("plain", "日本語", "ünïcödé ✓", "👨\u200d👩\u200d👧", "a\u00a0b", "x" * 1000):
        assert sanitize(text) == text
    assert sanitize_lines("a\tb\nc\x1b[2J") == "a   b\nc\\x1b[2J"
    assert has_controls(OSC) and has_controls(NEWLINE) and has_controls(BIDI)
    assert not has_controls(TAB) and not has_controls(MARKUP)


# -- the catalog tree -----------------------------------------------------------------


async def _expanded(app: StorescopeApp, pilot: Pilot[Any], *paths: tuple[str, ...]) -> CatalogTree:
    tree = explorer_of(app).catalog
    for path in paths:
        tree._by_path[path].expand()
        await wait_until_idle(pilot)
    return tree


async def test_expanded_tree_shows_every_hostile_name_escaped_one_row_each() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        tree = await _expanded(
            app,
            pilot,
            ("hostile",),
            ("hostile", "public"),
            ("hostile", "\x1b[2Jschema"),
            ("\x1b]0;PWNED-DB\x07db",),
        )
        await wait_until_idle(pilot)
        text = assert_clean(app)
        # Every node is one line, and the lines are the nodes in order.
        lines = [tree.get_node_at_line(y) for y in range(tree.last_line + 1)]
        catalog = [
            (line, line.data.node)
            for line in lines
            if line is not None and line.data is not None and line.data.node is not None
        ]
        assert len(catalog) == len(lines) == len({id(line) for line, _ in catalog})
        public = [node.name for _, node in catalog if node.path[:-1] == ("hostile", "public")]
        assert public == sorted(["alpha", "omega", "values", *CORPUS])
        for line, node in catalog:
            label = tree.render_label(line, Style(), Style()).plain
            assert "\n" not in label and not RAW.search(label)
            assert sanitize(node.name) in label
        assert r"\x1b]0;PWNED-DB\x07db" in text and r"\x1b[2Jschema" in text
        for shown in ("new⏎line", "[bold red]x[/]", "oops[/]", r"evil\u202etxt.exe"):
            assert shown in text


async def test_enter_on_each_table_of_the_schema_opens_that_table() -> None:
    """A name holding a line break once split its row in two, so the cursor
    landed on the wrong table: Down then Enter opens each table in turn."""
    async with run_app([URL], size=SIZE) as (app, pilot):
        tree = await _expanded(app, pilot, ("hostile",), ("hostile", "public"))
        tree.focus()
        tree.move_cursor(tree._by_path[("hostile", "public")])
        await wait_until_idle(pilot)
        explorer = explorer_of(app)
        for name in sorted(["alpha", "omega", "values", *CORPUS]):
            await drive(pilot, ["down", "enter"])
            assert explorer.browse_path == table_path(name), repr(name)
            first = explorer.grid.row(0)
            assert first is not None
            if name != "values":
                assert first[1] == f"{TAGS[name]} 1", repr(name)
            text = assert_clean(app)
            assert sanitize(name) in text.splitlines()[-2], "the status line names the table"


# -- the grid, the status line and the tab titles -------------------------------------


async def test_grid_headers_and_cells_show_escapes() -> None:
    async with run_app([URL], size=(260, 40)) as (app, pilot):
        explorer = await open_table(app, pilot, VALUES)
        text = assert_clean(app)
        header = next(line for line in text.splitlines() if " id* " in line)
        for name in (OSC, NEWLINE, MARKUP):
            assert SHOWN[name] in header
        for value in CORPUS:
            assert SHOWN[value] in text, value
        # The grid's data are the store's, unchanged.
        assert [c.name for c in explorer.grid.columns][2:4] == [OSC, NEWLINE]
        first = explorer.grid.row(0)
        assert first is not None and first[1] == OSC


async def test_status_line_and_tab_titles_escape_server_text() -> None:
    urls = [URL, "fake://hostile-tab/\x1b]0;TAB\x07x"]
    async with run_app(urls, size=SIZE) as (app, pilot):
        await open_table(app, pilot, table_path(OSC))
        text = assert_clean(app)
        status = text.splitlines()[-2]
        assert r"Fake 1.0\x1b]0;PWNED-VERSION\x07" in status
        assert r"hostile/public/\x1b]0;PWNED\x07\x1b[2Jesc" in status
        assert r"hostile-tab/\x1b]0;TAB\x07x" in text.splitlines()[0]


# -- notifications --------------------------------------------------------------------


async def test_an_error_quoting_a_hostile_name_is_notified_escaped() -> None:
    url = "fake://hostile-fail?caps=all"
    async with run_app([url], size=SIZE) as (app, pilot):
        fake.set_failing("hostile-fail", "browse")
        explorer = explorer_of(app)
        for name in (OSC, MARKUP_BROKEN, LINK):
            explorer.open_path(table_path(name))
            await wait_until_idle(pilot)
            text = assert_clean(app)
            assert f"browsing hostile/public/{SHOWN[name]} failed (simulated)" in text
            app.clear_notifications()
        # A widget asking for markup gets none with store text in it.
        app.notify(f"{MARKUP_BROKEN} {OSC}", title=BIDI, markup=True)
        await pilot.pause()
        text = assert_clean(app)
        assert f"{SHOWN[MARKUP_BROKEN]} {SHOWN[OSC]}" in text and SHOWN[BIDI] in text


# -- records: the record view, the change plan, the confirmation ------------------------


async def test_record_view_shows_names_and_values_escaped() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = await open_table(app, pilot, VALUES)
        for row, value in enumerate(CORPUS):
            explorer.grid.cursor_row = row
            await drive(pilot, ["enter"])
            assert isinstance(app.screen, RecordViewScreen), value
            text = assert_clean(app)
            assert SHOWN[value] in text
            assert SHOWN[OSC] in text and "new⏎line" in text, "the field names"
            # A value the one-line editor could only show raw is not edited in place.
            if has_controls(value):
                await drive(pilot, ["down", "e"])  # from "id" to "text"
                assert not app.screen.query_one("#record-editor").display
                assert "holds control characters" in assert_clean(app)
                app.clear_notifications()
            await drive(pilot, ["escape"])
            assert not isinstance(app.screen, RecordViewScreen)


async def test_grid_editor_refuses_a_value_with_controls() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = await open_table(app, pilot, VALUES)
        await drive(pilot, ["right", "e"])  # the "text" cell of row 1 (OSC)
        panel = explorer.data_panel
        assert not panel.editor.display
        assert "holds control characters" in assert_clean(app)


async def test_change_plan_and_confirmations_show_escapes_and_keep_the_data() -> None:
    path = table_path(OSC)
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = await open_table(app, pilot, path)
        panel = explorer.data_panel
        assert isinstance(panel, DataPanel)
        await wait_until_idle(pilot)
        panel._staged_for_shown().edit((("id", 1),), "what", OSC + NEWLINE + MARKUP_BROKEN)
        panel._marks_changed()
        await drive(pilot, ["ctrl+s"])
        assert isinstance(app.screen, ChangePlanScreen)
        step = app.screen.plan.steps[0].text
        assert OSC in step, "the plan holds the value as it will be written"
        text = assert_clean(app)
        assert f"to hostile/public/{SHOWN[OSC]}?" in text
        assert r"= '\x1b]0;PWNED\x07\x1b[2Jescnew" in text and "oops[/]'" in text
        await drive(pilot, ["enter"])  # the fake refuses to apply: a notification
        text = assert_clean(app)
        assert "the fake store changes nothing" in text
        app.clear_notifications()
        await drive(pilot, ["ctrl+d"])
        assert isinstance(app.screen, ConfirmScreen)
        assert f"hostile/public/{SHOWN[OSC]}. Discard them all?" in assert_clean(app)
        await drive(pilot, ["escape", "q"])
        assert isinstance(app.screen, ConfirmScreen), "quitting asks: a change is staged"
        assert f"hostile/public/{SHOWN[OSC]}" in assert_clean(app)
        await drive(pilot, ["escape"])


# -- query, explain, indexes, monitor, help ---------------------------------------------


async def test_query_results_and_plan_of_a_hostile_table() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = await open_table(app, pilot, table_path(OSC))
        panel = explorer.show_panel("query")
        assert isinstance(panel, QueryPanel)
        await wait_until_idle(pilot)
        await drive(pilot, ["ctrl+b"])  # SELECT * FROM the table shown
        assert (
            panel.editor.text == r'SELECT * FROM public.U&"\+00001b]0;PWNED\+000007\+00001b[2Jesc";'
        )
        assert_clean(app)
        await drive(pilot, ["f5"])
        text = assert_clean(app)
        assert "osc 1" in text, "the Unicode-escaped name selects the right table"
        assert f"NOTICE: {SHOWN[OSC]}" in text
        # A notice is one line: NEL (U+0085) is whitespace, so it is one space.
        assert r"WARNING: c1\x9b31mred nel oops[/]" in text
        await drive(pilot, ["f7"])
        text = assert_clean(app)
        assert f"Seq Scan on {SHOWN[OSC]}" in text

        panel.editor.load_text('SELECT * FROM "values"')
        await drive(pilot, ["f5"])
        text = assert_clean(app)
        for name in (OSC, NEWLINE, MARKUP):
            assert SHOWN[name] in text
        assert SHOWN[MARKUP_BROKEN] in text and SHOWN[BIDI] in text


async def test_index_panel_and_form_show_escapes() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = await open_table(app, pilot, VALUES)
        panel = explorer.show_panel("indexes")
        assert isinstance(panel, IndexPanel)
        await wait_until_idle(pilot)
        panel.table.focus()
        await drive(pilot, ["down"])  # the hostile index, after values_pkey
        text = assert_clean(app)
        assert f"idx_{SHOWN[OSC]}" in text
        assert f'"{SHOWN[NEWLINE]}", lower("{SHOWN[MARKUP]}")' in text
        assert f"duplicate of {SHOWN[BIDI]}" in text
        await drive(pilot, ["n"])
        text = assert_clean(app)
        assert f"of: id, text, {SHOWN[OSC]}, {SHOWN[NEWLINE]}, {SHOWN[MARKUP]}" in text


async def test_monitor_sessions_detail_and_terminate_confirmation() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        explorer = explorer_of(app)
        panel = explorer.show_panel("monitor")
        assert isinstance(panel, MonitorPanel)
        await wait_until_idle(pilot)
        text = assert_clean(app)
        assert "osc" in text and SHOWN[OSC][:20] in text, "other sessions' query text"
        await drive(pilot, ["k"])  # terminate the first session (its query is OSC)
        assert isinstance(app.screen, ConfirmScreen)
        text = assert_clean(app)
        assert f"(user osc {SHOWN[OSC]}" in text and f"SELECT '{SHOWN[OSC]}' -- osc" in text
        await drive(pilot, ["enter"])
        text = assert_clean(app)
        assert "was asked to stop" in text
        shown = [n.message for n in app._notifications]
        assert f"session 100 (osc {SHOWN[OSC]}) was asked to stop" in shown[-1]


async def test_help_over_hostile_data() -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        await open_table(app, pilot, VALUES)
        await drive(pilot, ["question_mark"])
        assert isinstance(app.screen, HelpScreen)
        assert "storescope · keys" in assert_clean(app)


# -- the real PostgreSQL ----------------------------------------------------------------

PG_DB = "hostile_names"
PG_TABLES = ("alpha", NEWLINE, "omega", OSC)


@pytest.fixture()
def hostile_pg(pg_server: sandbox.Server) -> Iterator[str]:
    """A database whose public schema holds ``PG_TABLES``, each table's one
    row naming it ("alpha 1", "newline 1"...), one value holding OSC."""
    execute(
        pg_server.url, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", f"CREATE DATABASE {PG_DB}"
    )
    db_url = pg_server.url.rsplit("/", 1)[0] + f"/{PG_DB}"
    statements = []
    for name in PG_TABLES:
        ident = '"' + name.replace('"', '""') + '"'
        literal = "'" + f"{TAGS[name]} 1" + "'"
        statements += [
            f"CREATE TABLE {ident} (id integer PRIMARY KEY, what text NOT NULL, v text)",
            f"INSERT INTO {ident} VALUES (1, {literal}, E'\\x1b]0;PWNED\\x07\\x1b[2Jesc')",
        ]
    execute(db_url, *statements)
    yield db_url
    execute(pg_server.url, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


async def test_postgres_table_named_with_a_line_break_opens_the_right_table(
    hostile_pg: str,
) -> None:
    async with run_app([hostile_pg], size=SIZE) as (app, pilot):
        tree = await _expanded(app, pilot, (PG_DB,), (PG_DB, "public"))
        tree.focus()
        tree.move_cursor(tree._by_path[(PG_DB, "public")])
        await wait_until_idle(pilot)
        explorer = explorer_of(app)
        children = [
            n.data.node.name
            for n in tree._by_path[(PG_DB, "public")].children
            if n.data and n.data.node
        ]
        assert sorted(children) == sorted(PG_TABLES)
        for name in children:
            await drive(pilot, ["down", "enter"])
            assert explorer.browse_path == (PG_DB, "public", name), repr(name)
            first = explorer.grid.row(0)
            assert first is not None and first[1] == f"{TAGS[name]} 1", repr(name)
            text = assert_clean(app)
            assert SHOWN[OSC] in text, "the value holding OSC, escaped"
            assert sanitize(name) in text
        # The record view of the row, and the SQL that selects the table
        # back from the editor (a Unicode-escaped identifier).
        explorer.open_path((PG_DB, "public", OSC))
        await wait_until_idle(pilot)
        explorer.focus_grid()
        await drive(pilot, ["enter"])
        assert isinstance(app.screen, RecordViewScreen)
        assert SHOWN[OSC] in assert_clean(app)
        await drive(pilot, ["escape"])
        panel = explorer.show_panel("query")
        assert isinstance(panel, QueryPanel)
        await wait_until_idle(pilot)
        await drive(pilot, ["ctrl+b", "f5"])
        text = assert_clean(app)
        assert "osc 1" in text and "SELECT 1" in text
