"""Pilot tests of records in the TUI on the real sandbox PostgreSQL: the
record view, edits in place, inserts and deletes staged and committed through
a change plan, and what stays staged when a commit fails or the connection
goes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from textual.pilot import Pilot

from storescope.backends import sandbox
from storescope.backends.types import (
    DOCUMENT_WORDS,
    ROW_WORDS,
    UNSET,
    Atomicity,
    ChangePlan,
    Command,
    Delete,
    FieldInfo,
    Identity,
    Insert,
    PlannedStep,
    RecordSchema,
    Replace,
    Update,
    ValueCodec,
)
from storescope.screens.change_plan import ChangePlanScreen
from storescope.screens.dialogs import ConfirmScreen
from storescope.screens.record_editor import RecordEditorScreen
from storescope.screens.record_view import RecordViewScreen
from storescope.tui.app import StorescopeApp
from storescope.tui.widgets.records.data_panel import DataPanel
from storescope.tui.widgets.records.staging import StagedChanges
from tests.pg_helpers import execute as _execute

from .conftest import drive, explorer_of, open_table, run_app, screen_text, wait_until_idle

DB = "tuirecords"
ITEMS = (DB, "public", "items")
ORDER_ITEMS = (DB, "public", "Order Items")
AUDIT = (DB, "public", "audit")
SPANS = (DB, "public", "spans")


def _db_url(server_url: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{DB}"


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())
    finally:
        conn.close()


SEED = (
    'DROP TABLE IF EXISTS items, "Order Items", audit, spans',
    "CREATE TABLE spans (id int PRIMARY KEY, tags int[], span interval)",
    "INSERT INTO spans VALUES (1, '{1,NULL,3}', '1 day 02:00:00')",
    """CREATE TABLE items (
        id serial PRIMARY KEY,
        name text NOT NULL,
        note text,
        qty integer NOT NULL DEFAULT 1 CHECK (qty >= 0),
        doc jsonb,
        blob bytea
    )""",
    """INSERT INTO items (name, note, qty, doc, blob) VALUES
        ('alpha', NULL, 1, '{"a": 1, "b": [1, 2]}', '\\xdeadbeef00414243'),
        ('beta', '', 2, NULL, NULL),
        ('gamma', 'third', 3, '[]', ''),
        ('delta', 'fourth', 4, NULL, NULL)""",
    """CREATE TABLE "Order Items" (
        order_id integer,
        line integer,
        "select" text,
        "MixedCase" integer,
        PRIMARY KEY (order_id, line)
    )""",
    """INSERT INTO "Order Items" VALUES (1, 1, 'one', 10), (1, 2, 'two', 20), (2, 1, 'three', 30)""",
    "CREATE TABLE audit (at integer, msg text)",
    "INSERT INTO audit VALUES (1, 'logged in'), (2, 'logged out')",
)


@pytest.fixture(scope="module")
def records_server(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of this module's own; the server's URL is returned."""
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    yield pg_server.url
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


@pytest.fixture()
def server(records_server: str) -> str:
    """The tables seeded afresh for each test."""
    _execute(_db_url(records_server), *SEED)
    return records_server


def _panel(app: StorescopeApp) -> DataPanel:
    return explorer_of(app).data_panel


async def _open(app: StorescopeApp, pilot: Pilot[None], path: tuple[str, ...]) -> DataPanel:
    await open_table(app, pilot, path)
    panel = _panel(app)
    assert panel.schema is not None, "the record schema is read when the table opens"
    return panel


def _flat(text: str) -> str:
    """The screen's text as one line, without box borders: a wrapped
    statement reads as it was written."""
    parts = [line.strip().strip("│▕").strip() for line in text.splitlines()]
    return " ".join(" ".join(parts).split())


async def _edit(pilot: Pilot[None], text: str) -> None:
    """e on the cursor cell, replace its text with ``text``, Enter."""
    await drive(pilot, ["e", "ctrl+u"])
    await pilot.press(*text)
    await drive(pilot, ["enter"])


async def test_the_record_view_shows_null_empty_json_and_bytes_faithfully(server: str) -> None:
    async with run_app([server], size=(100, 40)) as (app, pilot):
        await _open(app, pilot, ITEMS)
        await drive(pilot, ["enter"])
        assert isinstance(app.screen, RecordViewScreen)
        text = screen_text(app)
        assert "id  integer" in text and "key" in text
        assert "note  text" in text
        assert "NULL" in text
        assert '"a": 1,' in text and '"b": [' in text, "json is pretty-printed"
        assert "00000000  de ad be ef 00 41 42 43" in text and "|.....ABC|" in text
        await drive(pilot, ["escape"])
        assert not isinstance(app.screen, RecordViewScreen)

        await drive(pilot, ["down", "enter"])  # beta: note is '' (not NULL)
        text = screen_text(app)
        assert '""  (empty string)' in text


async def test_e_in_the_record_view_stages_an_edit_of_the_focused_field(server: str) -> None:
    async with run_app([server], size=(100, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["enter", "tab"])  # the name field
        await _edit(pilot, "bet2")
        assert isinstance(app.screen, RecordViewScreen)
        assert "staged: bet2" in screen_text(app)
        await drive(pilot, ["escape"])
        assert panel.staged is not None
        assert panel.staged.changes()[0] == Update(ITEMS, (("id", 1),), (("name", "bet2"),))
        text = screen_text(app)
        assert "bet2" in text and "1 change staged (1 edit)" in text


async def test_a_store_without_records_says_why_nothing_can_be_edited() -> None:
    async with run_app(["fake://demo"], size=(100, 30)) as (app, pilot):
        await open_table(app, pilot, ("shop", "public", "big"))
        await drive(pilot, ["e"])
        assert "records of this store cannot be edited here" in screen_text(app)
        await drive(pilot, ["enter"])  # the row as browsed
        assert isinstance(app.screen, RecordViewScreen)
        assert "Ada Lovelace" in screen_text(app)


async def test_an_edited_cell_is_staged_reviewed_and_committed(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right"])  # the name column
        await _edit(pilot, "omega")
        text = screen_text(app)
        assert "omega" in text, "the staged value is shown in the grid"
        assert "1 change staged (1 edit)" in text and "^s review & commit" in text
        assert _rows(db_url, "SELECT name FROM items WHERE id = 1") == [("alpha",)]

        await drive(pilot, ["pagedown", "pageup"])  # paging keeps it
        assert "omega" in screen_text(app)

        await drive(pilot, ["ctrl+s"])
        assert isinstance(app.screen, ChangePlanScreen)
        text = screen_text(app)
        assert """UPDATE "public"."items" SET "name" = 'omega'::text WHERE "id" = 1""" in text
        assert "→ 1 row" in text and "1 change · 1 row in all" in text
        assert "atomic: all or nothing, in one transaction" in text
        await drive(pilot, ["enter"])
        assert _rows(db_url, "SELECT name FROM items WHERE id = 1") == [("omega",)]
        text = screen_text(app)
        assert "Committed 1 change (1 row)" in text
        assert not panel.staged
        assert "change staged" not in text
        await drive(pilot, ["e"])
        assert panel.editor.value == "omega", "the editor starts from the committed value"


async def test_the_cell_editor_starts_from_text_the_column_type_parses_back(server: str) -> None:
    """An int[] cell edits as an array literal and an interval as PostgreSQL
    writes one (the backend's value codec), so Enter on unchanged text
    stages a value that commits as it was."""
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, SPANS)
        await drive(pilot, ["right", "e"])
        assert panel.editor.value == "{1,NULL,3}"
        await drive(pilot, ["end", "backspace", "backspace", "4", "}", "enter", "right", "e"])
        assert panel.editor.value == "1 days 02:00:00"
        await drive(pilot, ["enter", "ctrl+s", "enter"])
        assert _rows(db_url, "SELECT tags, span::text FROM spans") == [
            ([1, None, 4], "1 day 02:00:00")
        ]


async def test_null_is_staged_with_ctrl_n(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        await _open(app, pilot, ITEMS)
        await drive(pilot, ["down", "right", "right", "e", "ctrl+n"])  # beta's note ''
        await drive(pilot, ["ctrl+s", "enter"])
        assert _rows(db_url, "SELECT note FROM items WHERE id = 2") == [(None,)]


async def test_discard_leaves_the_table_untouched(server: str) -> None:
    db_url = _db_url(server)
    before = _rows(db_url, "SELECT * FROM items ORDER BY id")
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right"])
        await _edit(pilot, "changed")
        await drive(pilot, ["down", "d"])
        assert panel.staged is not None and len(panel.staged) == 2
        await drive(pilot, ["ctrl+z"])
        assert len(panel.staged) == 1, "ctrl+z undoes the last change"
        await drive(pilot, ["ctrl+d"])
        assert "Discard" in screen_text(app)
        await drive(pilot, ["enter"])
        assert not panel.staged
        assert "changed" not in screen_text(app)
    assert _rows(db_url, "SELECT * FROM items ORDER BY id") == before


async def test_an_insert_takes_the_defaults_left_empty(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["i"])
        assert isinstance(app.screen, RecordEditorScreen)
        text = screen_text(app)
        assert "DEFAULT nextval('items_id_seq'::regclass)" in text
        assert "DEFAULT 1" in text and "required" in text
        await drive(pilot, ["tab"])  # id keeps its default: to name
        await pilot.press(*"epsilon")
        await drive(pilot, ["tab", "ctrl+n", "ctrl+s"])  # note NULL explicitly
        assert not isinstance(app.screen, RecordEditorScreen)
        assert "1 change staged (1 insert)" in screen_text(app)
        await drive(pilot, ["ctrl+s"])
        text = screen_text(app)
        assert (
            """INSERT INTO "public"."items" ("name", "note") VALUES ('epsilon'::text, NULL)"""
            in text
        )
        await drive(pilot, ["enter"])
        assert not panel.staged
    assert _rows(db_url, "SELECT id, name, note, qty FROM items WHERE name = 'epsilon'") == [
        (5, "epsilon", None, 1)
    ]


async def test_two_selected_rows_are_deleted(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["space", "down", "space"])  # alpha and gamma
        assert len(panel.selected) == 2
        await drive(pilot, ["d"])
        assert "2 changes staged (2 deletes)" in screen_text(app)
        await drive(pilot, ["ctrl+s"])
        text = screen_text(app)
        assert 'DELETE FROM "public"."items" WHERE "id" = 1' in text
        assert 'DELETE FROM "public"."items" WHERE "id" = 3' in text
        assert "2 rows in all" in text
        await drive(pilot, ["enter"])
        assert "Committed 2 changes (2 rows)" in screen_text(app)
    assert _rows(db_url, "SELECT id FROM items ORDER BY id") == [(2,), (4,)]


async def test_a_violated_constraint_keeps_every_staged_change_and_says_which(
    server: str,
) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right"])
        await _edit(pilot, "fine")
        await drive(pilot, ["down", "right", "right"])  # beta's qty
        await _edit(pilot, "-5")
        await drive(pilot, ["ctrl+s", "enter"])
        staged = panel.staged
        assert staged is not None and len(staged) == 2, "nothing staged is lost"
        assert staged.failed_step == 1
        text = screen_text(app)
        assert "change 2 of 2 failed" in text
        assert "items_qty_check" in text
        # The failed row is marked in the grid, with the failing value shown.
        marks = panel.records._row_marks(1)
        assert marks is not None and marks.failed
    assert _rows(db_url, "SELECT name, qty FROM items WHERE id IN (1, 2) ORDER BY id") == [
        ("alpha", 1),
        ("beta", 2),
    ]


async def test_a_row_of_a_composite_key_table_is_edited(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        await _open(app, pilot, ORDER_ITEMS)
        await drive(pilot, ["down", "right", "right"])  # (1, 2)."select"
        await _edit(pilot, "TWO")
        await drive(pilot, ["right"])
        await _edit(pilot, "22")
        await drive(pilot, ["ctrl+s"])
        text = screen_text(app)
        assert (
            """UPDATE "public"."Order Items" SET "select" = 'TWO'::text, "MixedCase" = """
            """'22'::integer WHERE "order_id" = 1 AND "line" = 2"""
        ) in _flat(text)
        await drive(pilot, ["enter"])
    assert _rows(db_url, 'SELECT "select", "MixedCase" FROM "Order Items" ORDER BY 1') == [
        ("TWO", 22),
        ("one", 10),
        ("three", 30),
    ]


async def test_a_table_without_a_key_is_read_only_and_says_why(server: str) -> None:
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, AUDIT)
        text = screen_text(app)
        assert "read-only: public.audit has no primary key" in text
        await drive(pilot, ["e"])
        assert "cannot be addressed one by one" in screen_text(app)
        assert panel.staged is None
        await drive(pilot, ["enter"])  # the row as browsed, read-only
        assert isinstance(app.screen, RecordViewScreen)
        assert "logged in" in screen_text(app)


async def test_staged_changes_survive_a_lost_connection_and_commit_after_reconnect(
    server: str,
) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        explorer = explorer_of(app)
        await drive(pilot, ["right"])
        await _edit(pilot, "zeta")
        _execute(
            server,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{DB}' AND application_name = 'storescope'",
        )
        await drive(pilot, ["ctrl+s"])
        assert explorer.state == "lost"
        assert panel.staged is not None and len(panel.staged) == 1
        await drive(pilot, ["ctrl+r"])
        await wait_until_idle(pilot)
        assert explorer.state == "connected"
        app.clear_notifications()  # the toasts cover the strip
        await pilot.pause()
        text = screen_text(app)
        assert "zeta" in text, "the staged edit is still drawn"
        assert "1 change staged (1 edit)" in text
        await drive(pilot, ["ctrl+s"])
        assert isinstance(app.screen, ChangePlanScreen)
        await drive(pilot, ["enter"])
        assert not panel.staged
    assert _rows(db_url, "SELECT name FROM items WHERE id = 1") == [("zeta",)]


async def test_opening_another_table_keeps_the_staged_changes_without_asking(
    server: str,
) -> None:
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right"])
        await _edit(pilot, "kept")
        await open_table(app, pilot, ORDER_ITEMS)
        assert not isinstance(app.screen, ConfirmScreen), "no question whose Enter loses them"
        assert "1 change stay staged on tuirecords/public/items" in _flat(screen_text(app))
        assert panel.unsaved_work() == "1 staged change on tuirecords/public/items"
        await drive(pilot, ["d"])  # a delete on "Order Items" too
        assert panel.unsaved_work() == (
            "2 staged changes on tuirecords/public/items, tuirecords/public/Order Items"
        )
        await open_table(app, pilot, ITEMS)
        assert panel.staged is not None and len(panel.staged) == 1
        assert "kept" in screen_text(app)


async def test_switching_panel_while_editing_a_cell_stages_the_text_and_moves_the_focus(
    server: str,
) -> None:
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        explorer = explorer_of(app)
        await drive(pilot, ["right", "e", "ctrl+u"])
        await pilot.press(*"typed")
        await drive(pilot, ["f3"])
        assert explorer.active_panel == "query"
        focused = app.focused
        assert focused is not None and focused is not panel.grid and focused is not panel.editor
        assert panel not in focused.ancestors_with_self
        assert "e Edit" not in screen_text(app).splitlines()[-1], "the footer is the query's"
        assert panel.staged is not None
        assert panel.staged.changes() == (Update(ITEMS, (("id", 1),), (("name", "typed"),)),)
        await drive(pilot, ["f2"])
        assert app.focused is panel.grid
        assert "typed" in screen_text(app)


async def test_ctrl_s_in_the_cell_editor_commits_the_text_being_typed(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right", "e", "ctrl+u"])
        await pilot.press(*"only")  # nothing else staged
        await drive(pilot, ["ctrl+s"])
        assert isinstance(app.screen, ChangePlanScreen)
        await drive(pilot, ["escape"])
        assert panel.staged is not None and len(panel.staged) == 1
        await drive(pilot, ["down", "e", "ctrl+u"])
        await pilot.press(*"second")
        await drive(pilot, ["ctrl+s"])
        text = _flat(screen_text(app))
        assert 'SET "name" = \'only\'::text WHERE "id" = 1' in text
        assert 'SET "name" = \'second\'::text WHERE "id" = 2' in text
        await drive(pilot, ["enter"])
    assert _rows(db_url, "SELECT name FROM items WHERE id < 3 ORDER BY id") == [
        ("only",),
        ("second",),
    ]


async def test_a_failed_insert_is_a_row_at_the_top_to_fix_or_remove(server: str) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        grid = panel.grid
        await drive(pilot, ["i"])
        await pilot.press(*"1")  # a duplicate id
        await drive(pilot, ["tab"])
        await pilot.press(*"dup")
        await drive(pilot, ["ctrl+s"])
        await drive(pilot, ["i", "tab"])
        await pilot.press(*"extra")
        await drive(pilot, ["ctrl+s"])
        assert grid.pinned_rows == 2 and grid.cursor_row == 0
        lines = screen_text(app).splitlines()
        top = next(i for i, line in enumerate(lines) if "id*" in line)
        assert "+" in lines[top + 1] and "dup" in lines[top + 1], "inserts head the grid"
        assert "extra" in lines[top + 2] and "DEFAULT" in lines[top + 2]
        assert "alpha" in lines[top + 3], "then the table's rows"

        await drive(pilot, ["ctrl+s", "enter"])  # duplicate key
        staged = panel.staged
        assert staged is not None and len(staged) == 2 and staged.failed_step == 0
        marks = panel.records._row_marks(0)
        assert marks is not None and marks.failed and marks.inserted
        await drive(pilot, ["down", "d"])  # the second insert: un-staged
        assert len(staged) == 1 and grid.pinned_rows == 1
        await drive(pilot, ["up"])
        assert grid.cursor_row == 0 and grid.cursor_col == 0
        await _edit(pilot, "10")  # the id fixed in place
        await drive(pilot, ["enter"])  # the whole insert in the record view
        assert isinstance(app.screen, RecordViewScreen)
        text = screen_text(app)
        assert "staged insert" in text and "dup" in text and "DEFAULT" in text
        await drive(pilot, ["escape", "ctrl+s", "enter"])
        assert not panel.staged and grid.pinned_rows == 0
    assert _rows(db_url, "SELECT id, name FROM items WHERE name = 'dup'") == [(10, "dup")]


async def test_at_80x24_the_record_keys_and_how_to_submit_show(server: str) -> None:
    async with run_app([server], size=(80, 24)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        footer = screen_text(app).splitlines()[-1]
        for key in ("⏎ Record", "e Edit", "i Insert", "d Delete"):
            assert key in footer, footer
        await drive(pilot, ["right"])
        await _edit(pilot, "x")
        await drive(pilot, ["down", "d"])
        lines = screen_text(app).splitlines()
        assert "^s Commit" in lines[-1]
        strip = next(line for line in lines if "staged" in line)
        assert "^z undo" in strip and "^d discard" in strip, strip

        await drive(pilot, ["i"])
        assert isinstance(app.screen, RecordEditorScreen)
        text = screen_text(app)
        assert "^s stage insert" in text and "Esc cancel" in text
        assert "^s Stage insert" in text.splitlines()[-1], "the form's own footer"
        for _ in range(5):  # down to the last field
            await drive(pilot, ["tab"])
        focused = app.focused
        assert focused is not None and focused.region.height == 1
        assert app.screen.query_one("#form-fields").region.contains_region(focused.region)
        await drive(pilot, ["escape"])
        await drive(pilot, ["enter"])  # the record view's own footer
        assert isinstance(app.screen, RecordViewScreen)
        assert "e Edit field" in screen_text(app).splitlines()[-1]
        assert panel.staged is not None


# -- store-neutral: the staging model, the plan's atomicity, the codec's words ------------------

T = ("db", "t")


def test_edits_at_paths_merge_per_record_and_a_replace_takes_their_place() -> None:
    staged = StagedChanges(T)
    a, b = (("id", 1),), (("id", 2),)
    staged.edit(a, ("doc", "address", "city"), "Paris")
    staged.edit(a, ("name",), "x")  # a path of one name is that field
    staged.edit(a, ("doc", "old"), UNSET)
    staged.edit(a, ("doc", "address", "city"), "Rome")
    assert staged.changes() == (
        Update(
            T, a, ((("doc", "address", "city"), "Rome"), ("name", "x"), (("doc", "old"), UNSET))
        ),
    )
    assert staged.staged_value(a, "name") == "x"
    staged.edit(b, "n", 1)
    assert staged.replace(a, (("name", "whole"),)) is None
    assert staged.changes()[0] == Replace(T, a, (("name", "whole"),))
    staged.edit(a, "name", "again")  # an edit after a replace changes the document
    assert staged.changes()[0] == Replace(T, a, (("name", "again"),))
    assert staged.summary() == "2 changes staged (2 edits)"
    staged.command(Command(T, "EXPIRE k 60", 1))
    assert staged.summary() == "3 changes staged (2 edits, 1 command)"
    staged.toggle_delete([a])
    assert staged.changes() == (
        Update(T, b, (("n", 1),)),
        Command(T, "EXPIRE k 60", 1),
        Delete(T, a),
    )
    assert staged.undo() and isinstance(staged.entry_for(a), Replace)


def test_a_staged_change_keeps_its_record_when_another_records_key_is_edited() -> None:
    """Keys name records: editing row 1's key to 2 does not make row 2's
    staged change address row 1, nor merge the two."""
    staged = StagedChanges(T)
    one, two = (("id", 1),), (("id", 2),)
    staged.edit(two, "name", "second")
    staged.edit(one, "id", 2)
    staged.edit(two, "name", "still second")
    assert staged.changes() == (
        Update(T, two, (("name", "still second"),)),
        Update(T, one, (("id", 2),)),
    )
    assert staged.staged_value(one, "name") is not staged.staged_value(two, "name")


def test_where_keys_are_positions_the_plan_edits_first_then_deletes_from_the_end() -> None:
    """A Redis list: deleting index 1 would move index 3 to 2; the plan
    edits at the positions browsed, then deletes the highest position first."""
    staged = StagedChanges(T, identity=Identity.POSITION)
    staged.toggle_delete([(("index", 1),)])
    staged.edit((("index", 3),), "value", "x")
    staged.insert((("value", "tail"),))
    staged.toggle_delete([(("index", 4),)])
    assert staged.changes() == (
        Update(T, (("index", 3),), (("value", "x"),)),
        Delete(T, (("index", 4),)),
        Delete(T, (("index", 1),)),
        Insert(T, (("value", "tail"),)),
    )
    assert [type(c) for c in staged.entries] == [Delete, Update, Insert, Delete]


@pytest.mark.parametrize(
    ("atomicity", "words"),
    [
        (Atomicity.ONE_TRANSACTION, "atomic: all or nothing, in one transaction"),
        (Atomicity.ALL_APPLIED_NO_ROLLBACK, "applied together, but NOT rolled back"),
        (Atomicity.STEP_BY_STEP, "NOT atomic: steps that ran stay applied if a later one fails"),
    ],
)
async def test_the_plan_review_says_in_words_what_the_store_does_if_a_step_fails(
    atomicity: Atomicity, words: str
) -> None:
    plan = ChangePlan((PlannedStep(Command(T, "EXPIRE k 60"), "EXPIRE k 60", 1),), atomicity)
    async with run_app(["fake://demo"], size=(120, 30)) as (app, pilot):
        await app.push_screen(ChangePlanScreen(plan, words=ROW_WORDS))
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert f"1 change · 1 row in all · {words}" in text
        assert "EXPIRE k 60  → 1 row" in text


async def test_the_insert_form_and_record_view_speak_the_stores_words() -> None:
    """A store whose no-value is "null" and that has no defaults: no NULL or
    DEFAULT anywhere, an empty field is left out."""
    codec = ValueCodec(null_word="null", unset_word="unset", default_word="")
    schema = RecordSchema(
        T, (FieldInfo("_id", "int", False, primary_key=True), FieldInfo("note", "string")),
        key=("_id",), codec=codec,
    )  # fmt: skip
    async with run_app(["fake://demo"], size=(100, 30)) as (app, pilot):
        await app.push_screen(RecordEditorScreen(schema))
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "empty = left out · ^n null" in text and "^n null" in text.splitlines()[-1]
        assert "NULL" not in text and "DEFAULT" not in text
        assert "left out" in text  # the nullable field's placeholder
        # A field that must hold a value is "required", not PostgreSQL's
        # "not null"; an _id the store assigns says so in the form.
        assert "_id int required" in text and "not null" not in text
        assert "Insert a record" in text  # no title given: the neutral noun


async def test_a_document_stores_insert_form_flags_its_id_as_set_by_the_store() -> None:
    """memdocs' schema: _id is not editable and has no default text: the
    form says the store sets it (PostgreSQL's form says "generated")."""
    codec = ValueCodec(null_word="null", unset_word="unset", default_word="")
    schema = RecordSchema(
        T, (FieldInfo("_id", "int", False, primary_key=True, editable=False),
            FieldInfo("note", "string")),
        key=("_id",), codec=codec,
    )  # fmt: skip
    async with run_app(["fake://demo"], size=(100, 30)) as (app, pilot):
        await app.push_screen(RecordEditorScreen(schema, title="Insert a document"))
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "set by the store" in text and "generated" not in text
    pg = RecordSchema(T, (FieldInfo("id", "integer", False, primary_key=True, editable=False),))
    async with run_app(["fake://demo"], size=(100, 30)) as (app, pilot):
        await app.push_screen(RecordEditorScreen(pg))
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "id integer not null key" in text and "generated" in text


async def test_the_plan_review_counts_in_the_stores_noun() -> None:
    """Documents for a document store, rows for PostgreSQL, and "unknown"
    in the same noun when the store could not count."""
    plan = ChangePlan(
        (
            PlannedStep(Command(T, "update orders"), "update orders", 3),
            PlannedStep(Command(T, "delete orders"), "delete orders", 1),
        ),
        Atomicity.STEP_BY_STEP,
    )
    async with run_app(["fake://demo"], size=(120, 30)) as (app, pilot):
        await app.push_screen(ChangePlanScreen(plan, words=DOCUMENT_WORDS))
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "2 changes · 4 documents in all · NOT atomic" in text
        assert "update orders  → 3 documents" in text
        assert "delete orders  → 1 document" in text
        assert "row" not in text
    unknown = ChangePlan((PlannedStep(Command(T, "rebuild"), "rebuild", None),))
    async with run_app(["fake://demo"], size=(120, 30)) as (app, pilot):
        await app.push_screen(ChangePlanScreen(unknown, words=DOCUMENT_WORDS))
        await wait_until_idle(pilot)
        assert "1 change · documents unknown" in screen_text(app)
        app.pop_screen()
        await app.push_screen(ChangePlanScreen(unknown, words=ROW_WORDS))
        await wait_until_idle(pilot)
        assert "1 change · rows unknown" in screen_text(app)


async def test_text_the_column_type_does_not_parse_stays_in_the_editor_with_the_stores_reason(
    server: str,
) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["right", "right", "right"])  # qty, an integer
        await _edit(pilot, "1X")
        text = _flat(screen_text(app))
        assert 'invalid input syntax for type integer: "1X"' in text, "said at once"
        assert not panel.staged, "nothing staged"
        assert panel.is_editing and app.focused is panel.editor
        assert panel.editor.value == "1X", "the typed text is kept for fixing"
        await drive(pilot, ["backspace"])
        await pilot.press("2")
        await drive(pilot, ["enter"])
        assert not panel.is_editing
        assert panel.staged is not None
        assert panel.staged.changes() == (Update(ITEMS, (("id", 1),), (("qty", "12"),)),)
        # Leaving the editor with text the type refuses says so, with the text.
        await drive(pilot, ["down", "e", "ctrl+u"])
        await pilot.press(*"many")
        await drive(pilot, ["f3"])
        text = _flat(screen_text(app))
        assert "Not staged" in text and "'many'" in text
        assert panel.staged.changes() == (Update(ITEMS, (("id", 1),), (("qty", "12"),)),)
        await drive(pilot, ["f2", "ctrl+s", "enter"])
    assert _rows(db_url, "SELECT id, qty FROM items WHERE id < 3 ORDER BY id") == [(1, 12), (2, 2)]


async def test_an_insert_with_a_value_the_type_refuses_is_marked_at_once_to_fix(
    server: str,
) -> None:
    db_url = _db_url(server)
    async with run_app([server], size=(120, 40)) as (app, pilot):
        panel = await _open(app, pilot, ITEMS)
        await drive(pilot, ["i", "tab"])
        await pilot.press(*"zeta")
        await drive(pilot, ["tab", "tab"])  # qty
        await pilot.press(*"1X")
        await drive(pilot, ["ctrl+s"])
        staged = panel.staged
        assert staged is not None and staged.failed_step == 0, "marked before any commit"
        text = _flat(screen_text(app))
        assert 'qty: invalid input syntax for type integer: "1X"' in text
        marks = panel.records._row_marks(0)
        assert marks is not None and marks.failed and marks.inserted
        await drive(pilot, ["right", "right", "right"])  # the insert's qty
        await _edit(pilot, "3")
        assert staged.failed_step is None
        await drive(pilot, ["ctrl+s", "enter"])
        assert not panel.staged
    assert _rows(db_url, "SELECT qty FROM items WHERE name = 'zeta'") == [(3,)]
