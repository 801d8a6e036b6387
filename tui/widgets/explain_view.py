"""ExplainView: a query plan (``Explained``) as a tree, worst node marked.

One line per plan node, as a reader of ``EXPLAIN ANALYZE`` scans it::

    Hash Join  cost 10.50..431.00  rows est 100 → actual 9,998 ×100  12.3 ms (self 2.1)

Actual rows and times appear only when the plan was executed (analyzed);
"×N loops" only when a node ran more than once (rows are per loop, times are
over all loops: see ``PlanNode``). The most expensive node (largest
``self_time_ms`` when analyzed, largest ``self_cost`` otherwise) carries
"◆ slowest" (or "◆ costliest") in the error colour and the path down to it is
expanded; the cursor starts on it, so its details (Filter, Index Cond,
Buffers...) are shown in the detail area below the tree. A row estimate off
by more than ``MISESTIMATE``x either way is shown in the warning colour with
the factor, since that is where the planner went wrong.

The tree is Textual's ``Tree``, which renders only the lines on screen: a
plan of a few hundred nodes is built in a few milliseconds. Up to
``EXPAND_ALL_UP_TO`` nodes everything starts expanded; a bigger plan starts
with only the path to the marked node open (``e`` expands all, ``c``
collapses back to that path, ``s`` jumps to the marked node).

Labels and details name tables, indexes and the query's own literals: they
are drawn through the one sanitizer (``tui.sanitize``), as ``Text``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, Tree

from storescope.tui.sanitize import sanitize

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.widgets.tree import TreeNode

    from storescope.backends.types import Explained, PlanNode

#: A row estimate this many times too high or too low is highlighted.
MISESTIMATE = 10.0
#: Plans with at most this many nodes start fully expanded.
EXPAND_ALL_UP_TO = 60

_PLAIN = Style()


def ms_text(value: float) -> str:
    """A duration in milliseconds, with the precision that matters."""
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.3f} ms"


def rows_text(value: float) -> str:
    """A row count: whole numbers with separators, fractions (per-loop
    averages PostgreSQL rounds) as they are."""
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}"


def cost_text(node: PlanNode) -> str:
    if node.total_cost is None:
        return ""
    startup = node.startup_cost if node.startup_cost is not None else 0.0
    return f"cost {startup:.2f}..{node.total_cost:.2f}"


def misestimate(node: PlanNode) -> float | None:
    """How far the row estimate was off (>= 1, either way), when known."""
    if node.est_rows is None or node.actual_rows is None or node.loops == 0:
        return None
    est, actual = max(node.est_rows, 1.0), max(node.actual_rows, 1.0)
    return max(est, actual) / min(est, actual)


def walk(node: PlanNode) -> list[PlanNode]:
    """Every node of a plan, root first (depth-first, children in order)."""
    out: list[PlanNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out


def most_expensive(explained: Explained) -> PlanNode | None:
    """The node to mark: largest self time when analyzed, else self cost;
    the first such node when several tie; None when nothing says."""
    best: PlanNode | None = None
    best_value = -1.0
    for node in walk(explained.root):
        value = node.self_time_ms if explained.analyzed else node.self_cost
        if value is not None and value > best_value:
            best, best_value = node, value
    return best


@dataclass(frozen=True, slots=True)
class PlanLine:
    """What a tree node holds: the plan node and what is remarkable about it."""

    node: PlanNode
    marked: bool = False
    #: The misestimate factor when it is over ``MISESTIMATE``, else None.
    off_by: float | None = None


class PlanTree(Tree[PlanLine]):
    """The plan nodes; labels are built from ``PlanLine`` when drawn."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "expand_everything", "Expand all", show=True),
        Binding("c", "collapse_to_marked", "Collapse", show=True),
        Binding("s", "cursor_to_marked", "Slowest", show=True),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "plan-tree--marked",
        "plan-tree--misestimate",
        "plan-tree--meta",
        "plan-tree--never",
    }

    DEFAULT_CSS: ClassVar[str] = """
    PlanTree {
        height: 1fr;
        & > .plan-tree--marked { color: $text-error; text-style: bold; }
        & > .plan-tree--misestimate { color: $text-warning; text-style: bold; }
        & > .plan-tree--meta { color: $text-muted; }
        & > .plan-tree--never { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self, explained: Explained, *, id: str | None = None) -> None:
        self.explained = explained
        self.marked = most_expensive(explained)
        super().__init__(Text(sanitize(explained.root.label)), self._line(explained.root), id=id)
        self.guide_depth = 2
        self.auto_expand = False
        #: The tree node of the marked plan node (None when nothing is marked).
        self.marked_node: TreeNode[PlanLine] | None = None
        self.node_count = 1
        self._fill(self.root, explained.root)
        self._open_initially()

    def _line(self, node: PlanNode) -> PlanLine:
        factor = misestimate(node)
        return PlanLine(
            node=node,
            marked=node is self.marked,
            off_by=factor if factor is not None and factor > MISESTIMATE else None,
        )

    def _fill(self, root: TreeNode[PlanLine], plan: PlanNode) -> None:
        if plan is self.marked:
            self.marked_node = root
        stack: list[tuple[TreeNode[PlanLine], PlanNode]] = [(root, plan)]
        while stack:
            parent, node = stack.pop()
            for child in node.children:
                branch = parent.add(
                    Text(sanitize(child.label)),
                    self._line(child),
                    allow_expand=bool(child.children),
                )
                self.node_count += 1
                if child is self.marked:
                    self.marked_node = branch
                if child.children:
                    stack.append((branch, child))

    def _open_initially(self) -> None:
        if self.node_count <= EXPAND_ALL_UP_TO:
            self.root.expand_all()
        else:
            self._open_marked_path()

    def _open_marked_path(self) -> None:
        self.root.expand()
        node = self.marked_node.parent if self.marked_node is not None else None
        while node is not None:
            node.expand()
            node = node.parent

    def on_mount(self) -> None:
        self.action_cursor_to_marked()

    def action_expand_everything(self) -> None:
        self.root.expand_all()

    def action_collapse_to_marked(self) -> None:
        self.root.collapse_all()
        self.action_cursor_to_marked()

    def action_cursor_to_marked(self) -> None:
        if self.marked_node is None:
            self.move_cursor(self.root)
            return
        self._open_marked_path()
        # Expanding rebuilds the tree's lines on the next refresh; the
        # marked node has its line only then.
        self.call_after_refresh(self.move_cursor, self.marked_node)

    # -- labels ------------------------------------------------------------------

    def render_label(self, node: TreeNode[PlanLine], base_style: Style, style: Style) -> Text:
        # Labels are measured before the stylesheet reaches the widget too,
        # hence the defaults.
        line = node.data
        if line is None:
            return super().render_label(node, base_style, style)
        if node.allow_expand:
            prefix = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        else:
            prefix = "  "
        parts: list[str | tuple[str, Style]] = [prefix]
        parts.extend(self.label_parts(line, style))
        return Text.assemble(*parts)

    def label_parts(self, line: PlanLine, style: Style) -> list[str | tuple[str, Style]]:
        """The line of a plan node after its expand icon (see module docstring)."""
        meta = style + self.get_component_rich_style(
            "plan-tree--meta", partial=True, default=_PLAIN
        )
        n = line.node
        parts: list[str | tuple[str, Style]] = []
        if line.marked:
            # The marker leads the line: a long line is cut at the right.
            marked = style + self.get_component_rich_style(
                "plan-tree--marked", partial=True, default=_PLAIN
            )
            word = "slowest" if self.explained.analyzed else "costliest"
            parts.append((f"◆ {word}  {sanitize(n.label)}", marked))
        else:
            parts.append((sanitize(n.label), style))
        cost = cost_text(n)
        if cost:
            parts.append((f"  {cost}", meta))
        if self.explained.analyzed and n.loops == 0:
            never = self.get_component_rich_style("plan-tree--never", partial=True, default=_PLAIN)
            parts.append(("  never executed", style + never))
            return parts
        if n.est_rows is not None or n.actual_rows is not None:
            rows = "  rows"
            if n.est_rows is not None:
                rows += f" est {rows_text(n.est_rows)}"
            if n.actual_rows is not None:
                rows += f" → actual {rows_text(n.actual_rows)}"
            if line.off_by is not None:
                warn = self.get_component_rich_style(
                    "plan-tree--misestimate", partial=True, default=_PLAIN
                )
                parts.append((rows, style + warn))
                parts.append((f" ×{line.off_by:,.0f} off", style + warn))
            else:
                parts.append((rows, style))
        if n.actual_time_ms is not None:
            time = f"  {ms_text(n.actual_time_ms)}"
            if n.children and n.self_time_ms is not None:
                time += f" (self {ms_text(n.self_time_ms)})"
            parts.append((time, style))
        if n.loops is not None and n.loops > 1:
            parts.append((f"  ×{n.loops:,} loops", meta))
        return parts


def node_details(node: PlanNode, *, analyzed: bool) -> list[tuple[str, str]]:
    """(name, value) lines for the detail area: the numbers, then the
    node's own details in the order the store gave them."""
    out: list[tuple[str, str]] = []
    if node.total_cost is not None:
        cost = cost_text(node).removeprefix("cost ")
        if node.self_cost is not None:
            cost += f"  (self {node.self_cost:.2f})"
        out.append(("Cost", cost))
    if node.est_rows is not None or node.actual_rows is not None:
        parts = []
        if node.est_rows is not None:
            parts.append(f"estimated {rows_text(node.est_rows)}")
        if node.actual_rows is not None:
            parts.append(f"actual {rows_text(node.actual_rows)}")
        factor = misestimate(node)
        if factor is not None and factor > MISESTIMATE:
            parts.append(f"off by ×{factor:,.0f}")
        if node.loops == 0:
            parts.append("never executed")
        elif node.loops is not None and node.loops != 1:
            parts.append(f"per loop, {node.loops:,} loops")
        out.append(("Rows", ", ".join(parts)))
    if analyzed and node.actual_time_ms is not None:
        time = ms_text(node.actual_time_ms)
        if node.self_time_ms is not None:
            time += f"  (self {ms_text(node.self_time_ms)})"
        out.append(("Time", time))
    # "never executed" is already said under Rows.
    out.extend(d for d in node.details if d[0] != "Never executed")
    return out


class ExplainView(Widget):
    """A header (planning/execution time), the plan tree, and the focused
    node's details. Construct with the ``Explained`` to show."""

    DEFAULT_CSS: ClassVar[str] = """
    ExplainView {
        height: 1fr;
        width: 1fr;
        layout: vertical;
        & > .explain-header {
            height: 1;
            padding: 0 1;
            background: $panel;
        }
        & > PlanTree {
            height: 1fr;
        }
        & > .explain-detail-box {
            height: auto;
            max-height: 40%;
            border-top: solid $panel-lighten-2;
            padding: 0 1;
        }
        & .explain-detail {
            height: auto;
        }
    }
    """

    def __init__(self, explained: Explained, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.explained = explained
        self.plan_tree = PlanTree(explained, id="plan-tree")
        self.header = Static(self.header_text(), classes="explain-header", markup=False)
        self.detail = Static("", classes="explain-detail", markup=False)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.plan_tree
        with VerticalScroll(classes="explain-detail-box"):
            yield self.detail

    def on_mount(self) -> None:
        self._show_details(self.plan_tree.marked_node or self.plan_tree.root)

    def focus(self, scroll_visible: bool = True) -> ExplainView:
        self.plan_tree.focus(scroll_visible)
        return self

    def header_text(self) -> Text:
        e = self.explained
        parts: list[str] = ["EXPLAIN ANALYZE" if e.analyzed else "EXPLAIN (estimates only)"]
        if e.planning_ms is not None:
            parts.append(f"planning {ms_text(e.planning_ms)}")
        if e.execution_ms is not None:
            parts.append(f"execution {ms_text(e.execution_ms)}")
        count = self.plan_tree.node_count
        parts.append(f"{count:,} node" if count == 1 else f"{count:,} nodes")
        marked = self.plan_tree.marked
        if marked is not None:
            if e.analyzed and marked.self_time_ms is not None:
                label = sanitize(marked.label)
                parts.append(f"◆ slowest: {label} ({ms_text(marked.self_time_ms)} self)")
            elif marked.self_cost is not None:
                label = sanitize(marked.label)
                parts.append(f"◆ costliest: {label} (cost {marked.self_cost:.2f} self)")
        return Text(" · ".join(parts), no_wrap=True, overflow="ellipsis")

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[PlanLine]) -> None:
        event.stop()
        self._show_details(event.node)

    def _show_details(self, node: TreeNode[PlanLine]) -> None:
        line = node.data
        if line is None:
            self.detail.update("")
            return
        text = Text(sanitize(line.node.label), style="bold")
        for name, value in node_details(line.node, analyzed=self.explained.analyzed):
            text.append(f"\n{sanitize(name)}: ", style="bold")
            text.append(sanitize(value))
        self.detail.update(text)
