"""ExplainView: a query plan (``Explained``) as a tree, worst node marked.

One line per plan node, as a reader of an executed plan scans it::

    Hash Join  cost 10.50..431.00  rows est 100 → actual 9,998 ×100  12.3 ms (self 2.1)

Every number is optional (a planner without costs leaves them out): actual
rows and times appear only when the plan was executed (analyzed); "×N loops"
only when a node ran more than once (rows are per loop, times are over all
loops: see ``PlanNode``); the store's own measures (``PlanNode.metrics``:
keys and documents examined, returned...) follow by their store's names.
The most expensive node, by whatever the store measures (largest
``self_time_ms`` when analyzed, else largest ``self_cost``, else most
examined), carries "◆ slowest" (time) or "◆ costliest" in the error colour
and the path down to it is expanded; the cursor starts on it, so its details
are shown in the detail area below the tree. A row estimate off by more than
``MISESTIMATE``x either way is shown in the warning colour with the factor,
since that is the planner's mistake.

Plans the planner considered and rejected (``Explained.rejected``) follow the
chosen plan as trees of their own, each led by "✕ rejected" and collapsed;
they are never marked. The header names the plan as the store does
(``Explained.heading``), else "Plan (executed)" or "Plan (estimates only)".

The tree is Textual's ``Tree``, which renders only the lines on screen: a
plan of a few hundred nodes is built in a few milliseconds. Up to
``EXPAND_ALL_UP_TO`` nodes everything starts expanded; a bigger plan starts
with only the path to the marked node open (``e`` expands all, ``c``
collapses back to that path, ``s`` jumps to the marked node).

Estimated and actual counts are said in the store's noun (``StoreWords``:
PostgreSQL's "rows est 100", memdocs' "documents est 100"), found through
the panel the view is in, or given.

Labels and details name tables, indexes and the query's own literals: they
are drawn through the one sanitizer (``tui.sanitize``), as ``Text``.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static, Tree

from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.store_words import NEUTRAL_WORDS, words_near

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import ComposeResult
    from textual.dom import DOMNode
    from textual.widgets.tree import TreeNode

    from storescope.backends.types import Explained, PlanNode, StoreWords

#: A row estimate this many times too high or too low is highlighted.
MISESTIMATE = 10.0
#: Plans with at most this many nodes start fully expanded.
EXPAND_ALL_UP_TO = 60

_PLAIN = Style()


def _words(node: DOMNode, given: StoreWords | None) -> StoreWords:
    """``given``, else the words of the panel ``node`` is in (neutral until
    it is attached)."""
    if given is not None:
        return given
    return words_near(node) if node.is_attached else NEUTRAL_WORDS


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
    averages a store rounds) as they are."""
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


class Measure(enum.Enum):
    """What the marked node was chosen by."""

    SELF_TIME = "self time"
    SELF_COST = "self cost"
    EXAMINED = "examined"


def _measures(explained: Explained) -> list[tuple[Measure, Callable[[PlanNode], float | None]]]:
    out: list[tuple[Measure, Callable[[PlanNode], float | None]]] = []
    if explained.analyzed:
        out.append((Measure.SELF_TIME, lambda n: n.self_time_ms))
    out.append((Measure.SELF_COST, lambda n: n.self_cost))
    out.append((Measure.EXAMINED, lambda n: n.examined))
    return out


def marking(explained: Explained) -> tuple[PlanNode | None, Measure | None]:
    """The node to mark and what it was chosen by: the first measure of
    self time (only when analyzed), self cost, examined that some node of
    the chosen plan has; the first node with its largest value. (None, None)
    when no node says anything."""
    nodes = walk(explained.root)
    for measure, value_of in _measures(explained):
        best: PlanNode | None = None
        best_value = -1.0
        for node in nodes:
            value = value_of(node)
            if value is not None and value > best_value:
                best, best_value = node, value
        if best is not None:
            return best, measure
    return None, None


def most_expensive(explained: Explained) -> PlanNode | None:
    """The node to mark (see ``marking``)."""
    return marking(explained)[0]


def metrics_text(node: PlanNode) -> str:
    """The node's own measures on one line: "keys examined 120 · returned 10"."""
    return " · ".join(f"{sanitize(m.name)} {rows_text(m.value)}" for m in node.metrics)


@dataclass(frozen=True, slots=True)
class PlanLine:
    """What a tree node holds: the plan node and what is remarkable about it."""

    node: PlanNode
    marked: bool = False
    #: The misestimate factor when it is over ``MISESTIMATE``, else None.
    off_by: float | None = None
    #: The top node of a rejected plan (its line says so).
    rejected: bool = False


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

    def __init__(
        self, explained: Explained, *, id: str | None = None, words: StoreWords | None = None
    ) -> None:
        self.explained = explained
        #: The store's nouns (None: the panel's, looked up once attached).
        self.words = words
        self.marked, self.measure = marking(explained)
        rejected = explained.rejected
        if rejected:
            # A hidden root holds the chosen plan and the rejected ones.
            super().__init__("plans", None, id=id)
            self.show_root = False
        else:
            super().__init__(
                Text(sanitize(explained.root.label)), self._line(explained.root), id=id
            )
        self.guide_depth = 2
        self.auto_expand = False
        # "s" goes to the marked node: name it as the marker does.
        if self.measure is not Measure.SELF_TIME:
            keys = self._bindings.key_to_bindings
            keys["s"] = [dataclasses.replace(b, description="Costliest") for b in keys["s"]]
        #: The tree node of the marked plan node (None when nothing is marked).
        self.marked_node: TreeNode[PlanLine] | None = None
        #: The tree node of the chosen plan's root.
        self.plan_root: TreeNode[PlanLine] = self.root
        #: The tree nodes of the rejected plans' roots.
        self.rejected_roots: list[TreeNode[PlanLine]] = []
        if rejected:
            self.plan_root = self.root.add(
                Text(sanitize(explained.root.label)),
                self._line(explained.root),
                allow_expand=bool(explained.root.children),
            )
        if explained.root is self.marked:
            self.marked_node = self.plan_root
        #: The nodes of the chosen plan (rejected plans not counted).
        self.node_count = 1
        self._fill(self.plan_root, explained.root)
        for plan in rejected:
            top = self.root.add(
                Text(sanitize(plan.label)),
                PlanLine(node=plan, rejected=True),
                allow_expand=bool(plan.children),
            )
            self.rejected_roots.append(top)
            self._fill(top, plan, count=False)
        self._open_initially()

    def _line(self, node: PlanNode) -> PlanLine:
        factor = misestimate(node)
        return PlanLine(
            node=node,
            marked=node is self.marked,
            off_by=factor if factor is not None and factor > MISESTIMATE else None,
        )

    def _fill(self, root: TreeNode[PlanLine], plan: PlanNode, *, count: bool = True) -> None:
        stack: list[tuple[TreeNode[PlanLine], PlanNode]] = [(root, plan)]
        while stack:
            parent, node = stack.pop()
            for child in node.children:
                branch = parent.add(
                    Text(sanitize(child.label)),
                    self._line(child),
                    allow_expand=bool(child.children),
                )
                self.node_count += count
                if count and child is self.marked:
                    self.marked_node = branch
                if child.children:
                    stack.append((branch, child))

    def _open_initially(self) -> None:
        self.root.expand()
        if self.node_count <= EXPAND_ALL_UP_TO:
            self.plan_root.expand_all()
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
        self.root.expand()  # hidden when plans were rejected: it must stay open
        self.action_cursor_to_marked()

    def action_cursor_to_marked(self) -> None:
        if self.marked_node is None:
            self.plan_root.expand()
            self.call_after_refresh(self.move_cursor, self.plan_root)
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
        if line.rejected:
            parts.append(("✕ rejected  ", meta))
        if line.marked:
            # The marker leads the line: a long line is cut at the right.
            marked = style + self.get_component_rich_style(
                "plan-tree--marked", partial=True, default=_PLAIN
            )
            word = "slowest" if self.measure is Measure.SELF_TIME else "costliest"
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
            if self.words is None and self.is_attached:
                self.words = words_near(self)
            rows = f"  {_words(self, self.words).records}"
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
        if n.metrics:
            parts.append((f"  {metrics_text(n)}", style))
        return parts


def node_details(
    node: PlanNode, *, analyzed: bool, words: StoreWords = NEUTRAL_WORDS
) -> list[tuple[str, str]]:
    """(name, value) lines for the detail area: the numbers (counts under
    the store's noun, ``words``), then the node's own details in the order
    the store gave them."""
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
        out.append((words.records.capitalize(), ", ".join(parts)))
    if analyzed and node.actual_time_ms is not None:
        time = ms_text(node.actual_time_ms)
        if node.self_time_ms is not None:
            time += f"  (self {ms_text(node.self_time_ms)})"
        out.append(("Time", time))
    out.extend((m.name, rows_text(m.value)) for m in node.metrics)
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

    def __init__(
        self, explained: Explained, *, id: str | None = None, words: StoreWords | None = None
    ) -> None:
        super().__init__(id=id)
        self.explained = explained
        self.plan_tree = PlanTree(explained, id="plan-tree", words=words)
        self.header = Static(self.header_text(), classes="explain-header", markup=False)
        self.detail = Static("", classes="explain-detail", markup=False)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.plan_tree
        with VerticalScroll(classes="explain-detail-box"):
            yield self.detail

    def on_mount(self) -> None:
        self._show_details(self.plan_tree.marked_node or self.plan_tree.plan_root)

    def focus(self, scroll_visible: bool = True) -> ExplainView:
        self.plan_tree.focus(scroll_visible)
        return self

    def header_text(self) -> Text:
        e = self.explained
        fallback = "Plan (executed)" if e.analyzed else "Plan (estimates only)"
        parts: list[str] = [sanitize(e.heading) if e.heading else fallback]
        if e.planning_ms is not None:
            parts.append(f"planning {ms_text(e.planning_ms)}")
        if e.execution_ms is not None:
            parts.append(f"execution {ms_text(e.execution_ms)}")
        if e.metrics:
            parts.append(" · ".join(f"{sanitize(m.name)} {rows_text(m.value)}" for m in e.metrics))
        count = self.plan_tree.node_count
        parts.append(f"{count:,} node" if count == 1 else f"{count:,} nodes")
        if e.rejected:
            n = len(e.rejected)
            parts.append(f"{n} rejected plan" + ("" if n == 1 else "s"))
        marked, measure = self.plan_tree.marked, self.plan_tree.measure
        if marked is not None:
            label = sanitize(marked.label)
            if measure is Measure.SELF_TIME and marked.self_time_ms is not None:
                parts.append(f"◆ slowest: {label} ({ms_text(marked.self_time_ms)} self)")
            elif measure is Measure.SELF_COST and marked.self_cost is not None:
                parts.append(f"◆ costliest: {label} (cost {marked.self_cost:.2f} self)")
            elif measure is Measure.EXAMINED and marked.examined is not None:
                parts.append(f"◆ costliest: {label} ({rows_text(marked.examined)} examined)")
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
        words = _words(self, self.plan_tree.words)
        for name, value in node_details(line.node, analyzed=self.explained.analyzed, words=words):
            text.append(f"\n{sanitize(name)}: ", style="bold")
            text.append(sanitize(value))
        self.detail.update(text)
