"""ChangeCommitter: the commit of a table's staged changes, a collaborator
of the DataPanel (not a base class): ctrl+s plans every staged change of the
table shown (in the background), asks the explorer for the plan review,
then applies them (in the background, never abandoned: its outcome must be
heard). On success the staged changes go and the rows are fetched again; on
a failure every staged change stays and the one that failed is highlighted;
a lost connection keeps them for after ctrl+r.

The committer owns no widget. Its host (the DataPanel) runs its workers,
receives its messages (``ChangeCommitter.PlanReady``, ``ChangesApplied``,
``ChangesFailed``) and hands them back to it; ``changed`` is called when
what the panel draws (the strip, the marks) must be drawn again, and
``committed(path)`` after a table's changes went in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from storescope.backends.types import AppliedPlan, Change
from storescope.tui.background import call_in_background
from storescope.tui.messages import PlanReviewRequested, WorkFailed
from storescope.tui.sanitize import shown_path

if TYPE_CHECKING:
    from storescope.backends.types import ChangePlan
    from storescope.tui.widgets.panel import Panel
    from storescope.tui.widgets.records.staging import StagedChanges, Staging

#: The worker groups of a commit (the host reports their crashes).
WORKER_GROUPS = ("change_planners", "change_appliers")


class ChangeCommitter:
    """See the module docstring."""

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
        changes: tuple[Change, ...] = ()

    def __init__(
        self,
        host: Panel,
        staging: Staging,
        *,
        changed: Callable[[], None],
        committed: Callable[[tuple[str, ...]], None],
    ) -> None:
        self.host = host
        self.staging = staging
        self._changed = changed
        self._committed = committed
        #: "planning" / "committing" while a worker runs, else "".
        self.busy = ""

    def commit(self, staged: StagedChanges) -> None:
        """Plan ``staged``'s changes; the review follows (``plan_ready``)."""
        if self.busy:
            return
        self.busy = "planning"
        self._changed()
        path, changes = staged.path, staged.changes()
        call_in_background(
            self.host,
            lambda b: b.plan(changes),
            done=lambda plan: self.PlanReady(path, changes, plan),
            failed=lambda e: self.ChangesFailed(e, path, changes),
            group="change_planners",
            post_when_cancelled=True,
        )

    def plan_ready(self, event: PlanReady) -> None:
        self.busy = ""
        self._changed()
        path, changes = event.path, event.changes

        def done(confirmed: bool) -> None:
            if confirmed:
                self.busy = "committing"
                self._changed()
                self._apply(path, changes)

        n = len(changes)
        self.host.post_message(
            PlanReviewRequested(
                event.plan,
                done,
                title=f"Commit {n} change{'' if n == 1 else 's'} to {shown_path(path)}?",
                confirm="Commit",
            )
        )

    def _apply(self, path: tuple[str, ...], changes: tuple[Change, ...]) -> None:
        call_in_background(
            self.host,
            lambda b: b.apply(changes),
            done=lambda applied: self.ChangesApplied(path, changes, applied),
            failed=lambda e: self.ChangesFailed(e, path, changes),
            group="change_appliers",
            abandonable=False,
            post_when_cancelled=True,
        )

    def applied(self, event: ChangesApplied) -> None:
        self.busy = ""
        staged = self.staging.by_path.get(event.path)
        if staged is not None:
            staged.committed(event.changes)
        rows = sum(a or 0 for a in event.applied.affected)
        n = len(event.changes)
        self.host.app.notify(
            f"Committed {n} change{'' if n == 1 else 's'} ({rows} row{'' if rows == 1 else 's'})",
            title=shown_path(event.path),
            markup=False,
        )
        self._committed(event.path)
        self._changed()

    def failed(self, event: ChangesFailed) -> None:
        """Every staged change stays; the one that failed is marked."""
        self.busy = ""
        staged = self.staging.by_path.get(event.path)
        if staged is not None:
            step = getattr(event.error, "step", None)
            index = None
            if isinstance(step, int) and 0 <= step < len(event.changes):
                # The plan's order may differ from the staging order.
                index = staged.index_of(event.changes[step])
            message = self.host.context.describe(event.error)[1]
            staged.failed(index, message)
        self._changed()

    def crashed(self) -> None:
        """A commit worker ended in a bug: nothing is running any more."""
        self.busy = ""
        self._changed()
