"""IndexPanel (F4): the indexes of the table last opened in the catalog.

The list (``IndexTable``) shows name, columns, kind, method, size, scans and
validity, with flags (invalid, unused, duplicate, redundant) marked in theme
colours; below it the focused index's full definition and what its flags
mean. Everything is loaded with ``list_indexes`` in the background
(``call_in_background``) on the explorer's interactive session.

Index changes are the INDEXES capability's own calls, not change plans, so a
store without PLAN changes indexes all the same: ``n`` opens the new index
form (``IndexForm``, offering what the backend's ``index_options`` describe)
in place of the list; its ``IndexSpec`` becomes a ``CreateIndex`` that the
backend describes with ``plan_index`` (the exact statement or command it will
run, what it does meanwhile) and the panel shows for review
(``PlanReviewRequested``); only on confirmation does ``create_index`` run,
and the list reloads. ``d`` does the same with a ``DropIndex``, online when
the backend's options say drops are. A failed change is shown in the panel,
reported (``WorkFailed``) and the list reloaded: a failed online build can
leave an invalid index behind, which then appears flagged. On a read-only
connection ``n`` and ``d`` say why they cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from storescope.backends.base import Capability
from storescope.backends.types import (
    Atomicity,
    ChangePlan,
    CreateIndex,
    DropIndex,
    IndexInfo,
    IndexOptions,
    IndexPlan,
    PlannedStep,
)
from storescope.tui.background import call_in_background
from storescope.tui.messages import PlanReviewRequested, WorkFailed
from storescope.tui.sanitize import sanitize, shown_path
from storescope.tui.widgets.indexes.index_form import IndexForm
from storescope.tui.widgets.indexes.index_table import (
    IndexTable,
    flag_explanation,
    kind_text,
    legend,
    size_text,
)
from storescope.tui.widgets.panel import Panel, PanelContext
from storescope.tui.widgets.store_words import words_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import ComposeResult

    from storescope.backends.base import Backend

#: What the panel says before a node is opened (the store's container noun).
NO_TABLE = "Open {container} to see its indexes."
READ_ONLY = "This connection is read-only: indexes cannot be created or dropped."
#: What the review says of a failed index change when the store's plan does
#: not say (``IndexPlan.atomicity`` None, ``all_or_nothing`` left True).
INDEX_UNSAID = "the store does not say what a failed change leaves behind"


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
        """What the new index form offers: the node's fields, and the
        backend's description of its index options."""

        path: tuple[str, ...]
        columns: list[str]
        options: IndexOptions

    @dataclass
    class ChangePlanned(Message):
        """What the backend will run for ``change`` (``plan_index``)."""

        change: CreateIndex | DropIndex
        plan: IndexPlan

    @dataclass
    class ChangeApplied(Message):
        change: CreateIndex | DropIndex

    @dataclass
    class ChangeFailed(WorkFailed):
        """Describing (``applying`` False) or running a change failed."""

        change: CreateIndex | DropIndex | None = None
        applying: bool = False
        #: What was tried, when ``change`` is not known ("Drop index").
        what: str = ""

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
        self._no_table = NO_TABLE.format(container=words_of(context.session.url).a_container)
        self.title = Static(self._no_table, classes="index-title", markup=False)
        self.message = Static("", classes="index-message", markup=False)
        self.table = IndexTable(id="index-table")
        self.detail = Static("", classes="index-detail", markup=False)
        self.legend = Static(legend([]), classes="index-legend", markup=False)

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
            self.title.update(self._no_table)
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

    def _load_indexes(self, path: tuple[str, ...]) -> None:
        call_in_background(
            self,
            lambda b: b.list_indexes(path),
            done=lambda indexes: self.IndexesLoaded(path, indexes),
            failed=lambda e: self.IndexesFailed(e, path),
            group="index_loaders",
        )

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
        self.legend.update(legend(event.indexes))
        flagged = sum(1 for i in event.indexes if i.flags)
        shown = shown_path(event.path)
        count = f"{len(event.indexes)} index" + ("" if len(event.indexes) == 1 else "es")
        summary = f"{count}, {flagged} flagged" if flagged else count
        self.title.update(f"Indexes of {sanitize(event.path[-1])} · {summary}")
        self.set_status(location=shown, window=summary)
        self._show_detail()
        if first_load and not self.busy:
            self._say("")

    def on_index_panel_indexes_failed(self, event: IndexesFailed) -> None:
        # Not stopped: the explorer tracks the connection, the App notifies.
        if event.path != self.path:
            return
        self.loaded_path = event.path
        self.table.show([])
        self.legend.update(legend([]))
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
            self.notify(self._no_table, severity="warning")
            return
        self._say("")
        self.reload()

    def _refuse(self) -> bool:
        """Whether a change cannot start now (and why, said to the user)."""
        if self.context.read_only:
            self.notify(READ_ONLY, title="Read-only connection", severity="warning")
            return True
        if self.path is None:
            self.notify(self._no_table, severity="warning")
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
        path, name = self.path, index.name
        # Online or not is the backend's call, from its own description.
        self._plan(
            lambda b: DropIndex(path, name, online=b.index_options(path).drop_online), "Drop index"
        )

    # -- the new index form ---------------------------------------------------------------

    def _load_form_facts(self, path: tuple[str, ...]) -> None:
        records = Capability.RECORDS in self.context.capabilities

        def facts(b: Backend) -> tuple[list[str], IndexOptions]:
            if records:
                columns = [f.name for f in b.record_schema(path).fields]
            else:  # a bounded peek: the first few records' fields
                columns = [c.name for c in b.browse(path, limit=20).columns]
            return columns, b.index_options(path)

        call_in_background(
            self,
            facts,
            done=lambda found: self.FormFactsLoaded(path, *found),
            failed=lambda e: self.ChangeFailed(e),
            group="index_form_loaders",
        )

    async def on_index_panel_form_facts_loaded(self, event: FormFactsLoaded) -> None:
        event.stop()
        if event.path != self.path or self.form is not None:
            return
        self._say("")
        self.form = IndexForm(event.path[-1], event.columns, event.options, id="index-form")
        self.table.display = False
        self.detail.display = False
        self.legend.display = False
        await self.mount(self.form, after=self.message)
        self.refresh_bindings()

    def on_index_form_submitted(self, event: IndexForm.Submitted) -> None:
        event.stop()
        if self.path is None or self.busy:
            return
        change = CreateIndex(self.path, event.spec)
        self._plan(lambda _: change, "Create index")

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

    # -- describe, review, run ------------------------------------------------------------

    def _plan(self, make: Callable[[Backend], CreateIndex | DropIndex], what: str) -> None:
        """Ask the backend what the change ``make`` builds will run (INDEXES'
        ``plan_index``, never the change plans of PLAN) and show it."""
        self.busy = True
        self._say("")

        def describe(b: Backend) -> IndexPlan:
            return b.plan_index(make(b))

        call_in_background(
            self,
            describe,
            done=lambda plan: self.ChangePlanned(plan.change, plan),
            failed=lambda e: self.ChangeFailed(e, None, applying=False, what=what),
            group="index_planners",
            post_when_cancelled=True,  # ``busy`` is cleared only by the outcome
        )

    def on_index_panel_change_planned(self, event: ChangePlanned) -> None:
        event.stop()
        change = event.change
        if isinstance(change, CreateIndex):
            title, confirm = "Create index", "Create"
        else:
            title, confirm = f"Drop index {change.name}", "Drop"
        self.post_message(
            PlanReviewRequested(
                review_of(event.plan),
                lambda yes: self._reviewed(change, yes),
                title=title,
                confirm=confirm,
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

    def _apply_change(self, change: CreateIndex | DropIndex) -> None:
        def run(b: Backend) -> None:
            if isinstance(change, CreateIndex):
                b.create_index(change.path, change.spec)
            else:
                b.drop_index(change.path, change.name, online=change.online)

        call_in_background(
            self,
            run,
            done=lambda _: self.ChangeApplied(change),
            failed=lambda e: self.ChangeFailed(e, change, applying=True),
            group="index_appliers",
            abandonable=False,  # its outcome must be learnt: never retried blindly
            post_when_cancelled=True,
        )

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
        if not event.applying and self.form is not None:
            self.form.show_error(f"{title}: {message}")
            return
        if event.change is None and not event.what:
            self._say(f"{title}: {message}")
            return
        kind = event.what or (
            "Create index" if isinstance(event.change, CreateIndex) else "Drop index"
        )
        self._say(f"✕ {kind} failed: {message}")
        if event.applying and event.change is not None and event.change.path == self.path:
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


def review_of(plan: IndexPlan) -> ChangePlan:
    """The review screen's form of an index change: its one step with the
    backend's exact text and note, and what a failure does, as the store
    says it (``IndexPlan.atomicity``: an ``Atomicity`` or the store's own
    words). A plan that says nothing there but is not ``all_or_nothing``
    is said step by step (what it leaves behind is in its warnings); a plan
    that says nothing at all gets ``INDEX_UNSAID``, which claims nothing."""
    step = PlannedStep(change=plan.change, text=plan.text, affected=None, note=plan.note)
    said = plan.atomicity
    words = ""
    if isinstance(said, Atomicity):
        atomic = said
    elif said:
        atomic, words = Atomicity.STEP_BY_STEP, said
    elif not plan.all_or_nothing:
        atomic = Atomicity.STEP_BY_STEP
    else:
        atomic, words = Atomicity.STEP_BY_STEP, INDEX_UNSAID
    return ChangePlan(steps=(step,), atomic=atomic, warnings=plan.warnings, atomic_words=words)
