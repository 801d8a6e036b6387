"""SVG snapshots of records in the TUI, deterministic: the grid on the fake
backend with staged changes set through the panel (the fake store is
read-only, so nothing could be committed anyway), and the screens fed neutral
objects (a ChangePlan, a Record, a RecordSchema) in a small host app.

Each test's docstring says what the picture must show. Update a snapshot
(``--snapshot-update``) only after looking at the new picture.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from storescope.backends.types import (
    ROW_WORDS,
    ChangePlan,
    Delete,
    FieldInfo,
    Insert,
    PlannedStep,
    Record,
    RecordSchema,
    Truncated,
    Update,
)
from storescope.screens.change_plan import ChangePlanScreen
from storescope.screens.record_editor import RecordEditorScreen
from storescope.screens.record_view import RecordViewScreen
from storescope.tui.app import StorescopeApp
from storescope.tui.messages import RecordViewRequested
from storescope.tui.snapshot import drive
from storescope.tui.widgets.records.data_panel import DataPanel

from .test_snapshots import BIG

SIZE = (100, 30)
BIG_PATH = ("shop", "public", "big")


class _Host(App[None]):
    """Shows one screen on the app's own stylesheet."""

    CSS_PATH = StorescopeApp.CSS_PATH

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self._first = screen

    def on_mount(self) -> None:
        self.push_screen(self._first)


ITEMS = ("shop", "public", "items")
ITEMS_SCHEMA = RecordSchema(
    path=ITEMS,
    fields=(
        FieldInfo("id", "integer", False, "nextval('items_id_seq'::regclass)", True),
        FieldInfo("name", "text", False),
        FieldInfo("note", "text"),
        FieldInfo("qty", "integer", False, "1"),
        FieldInfo("doc", "jsonb"),
        FieldInfo("blob", "bytea"),
        FieldInfo("created", "timestamp with time zone", True, "now()"),
        FieldInfo("total", "numeric", True, "generated always as ((qty * 2)) stored", False, False),
    ),
    key=("id",),
)


async def _stage_on_big(pilot: Pilot[Any]) -> None:
    await drive(pilot, [*BIG, "tab"])
    app = pilot.app
    assert isinstance(app, StorescopeApp)
    explorer = app.active_explorer
    assert explorer is not None
    panel = explorer.data_panel
    assert isinstance(panel, DataPanel)
    names = [c.name for c in panel.grid.columns]
    panel.schemas[BIG_PATH] = RecordSchema(
        path=BIG_PATH, fields=tuple(FieldInfo(n) for n in names), key=("id",)
    )
    stage = panel._staged_for_shown()
    stage.edit((("id", 2),), names[1], "renamed row")
    stage.edit((("id", 3),), names[2], None)
    stage.toggle_delete([(("id", 5),), (("id", 6),)])
    stage.insert((("id", "999"),))
    panel.selected = {(("id", 8),)}
    panel._marks_changed()
    await drive(pilot, ["down", "down", "right"])


class TestRecords:
    def test_grid_with_staged_edits_and_deletes(self, snap_compare: Any) -> None:
        """The `big` table with staged changes: the staged insert pinned
        above row 1 ("+" in the gutter, no row number, id 999 and DEFAULT in
        every other cell); row 2's second cell and row 3's third cell (NULL)
        on a warning background with "~" in the gutter, rows 5 and 6 struck
        through and dim with "✕", row 8 selected ("●", accent background),
        the cursor on row 3's second column; the strip above the status line
        says "5 staged · ^s commit · ^z undo · ^d discard" (the short
        wording, the long ones do not fit the panel); the footer shows
        "↑↓←→ Move" and ^s Commit but no page/top/end keys (the fake store
        offers no record keys, so ⏎/e/i/d are not there)."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=SIZE, run_before=_stage_on_big)

    def test_change_plan_screen(self, snap_compare: Any) -> None:
        """The plan review: the title, "4 changes · 4 rows in all · atomic:
        all or nothing, in one transaction", each numbered step with its
        exact statement (wrapped lines indented under it) and "→ 1 row", the
        warning note under step 4, and the Commit / Cancel buttons."""
        plan = ChangePlan(
            steps=(
                PlannedStep(
                    Update(ITEMS, (("id", 1),), (("name", "omega"),)),
                    """UPDATE "public"."items" SET "name" = 'omega'::text WHERE "id" = 1""",
                    1,
                ),
                PlannedStep(
                    Insert(ITEMS, (("name", "new"),)),
                    """INSERT INTO "public"."items" ("name", "note") VALUES ('new'::text, """
                    """NULL)""",
                    1,
                ),
                PlannedStep(
                    Delete(ITEMS, (("id", 3),)),
                    """DELETE FROM "public"."items" WHERE "id" = 3""",
                    1,
                ),
                PlannedStep(
                    Update(ITEMS, (("id", 4),), (("qty", "7"),)),
                    """UPDATE "public"."items" SET "qty" = '7'::integer, "note" = 'a long """
                    """note that wraps onto the next line of the box' WHERE "id" = 4""",
                    1,
                    "no row has this key now: an earlier change of this plan must create it",
                ),
            ),
        )
        screen = ChangePlanScreen(
            plan, title="Commit 4 changes to shop/public/items?", words=ROW_WORDS
        )
        assert snap_compare(_Host(screen), terminal_size=SIZE)

    def test_record_view(self, snap_compare: Any) -> None:
        """The record view: each field's name in bold with its type and flags
        (key, not null, default); NULL dim italic vs '""  (empty string)';
        a truncated value's preview in a box, noted with its true size
        ("preview: first 180 of 2,097,152 chars"); the bytea as a hex dump
        line (offset, hex, |ascii|) with its size; the jsonb value
        pretty-printed over several lines; a staged value under name; the
        hint line at the bottom; the key "id=1" in the border; the screen's
        own footer: Esc Close, e Edit field."""
        record = Record(
            path=ITEMS,
            key=(("id", 1),),
            fields=(
                ("id", 1),
                ("name", "alpha"),
                ("note", None),
                ("qty", ""),
                ("total", Truncated("lorem ipsum " * 15, 2_097_152, "chars")),
                ("blob", b"\xde\xad\xbe\xef\x00ABC"),
                ("doc", {"a": 1, "tags": ["x", "y"]}),
                ("created", datetime(2026, 1, 2, 3, 4, 5)),
            ),
        )
        request = RecordViewRequested(
            record=record,
            schema=ITEMS_SCHEMA,
            staged={"name": "omega"},
            stage=lambda name, value: None,
            title="shop/public/items",
        )
        assert snap_compare(_Host(RecordViewScreen(request)), terminal_size=SIZE)

    def test_insert_form(self, snap_compare: Any) -> None:
        """The insert form: one line per field with its type ("not null",
        "key"), the input's placeholder saying what empty means (DEFAULT
        nextval(...), DEFAULT (NULL), required, DEFAULT now()), the generated
        column disabled, name filled in, note set to NULL explicitly; the
        hint above the fields starting "^s stage insert · Esc cancel", and
        the form's own footer (Esc Cancel, ^s Stage insert, ^n NULL)."""

        async def fill(pilot: Pilot[Any]) -> None:
            await drive(pilot, ["tab"])
            await pilot.press(*"epsilon")
            await drive(pilot, ["tab", "ctrl+n"])

        screen = RecordEditorScreen(ITEMS_SCHEMA, title="Insert a row into shop/public/items")
        assert snap_compare(_Host(screen), terminal_size=SIZE, run_before=fill)
