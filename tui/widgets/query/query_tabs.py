"""The query panel's result tabs: one per statement run (or plan), their
paging, and the release of their server state.

``ResultTabs`` is a collaborator of the QueryPanel (not a base class); the
panel hands it its key actions and its workers' messages. A tab's rows
stream into its ``DataGrid``: page 0 is the Result's first page (kept),
later pages come from ``fetch`` in the background (a newer request for the
same tab drops the older one's page). A result not paged for the panel's
``release_after`` seconds is released on the server (the backend re-runs a
read statement if it is paged again) unless the user's transaction may hold
it. Closing a tab (ctrl+w) releases it too; at most the panel's
``max_tabs`` are kept, the oldest closed first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import TabPane

from storescope.backends.types import Page
from storescope.tui.background import call_in_background
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.query.query_messages import (
    CONNECTION_ERRORS,
    ResultPageFailed,
    ResultPageLoaded,
    SessionCallFailed,
)
from storescope.tui.widgets.query.query_results import ResultState, ResultView

if TYPE_CHECKING:
    from textual.widget import Widget

    from storescope.backends.types import Result
    from storescope.tui.widgets.grid.data_grid import DataGrid
    from storescope.tui.widgets.query.query_panel import QueryPanel


def tab_number(pane_id: str | None) -> int | None:
    """A result tab's number from its pane id ("result-3"), else None."""
    if not pane_id or not pane_id.startswith("result-"):
        return None
    return int(pane_id.rpartition("-")[2])


#: The longest a tab's title (after its number) is shown.
TITLE_WIDTH = 20


def tab_title(number: int, kind: str) -> Content:
    """ "3 SELECT orders": the tab's number and the language's title of its
    statement, on one line and cut to ``TITLE_WIDTH``."""
    title = " ".join(sanitize(kind).split()) or "?"
    if len(title) > TITLE_WIDTH:
        title = title[: TITLE_WIDTH - 1] + "…"
    return Content(f"{number} {title}")


class ResultTabs:
    """See the module docstring."""

    def __init__(self, host: QueryPanel) -> None:
        self.host = host
        self.states: dict[int, ResultState] = {}
        self.views: dict[int, ResultView] = {}

    # -- tabs -------------------------------------------------------------------------

    async def add(self, state: ResultState, *, kind: str) -> ResultView:
        """A new tab for ``state``, selected; the oldest beyond the cap close."""
        host = self.host
        view = ResultView(state, id=f"view-{state.number}")
        self.states[state.number] = state
        self.views[state.number] = view
        view.grid.summary_sink = lambda summary, s=state: self._summary_changed(s, summary)
        host.add_class("-has-results")
        await host.results.add_pane(TabPane(tab_title(state.number, kind), view, id=state.tab_id))
        host.results.active = state.tab_id
        while len(self.states) > host.max_tabs:
            # The oldest tab whose statement is not running (its result is
            # released on close); the new tab itself is never closed here.
            idle = [n for n in self.states if n not in (host.runner.number, state.number)]
            if not idle:
                break
            await self.close(min(idle))
        return view

    def show_result(self, number: int, result: Result) -> bool:
        """The statement of tab ``number`` returned ``result``: show it and
        let its grid page. False when the tab is gone (the result released)."""
        state = self.states.get(number)
        if state is None:
            self.release(result.handle)
            return False
        state.result = result
        state.finished = True
        state.first_page = Page(result.columns, result.rows, result.next_cursor)
        view = self.views[number]
        view.show()
        if result.columns:
            # Once laid out: the grid's row counter needs its height.
            self.host.call_after_refresh(
                view.grid.open, ("query", str(number)), page_size=self.host.page_size
            )
        self.touch(state)
        return True

    async def close(self, number: int) -> None:
        host = self.host
        state = self.states.pop(number, None)
        view = self.views.pop(number, None)
        if state is None:
            return
        if state.release_timer is not None:
            state.release_timer.stop()
        if not state.released and number != host.runner.number:
            self.release(state.handle)
        await host.results.remove_pane(state.tab_id)
        if view is not None and not self.states:
            host.remove_class("-has-results")
            host.set_status(location="query", window="")

    async def close_active(self) -> None:
        """ctrl+w in the results: close the tab shown (not a running one)."""
        host = self.host
        pane = host.results.active_pane
        number = tab_number(pane.id if pane is not None else None)
        if number is None:
            return
        if number == host.runner.number:
            host.app.bell()
            return
        await self.close(number)
        if not self.states:
            host.editor.focus()

    def switch(self, step: int) -> None:
        ids = [s.tab_id for s in sorted(self.states.values(), key=lambda s: s.number)]
        if not ids:
            return
        results = self.host.results
        current = results.active
        index = ids.index(current) if current in ids else 0
        results.active = ids[(index + step) % len(ids)]

    def focus_target(self) -> Widget | None:
        """What ctrl+l focuses from the editor: the shown tab's grid."""
        pane = self.host.results.active_pane
        if pane is None:
            return None
        view = self.views.get(tab_number(pane.id) or 0)
        if view is not None and view.grid.display:
            return view.grid
        return None

    def activated(self, pane_id: str | None) -> None:
        """A tab was selected: the status line says which of its rows show."""
        number = tab_number(pane_id)
        state = self.states.get(number) if number is not None else None
        if state is not None:
            # A grid filled while its tab was hidden recounts its window when
            # it is laid out (DataGrid recounts on resize).
            self.host.set_status(location=f"result {state.number}", window=state.summary)

    def _summary_changed(self, state: ResultState, summary: str) -> None:
        view = self.views.get(state.number)
        if view is None or summary == state.summary:
            return
        state.summary = summary
        if state.result is not None:
            view.show()
        if self.host.results.active == state.tab_id:
            self.host.set_status(location=f"result {state.number}", window=summary)

    # -- pages ------------------------------------------------------------------------

    def _state_of_grid(self, grid: DataGrid) -> ResultState | None:
        for number, view in self.views.items():
            if view.grid is grid:
                return self.states.get(number)
        return None

    def page_requested(self, event: DataGrid.PageRequested) -> None:
        state = self._state_of_grid(event.grid)
        request = event.request
        if state is None or request.token != event.grid.token:
            return
        if request.index == 0 or request.cursor is None:
            if state.first_page is not None:
                event.grid.add_page(request, state.first_page)
            return
        self.touch(state)
        cursor, limit, number = request.cursor, request.limit, state.number
        call_in_background(
            self.host,
            lambda b: b.fetch(cursor, limit=limit),
            done=lambda page: ResultPageLoaded(number, request, page),
            failed=lambda e: ResultPageFailed(number, request, e),
            group=f"result-pages-{number}",
            session=self.host.session,
        )

    def page_loaded(self, event: ResultPageLoaded) -> None:
        view = self.views.get(event.number)
        if view is not None:
            view.grid.add_page(event.request, event.page)
            self.touch(self.states[event.number])

    def page_failed(self, event: ResultPageFailed) -> None:
        view = self.views.get(event.number)
        if view is not None:
            view.grid.page_failed(event.request, self.host.context.describe(event.error)[1])

    # -- releasing --------------------------------------------------------------------

    def touch(self, state: ResultState) -> None:
        """A result was paged: release its server state after a quiet while."""
        if state.release_timer is not None:
            state.release_timer.stop()
            state.release_timer = None
        if state.handle is not None:
            state.release_timer = self.host.set_timer(
                self.host.release_after, lambda s=state: self._idle_release(s)
            )

    def _idle_release(self, state: ResultState) -> None:
        state.release_timer = None
        if self.host.tx.holds_results:
            return  # a cursor inside the user's transaction: released on close
        if self.host.running:
            self.touch(state)  # the session is busy: try again later
            return
        state.released = True
        self.release(state.handle)

    def release(self, handle: str | None) -> None:
        session = self.host.session
        if handle is None or session is None:
            return
        call_in_background(
            self.host,
            lambda b: b.release(handle),
            done=lambda _: None,
            # Only a lost connection is news: a result that is gone is gone.
            failed=lambda e: SessionCallFailed(e) if isinstance(e, CONNECTION_ERRORS) else None,
            group=f"releases-{handle}",
            session=session,
        )
