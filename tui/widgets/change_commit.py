"""ChangeCommitting: the commit of a table's staged changes, the base of the
DataPanel's record editing (tui/widgets/record_editing.py): ctrl+s plans
every staged change of the table shown (a worker), asks the explorer for the
plan review, then applies them (a worker). On success the staged changes go
and the rows are fetched again; on a failure every staged change stays and
the one that failed is highlighted; a lost connection keeps them for after
ctrl+r.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from storescope.backends.errors import BackendError
from storescope.backends.types import AppliedPlan, Change
from storescope.tui.messages import PlanReviewRequested, WorkFailed
from storescope.tui.sanitize import shown_path
from storescope.tui.widgets.panel import Panel

if TYPE_CHECKING:
    from storescope.backends.types import ChangePlan, RecordKey
    from storescope.tui.widgets.data_grid import DataGrid
    from storescope.tui.widgets.staging import StagedChanges


class ChangeCommitting(Panel):
    """See the module docstring; the DataPanel sets the attributes declared here."""

    grid: DataGrid
    browse_path: tuple[str, ...] | None
    #: Staged changes by table path.
    staged_by_path: dict[tuple[str, ...], StagedChanges]
    #: Rows selected with space (by key), for the table shown.
    selected: set[RecordKey]
    _busy: str  # "planning" / "committing" while a worker runs

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

    @property
    def staged(self) -> StagedChanges | None:
        """The staged changes of the table shown (None when none were made)."""
        path = self.browse_path
        return self.staged_by_path.get(path) if path is not None else None

    def finish_editing(self) -> None:
        """Stage what an open editor holds (RecordEditing)."""

    def _update_strip(self) -> None:
        """Show what is staged, or the commit's progress (RecordEditing)."""

    def _marks_changed(self) -> None:
        """The staged changes changed: draw them (RecordEditing)."""

    def _refuse(self, message: str) -> None:
        self.app.notify(message, severity="warning", markup=False)

    # -- commit: plan, review, apply ---------------------------------------------------

    def action_commit(self) -> None:
        # ctrl+s in the cell editor: what was typed is part of the commit.
        self.finish_editing()
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

    def on_change_committing_plan_ready(self, event: PlanReady) -> None:
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
                title=f"Commit {n} change{'' if n == 1 else 's'} to {shown_path(path)}?",
                confirm="Commit",
            )
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="change_appliers")
    def _apply_changes(self, path: tuple[str, ...], changes: tuple[Change, ...]) -> None:
        try:
            applied = self.context.session.call(lambda b: b.apply(changes), abandonable=False)
        except BackendError as e:
            self.post_message(self.ChangesFailed(e, path))
            return
        self.post_message(self.ChangesApplied(path, changes, applied))

    def on_change_committing_changes_applied(self, event: ChangesApplied) -> None:
        event.stop()
        self._busy = ""
        staged = self.staged_by_path.get(event.path)
        if staged is not None:
            staged.committed(event.changes)
        rows = sum(a or 0 for a in event.applied.affected)
        n = len(event.changes)
        self.app.notify(
            f"Committed {n} change{'' if n == 1 else 's'} ({rows} row{'' if rows == 1 else 's'})",
            title=shown_path(event.path),
            markup=False,
        )
        if event.path == self.browse_path:
            self.selected = set()
            self.grid.reload()
        self._marks_changed()

    def on_change_committing_changes_failed(self, event: ChangesFailed) -> None:
        # Not stopped: the explorer tracks the connection (a lost one goes
        # "lost"), the App shows the error. Every staged change stays.
        self._busy = ""
        staged = self.staged_by_path.get(event.path)
        if staged is not None:
            step = getattr(event.error, "step", None)
            message = self.context.describe(event.error)[1]
            staged.failed(step if isinstance(step, int) else None, message)
        self._marks_changed()
