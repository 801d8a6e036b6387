"""DataPanel: the grid of the path opened in the catalog, paged lazily, and
the records of that path: the record view, edits in place, inserts, deletes,
all staged and committed through a change plan.

It owns the grid's page loads, on the explorer's interactive session: a page
request carries the path and the grid's token, so a request handled after
another table was opened (or the rows reloaded) is dropped, never run
against the wrong table.

**Records** (``Capability.RECORDS`` and ``PLAN``): when a table opens, its
``RecordSchema`` is read in a worker, so the keys and the reason a table
cannot be edited are known before the user presses anything. Changes are
staged per table in ``StagedChanges`` (tui/widgets/staging.py), held here and
not in the grid's page cache, so paging never loses one and opening another
table keeps them (after asking whether to discard them instead). The grid
draws them through its ``row_marks`` hook. ctrl+s plans them (a worker),
asks the explorer for the plan review, then applies them (a worker): on
success the staged changes go and the rows are fetched again; on a failure
every staged change stays and the one that failed is highlighted; a lost
connection keeps them for after ctrl+r.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState, get_current_worker

from backends.base import Capability
from backends.errors import BackendError
from backends.paths import display_path
from backends.types import AppliedPlan, Change, Record, RecordSchema, Update
from tui.messages import (
    ConfirmRequested,
    PageFailed,
    PageLoaded,
    PageRequest,
    PlanReviewRequested,
    RecordFormRequested,
    RecordViewRequested,
    WorkFailed,
)
from tui.widgets.cells import format_value
from tui.widgets.data_grid import DataGrid, RowMarks
from tui.widgets.panel import Panel, PanelContext
from tui.widgets.staging import NOTHING, StagedChanges, edit_text, key_of

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

    from backends.types import ChangePlan, RecordKey


class CellEditor(Input):
    """The one-line editor drawn over a grid cell: Enter stages the text,
    ctrl+n stages NULL, Esc (or leaving it) cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+n", "set_null", "Set NULL"),
    ]

    @dataclass
    class Finished(Message):
        """``value`` is the typed text, None for NULL; ``cancelled`` when nothing is staged."""

        editor: CellEditor
        value: str | None
        cancelled: bool = False

    def action_cancel(self) -> None:
        self.post_message(self.Finished(self, None, cancelled=True))

    def action_set_null(self) -> None:
        self.post_message(self.Finished(self, None))

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        if self.display:
            self.post_message(self.Finished(self, None, cancelled=True))


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
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "view_record", "Record", show=True),
        Binding("e", "edit_cell", "Edit", show=True),
        Binding("i,insert", "insert_row", "Insert row", show=False),
        Binding("space", "toggle_select", "Select row", show=False),
        Binding("d,delete", "delete_rows", "Delete rows", show=False),
        Binding("ctrl+s", "commit", "Commit", show=True),
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

    @dataclass
    class RecordFetched(Message):
        record: Record

    @dataclass
    class PlanReady(Message):
        path: tuple[str, ...]
        changes: tuple[Change, ...]
        plan: ChangePlan

    @dataclass
    class ChangesApplied(Message):
        path: tuple[str, ...]
        changes: tuple[Change, ...]
        applied: AppliedPlan

    @dataclass
    class ChangesFailed(WorkFailed):
        path: tuple[str, ...] = ()

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.browse_path: tuple[str, ...] | None = None
        # Held, not queried: the explorer reaches the grid while the app
        # tears down too (a late message), when a query would find nothing.
        self.grid = DataGrid(id="grid")
        # The row counter in the status line repaints in the same frame as
        # the rows it counts (a WindowMoved message would land a frame late).
        self.grid.summary_sink = lambda summary: self.set_status(window=summary)
        self.strip = Static("", id="staging-strip", markup=False)
        self.editor = CellEditor(id="cell-editor")
        #: Staged changes by table path (see the module docstring).
        self.staged_by_path: dict[tuple[str, ...], StagedChanges] = {}
        self.schemas: dict[tuple[str, ...], RecordSchema] = {}
        self._schema_errors: dict[tuple[str, ...], str] = {}
        #: Rows selected with space (by key), for the table shown.
        self.selected: set[RecordKey] = set()
        self._editing: tuple[tuple[str, ...], RecordKey, str] | None = None
        self._busy = ""  # "planning" / "committing" while a worker runs

    def compose(self) -> ComposeResult:
        yield self.grid
        yield self.strip
        yield self.editor

    def focus_main(self) -> None:
        self.grid.focus()

    def path_changed(self, path: tuple[str, ...]) -> None:
        old = self.browse_path
        staged = self.staged_by_path.get(old) if old is not None else None
        if old is not None and old != path and staged:
            self._ask_about_leaving(old, staged)
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
        self._close_editor()
        self.browse_path = path
        self.selected = set()
        self.set_status(location=display_path(path))
        self.grid.open(path, page_size=self.context.session.page_size)
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="page_loaders")
    def _load_page(self, path: tuple[str, ...], request: PageRequest) -> None:
        worker = get_current_worker()
        try:
            page = self.context.session.call(
                lambda b: b.browse(path, cursor=request.cursor, limit=request.limit)
            )
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(PageFailed(e, request))
            return
        if not worker.is_cancelled:
            self.post_message(PageLoaded(request, page))

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
        if event.worker.group in ("change_planners", "change_appliers"):
            self._busy = ""
            self._update_strip()
        self.post_message(WorkFailed(event.worker.error))

    # -- what may be done -------------------------------------------------------------

    @property
    def records_offered(self) -> bool:
        # The session's flags: this panel is built before the first connect.
        caps = self.context.capabilities | self.context.session.capabilities
        return Capability.RECORDS in caps

    @property
    def staged(self) -> StagedChanges | None:
        """The staged changes of the table shown (None when none were made)."""
        path = self.browse_path
        return self.staged_by_path.get(path) if path is not None else None

    @property
    def schema(self) -> RecordSchema | None:
        path = self.browse_path
        return self.schemas.get(path) if path is not None else None

    def read_only_reason(self) -> str | None:
        """Why the records of the table shown cannot be edited, or None."""
        if self.browse_path is None:
            return "no table is open"
        caps = self.context.capabilities | self.context.session.capabilities
        if Capability.RECORDS not in caps or Capability.PLAN not in caps:
            return "records of this store cannot be edited here"
        if self.context.read_only:
            return "this connection is read-only"
        schema = self.schema
        if schema is None:
            error = self._schema_errors.get(self.browse_path)
            return error or "the table's fields are still being read; try again in a moment"
        return schema.read_only_reason

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit_cell", "insert_row", "toggle_select", "delete_rows"):
            return self.read_only_reason() is None
        if action == "view_record":
            return self.records_offered and self.browse_path is not None
        if action == "view_browsed_row":
            return not self.records_offered and self.browse_path is not None
        if action == "explain_read_only":
            return self.browse_path is not None
        if action in ("commit", "undo", "discard"):
            return bool(self.staged)
        return True

    def action_explain_read_only(self) -> None:
        reason = self.read_only_reason()
        if reason is None:
            return
        label = display_path(self.browse_path) if self.browse_path else "This table"
        self.app.notify(reason, title=f"{label} is read-only", severity="warning", markup=False)

    # -- the record schema --------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="record_schemas")
    def _load_schema(self, path: tuple[str, ...]) -> None:
        worker = get_current_worker()
        try:
            schema = self.context.session.call(lambda b: b.record_schema(path))
        except BackendError as e:
            # Not reported: the page load of the same table reports the same
            # failure; the reason is kept for the editing keys to say.
            if not worker.is_cancelled:
                self.post_message(self.SchemaLoaded(path, None, self.context.describe(e)[1]))
            return
        if not worker.is_cancelled:
            self.post_message(self.SchemaLoaded(path, schema))

    def on_data_panel_schema_loaded(self, event: SchemaLoaded) -> None:
        event.stop()
        if event.schema is not None:
            self.schemas[event.path] = event.schema
            self._schema_errors.pop(event.path, None)
        else:
            self._schema_errors[event.path] = event.error
        self._marks_changed()
        self.refresh_bindings()

    # -- rows and keys -------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [c.name for c in self.grid.columns]

    def _cursor_key(self) -> RecordKey | None:
        return key_of(self.grid.row(self.grid.cursor_row), self._names(), self.schema)

    def _row_marks(self, index: int) -> RowMarks | None:
        names = self._names()
        key = key_of(self.grid.row(index), names, self.schema)
        if key is None:
            return None
        staged = self.staged
        entry = staged.entry_for(key) if staged else None
        selected = key in self.selected
        if entry is None and not selected:
            return None
        cells = {}
        if isinstance(entry, Update):
            for name, value in entry.changes:
                if name in names:
                    cells[names.index(name)] = format_value(value)
        failed = (
            staged is not None
            and staged.failed_step is not None
            and staged.step_of(key) == staged.failed_step
        )
        return RowMarks(
            cells=cells,
            deleted=entry is not None and not isinstance(entry, Update),
            selected=selected,
            failed=failed,
        )

    def _marks_changed(self) -> None:
        """The staged changes or the selection changed: draw them."""
        active = bool(self.staged) or bool(self.selected)
        self.grid.row_marks = self._row_marks if active else None
        self.grid.marks_changed()
        self._update_strip()
        self.refresh_bindings()

    def _update_strip(self) -> None:
        staged = self.staged
        strip = self.strip
        failed = read_only = False
        text = ""
        if self._busy:
            text = f"{self._busy} {staged.summary() if staged else ''}…"
        elif staged and staged.failed_message:
            failed = True
            text = f"⚠ {staged.failed_message} · ^s retry · ^z undo last · ^d discard all"
        elif staged:
            text = f"{staged.summary()} · ^s review & commit · ^z undo last · ^d discard all"
        elif self.browse_path is not None and self.records_offered and self.schema is not None:
            reason = self.read_only_reason()
            if reason is not None:
                read_only = True
                text = f"read-only: {reason}"
        strip.update(text)
        strip.set_class(bool(text), "-shown")
        strip.set_class(failed, "-failed")
        strip.set_class(read_only, "-read-only")

    def _staged_for_shown(self) -> StagedChanges:
        path = self.browse_path
        assert path is not None
        staged = self.staged_by_path.get(path)
        if staged is None:
            staged = self.staged_by_path[path] = StagedChanges(path)
        return staged

    def _refuse(self, message: str) -> None:
        self.app.notify(message, severity="warning", markup=False)

    # -- the record view -------------------------------------------------------------------

    def action_view_browsed_row(self) -> None:
        """A store without records: the row as browsed, read-only."""
        path = self.browse_path
        row = self.grid.row(self.grid.cursor_row)
        if path is not None and row is not None:
            fields = tuple(zip(self._names(), row, strict=False))
            self._show_record(Record(path=path, key=(), fields=fields))

    def action_view_record(self) -> None:
        path = self.browse_path
        row = self.grid.row(self.grid.cursor_row)
        if path is None or row is None:
            return
        schema = self.schema
        key = self._cursor_key()
        if key is None:
            # No key to fetch it by: show the row as browsed (values may be previews).
            names = self._names()
            record = Record(path=path, key=(), fields=tuple(zip(names, row, strict=False)))
            self._show_record(record)
            return
        if schema is None:
            self._refuse(self.read_only_reason() or "")
            return
        self._fetch_record(path, key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="record_readers")
    def _fetch_record(self, path: tuple[str, ...], key: RecordKey) -> None:
        worker = get_current_worker()
        try:
            record = self.context.session.call(lambda b: b.get(path, key))
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(WorkFailed(e))
            return
        if not worker.is_cancelled:
            self.post_message(self.RecordFetched(record))

    def on_data_panel_record_fetched(self, event: RecordFetched) -> None:
        event.stop()
        if event.record.path == self.browse_path:
            self._show_record(event.record)

    def _show_record(self, record: Record) -> None:
        path, key = record.path, record.key
        reason = self.read_only_reason()
        if reason is None and not key:
            reason = "this row has no key to address it by"
        staged = self.staged_by_path.get(path)

        def stage(name: str, value: Any) -> str | None:
            return self._stage_edit(path, key, name, value)

        title = display_path(path)
        if not key:
            title += " · as browsed (no key to fetch the whole row by)"
        self.post_message(
            RecordViewRequested(
                record=record,
                schema=self.schemas.get(path),
                staged=staged.staged_fields(key) if staged and key else {},
                stage=stage,
                read_only_reason=reason,
                title=title,
            )
        )

    # -- editing -----------------------------------------------------------------------------

    def _stage_edit(
        self, path: tuple[str, ...], key: RecordKey, name: str, value: Any
    ) -> str | None:
        schema = self.schemas.get(path)
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        if field is not None and not field.editable:
            return f"{name} is {field.default or 'generated'}; it cannot be set"
        staged = self.staged_by_path.get(path)
        if staged is None:
            staged = self.staged_by_path[path] = StagedChanges(path)
        refusal = staged.edit(key, name, value)
        if path == self.browse_path:
            self._marks_changed()
        return refusal

    def action_edit_cell(self) -> None:
        key = self._cursor_key()
        names = self._names()
        col = self.grid.cursor_col
        if key is None or not (0 <= col < len(names)):
            return
        name = names[col]
        row = self.grid.row(self.grid.cursor_row)
        assert row is not None and self.browse_path is not None
        schema = self.schema
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        if field is not None and not field.editable:
            self._refuse(f"{name} is {field.default or 'generated'}; it cannot be set")
            return
        staged = self.staged
        value = staged.staged_value(key, name) if staged is not None else NOTHING
        if value is NOTHING:
            value = row[col]
        text = edit_text(value)
        if text is None:
            self._refuse(
                f"{name} shows a preview of a bigger value; edit it in the query editor "
                "(Enter shows the whole row)"
            )
            return
        region = self.grid.cell_region(self.grid.cursor_row, col)
        if region is None:
            return
        self._editing = (self.browse_path, key, name)
        editor = self.editor
        editor.placeholder = "NULL" if value is None else '""'
        editor.value = text
        editor.styles.offset = (region.x, region.y)
        editor.styles.width = max(region.width, 24)
        editor.display = True
        editor.focus()
        # Once it has its width: the end of the text in view.
        self.call_after_refresh(editor.action_end)

    def on_cell_editor_finished(self, event: CellEditor.Finished) -> None:
        event.stop()
        editing = self._editing
        self._close_editor()
        if editing is None or event.cancelled:
            return
        path, key, name = editing
        refusal = self._stage_edit(path, key, name, event.value)
        if refusal:
            self._refuse(refusal)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self.editor:
            return
        event.stop()
        self.editor.post_message(CellEditor.Finished(self.editor, event.value))

    def _close_editor(self) -> None:
        self._editing = None
        if self.editor.display:
            self.editor.display = False
            self.grid.focus()

    # -- insert, select, delete ---------------------------------------------------------------

    def action_insert_row(self) -> None:
        schema = self.schema
        path = self.browse_path
        if schema is None or path is None:
            return

        def done(fields: tuple[tuple[str, Any], ...] | None) -> None:
            if fields is None:
                return
            staged = self.staged_by_path.get(path)
            if staged is None:
                staged = self.staged_by_path[path] = StagedChanges(path)
            staged.insert(fields)
            if path == self.browse_path:
                self._marks_changed()

        self.post_message(
            RecordFormRequested(schema, done, title=f"Insert a row into {display_path(path)}")
        )

    def action_toggle_select(self) -> None:
        key = self._cursor_key()
        if key is None:
            return
        self.selected ^= {key}
        self._marks_changed()
        self.grid.action_cursor_down()

    def action_delete_rows(self) -> None:
        keys = list(self.selected)
        if not keys:
            key = self._cursor_key()
            keys = [key] if key is not None else []
        if not keys:
            return
        delta = self._staged_for_shown().toggle_delete(keys)
        self.selected = set()
        self._marks_changed()
        if delta < 0:
            self.app.notify(f"{-delta} row(s) no longer staged for deletion", markup=False)

    # -- undo, discard -----------------------------------------------------------------------

    def action_undo(self) -> None:
        staged = self.staged
        if staged is None or not staged.undo():
            self._refuse("Nothing to undo")
        self._marks_changed()

    def action_discard(self) -> None:
        staged = self.staged
        if not staged:
            return

        def done(answer: bool) -> None:
            if answer:
                staged.discard()
                self._marks_changed()

        self.post_message(
            ConfirmRequested(
                "Discard staged changes?",
                f"{staged.summary()} in {display_path(staged.path)}. "
                "Discard them all? The table stays as it is.",
                done,
                confirm="Discard",
                danger=True,
            )
        )

    def _ask_about_leaving(self, old: tuple[str, ...], staged: StagedChanges) -> None:
        def done(discard: bool) -> None:
            if discard:
                staged.discard()
                self._marks_changed()

        self.post_message(
            ConfirmRequested(
                f"Staged changes in {display_path(old)}",
                f"{staged.summary()}. They stay staged for {display_path(old)} and show "
                "again when you open it. Discard them instead?",
                done,
                confirm="Discard",
                danger=True,
            )
        )

    # -- commit: plan, review, apply ------------------------------------------------------

    def action_commit(self) -> None:
        staged = self.staged
        if not staged:
            self._refuse("Nothing is staged")
            return
        if self._busy:
            return
        self._busy = "planning"
        self._update_strip()
        self._plan_changes(staged.path, staged.changes())

    @work(thread=True, exclusive=True, exit_on_error=False, group="change_planners")
    def _plan_changes(self, path: tuple[str, ...], changes: tuple[Change, ...]) -> None:
        try:
            plan = self.context.session.call(lambda b: b.plan(changes))
        except BackendError as e:
            self.post_message(self.ChangesFailed(e, path))
            return
        self.post_message(self.PlanReady(path, changes, plan))

    def on_data_panel_plan_ready(self, event: PlanReady) -> None:
        event.stop()
        self._busy = ""
        self._update_strip()
        path, changes = event.path, event.changes

        def done(confirmed: bool) -> None:
            if confirmed:
                self._busy = "committing"
                self._update_strip()
                self._apply_changes(path, changes)

        n = len(changes)
        self.post_message(
            PlanReviewRequested(
                event.plan,
                done,
                title=f"Commit {n} change{'' if n == 1 else 's'} to {display_path(path)}?",
                confirm="Commit",
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change_appliers")
    def _apply_changes(self, path: tuple[str, ...], changes: tuple[Change, ...]) -> None:
        try:
            applied = self.context.session.call(lambda b: b.apply(changes))
        except BackendError as e:
            self.post_message(self.ChangesFailed(e, path))
            return
        self.post_message(self.ChangesApplied(path, changes, applied))

    def on_data_panel_changes_applied(self, event: ChangesApplied) -> None:
        event.stop()
        self._busy = ""
        staged = self.staged_by_path.get(event.path)
        if staged is not None:
            staged.committed(event.changes)
        rows = sum(a or 0 for a in event.applied.affected)
        n = len(event.changes)
        self.app.notify(
            f"Committed {n} change{'' if n == 1 else 's'} ({rows} row{'' if rows == 1 else 's'})",
            title=display_path(event.path),
            markup=False,
        )
        if event.path == self.browse_path:
            self.selected = set()
            self.grid.reload()
        self._marks_changed()

    def on_data_panel_changes_failed(self, event: ChangesFailed) -> None:
        # Not stopped: the explorer tracks the connection (a lost one goes
        # "lost"), the App shows the error. Every staged change stays.
        self._busy = ""
        staged = self.staged_by_path.get(event.path)
        if staged is not None:
            step = getattr(event.error, "step", None)
            message = self.context.describe(event.error)[1]
            staged.failed(step if isinstance(step, int) else None, message)
        self._marks_changed()
