"""The App: one tab per connection, global keys, and error routing.

Kept small and cheap to import: nothing store-specific loads before the first
frame. Each explorer connects in a thread worker once the first frame is
painted; backends (and their drivers) are imported inside those workers.

Environment: ``STORESCOPE_EXIT_AFTER_PAINT=1`` exits right after the first
frame (launch-time benchmark); ``STORESCOPE_PAINT_STAMP=FILE`` writes the
wall-clock time of that first frame to FILE.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.widgets import ContentSwitcher, Footer, Static

from storescope.screens.explorer import Explorer, describe
from storescope.tui.messages import WorkFailed
from storescope.tui.sanitize import sanitize, sanitize_lines
from storescope.tui.session import DaemonThreadExecutor, tab_title
from storescope.tui.widgets import ConnectionTabs

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.notifications import SeverityLevel
    from textual.screen import Screen

NOTIFY_SECONDS = 8
#: How long quitting waits, in all, for connections to close. Past it they are
#: left to the process exit: a driver whose server is gone can take ~10 s.
CLOSE_WAIT_SECONDS = 1.0


class StorescopeApp(App[None]):
    # Absolute, so subclasses defined elsewhere (tests, probes) find it too.
    CSS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "styles", "app.tcss")
    TITLE = "storescope"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Keys", key_display="?"),
        Binding("ctrl+r", "reconnect", "Reconnect"),
        Binding("right_square_bracket", "next_connection", "Next connection", show=False),
        Binding("left_square_bracket", "previous_connection", "Previous connection", show=False),
    ]

    def __init__(self, urls: list[str], *, read_only: bool = False) -> None:
        super().__init__()
        self.urls = list(urls)
        self.read_only = read_only
        self.explorers: list[Explorer] = []
        self._active = 0

    def compose(self) -> ComposeResult:
        if not self.urls:
            yield Static(
                "No connection given: run  storescope URL  (or storescope demo).", id="no-urls"
            )
        else:
            # One line of tabs + a switcher, not TabbedContent: see
            # tui/widgets/connection_tabs.py for why (launch time, a row).
            yield ConnectionTabs([tab_title(url) for url in self.urls], id="tabs")
            with ContentSwitcher(initial="conn-0", id="connections"):
                for i, url in enumerate(self.urls):
                    explorer = Explorer(url, read_only=self.read_only, id=f"conn-{i}")
                    self.explorers.append(explorer)
                    yield explorer
        yield Footer()

    def on_mount(self) -> None:
        DaemonThreadExecutor.install()
        self.call_after_refresh(self._first_frame_painted)

    def _first_frame_painted(self) -> None:
        stamp = os.environ.get("STORESCOPE_PAINT_STAMP")
        if stamp:
            with open(stamp, "w", encoding="utf-8") as f:
                f.write(repr(time.time()))
        if os.environ.get("STORESCOPE_EXIT_AFTER_PAINT") == "1":
            self.exit()
            return
        for explorer in self.explorers:
            explorer.start(focus=explorer is self.active_explorer)

    def on_unmount(self) -> None:
        threads: list[threading.Thread] = []
        for explorer in self.explorers:
            threads.extend(explorer.close())
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- routing -------------------------------------------------------------------

    @property
    def active_index(self) -> int:
        return self._active

    @property
    def active_explorer(self) -> Explorer | None:
        index = self.active_index
        return self.explorers[index] if index < len(self.explorers) else None

    def activate(self, index: int) -> None:
        """Show connection ``index`` and focus its catalog."""
        if not self.explorers:
            return
        index %= len(self.explorers)
        self._active = index
        self.query_one(ConnectionTabs).active = index
        self.query_one(ContentSwitcher).current = f"conn-{index}"
        self.explorers[index].focus_catalog()

    @on(WorkFailed)
    def _notify_failure(self, event: WorkFailed) -> None:
        """The one place failures become visible: a notification with the
        error's title and one-line message. The app keeps running."""
        title, message = describe(event.error, event.secrets or self._all_secrets())
        if len(self.explorers) > 1 and event.origin:
            title = f"{title} · {event.origin}"
        self.notify(message, title=title, severity="error", timeout=NOTIFY_SECONDS, markup=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification of the app (widgets' ``notify`` lands here):
        message and title through the one sanitizer, and never parsed as
        markup, whatever the caller asked: a message may quote a table name
        such as ``[bold]x`` or ``[/]``, which markup would eat or reject with
        an exception. No notification of storescope uses markup."""
        del markup  # see above
        super().notify(
            sanitize_lines(message),
            title=sanitize(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _all_secrets(self) -> tuple[str, ...]:
        # A failure that did not come through an explorer: scrub every URL's.
        return tuple(s for explorer in self.explorers for s in explorer.session.secrets)

    def on_connection_tabs_activated(self, event: ConnectionTabs.Activated) -> None:
        self.activate(event.index)

    def on_explorer_state_changed(self, event: Explorer.StateChanged) -> None:
        if event.explorer in self.explorers:
            index = self.explorers.index(event.explorer)
            self.query_one(ConnectionTabs).set_state(index, event.state)

    # -- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reconnect":
            # Shown only while the active connection needs it (see Explorer).
            explorer = self.active_explorer
            return explorer is not None and explorer.needs_reconnect
        return True

    def action_reconnect(self) -> None:
        if (explorer := self.active_explorer) is not None:
            explorer.reconnect()

    def action_help_quit(self) -> None:
        """ctrl+c outside an editor: say how to quit. Textual's own message
        is markup ("[b]q[/b]"), which ``notify`` here never parses."""
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {key} to quit the app", title="Do you want to quit?")
                return

    async def action_quit(self) -> None:
        """Quit, asking first when a panel holds work quitting would lose
        (staged changes, an open transaction)."""
        from storescope.screens.dialogs import ConfirmScreen

        lost = [
            f"{explorer.session.title}: {what}"
            for explorer in self.explorers
            for what in explorer.unsaved_work()
        ]
        if not lost:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return
        message = "Quitting now loses:\n" + "\n".join(f"  · {line}" for line in lost)

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        self.push_screen(
            ConfirmScreen("Quit storescope?", message, confirm="Quit", danger=True), answered
        )

    def action_refresh_catalog(self) -> None:
        if (explorer := self.active_explorer) is not None:
            explorer.refresh_catalog()

    def action_reload_rows(self) -> None:
        if (explorer := self.active_explorer) is not None and explorer.built:
            explorer.grid.action_retry()

    def action_first_row(self) -> None:
        if (explorer := self.active_explorer) is not None and explorer.built:
            explorer.grid.action_first_row()

    def action_last_row(self) -> None:
        if (explorer := self.active_explorer) is not None and explorer.built:
            explorer.grid.action_last_row()

    def action_refresh_node(self) -> None:
        if (explorer := self.active_explorer) is not None and explorer.built:
            explorer.catalog.action_refresh_node()

    def action_open_node(self) -> None:
        if (explorer := self.active_explorer) is not None and explorer.built:
            explorer.catalog.action_select_cursor()

    def action_focus_catalog(self) -> None:
        if (explorer := self.active_explorer) is not None:
            explorer.focus_catalog()

    def action_focus_grid(self) -> None:
        if (explorer := self.active_explorer) is not None:
            explorer.focus_grid()

    def action_next_connection(self) -> None:
        if len(self.explorers) > 1:
            self.activate(self.active_index + 1)

    def action_previous_connection(self) -> None:
        if len(self.explorers) > 1:
            self.activate(self.active_index - 1)

    def action_help(self) -> None:
        from storescope.screens.help import HelpScreen, key_sections

        if isinstance(self.screen, HelpScreen):
            return
        # The panels' keys are the active connection's, in its store's words.
        self.push_screen(HelpScreen(key_sections(self, self.active_explorer)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Reconnect", "Reconnect this connection and reload what it shows", self.action_reconnect
        )
        explorer = self.active_explorer
        if explorer is not None:
            # The panels this connection offers (F2 Data, F3 Query...).
            for spec in explorer.offered_panels():
                yield SystemCommand(
                    f"Show {spec.title.lower()} panel",
                    f"Switch this connection to its {spec.title} panel ({spec.key.upper()})",
                    partial(explorer.show_panel, spec.id),
                )
            # What the highlighted catalog node offers (a in the catalog), in
            # the store's words. The palette reads titles as markup: the
            # node's name is store text, so escaped as well as sanitized.
            listed = explorer.node_actions()
            if listed is not None:
                node, actions = listed
                name = escape(sanitize(node.name))
                for action in actions:
                    yield SystemCommand(
                        f"{action.label} · {name}",
                        action.help or f"{action.label} (a in the catalog)",
                        partial(explorer.run_node_action, node, action),
                    )
        yield SystemCommand(
            "Refresh catalog",
            "List the catalog of this connection again",
            self.action_refresh_catalog,
        )
        yield SystemCommand(
            "Refresh catalog node",
            "List the selected catalog node again (r in the catalog)",
            self.action_refresh_node,
        )
        yield SystemCommand(
            "Open selected node",
            "Open the selected table, or expand the selected node (Enter in the catalog)",
            self.action_open_node,
        )
        yield SystemCommand(
            "Reload rows", "Fetch the grid's rows again (F5 in the grid)", self.action_reload_rows
        )
        yield SystemCommand(
            "First row", "Move the grid's cursor to the first row", self.action_first_row
        )
        yield SystemCommand(
            "Last loaded row",
            "Move the grid's cursor to the last row loaded so far",
            self.action_last_row,
        )
        yield SystemCommand(
            "Focus catalog", "Move the focus to the catalog tree", self.action_focus_catalog
        )
        yield SystemCommand("Focus grid", "Move the focus to the data grid", self.action_focus_grid)
        yield SystemCommand(
            "Next connection", "Show the next connection's tab", self.action_next_connection
        )
        yield SystemCommand(
            "Previous connection",
            "Show the previous connection's tab",
            self.action_previous_connection,
        )
        yield SystemCommand("Show keys / help", "List every key", self.action_help)
        yield SystemCommand("Quit", "Quit storescope", self.exit)
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command
