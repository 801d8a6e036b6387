"""Explorer: everything about one connection, shown in one tab.

Catalog tree on the left; on the right the panels (data grid, query editor,
indexes, monitor: see ``tui.widgets.panel``) under a one-line bar that
switches between them; the status line at the bottom. The explorer owns the
interactive session (the grid's page loads, record edits) and hands the tree
a clone, so catalog listing never shares the grid's connection. It tracks the
connection's state from the failures its workers (and its panels' workers)
report and reconnects on request, reloading what was shown.
"""

from __future__ import annotations

import importlib
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

from storescope.backends.base import Capability
from storescope.backends.errors import BackendError, ConnectionFailed, ConnectionLost
from storescope.backends.secrets import scrub
from storescope.backends.types import NodeActionKind
from storescope.tui.messages import (
    ConfirmRequested,
    Connected,
    ConnectFailed,
    PlanReviewRequested,
    RecordFormRequested,
    RecordViewRequested,
    TextRequested,
    WorkFailed,
)
from storescope.tui.sanitize import sanitize
from storescope.tui.session import CallAbandoned, Session
from storescope.tui.widgets.panel import PANELS
from storescope.tui.widgets.status_line import StatusLine
from storescope.tui.widgets.store_words import words_of

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from storescope.backends.types import Node, NodeAction
    from storescope.tui.widgets.catalog.catalog_tree import CatalogTree
    from storescope.tui.widgets.grid.data_grid import DataGrid
    from storescope.tui.widgets.panel import Panel, PanelContext, PanelSpec
    from storescope.tui.widgets.records.data_panel import DataPanel


NOT_CONNECTED = "Not connected: ctrl+r retries."
CONNECTING = "Connecting…"
#: How often the explorer asks its sessions' watch for a stalled call.
STALL_POLL_SECONDS = 0.5

#: Where a catalog node's action happens: the panel shown on its target, and
#: the panel's action run then (None: showing it is all).
NODE_ACTION_PANELS: dict[NodeActionKind, tuple[str, str | None]] = {
    NodeActionKind.BROWSE: ("data", None),
    NodeActionKind.OPEN_IN_QUERY: ("query", "open_in_query"),
    NodeActionKind.INDEXES: ("indexes", None),
}


def describe(error: BaseException, secrets: Iterable[str] = ()) -> tuple[str, str]:
    """(title, one-line message) for an error, never a traceback, and never
    a secret: ``secrets`` (the connection's, see ``backends.secrets``) and any
    password inside a URL are scrubbed, whatever the backend put there; and
    through the one sanitizer (``tui.sanitize``), since a driver's message
    quotes names and values from the store as they are.
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
    return sanitize(scrub(title, secrets)), sanitize(scrub(message, secrets))


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
        Binding("ctrl+r", "reconnect", "Reconnect", show=False),
        # One key per panel, from the panel list (the panel bar shows each
        # key next to its panel's name): a new panel adds one PANELS entry.
        *(Binding(p.key, f"show_panel('{p.id}')", p.title, show=False) for p in PANELS),
        # Offered (and shown) only while a call the backend can cancel has
        # not been answered for a while; otherwise ctrl+c goes on to the
        # screen (copy). A focused query panel cancels its own statement first.
        Binding("ctrl+c", "cancel_stalled", "Cancel", show=True),
    ]

    def __init__(self, url: str, *, read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, classes="explorer")
        self.session = Session(url, read_only=read_only)
        self._catalog_session = self.session.clone()
        self.state = "idle"
        self._ever_connected = False
        self.built = False
        #: Panels built so far, by id (each is built when first shown).
        self.panels: dict[str, Panel] = {}
        self.active_panel = "data"
        #: Whether a call has waited too long for the server (the watchdog's
        #: report is on the status line), and whether it can be cancelled.
        self.stalled = False
        self.stall_cancellable = False

    def compose(self) -> ComposeResult:
        with Horizontal(classes="explorer-body"):
            yield Static(classes="catalog-skeleton")
            yield Static(CONNECTING, classes="grid-skeleton")
        yield StatusLine(
            url=self.session.display_url, read_only=self.session.read_only, id="status"
        )

    def on_mount(self) -> None:
        # The stall watchdog: one for every panel, since all their sessions
        # share the explorer's CallWatch (see tui.session).
        self.set_interval(STALL_POLL_SECONDS, self._watch_calls)

    def _watch_calls(self) -> None:
        stall = self.session.watch.stalled()
        stalled = stall is not None
        cancellable = stall is not None and stall.cancellable
        status = self.status
        status.stalled_for = max(1, int(stall.seconds)) if stall is not None else 0
        status.stall_cancel = cancellable
        if (stalled, cancellable) != (self.stalled, self.stall_cancellable):
            self.stalled, self.stall_cancellable = stalled, cancellable
            self.refresh_bindings()  # the footer offers ^r (and ^c) while stalled

    def action_cancel_stalled(self) -> None:
        self.session.watch.cancel_stalled()

    @property
    def capabilities(self) -> Capability:
        """What the backend can do, as of now (a reconnect may change it)."""
        return self.session.capabilities

    @property
    def catalog(self) -> CatalogTree:
        from storescope.tui.widgets.catalog.catalog_tree import CatalogTree

        return self.query_one(CatalogTree)

    @property
    def data_panel(self) -> DataPanel:
        from storescope.tui.widgets.records.data_panel import DataPanel

        panel = self.panels["data"]
        assert isinstance(panel, DataPanel)
        return panel

    @property
    def grid(self) -> DataGrid:
        return self.data_panel.grid

    @property
    def browse_path(self) -> tuple[str, ...] | None:
        return self.data_panel.browse_path if self.built else None

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
        from textual.widgets import ContentSwitcher

        from storescope.tui.widgets.catalog.catalog_tree import CatalogTree
        from storescope.tui.widgets.panel import PANELS, PanelBar
        from storescope.tui.widgets.records.data_panel import DataPanel

        body = self.query_one(".explorer-body")
        await body.remove_children()
        data = DataPanel(self._panel_context(), id="panel-data")
        self.panels["data"] = data
        side = Vertical(
            PanelBar(PANELS[:1], id="panel-bar"),
            ContentSwitcher(data, initial="panel-data", id="panels"),
            classes="explorer-side",
        )
        await body.mount(CatalogTree(self._catalog_session, id="catalog"), side)
        self.grid.placeholder = CONNECTING
        self.built = True
        if focus:
            self.focus_catalog()
        self._connect(False)

    def reconnect(self) -> None:
        # Stop waiting for calls the server has not answered (their
        # connections are dropped), so reconnecting never queues behind them.
        self.session.watch.abandon_stalled(reconnecting=True)
        if not self.built:
            return  # start() connects as soon as the panels exist
        self._set_state("connecting")
        self._connect(True)

    def close(self) -> list[threading.Thread]:
        """Close every connection (ours, the tree's, the panels') in daemon
        threads (see ``Session.close``); the threads are returned for a
        bounded wait."""
        threads = [self.session.close(), self._catalog_session.close()]
        for panel in self.panels.values():
            threads.extend(panel.close())
        return threads

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
        return self.state in ("lost", "failed") or self.stalled

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_stalled":
            return self.stalled and self.stall_cancellable
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
        self._offer_panels()
        if not any(p.id == self.active_panel for p in self._offered()):
            self.show_panel("data")  # the flags changed on reconnect: it is gone
        info = event.info
        # The first word of the version: "15.18 (Debian 15.18-0+deb12u1)"
        # would push everything else off an 80-column line.
        version = info.version.split()[0] if info.version.split() else ""
        self.status.server = self.session.scrub(f"{info.product} {version}".strip())
        self.status.read_only_note = info.read_only_note
        if not self.grid.is_open:
            self.grid.clear(words_of(self.session.url).choose_hint)
        if event.reconnected and self.catalog.loaded:
            self.catalog.reload()
        else:
            self.catalog.load_root()
        if event.reconnected:
            for panel in self.panels.values():
                panel.reconnected()
        self._ever_connected = True

    @on(WorkFailed)
    def _track_connection(self, event: WorkFailed) -> None:
        if isinstance(event.error, CallAbandoned) and event.error.reconnecting:
            # The user reconnected while it waited: the reconnect reports.
            event.stop()
            return
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
        # (Panels handle their own workers' and stop the event.)
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        self.post_message(WorkFailed(event.worker.error))

    # -- panels ----------------------------------------------------------------------

    def _panel_context(self) -> PanelContext:
        from storescope.tui.widgets.panel import PanelContext

        # Without fixed capabilities: panels read the session's, live.
        return PanelContext(
            session=self.session,
            read_only=self.session.read_only,
            path=lambda: self.browse_path,
            describe=self.describe,
            status_changed=self._panel_status_changed,
        )

    def unsaved_work(self) -> list[str]:
        """What quitting would lose in this connection's panels."""
        return [what for panel in self.panels.values() if (what := panel.unsaved_work())]

    def offered_panels(self) -> tuple[PanelSpec, ...]:
        """The panels this connection offers (by its backend's capabilities)."""
        return self._offered() if self.built else ()

    def _offered(self) -> tuple[PanelSpec, ...]:
        return tuple(p for p in PANELS if p.capability in self.capabilities)

    def _offer_panels(self) -> None:
        from storescope.tui.widgets.panel import PanelBar

        self.query_one("#panel-bar", PanelBar).set_panels(self._offered())

    def action_show_panel(self, panel_id: str) -> None:
        self.show_panel(panel_id)

    def show_panel(self, panel_id: str) -> Panel | None:
        """Show panel ``panel_id`` (building it the first time) and focus it;
        None when this connection does not offer it."""
        from textual.widgets import ContentSwitcher

        from storescope.tui.widgets.panel import PanelBar

        if not self.built:
            return None
        spec = next((p for p in self._offered() if p.id == panel_id), None)
        if spec is None:
            if panel_id != "data":
                self.app.bell()
            return None
        panel = self.panels.get(panel_id)
        switcher = self.query_one("#panels", ContentSwitcher)
        if panel is None:
            cls = getattr(importlib.import_module(spec.module), spec.cls)
            panel = cls(self._panel_context(), id=f"panel-{panel_id}")
            assert panel is not None
            self.panels[panel_id] = panel
            switcher.mount(panel)
        if self.active_panel != panel_id:
            previous = self.panels.get(self.active_panel)
            if previous is not None:
                previous.panel_hidden()
            self.active_panel = panel_id
            switcher.current = f"panel-{panel_id}"
            self.query_one("#panel-bar", PanelBar).active = panel_id
            panel.panel_shown()
            self._panel_status_changed(panel)
        self.call_after_refresh(panel.focus_main)
        return panel

    def _panel_status_changed(self, panel: Panel) -> None:
        if self.panels.get(self.active_panel) is not panel:
            return
        status = self.status
        status.location = panel.status_location
        status.window = panel.status_window
        status.mode = panel.status_mode

    # -- modal screens panels ask for ------------------------------------------------

    def on_confirm_requested(self, event: ConfirmRequested) -> None:
        from storescope.screens.dialogs import ConfirmScreen

        event.stop()
        screen = ConfirmScreen(
            event.title, event.message, confirm=event.confirm, danger=event.danger
        )
        self.app.push_screen(screen, lambda answer: event.done(bool(answer)))

    def on_text_requested(self, event: TextRequested) -> None:
        from storescope.screens.dialogs import TextPromptScreen

        event.stop()
        screen = TextPromptScreen(event.title, value=event.value, placeholder=event.placeholder)
        self.app.push_screen(screen, event.done)

    def on_plan_review_requested(self, event: PlanReviewRequested) -> None:
        from storescope.screens.change_plan import ChangePlanScreen

        event.stop()
        screen = ChangePlanScreen(
            event.plan,
            title=event.title,
            confirm=event.confirm,
            words=words_of(self.session.url),  # counts in the store's noun
        )
        self.app.push_screen(screen, lambda answer: event.done(bool(answer)))

    # -- records: the record view and the insert form (DataPanel asks) ---------------

    def on_record_view_requested(self, event: RecordViewRequested) -> None:
        from storescope.screens.record_view import RecordViewScreen

        event.stop()
        self.app.push_screen(RecordViewScreen(event))

    def on_record_form_requested(self, event: RecordFormRequested) -> None:
        from storescope.screens.record_editor import RecordEditorScreen

        event.stop()
        self.app.push_screen(RecordEditorScreen(event.schema, title=event.title), event.done)

    # -- browsing ------------------------------------------------------------------

    def on_catalog_tree_browse_requested(self, event: CatalogTree.BrowseRequested) -> None:
        event.stop()
        self.open_path(event.node.path)

    def open_path(self, path: tuple[str, ...]) -> None:
        """Open ``path`` in the data grid (and tell the other panels)."""
        if self.active_panel not in ("data", "indexes"):
            self.show_panel("data")
        for panel in self.panels.values():
            panel.path_changed(path)

    # -- catalog node actions ------------------------------------------------------

    def node_actions(self) -> tuple[Node, tuple[NodeAction, ...]] | None:
        """The highlighted catalog node and what can be done with it (the
        command palette lists them), or None."""
        if not self.built:
            return None
        entry = self.catalog.cursor_entry
        if entry is None or entry.node is None or not entry.actions:
            return None
        return entry.node, entry.actions

    def on_catalog_tree_actions_requested(self, event: CatalogTree.ActionsRequested) -> None:
        from storescope.screens.dialogs import ChoiceScreen

        event.stop()
        node, actions = event.node, event.actions

        def chosen(index: int | None) -> None:
            if index is not None:
                self.run_node_action(node, actions[index])

        screen = ChoiceScreen(node.name, [(a.key, a.label) for a in actions])
        self.app.push_screen(screen, chosen)

    def run_node_action(self, node: Node, action: NodeAction) -> None:
        """Do ``action`` on its target: open the target in every panel and
        show (and focus) the panel the action names."""
        panel_id, then = NODE_ACTION_PANELS[action.does]
        target = action.target(node)
        if not any(p.id == panel_id for p in self._offered()):
            self.app.bell()  # the flags changed since the node was listed
            return
        for panel in self.panels.values():
            panel.path_changed(target)
        shown = self.show_panel(panel_id)
        if shown is not None and then is not None:
            shown.call_after_refresh(shown.run_action, then)

    # -- focus ---------------------------------------------------------------------

    def focus_catalog(self) -> None:
        if self.built:
            self.catalog.focus()

    def focus_grid(self) -> None:
        if self.built:
            self.show_panel("data")
            self.grid.focus()

    def refresh_catalog(self) -> None:
        if self.built:
            self.catalog.reload(reconnect=False)
