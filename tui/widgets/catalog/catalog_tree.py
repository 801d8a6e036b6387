"""CatalogTree: the store's catalog, one level at a time.

Expanding a node lists its children in a thread worker on the tree's *own*
session (a clone of the connection the grid uses), so browsing the catalog
never waits behind, or interleaves with, a page load. Each node's load is its
own exclusive worker group: refreshing a node cancels its previous load but
not the loads of its siblings.

Each node comes with what the user can do with it (``Backend.node_actions``,
asked in the same worker: it is pure), offered on ``a`` and in the command
palette by the explorer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.worker import Worker, WorkerState, get_current_worker

from storescope.backends.errors import BackendError
from storescope.backends.types import Node, NodeAction, NodeKind
from storescope.tui.messages import ChildrenFailed, ChildrenLoaded, WorkFailed
from storescope.tui.sanitize import sanitize

if TYPE_CHECKING:
    from textual.widgets.tree import TreeNode

    from storescope.backends.base import Backend
    from storescope.tui.session import Session

_PLAIN = Style()

GLYPHS: dict[NodeKind, str] = {
    NodeKind.DATABASE: "◆",
    NodeKind.SCHEMA: "◇",
    NodeKind.TABLE: "▦",
    NodeKind.VIEW: "◫",
    NodeKind.MATVIEW: "◫",
    NodeKind.FOREIGN_TABLE: "▦",
    NodeKind.COLLECTION: "▤",
    NodeKind.NAMESPACE: "◇",
    NodeKind.KEY: "•",
    NodeKind.BUCKET: "◆",
    NodeKind.PREFIX: "◇",
    NodeKind.OBJECT: "•",
}


def compact_count(n: int) -> str:
    """12 -> "12", 1234 -> "1.2k", 100000 -> "100k", 2000000 -> "2M"."""
    if n < 1000:
        return str(n)
    for div, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1000, "k")):
        if n >= div:
            value = n / div
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(n)


class EntryState(enum.Enum):
    UNLOADED = "unloaded"
    LOADING = "loading"
    LOADED = "loaded"
    PLACEHOLDER = "placeholder"  # "loading…" / "(empty)" lines


@dataclass
class CatalogEntry:
    node: Node | None  # None for the root and for placeholder lines
    state: EntryState = EntryState.UNLOADED
    token: int = 0
    note: str = field(default="")
    #: The node's name and detail as drawn: sanitized once, here, so a name
    #: holding a line break stays one row and an escape sequence is shown,
    #: not obeyed. ``node`` keeps the store's spelling for paths and calls.
    label: str = ""
    detail: str = ""
    #: What the user can do with the node, in the store's words.
    actions: tuple[NodeAction, ...] = ()

    @classmethod
    def of(cls, node: Node, actions: tuple[NodeAction, ...] = ()) -> CatalogEntry:
        return cls(node, label=sanitize(node.name), detail=sanitize(node.detail), actions=actions)


@dataclass
class ChildrenListed(ChildrenLoaded):
    """``ChildrenLoaded`` with each node's actions (aligned with ``nodes``)."""

    actions: tuple[tuple[NodeAction, ...], ...] = ()


def _listed(
    backend: Backend, path: tuple[str, ...]
) -> tuple[list[Node], tuple[tuple[NodeAction, ...], ...]]:
    nodes = backend.list_children(path)
    return nodes, tuple(backend.node_actions(node) for node in nodes)


class CatalogTree(Tree[CatalogEntry]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", show=True, key_display="⏎"),
        Binding("space", "toggle_node", "Expand / collapse", show=False),
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_node", "Collapse / parent", show=False),
        Binding("r,f5", "refresh_node", "Refresh", show=True),
        Binding("a", "node_actions", "Actions", show=True),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"catalog-tree--meta", "catalog-tree--glyph"}

    @dataclass
    class BrowseRequested(Message):
        """The user chose a browsable node (Enter)."""

        tree: CatalogTree
        node: Node

    @dataclass
    class ActionsRequested(Message):
        """The user asked for a node's actions (``a``); never empty."""

        tree: CatalogTree
        node: Node
        actions: tuple[NodeAction, ...]

    def __init__(
        self, session: Session, *, id: str | None = None, classes: str | None = None
    ) -> None:
        # A Text label: a str would go through the markup parser, whose first
        # use compiles an emoji regex (~20 ms before the first frame).
        super().__init__(Text("catalog"), CatalogEntry(None), id=id, classes=classes)
        self.session = session
        self.show_root = False
        self.guide_depth = 2
        # Enter on a browsable node opens it (and expands it, never collapses
        # it); on a container it toggles. See on_tree_node_selected.
        self.auto_expand = False
        self._by_path: dict[tuple[str, ...], TreeNode[CatalogEntry]] = {}
        self._tokens = 0
        self._reexpand: set[tuple[str, ...]] = set()
        self._restore_cursor: tuple[str, ...] | None = None
        self.loaded = False

    # -- loading -----------------------------------------------------------------

    def load_root(self, *, reconnect: bool = False) -> None:
        self.clear()
        self._by_path = {(): self.root}
        self.root.data = CatalogEntry(None)
        self.loaded = True
        self._load(self.root, (), reconnect=reconnect)

    def show_note(self, note: str) -> None:
        """Show only ``note`` (dim), e.g. while not connected."""
        self.clear()
        self.loaded = False
        self.root.add_leaf(Text(sanitize(note)), CatalogEntry(None, EntryState.PLACEHOLDER))

    def reload(self, *, reconnect: bool = True) -> None:
        """List again (after reconnecting), re-opening what was expanded."""
        self._reexpand = {p for p, tn in self._by_path.items() if p and tn.is_expanded}
        cursor = self.cursor_node
        self._restore_cursor = (
            cursor.data.node.path if cursor and cursor.data and cursor.data.node else None
        )
        self.load_root(reconnect=reconnect)

    def _load(
        self, tree_node: TreeNode[CatalogEntry], path: tuple[str, ...], *, reconnect: bool = False
    ) -> None:
        entry = tree_node.data
        assert entry is not None
        self._tokens += 1
        entry.state = EntryState.LOADING
        entry.token = self._tokens
        tree_node.remove_children()
        tree_node.add_leaf(Text("loading…"), CatalogEntry(None, EntryState.PLACEHOLDER))
        session, token = self.session, self._tokens

        def list_children() -> None:
            worker = get_current_worker()
            try:
                if reconnect:
                    session.connect()
                nodes, actions = session.call(lambda b: _listed(b, path))
            except BackendError as e:
                if not worker.is_cancelled:
                    self.post_message(ChildrenFailed(e, path, token))
                return
            if not worker.is_cancelled:
                self.post_message(ChildrenListed(path, nodes, token, actions))

        self.run_worker(
            list_children,
            name="_list_children",
            group=f"children:{'/'.join(path)}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def on_children_listed(self, event: ChildrenListed) -> None:
        event.stop()
        tree_node = self._by_path.get(event.path)
        if tree_node is None or tree_node.data is None or tree_node.data.token != event.token:
            return
        tree_node.data.state = EntryState.LOADED
        tree_node.remove_children()
        for node, actions in zip(event.nodes, event.actions, strict=True):
            entry = CatalogEntry.of(node, actions)
            child = tree_node.add(Text(entry.label), entry, allow_expand=node.expandable)
            self._by_path[node.path] = child
            if node.path in self._reexpand:
                self._reexpand.discard(node.path)
                child.expand()
            if node.path == self._restore_cursor:
                self._restore_cursor = None
                self.call_after_refresh(self.move_cursor, child)
        if not event.nodes:
            tree_node.add_leaf(Text("(empty)"), CatalogEntry(None, EntryState.PLACEHOLDER))
        if tree_node is self.root and self.cursor_line < 0 and event.nodes:
            self.call_after_refresh(self.move_cursor_to_line, 0)
        self.call_after_refresh(self.refresh_bindings)  # the highlighted node's actions

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Backend errors come as ChildrenFailed; an ERROR state is a bug,
        # reported like any failure so the app keeps running.
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkFailed(event.worker.error))

    def on_children_failed(self, event: ChildrenFailed) -> None:
        # Not stopped: the explorer and the App route the error.
        tree_node = self._by_path.get(event.path)
        if tree_node is None or tree_node.data is None or tree_node.data.token != event.token:
            return
        tree_node.data.state = EntryState.UNLOADED
        tree_node.remove_children()
        if tree_node is not self.root:
            tree_node.collapse()
        else:
            tree_node.add_leaf(
                Text("(failed — r retries)"), CatalogEntry(None, EntryState.PLACEHOLDER)
            )
            self.loaded = False

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[CatalogEntry]) -> None:
        entry = event.node.data
        if entry is None or entry.node is None or entry.state is not EntryState.UNLOADED:
            return
        self._load(event.node, entry.node.path)

    def on_tree_node_selected(self, event: Tree.NodeSelected[CatalogEntry]) -> None:
        event.stop()
        entry = event.node.data
        if entry is None or entry.node is None:
            return
        if entry.node.browsable:
            if event.node.allow_expand and not event.node.is_expanded:
                event.node.expand()
            self.post_message(self.BrowseRequested(self, entry.node))
        elif event.node.allow_expand:
            event.node.toggle()

    # -- node actions ----------------------------------------------------------

    @property
    def cursor_entry(self) -> CatalogEntry | None:
        """The highlighted node's entry (None on a placeholder line)."""
        tree_node = self.cursor_node
        entry = tree_node.data if tree_node is not None else None
        return entry if entry is not None and entry.node is not None else None

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[CatalogEntry]) -> None:
        self.refresh_bindings()  # "a Actions" is dim on a node without any

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "node_actions":
            entry = self.cursor_entry
            return True if entry is not None and entry.actions else None
        return True

    def action_node_actions(self) -> None:
        entry = self.cursor_entry
        if entry is None or entry.node is None or not entry.actions:
            self.app.bell()
            return
        self.post_message(self.ActionsRequested(self, entry.node, entry.actions))

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_refresh_node(self) -> None:
        """List the selected node's children again (its parent's, for a leaf)."""
        tree_node = self.cursor_node
        if not self.loaded or tree_node is None:
            self.load_root()
            return
        while tree_node is not None and not tree_node.allow_expand and tree_node is not self.root:
            tree_node = tree_node.parent
        if tree_node is None or tree_node is self.root:
            self.reload()
            return
        entry = tree_node.data
        if entry is not None and entry.node is not None:
            self._reexpand |= {
                p
                for p, tn in self._by_path.items()
                if tn.is_expanded and p[: len(entry.node.path)] == entry.node.path
            }
            tree_node.expand()
            self._load(tree_node, entry.node.path)

    # -- labels ------------------------------------------------------------------

    def render_label(self, node: TreeNode[CatalogEntry], base_style: Style, style: Style) -> Text:
        # Labels are also measured before the stylesheet reaches the widget,
        # hence the defaults.
        meta = self.get_component_rich_style("catalog-tree--meta", partial=True, default=_PLAIN)
        entry = node.data
        if entry is None or entry.node is None:
            label = node._label.copy()
            label.stylize(style + meta)
            return Text.assemble("  ", label)
        n = entry.node
        glyph = self.get_component_rich_style("catalog-tree--glyph", partial=True, default=_PLAIN)
        if node.allow_expand:
            prefix = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        else:
            prefix = "  "
        parts: list[tuple[str, Style] | str] = [
            prefix,
            (GLYPHS.get(n.kind, "•") + " ", style + glyph),
            (entry.label, style),
        ]
        if n.estimate is not None:
            parts.append((f"  {compact_count(n.estimate)}", style + meta))
        if entry.detail:
            parts.append((f"  {entry.detail}", style + meta))
        return Text.assemble(*parts)
