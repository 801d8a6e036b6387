"""DataPanel: the grid of the path opened in the catalog, paged lazily, and
the records of that path. It is composed, not inherited: ``staging`` (the
plain model of schemas, staged changes and selection, tui/widgets/staging.py),
``committer`` (plan, review, apply: tui/widgets/change_commit.py) and
``records`` (the record view, edits in place, inserts, deletes:
tui/widgets/record_editing.py). The panel keeps the keys, the workers'
messages and what may be done; its actions hand the work to them.

It owns the grid's page loads, on the explorer's interactive session: a page
request carries the path and the grid's token, so a request handled after
another table was opened (or the rows reloaded) is dropped, never run
against the wrong table.

**Records** (``Capability.RECORDS`` and ``PLAN``): when a table opens, its
``RecordSchema`` is read in a worker, so the keys and the reason a table
cannot be edited are known before the user presses anything. Opening another
table keeps the staged changes of the one left (a notification says so; no
question whose Enter would lose them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingsMap, BindingType
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from storescope.backends.base import Capability
from storescope.backends.types import RecordSchema
from storescope.tui.background import call_in_background
from storescope.tui.messages import PageFailed, PageLoaded, PageRequest, WorkFailed
from storescope.tui.sanitize import shown_path
from storescope.tui.widgets.grid.data_grid import DataGrid
from storescope.tui.widgets.panel import Panel
from storescope.tui.widgets.records.cell_editor import CellEditor
from storescope.tui.widgets.records.change_commit import WORKER_GROUPS, ChangeCommitter
from storescope.tui.widgets.records.record_editing import RecordEditing
from storescope.tui.widgets.records.staging import StagedChanges, Staging

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult
    from textual.widgets import Input

    from storescope.backends.types import RecordKey
    from storescope.tui.widgets.panel import PanelContext

__all__ = ["CellEditor", "DataPanel"]


class TableGrid(DataGrid):
    """The Data panel's grid. Where records can be edited, of its movement
    keys only the arrows stay in the footer (the rest are in ? help), so the
    record keys fit it at 80 columns; elsewhere the footer is the grid's."""

    COMPACT: ClassVar[list[BindingType]] = [
        b
        if b.action.startswith("cursor_")
        else Binding(b.key, b.action, b.description, show=False, key_display=b.key_display)
        for b in DataGrid.BINDINGS
        if isinstance(b, Binding)
    ]

    def compact_footer(self, compact: bool) -> None:
        """Show only the arrows in the footer (True) or every grid key."""
        self._bindings = BindingsMap(self.COMPACT if compact else DataGrid.BINDINGS)
        self.refresh_bindings()


#: The record keys that change records (RECORDS and PLAN, not read-only).
EDITING_ACTIONS = frozenset(
    {"edit_cell", "insert_row", "toggle_select", "delete_rows", "commit", "undo", "discard"}
)


class DataPanel(Panel):
    DEFAULT_CSS: ClassVar[str] = """
    DataPanel {
        & > #staging-strip {
            height: 1;
            width: 1fr;
            display: none;
            padding: 0 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
            background: $warning 30%;
            color: $foreground;
            &.-shown { display: block; }
            &.-failed { background: $error 40%; }
            &.-read-only { background: $panel; color: $text-muted; }
        }
        /* Over the cell it edits: absolute (from the panel's origin, which
           is the grid's) and an overlay, so it takes no row from the grid. */
        & > #cell-editor {
            position: absolute;
            overlay: screen;
            display: none;
            height: 1;
            border: none;
            padding: 0 1;
            background: $warning 50%;
            color: $foreground;
        }
    }
    """

    # Shown in the footer only where they work (check_action): a store
    # without records keeps the footer it had. The hidden bindings after
    # them catch the same keys where editing is refused, to say why.
    # The footer: the five that matter (short labels, for 80 columns); the
    # staged-changes strip shows undo and discard while there is something
    # to undo; select is in ? help.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "view_record", "Record", show=True),
        Binding("e", "edit_cell", "Edit", show=True),
        Binding("i,insert", "insert_row", "Insert", show=True),
        Binding("d,delete", "delete_rows", "Delete", show=True),
        Binding("ctrl+s", "commit", "Commit", show=True),
        Binding("space", "toggle_select", "Select row", show=False),
        Binding("ctrl+z", "undo", "Undo last change", show=False),
        Binding("ctrl+d", "discard", "Discard staged changes", show=False),
        # No description: left out of the help screen (they are the keys above).
        Binding("enter", "view_browsed_row", "", show=False),
        Binding("e,i,insert,space,d,delete", "explain_read_only", "", show=False),
    ]

    # -- messages of the panel's own workers ----------------------------------------

    @dataclass
    class SchemaLoaded(Message):
        path: tuple[str, ...]
        schema: RecordSchema | None
        error: str = ""

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.browse_path: tuple[str, ...] | None = None
        # Held, not queried: the explorer reaches the grid while the app
        # tears down too (a late message), when a query would find nothing.
        self.grid: DataGrid = TableGrid(id="grid")
        # The row counter in the status line repaints in the same frame as
        # the rows it counts (a WindowMoved message would land a frame late).
        self.grid.summary_sink = lambda summary: self.set_status(window=summary)
        self.strip = Static("", id="staging-strip", markup=False)
        self.editor = CellEditor(id="cell-editor")
        self.staging = Staging()
        self.committer = ChangeCommitter(
            self, self.staging, changed=self._marks_changed, committed=self._committed
        )
        self.records = RecordEditing(self, self.staging, self.committer)

    # -- the model, as the panel's tests and the explorer read it ----------------------

    @property
    def schemas(self) -> dict[tuple[str, ...], RecordSchema]:
        return self.staging.schemas

    @property
    def staged_by_path(self) -> dict[tuple[str, ...], StagedChanges]:
        return self.staging.by_path

    @property
    def selected(self) -> set[RecordKey]:
        return self.staging.selected

    @selected.setter
    def selected(self, keys: set[RecordKey]) -> None:
        self.staging.selected = keys

    @property
    def staged(self) -> StagedChanges | None:
        """The staged changes of the table shown (None when none were made)."""
        return self.staging.staged(self.browse_path)

    @property
    def schema(self) -> RecordSchema | None:
        return self.records.schema

    @property
    def is_editing(self) -> bool:
        return self.records.is_editing

    def finish_editing(self) -> None:
        """Stage the open cell editor's text (as Enter would) and close it."""
        self.records.finish_editing()

    def unsaved_work(self) -> str | None:
        return self.records.unsaved_work()

    def _staged_for_shown(self) -> StagedChanges:
        return self.records._staged_for_shown()

    def _marks_changed(self) -> None:
        """The staged changes or the selection changed: draw them."""
        self.records._marks_changed()

    def _committed(self, path: tuple[str, ...]) -> None:
        if path == self.browse_path:
            self.selected = set()
            self.grid.reload()

    def _on_resize(self, event: events.Resize) -> None:
        self.records._update_strip()

    def compose(self) -> ComposeResult:
        yield self.grid
        yield self.strip
        yield self.editor

    def focus_main(self) -> None:
        self.grid.focus()

    def path_changed(self, path: tuple[str, ...]) -> None:
        old = self.browse_path
        staged = self.staged_by_path.get(old) if old is not None else None
        self.finish_editing()
        if old is not None and old != path and staged:
            n = len(staged)
            self.app.notify(
                f"{n} change{'' if n == 1 else 's'} stay staged on {shown_path(old)}; "
                "they are there when you come back",
                markup=False,
            )
        self.open_path(path)

    def reconnected(self) -> None:
        # The rows again, the staged changes kept: ctrl+s commits them now.
        for staged in self.staged_by_path.values():
            if staged.failed_step is None:
                staged.failed(None, "")  # "connection lost" is over
        self._marks_changed()
        self.grid.reload()
        path = self.browse_path
        if path is not None and path not in self.schemas and self.records_offered:
            self._load_schema(path)

    def open_path(self, path: tuple[str, ...]) -> None:
        self.finish_editing()
        self.browse_path = path
        self.selected = set()
        self.set_status(location=shown_path(path))
        self.grid.open(path, page_size=self.context.session.page_size)
        if isinstance(self.grid, TableGrid):
            self.grid.compact_footer(self.records_offered)
        if self.records_offered:
            self._load_schema(path)
        self._marks_changed()

    # -- pages ----------------------------------------------------------------------

    def on_data_grid_page_requested(self, event: DataGrid.PageRequested) -> None:
        event.stop()
        request = event.request
        if request.path != self.browse_path or request.token != self.grid.token:
            return
        self._load_page(request.path, request)

    def on_data_grid_window_moved(self, event: DataGrid.WindowMoved) -> None:
        event.stop()
        self.set_status(window=event.summary)

    def _load_page(self, path: tuple[str, ...], request: PageRequest) -> None:
        call_in_background(
            self,
            lambda b: b.browse(path, cursor=request.cursor, limit=request.limit),
            done=lambda page: PageLoaded(request, page),
            failed=lambda e: PageFailed(e, request),
            group="page_loaders",
        )

    def on_page_loaded(self, event: PageLoaded) -> None:
        event.stop()
        self.grid.add_page(event.request, event.page)

    def on_page_failed(self, event: PageFailed) -> None:
        # Not stopped: the explorer tracks the connection, the App notifies.
        self.grid.page_failed(event.request, self.context.describe(event.error)[1])

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Backend errors are reported by the workers themselves; an ERROR
        # state is a bug, reported so the app keeps going.
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        if event.worker.group == "page_loaders":
            self.grid.page_failed(None, self.context.describe(event.worker.error)[1])
        if event.worker.group in WORKER_GROUPS:
            self.committer.crashed()
        self.post_message(WorkFailed(event.worker.error))

    # -- what may be done -------------------------------------------------------------

    @property
    def records_offered(self) -> bool:
        # Read live: this panel is built before the first connect.
        return Capability.RECORDS in self.context.capabilities

    def read_only_reason(self) -> str | None:
        """Why the records of the container shown cannot be edited, or None."""
        container = self.grid.words.container
        if self.browse_path is None:
            return f"no {container} is open"
        caps = self.context.capabilities
        if Capability.RECORDS not in caps or Capability.PLAN not in caps:
            return "records of this store cannot be edited here"
        if self.context.read_only:
            return "this connection is read-only"
        schema = self.schema
        if schema is None:
            error = self.staging.schema_errors.get(self.browse_path)
            return error or (
                f"the {container}'s fields are still being read; try again in a moment"
            )
        return schema.read_only_reason

    @classmethod
    def offered_keys(cls, capabilities: Capability, *, read_only: bool) -> list[Binding]:
        """The record keys a connection with ``capabilities`` offers, for a
        keys help of it (what ``check_action`` allows once a container is
        open and its fields are read): Enter shows a record on any store
        (the row as browsed where it has no RECORDS); the editing keys
        only with RECORDS and PLAN on a connection that is not read-only."""
        edits = (
            Capability.RECORDS in capabilities and Capability.PLAN in capabilities and not read_only
        )
        return [
            b
            for b in cls.BINDINGS
            if isinstance(b, Binding)
            and b.description
            and (edits or b.action not in EDITING_ACTIONS)
        ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit_cell", "insert_row", "toggle_select", "delete_rows"):
            return self.read_only_reason() is None
        if action == "view_record":
            return self.records_offered and self.browse_path is not None
        if action == "view_browsed_row":
            return not self.records_offered and self.browse_path is not None
        if action == "explain_read_only":
            return self.browse_path is not None
        if action == "commit":
            return bool(self.staged) or self.is_editing
        if action in ("undo", "discard"):
            return bool(self.staged)
        return True

    def action_explain_read_only(self) -> None:
        reason = self.read_only_reason()
        if reason is None:
            return
        label = (
            shown_path(self.browse_path)
            if self.browse_path
            else f"This {self.grid.words.container}"
        )
        self.app.notify(reason, title=f"{label} is read-only", severity="warning", markup=False)

    # -- the record schema --------------------------------------------------------------

    def _load_schema(self, path: tuple[str, ...]) -> None:
        # A failure is not reported: the page load of the same table reports
        # the same failure; the reason is kept for the editing keys to say.
        call_in_background(
            self,
            lambda b: b.record_schema(path),
            done=lambda schema: self.SchemaLoaded(path, schema),
            failed=lambda e: self.SchemaLoaded(path, None, self.context.describe(e)[1]),
            group="record_schemas",
        )

    def on_data_panel_schema_loaded(self, event: SchemaLoaded) -> None:
        event.stop()
        self.staging.schema_loaded(event.path, event.schema, event.error)
        self._marks_changed()
        self.refresh_bindings()

    # -- the actions: records ----------------------------------------------------------

    def action_view_record(self) -> None:
        self.records.view_record()

    def action_view_browsed_row(self) -> None:
        self.records.view_browsed_row()

    def action_edit_cell(self) -> None:
        self.records.edit_cell()

    def action_insert_row(self) -> None:
        self.records.insert_row()

    def action_toggle_select(self) -> None:
        self.records.toggle_select()

    def action_delete_rows(self) -> None:
        self.records.delete_rows()

    def action_undo(self) -> None:
        self.records.undo()

    def action_discard(self) -> None:
        self.records.discard()

    def on_record_editing_record_fetched(self, event: RecordEditing.RecordFetched) -> None:
        event.stop()
        self.records.record_fetched(event.record)

    def on_cell_editor_finished(self, event: CellEditor.Finished) -> None:
        event.stop()
        self.records._finish(event.value, cancelled=event.cancelled)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self.editor:
            return
        event.stop()
        self.records.submitted(event.value)

    # -- the actions: commit -------------------------------------------------------------

    def action_commit(self) -> None:
        # ctrl+s in the cell editor: what was typed is part of the commit.
        self.finish_editing()
        staged = self.staged
        if not staged:
            self.records._refuse("Nothing is staged")
            return
        self.committer.commit(staged)

    def on_change_committer_plan_ready(self, event: ChangeCommitter.PlanReady) -> None:
        event.stop()
        self.committer.plan_ready(event)

    def on_change_committer_changes_applied(self, event: ChangeCommitter.ChangesApplied) -> None:
        event.stop()
        self.committer.applied(event)

    def on_change_committer_changes_failed(self, event: ChangeCommitter.ChangesFailed) -> None:
        # Not stopped: the explorer tracks the connection (a lost one goes
        # "lost"), the App shows the error. Every staged change stays.
        self.committer.failed(event)
