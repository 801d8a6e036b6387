"""The explorer's right side: panels (data, query, indexes, monitor) and the
one-line bar that switches between them.

Each panel is a ``Panel`` in its own module, built the first time it is shown
(so nothing a panel imports costs launch time) and offered only when the
connection's backend declares the capability the panel needs. A panel gets a
``PanelContext``: the explorer's interactive session (browsing and record
edits), the capabilities, the current catalog path, and a way to describe
errors with this connection's secrets scrubbed. A panel that needs a
connection of its own (the query editor's statements, the monitor's polling)
makes one with ``context.session.clone()`` and closes it in ``close()``.

Panels report failures by posting ``WorkFailed`` (the explorer tracks the
connection state from it, the App shows it) and what the status line should
say with ``set_status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from storescope.backends.base import Capability
from storescope.tui.widgets.label_bar import Label, LabelBar

if TYPE_CHECKING:
    from storescope.tui.session import Session


@dataclass(frozen=True, slots=True)
class PanelSpec:
    """A panel the explorer may offer: ``module``.``cls`` is imported when the
    panel is first shown; ``capability`` NONE means always offered."""

    id: str
    title: str
    key: str
    capability: Capability
    module: str
    cls: str


#: The panels, in the order of the bar. Keys are the explorer's bindings.
PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(
        "data",
        "Data",
        "f2",
        Capability.NONE,
        "storescope.tui.widgets.records.data_panel",
        "DataPanel",
    ),
    PanelSpec(
        "query",
        "Query",
        "f3",
        Capability.QUERY,
        "storescope.tui.widgets.query.query_panel",
        "QueryPanel",
    ),
    PanelSpec(
        "indexes",
        "Indexes",
        "f4",
        Capability.INDEXES,
        "storescope.tui.widgets.indexes.index_panel",
        "IndexPanel",
    ),
    PanelSpec(
        "monitor",
        "Monitor",
        "f6",
        Capability.MONITOR,
        "storescope.tui.widgets.monitor.monitor_panel",
        "MonitorPanel",
    ),
)


class PanelContext:
    """What the explorer hands every panel (see the module docstring).

    ``capabilities`` are read live: the session's flags as of now, which a
    reconnect (to another server version, say) may change, so a panel asks
    each time instead of keeping a copy. A context given ``capabilities``
    keeps those instead (a panel shown alone in a test, on a session that
    never connects).
    """

    def __init__(
        self,
        *,
        session: Session,
        read_only: bool,
        path: Callable[[], tuple[str, ...] | None],
        describe: Callable[[BaseException], tuple[str, str]],
        status_changed: Callable[[Panel], None],
        capabilities: Capability | None = None,
    ) -> None:
        self.session = session
        self.read_only = read_only
        #: The catalog path last opened (a table, collection, key...), or None.
        self.path = path
        #: (title, one-line message) for an error, scrubbed of this connection's secrets.
        self.describe = describe
        #: Called (on the event loop) when a panel's status fields change.
        self.status_changed = status_changed
        self._capabilities = capabilities

    @property
    def capabilities(self) -> Capability:
        """What the backend can do now (see the class docstring)."""
        if self._capabilities is not None:
            return self._capabilities
        return self.session.capabilities


class Panel(Widget):
    """Base of the explorer's panels (see the module docstring)."""

    DEFAULT_CSS: ClassVar[str] = """
    Panel {
        height: 1fr;
        width: 1fr;
    }
    """

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.context = context
        #: What the status line shows while this panel is active: what the
        #: panel shows (a table, "result 3"), the rows shown ("rows 1–40 of
        #: ≥ 200"), and a short mode such as the transaction state.
        self.status_location = ""
        self.status_window = ""
        self.status_mode = ""

    def set_status(
        self, *, location: str | None = None, window: str | None = None, mode: str | None = None
    ) -> None:
        """Change what the status line says for this panel (only the given
        fields). Synchronous, so a row counter repaints in the same frame as
        the rows it counts."""
        if location is not None:
            self.status_location = location
        if window is not None:
            self.status_window = window
        if mode is not None:
            self.status_mode = mode
        self.context.status_changed(self)

    # -- hooks the explorer calls (all on the event loop) ------------------------------

    def panel_shown(self) -> None:
        """The panel became visible (start polling, focus something...)."""

    def panel_hidden(self) -> None:
        """The panel was hidden (stop polling)."""

    def path_changed(self, path: tuple[str, ...]) -> None:
        """The user opened ``path`` in the catalog."""

    def reconnected(self) -> None:
        """The connection was re-established (ctrl+r): reload what is shown."""

    def focus_main(self) -> None:
        """Focus the panel's main widget."""
        self.focus()

    def unsaved_work(self) -> str | None:
        """What quitting now would lose, as a short phrase ("3 staged
        changes", "an open transaction"), or None. The App asks before
        quitting when any panel says something."""
        return None

    def close(self) -> list[threading.Thread]:
        """Close connections of the panel's own (``Session.close`` threads)."""
        return []


class PanelBar(LabelBar):
    """One line: the panels offered, the active one highlighted, each with its key."""

    DEFAULT_CSS: ClassVar[str] = """
    PanelBar {
        height: 1;
        width: 1fr;
    }
    """

    active: reactive[str] = reactive("data")

    @dataclass
    class Activated(Message):
        bar: PanelBar
        panel_id: str

    def __init__(self, panels: tuple[PanelSpec, ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panels = panels
        self.display = len(panels) > 1

    def set_panels(self, panels: tuple[PanelSpec, ...]) -> None:
        self.panels = panels
        # A bar with one panel says nothing: keep the row (80x24) for data.
        self.display = len(panels) > 1
        self.refresh()

    def labels(self) -> list[Label]:
        out: list[Label] = []
        for spec in self.panels:
            if spec.id == self.active:
                style, key_style = (
                    "bold $foreground on $primary-muted",
                    "$text-muted on $primary-muted",
                )
            else:
                style, key_style = "$foreground", "$text-muted"
            out.append([(f" {spec.key.upper()} ", key_style), (f"{spec.title} ", style)])
        return out

    def label_clicked(self, index: int) -> None:
        if index < len(self.panels):
            self.post_message(self.Activated(self, self.panels[index].id))
