"""IndexPanel (F4): the indexes of the table last opened in the catalog.

The list (``IndexTable``) shows name, columns, kind, method, size, scans and
validity, with flags (invalid, unused, duplicate, redundant) marked in theme
colours; below it the focused index's full definition and what its flags
mean. Everything is loaded with ``list_indexes`` in a worker on the
explorer's interactive session.

Changes go through the change plan like record edits: ``n`` opens the new
index form (``IndexForm``) in place of the list, its ``IndexSpec`` becomes a
``CreateIndex`` that is planned in a worker and shown for review
(``PlanReviewRequested``); only on confirmation is it applied, in another
worker, and the list reloaded. ``d`` does the same with a ``DropIndex``
(CONCURRENTLY). A failed apply is shown in the panel, reported
(``WorkFailed``) and the list reloaded: a failed CONCURRENTLY build leaves an
INVALID index, which then appears flagged. On a read-only connection ``n``
and ``d`` say why they cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState, get_current_worker

from storescope.backends.base import Capability
from storescope.backends.errors import BackendError
from storescope.backends.types import ChangePlan, CreateIndex, DropIndex, IndexInfo
from storescope.tui.messages import ConfirmRequested, PlanReviewRequested, WorkFailed
from storescope.tui.sanitize import sanitize, shown_path
from storescope.tui.widgets.index_form import IndexForm
from storescope.tui.widgets.index_table import (
    LEGEND,
    IndexTable,
    flag_explanation,
    kind_text,
    size_text,
)
from storescope.tui.widgets.panel import Panel, PanelContext

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from storescope.backends.base import Backend

NO_TABLE = "Open a table to see its indexes."
READ_ONLY = "This connection is read-only: indexes cannot be created or dropped."


class IndexPanel(Panel):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_index", "New index", show=True),
        Binding("d,delete", "drop_index", "Drop index", show=True),
        Binding("r,f5", "reload", "Reload", show=True),
    ]

    DEFAULT_CSS: ClassVar[str] = """
    IndexPanel {
        layout: vertical;
        & > .index-title { height: 1; padding: 0 1; background: $panel; }
        & > .index-message { height: auto; padding: 0 1; color: $text-error; }
        & > .index-message.-ok { color: $text-success; }
        & > .index-detail {
            height: auto;
            max-height: 6;
            padding: 0 1;
            border-top: solid $panel-lighten-2;
        }
        & > .index-legend { height: 1; padding: 0 1; color: $text-muted; }
    }
    """

    # -- messages the workers post ------------------------------------------------------

    @dataclass
    class IndexesLoaded(Message):
        path: tuple[str, ...]
        indexes: list[IndexInfo]

    @dataclass
    class IndexesFailed(WorkFailed):
        path: tuple[str, ...] = ()

    @dataclass
    class FormFactsLoaded(Message):
        """What the new index form offers: the table's columns, the methods."""

        path: tuple[str, ...]
        columns: list[str]
        methods: tuple[str, ...]

    @dataclass
    class ChangePlanned(Message):
        change: CreateIndex | DropIndex
        plan: ChangePlan

    @dataclass
    class ChangeApplied(Message):
        change: CreateIndex | DropIndex

    @dataclass
    class ChangeFailed(WorkFailed):
        """Planning (``applying`` False) or applying a change failed."""

        change: CreateIndex | DropIndex | None = None
        applying: bool = False

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.path: tuple[str, ...] | None = context.path()
        #: The path whose indexes are shown (None: nothing loaded yet).
        self.loaded_path: tuple[str, ...] | None = None
        self.shown = False
        self.busy = False  # a change is being planned or applied
        self.form: IndexForm | None = None
        self._keep: str | None = None  # the name to put the cursor on after a reload
        self._names_before: set[str] | None = None  # after a create: pick the new index
        self.title = Static(NO_TABLE, classes="index-title", markup=False)
        self.message = Static("", classes="index-message", markup=False)
        self.table = IndexTable(id="index-table")
        self.detail = Static("", classes="index-detail", markup=False)
        self.legend = Static(LEGEND, classes="index-legend", markup=False)

    def compose(self) -> ComposeResult:
        yield self.title
        yield self.message
        yield self.table
        yield self.detail
        yield self.legend

    def on_mount(self) -> None:
        self.message.display = False
        if self.shown:
            self._sync()

    # -- hooks ------------------------------------------------------------------------

    def panel_shown(self) -> None:
        self.shown = True
        if self.is_mounted:
            self._sync()

    def panel_hidden(self) -> None:
        self.shown = False

    def path_changed(self, path: tuple[str, ...]) -> None:
        self.path = path
        if self.form is not None:
            self._close_form()
        if self.shown:
            self._sync()

    def reconnected(self) -> None:
        if self.path is not None and self.shown:
            self.reload()

    def focus_main(self) -> None:
        if self.form is not None:
            self.form.focus_first()
        else:
            self.table.focus()

    def _sync(self) -> None:
        if self.path is None:
            self.title.update(NO_TABLE)
            self.set_status(location="", window="", mode="")
        elif self.path != self.loaded_path:
            self.reload()

    def reload(self, *, keep: str | None = None) -> None:
        if self.path is None:
            return
        self._keep = keep if keep is not None else self._current_name()
        self.title.update(f"Indexes of {sanitize(self.path[-1])} · loading…")
        self.set_status(location=shown_path(self.path))
        self._load_indexes(self.path)

    def _current_name(self) -> str | None:
        index = self.table.current
        return index.name if index is not None and self.loaded_path == self.path else None

    # -- loading ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="index_loaders")
    def _load_indexes(self, path: tuple[str, ...]) -> None:
        worker = get_current_worker()
        try:
            indexes = self.context.session.call(lambda b: b.list_indexes(path))
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(self.IndexesFailed(e, path))
            return
        if not worker.is_cancelled:
            self.post_message(self.IndexesLoaded(path, indexes))

    def on_index_panel_indexes_loaded(self, event: IndexesLoaded) -> None:
        event.stop()
        if event.path != self.path:
            return  # another table was opened meanwhile
        keep = self._keep
        if self._names_before is not None:
            new = [i.name for i in event.indexes if i.name not in self._names_before]
            keep = new[0] if new else keep
            self._names_before = None
        first_load = self.loaded_path != event.path
        self.loaded_path = event.path
        self.table.show(event.indexes, keep=keep)
        flagged = sum(1 for i in event.indexes if i.flags)
        where = shown_path(event.path)
        count = f"{len(event.indexes)} index" + ("" if len(event.indexes) == 1 else "es")
        summary = f"{count}, {flagged} flagged" if flagged else count
        self.title.update(f"Indexes of {sanitize(event.path[-1])} · {summary}")
        self.set_status(location=where, window=summary)
        self._show_detail()
        if first_load and not self.busy:
            self._say("")

    def on_index_panel_indexes_failed(self, event: IndexesFailed) -> None:
        # Not stopped: the explorer tracks the connection, the App notifies.
        if event.path != self.path:
            return
        self.loaded_path = event.path
        self.table.show([])
        self.title.update(f"Indexes of {sanitize(event.path[-1])}")
        self._say(self.context.describe(event.error)[1])
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        index = self.table.current
        if index is None:
            self.detail.update("No indexes." if self.loaded_path is not None else "")
            return
        lines = [index.definition or f"{index.name} ({index.columns})"]
        facts = [kind_text(index), index.method, size_text(index.size_bytes)]
        if index.scans is not None:
            facts.append(f"{index.scans:,} scans")
        lines.append(" · ".join(f for f in facts if f))
        lines.extend(f"{'✕' if f == 'invalid' else '⚠'} {flag_explanation(f)}" for f in index.flags)
        # One sanitized line each: a definition quotes names as the store has them.
        self.detail.update("\n".join(sanitize(line) for line in lines))

    def _say(self, message: str, *, ok: bool = False) -> None:
        """The panel's one message line (an error, or an outcome); "" hides it."""
        self.message.update(sanitize(message))
        self.message.set_class(ok, "-ok")
        self.message.display = bool(message)

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the form is open its fields take the letters.
        return not (action in ("new_index", "drop_index", "reload") and self.form is not None)

    def action_reload(self) -> None:
        if self.path is None:
            self.notify(NO_TABLE, severity="warning")
            return
        self._say("")
        self.reload()

    def _refuse(self) -> bool:
        """Whether a change cannot start now (and why, said to the user)."""
        if self.context.read_only:
            self.notify(READ_ONLY, title="Read-only connection", severity="warning")
            return True
        if self.path is None:
            self.notify(NO_TABLE, severity="warning")
            return True
        if self.busy:
            self.notify("An index change is still running.", severity="warning")
            return True
        return False

    def action_new_index(self) -> None:
        if self._refuse() or self.path is None:
            return
        self._load_form_facts(self.path)

    def action_drop_index(self) -> None:
        if self._refuse() or self.path is None:
            return
        index = self.table.current
        if index is None:
            self.notify("No index to drop here.", severity="warning")
            return
        self._plan(DropIndex(self.path, index.name, concurrently=True))

    # -- the new index form ---------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="index_form_loaders")
    def _load_form_facts(self, path: tuple[str, ...]) -> None:
        worker = get_current_worker()
        records = Capability.RECORDS in self.context.capabilities

        def facts(b: Backend) -> tuple[list[str], tuple[str, ...]]:
            if records:
                columns = [f.name for f in b.record_schema(path).fields]
            else:  # a bounded peek: the first few records' fields
                columns = [c.name for c in b.browse(path, limit=20).columns]
            return columns, b.index_methods

        try:
            columns, methods = self.context.session.call(facts)
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(self.ChangeFailed(e))
            return
        if not worker.is_cancelled:
            self.post_message(self.FormFactsLoaded(path, columns, methods))

    async def on_index_panel_form_facts_loaded(self, event: FormFactsLoaded) -> None:
        event.stop()
        if event.path != self.path or self.form is not None:
            return
        self._say("")
        self.form = IndexForm(event.path[-1], event.columns, event.methods, id="index-form")
        self.table.display = False
        self.detail.display = False
        self.legend.display = False
        await self.mount(self.form, after=self.message)
        self.refresh_bindings()

    def on_index_form_submitted(self, event: IndexForm.Submitted) -> None:
        event.stop()
        if self.path is None or self.busy:
            return
        self._plan(CreateIndex(self.path, event.spec))

    def on_index_form_cancelled(self, event: IndexForm.Cancelled) -> None:
        event.stop()
        self._close_form()

    def _close_form(self) -> None:
        if self.form is None:
            return
        form, self.form = self.form, None
        form.remove()
        self.table.display = True
        self.detail.display = True
        self.legend.display = True
        self.refresh_bindings()
        if self.shown:
            self.table.focus()

    # -- plan, review, apply --------------------------------------------------------------

    def _plan(self, change: CreateIndex | DropIndex) -> None:
        self.busy = True
        self._say("")
        if Capability.PLAN in self.context.capabilities:
            self._plan_change(change)
            return
        # A store without change plans: a plain confirmation instead.
        if isinstance(change, CreateIndex):
            title, text = "Create index", f"Create an index on {', '.join(change.spec.columns)}?"
        else:
            title, text = "Drop index", f"Drop index {change.name}?"
        self.post_message(
            ConfirmRequested(
                title, text, lambda yes: self._reviewed(change, yes), confirm=title.split()[0]
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="index_planners")
    def _plan_change(self, change: CreateIndex | DropIndex) -> None:
        try:
            plan = self.context.session.call(lambda b: b.plan([change]))
        except BackendError as e:
            self.post_message(self.ChangeFailed(e, change, applying=False))
            return
        self.post_message(self.ChangePlanned(change, plan))

    def on_index_panel_change_planned(self, event: ChangePlanned) -> None:
        event.stop()
        change = event.change
        if isinstance(change, CreateIndex):
            title, confirm = "Create index", "Create"
        else:
            title, confirm = f"Drop index {change.name}", "Drop"
        self.post_message(
            PlanReviewRequested(
                event.plan, lambda yes: self._reviewed(change, yes), title=title, confirm=confirm
            )
        )

    def _reviewed(self, change: CreateIndex | DropIndex, confirmed: bool) -> None:
        if not confirmed:
            self.busy = False  # nothing ran: the list and the form stay as they are
            if self.form is not None:
                self.form.focus_first()
            return
        if isinstance(change, CreateIndex):
            self._names_before = {i.name for i in self.table.indexes}
            self._close_form()
            what = "Creating the index…"
        else:
            what = f"Dropping {change.name}…"
        self.message.display = True
        self._say(what, ok=True)
        self._apply_change(change)

    @work(thread=True, exclusive=True, exit_on_error=False, group="index_appliers")
    def _apply_change(self, change: CreateIndex | DropIndex) -> None:
        try:
            self.context.session.call(lambda b: b.apply([change]), abandonable=False)
        except BackendError as e:
            self.post_message(self.ChangeFailed(e, change, applying=True))
            return
        self.post_message(self.ChangeApplied(change))

    def on_index_panel_change_applied(self, event: ChangeApplied) -> None:
        event.stop()
        self.busy = False
        change = event.change
        if isinstance(change, CreateIndex):
            done = "Index created" + (f": {change.spec.name}" if change.spec.name else "")
        else:
            done = f"Index {change.name} dropped"
        self._say(done + ".", ok=True)
        self.notify(done + ".", title="Indexes", markup=False)
        if change.path == self.path:
            self.reload()

    def on_index_panel_change_failed(self, event: ChangeFailed) -> None:
        # Not stopped: the explorer tracks the connection, the App notifies.
        self.busy = False
        title, message = self.context.describe(event.error)
        if event.change is None:
            self._say(f"{title}: {message}")
            return
        kind = "Create index" if isinstance(event.change, CreateIndex) else "Drop index"
        if not event.applying and self.form is not None:
            self.form.show_error(f"{title}: {message}")
            return
        self._say(f"✕ {kind} failed: {message}")
        if event.applying and event.change.path == self.path:
            self.reload()  # a failed build may have left an INVALID index to show

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Backend errors are reported by the workers; an ERROR state is a bug,
        # shown here and reported so the app keeps going.
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        self.busy = False
        self._say(self.context.describe(event.worker.error)[1])
        self.post_message(WorkFailed(event.worker.error))
