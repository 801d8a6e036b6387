"""DataPanel: the grid of the path opened in the catalog, paged lazily.

It owns the grid's page loads, on the explorer's interactive session: a page
request carries the path and the grid's token, so a request handled after
another table was opened (or the rows reloaded) is dropped, never run
against the wrong table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import Worker, WorkerState, get_current_worker

from backends.errors import BackendError
from backends.paths import display_path
from tui.messages import PageFailed, PageLoaded, PageRequest, WorkFailed
from tui.widgets.data_grid import DataGrid
from tui.widgets.panel import Panel, PanelContext

if TYPE_CHECKING:
    from textual.app import ComposeResult


class DataPanel(Panel):
    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.browse_path: tuple[str, ...] | None = None
        # Held, not queried: the explorer reaches the grid while the app
        # tears down too (a late message), when a query would find nothing.
        self.grid = DataGrid(id="grid")
        # The row counter in the status line repaints in the same frame as
        # the rows it counts (a WindowMoved message would land a frame late).
        self.grid.summary_sink = lambda summary: self.set_status(window=summary)

    def compose(self) -> ComposeResult:
        yield self.grid

    def focus_main(self) -> None:
        self.grid.focus()

    def path_changed(self, path: tuple[str, ...]) -> None:
        self.open_path(path)

    def reconnected(self) -> None:
        self.grid.reload()

    def open_path(self, path: tuple[str, ...]) -> None:
        self.browse_path = path
        self.set_status(location=display_path(path))
        self.grid.open(path, page_size=self.context.session.page_size)

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
        # Backend errors are reported by the worker itself; an ERROR state is
        # a bug, shown in the grid and reported so the app keeps going.
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        self.grid.page_failed(None, self.context.describe(event.worker.error)[1])
        self.post_message(WorkFailed(event.worker.error))
