"""Explorer: everything about one connection, shown in one tab.

Catalog tree on the left, data grid on the right, status line at the bottom.
The explorer owns the interactive session (the grid's page loads) and hands
the tree a clone, so catalog listing never shares the grid's connection. It
tracks the connection's state from the failures its workers report and
reconnects on request, reloading what was shown.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from backends.errors import BackendError, ConnectionFailed, ConnectionLost
from backends.paths import display_path
from backends.secrets import scrub
from tui.messages import (
    Connected,
    ConnectFailed,
    PageFailed,
    PageLoaded,
    PageRequest,
    WorkFailed,
)
from tui.session import Session
from tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from tui.widgets.catalog_tree import CatalogTree
    from tui.widgets.data_grid import DataGrid


CHOOSE_TABLE = "Choose a table in the catalog and press Enter."
NOT_CONNECTED = "Not connected: ctrl+r retries."
CONNECTING = "Connecting…"


def describe(error: BaseException, secrets: Iterable[str] = ()) -> tuple[str, str]:
    """(title, one-line message) for an error, never a traceback, and never
    a secret: ``secrets`` (the connection's, see ``backends.secrets``) and any
    password inside a URL are scrubbed, whatever the backend put there.
    Every error text the UI shows goes through here."""
    secrets = tuple(secrets)
    if isinstance(error, BackendError):
        title, message = error.title, str(error)
    else:
        title = "Unexpected error"
        message = str(error).strip()
        message = f"{type(error).__name__}: {message}" if message else type(error).__name__
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    message = lines[0] if lines else title
    return scrub(title, secrets), scrub(message, secrets)


class Explorer(Vertical):
    """One connection: catalog, grid and status (see module docstring).

    The first frame shows a skeleton (two plain Statics shaped like the tree
    and the grid, both empty until connected anyway); ``start()``, called
    once that frame is painted, mounts the real tree and grid and connects.
    This keeps Tree/DataGrid imports and mounting out of the launch time.
    """

    # ctrl+r works in every state; it is *shown* in the footer (by the App's
    # binding) only when the connection is lost or failed, where it helps.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reconnect", "Reconnect", show=False)
    ]

    def __init__(self, url: str, *, read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, classes="explorer")
        self.session = Session(url, read_only=read_only)
        self._catalog_session = self.session.clone()
        self.state = "idle"
        self.browse_path: tuple[str, ...] | None = None
        self._ever_connected = False
        self.built = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="explorer-body"):
            yield Static(classes="catalog-skeleton")
            yield Static(CONNECTING, classes="grid-skeleton")
        yield StatusLine(
            url=self.session.display_url, read_only=self.session.read_only, id="status"
        )

    @property
    def catalog(self) -> CatalogTree:
        from tui.widgets.catalog_tree import CatalogTree

        return self.query_one(CatalogTree)

    @property
    def grid(self) -> DataGrid:
        from tui.widgets.data_grid import DataGrid

        return self.query_one(DataGrid)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    # -- connection ----------------------------------------------------------------

    def start(self, *, focus: bool = False) -> None:
        """Build the panels and connect (once the first frame is on screen)."""
        if self.state == "idle":
            self._set_state("connecting")
            self.call_later(self._build_and_connect, focus)

    async def _build_and_connect(self, focus: bool) -> None:
        from tui.widgets.catalog_tree import CatalogTree
        from tui.widgets.data_grid import DataGrid

        body = self.query_one(".explorer-body")
        await body.remove_children()
        grid = DataGrid(id="grid")
        grid.placeholder = CONNECTING
        # The row counter in the status line repaints in the same frame as
        # the rows it counts (a WindowMoved message would land a frame late).
        grid.summary_sink = self._show_window
        await body.mount(CatalogTree(self._catalog_session, id="catalog"), grid)
        self.built = True
        if focus:
            self.focus_catalog()
        self._connect(False)

    def reconnect(self) -> None:
        if not self.built:
            return  # start() connects as soon as the panels exist
        self._set_state("connecting")
        self._connect(True)

    def close(self) -> list[threading.Thread]:
        """Close both connections in daemon threads (see ``Session.close``);
        the threads are returned for a bounded wait."""
        return [self.session.close(), self._catalog_session.close()]

    def describe(self, error: BaseException) -> tuple[str, str]:
        """``describe`` with this connection's secrets."""
        return describe(error, self.session.secrets)

    @dataclass
    class StateChanged(Message):
        """The connection state changed ("connecting", "connected", "lost", "failed")."""

        explorer: Explorer
        state: str

    def _set_state(self, state: str) -> None:
        self.state = state
        self.status.state = state
        self.refresh_bindings()
        self.post_message(self.StateChanged(self, state))

    @property
    def needs_reconnect(self) -> bool:
        return self.state in ("lost", "failed")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While reconnecting helps, step aside for the App's visible ctrl+r.
        return not (action == "reconnect" and self.needs_reconnect)

    def action_reconnect(self) -> None:
        self.reconnect()

    @work(thread=True, exclusive=True, exit_on_error=False, group="connectors")
    def _connect(self, reconnecting: bool) -> None:
        worker = get_current_worker()
        try:
            info = self.session.connect()
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(ConnectFailed(e, reconnecting))
            return
        if not worker.is_cancelled:
            self.post_message(Connected(info, reconnecting))

    def on_connected(self, event: Connected) -> None:
        event.stop()
        self._set_state("connected")
        info = event.info
        # The first word of the version: "15.18 (Debian 15.18-0+deb12u1)"
        # would push everything else off an 80-column line.
        version = info.version.split()[0] if info.version.split() else ""
        self.status.server = self.session.scrub(f"{info.product} {version}".strip())
        if not self.grid.is_open:
            self.grid.clear(CHOOSE_TABLE)
        if event.reconnected and self.catalog.loaded:
            self.catalog.reload()
        else:
            self.catalog.load_root()
        if event.reconnected:
            self.grid.reload()
        self._ever_connected = True

    @on(WorkFailed)
    def _track_connection(self, event: WorkFailed) -> None:
        # Not stopped: the App turns every failure into one notification.
        event.origin = self.session.title
        event.secrets = self.session.secrets
        if isinstance(event, ConnectFailed):
            self._set_state("lost" if self._ever_connected else "failed")
            if not self.grid.is_open:
                self.grid.clear(NOT_CONNECTED)
            if not self.catalog.loaded:
                self.catalog.show_note("(not connected)")
        elif isinstance(event.error, ConnectionLost | ConnectionFailed):
            self._set_state("lost")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Backend errors are reported by the workers themselves; an ERROR
        # state here is a bug, reported the same way so the app keeps going.
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        if event.worker.group == "page_loaders":
            self.grid.page_failed(None, self.describe(event.worker.error)[1])
        self.post_message(WorkFailed(event.worker.error))

    # -- browsing ------------------------------------------------------------------

    def on_catalog_tree_browse_requested(self, event: CatalogTree.BrowseRequested) -> None:
        event.stop()
        self.open_path(event.node.path)

    def open_path(self, path: tuple[str, ...]) -> None:
        self.browse_path = path
        self.status.location = display_path(path)
        self.grid.open(path, page_size=self.session.page_size)

    def on_data_grid_page_requested(self, event: DataGrid.PageRequested) -> None:
        event.stop()
        request = event.request
        # A request posted before another table was opened (or the rows were
        # reloaded) carries a cursor of what is no longer shown: drop it.
        if request.path != self.browse_path or request.token != self.grid.token:
            return
        self._load_page(request.path, request)

    def on_data_grid_window_moved(self, event: DataGrid.WindowMoved) -> None:
        event.stop()
        self._show_window(event.summary)

    def _show_window(self, summary: str) -> None:
        self.status.window = summary

    @work(thread=True, exclusive=True, exit_on_error=False, group="page_loaders")
    def _load_page(self, path: tuple[str, ...], request: PageRequest) -> None:
        worker = get_current_worker()
        try:
            page = self.session.call(
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
        self.grid.page_failed(event.request, self.describe(event.error)[1])

    # -- focus ---------------------------------------------------------------------

    def focus_catalog(self) -> None:
        if self.built:
            self.catalog.focus()

    def focus_grid(self) -> None:
        if self.built:
            self.grid.focus()

    def refresh_catalog(self) -> None:
        if self.built:
            self.catalog.reload(reconnect=False)
