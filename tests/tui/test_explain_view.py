"""ExplainView on constructed plans (no server): which node it marks, what a
line says (estimated vs actual), the details of the focused node."""

from __future__ import annotations

import time
from typing import Any

from textual.app import App, ComposeResult

from storescope.backends.types import ROW_WORDS, Explained, PlanMeasure, PlanMetric, PlanNode
from storescope.tui.snapshot import drive, screen_text, wait_until_idle
from storescope.tui.widgets.explain.explain_view import ExplainView, PlanTree


def analyzed_plan() -> Explained:
    """A nested loop whose inner index scan, run 99,876 times, is the
    slowest node by self time, under a join that estimated 10 rows."""
    orders = PlanNode(
        "Seq Scan on orders o",
        0.0,
        2041.0,
        2041.0,
        100000,
        99876,
        1,
        31.2,
        31.2,
        details=(
            ("Filter", "(status = 'paid'::text)"),
            ("Rows Removed by Filter", "124"),
            ("Buffers", "shared hit=541"),
        ),
    )
    customers = PlanNode(
        "Index Scan using customers_pkey on customers c",
        0.29,
        0.31,
        0.31,
        1,
        1,
        99876,
        45.1,
        45.1,
        details=(("Index Cond", "(id = o.customer_id)"), ("Buffers", "shared hit=299628")),
    )
    loop = PlanNode(
        "Nested Loop", 0.29, 33000.0, 30958.69, 10, 99876, 1, 95.0, 18.7,
        children=(orders, customers),
    )  # fmt: skip
    refunds = PlanNode(
        "Seq Scan on refunds", 0.0, 10.0, 10.0, 100, None, 0, None, None,
        details=(("Never executed", "true"),),
    )  # fmt: skip
    root = PlanNode(
        "HashAggregate", 33100.0, 33200.0, 190.0, 200, 180, 1, 99.0, 4.0,
        details=(("Group Key", "c.country"), ("Batches", "1")),
        children=(loop, refunds),
    )  # fmt: skip
    return Explained(
        "SELECT ...",
        root,
        analyzed=True,
        planning_ms=0.213,
        execution_ms=99.41,
        heading="EXPLAIN ANALYZE",
    )


def estimated_plan() -> Explained:
    scan = PlanNode("Seq Scan on big", 0.0, 1500.0, 1500.0, 100000)
    index = PlanNode("Index Scan using small_pkey on small", 0.15, 8.17, 8.17, 1)
    join = PlanNode("Hash Join", 9.0, 1800.0, 291.83, 5000, children=(scan, index))
    return Explained("SELECT ...", join, heading="EXPLAIN (estimates only)")


def big_plan(leaves: int) -> Explained:
    """An Append over ``leaves`` scans; the 217th is the slowest."""
    scans = tuple(
        PlanNode(
            f"Seq Scan on part_{i}", 0.0, 10.0, 10.0, 100, 100, 1, 0.5, 5.0 if i == 217 else 0.5
        )
        for i in range(leaves)
    )
    root = PlanNode("Append", 0.0, 10.0 * leaves, 0.0, 100 * leaves, 100 * leaves, 1, 1.0, 0.1,
                    children=scans)  # fmt: skip
    return Explained("SELECT ...", root, analyzed=True, planning_ms=1.0, execution_ms=2.0)


class ExplainApp(App[None]):
    def __init__(self, explained: Explained) -> None:
        super().__init__()
        self.explained = explained

    def compose(self) -> ComposeResult:
        # PostgreSQL's plans, shown alone: in the app the query panel's
        # store supplies its words (rows), here they are given.
        yield ExplainView(self.explained, id="explain", words=ROW_WORDS)

    def on_mount(self) -> None:
        self.query_one(ExplainView).focus()


def _line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


async def test_an_analyzed_plan_marks_the_node_with_the_most_self_time_and_starts_on_it() -> None:
    app = ExplainApp(analyzed_plan())
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_until_idle(pilot)
        view = app.query_one(ExplainView)
        assert view.plan_tree.marked is not None
        assert view.plan_tree.marked.label.startswith("Index Scan using customers_pkey")
        text = screen_text(app)
        marked = _line(text, "customers_pkey on customers c  cost")
        assert "◆ slowest  Index Scan using customers_pkey" in marked
        assert "×99,876 loops" in marked
        assert "◆" not in _line(text, "Seq Scan on orders o")
        # The cursor starts on it: its details are below the tree.
        assert "Index Cond: (id = o.customer_id)" in text
        assert "Buffers: shared hit=299628" in text
        header = text.splitlines()[0]
        assert "EXPLAIN ANALYZE" in header
        assert "planning 0.213 ms" in header and "execution 99.4 ms" in header


async def test_lines_show_estimated_against_actual_rows_and_flag_a_tenfold_misestimate() -> None:
    app = ExplainApp(analyzed_plan())
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_until_idle(pilot)
        text = screen_text(app)
        join = _line(text, "Nested Loop")
        assert "cost 0.29..33000.00" in join
        assert "rows est 10 → actual 99,876 ×9,988 off" in join
        assert "95.0 ms (self 18.7 ms)" in join
        scan = _line(text, "Seq Scan on orders o")
        assert "rows est 100,000 → actual 99,876  31.2 ms" in scan
        assert "off" not in scan, "an estimate within 10x is not flagged"
        assert "never executed" in _line(text, "Seq Scan on refunds")


async def test_the_focused_nodes_details_follow_the_cursor() -> None:
    app = ExplainApp(analyzed_plan())
    async with app.run_test(size=(140, 30)) as pilot:
        await drive(pilot, ["up"])  # from the index scan up to the orders scan
        text = screen_text(app)
        assert "Filter: (status = 'paid'::text)" in text
        assert "Rows Removed by Filter: 124" in text
        assert "Rows: estimated 100,000, actual 99,876" in text
        assert "Time: 31.2 ms  (self 31.2 ms)" in text
        assert "Index Cond" not in text
        await drive(pilot, ["up"])
        text = screen_text(app)
        assert "Rows: estimated 10, actual 99,876, off by ×9,988" in text


async def test_a_plan_not_executed_marks_the_costliest_node_and_shows_estimates_only() -> None:
    app = ExplainApp(estimated_plan())
    async with app.run_test(size=(120, 20)) as pilot:
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "EXPLAIN (estimates only)" in text
        assert "◆ costliest  Seq Scan on big  cost 0.00..1500.00  rows est 100,000" in text
        assert "actual" not in _line(text, "Hash Join") and "ms" not in _line(text, "Hash Join")


async def test_a_plan_of_hundreds_of_nodes_opens_on_the_slowest_and_expands_on_request() -> None:
    started = time.perf_counter()
    app = ExplainApp(big_plan(400))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_idle(pilot)
        built = time.perf_counter() - started
        tree = app.query_one(PlanTree)
        assert tree.node_count == 401
        assert tree.cursor_node is tree.marked_node
        text = screen_text(app)
        assert "◆ slowest  Seq Scan on part_217" in text, "scrolled to the slowest"
        assert "401 nodes" in text
        await drive(pilot, ["c"])
        assert tree.root.is_expanded, "the path to the slowest stays open"
        await drive(pilot, ["home"])
        assert tree.cursor_node is tree.root
        await drive(pilot, ["space", "s"])  # collapse the root; s goes back to the slowest
        assert tree.root.is_expanded and tree.cursor_node is tree.marked_node
        assert built < 5, built


def test_nothing_is_marked_when_no_node_has_numbers() -> None:
    from storescope.tui.widgets.explain.explain_view import most_expensive

    plan: Any = Explained("x", PlanNode("Result"))
    assert most_expensive(plan) is None


async def test_a_one_node_plan_says_1_node() -> None:
    app = ExplainApp(Explained("SELECT 1", PlanNode("Result", 0.0, 0.01, 0.01, 1)))
    async with app.run_test(size=(100, 12)) as pilot:
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "1 node" in text and "1 nodes" not in text


def document_plan() -> Explained:
    """A planner without costs (a document store's): an index scan under a
    fetch, measured in keys and documents examined and returned, and the
    collection scan it rejected."""
    ixscan = PlanNode(
        "IXSCAN { status: 1 }",
        metrics=(
            PlanMetric(PlanMeasure.KEYS_EXAMINED, 500, "keys examined"),
            PlanMetric(PlanMeasure.RETURNED, 120, "returned"),
        ),
        details=(("indexName", "status_1"),),
    )
    fetch = PlanNode(
        "FETCH",
        metrics=(
            PlanMetric(PlanMeasure.EXAMINED, 120, "docs examined"),
            PlanMetric(PlanMeasure.RETURNED, 10, "returned"),
        ),
        details=(("filter", "{ total: { $gt: 100 } }"),),
        children=(ixscan,),
    )
    collscan = PlanNode(
        "COLLSCAN",
        metrics=(PlanMetric(PlanMeasure.EXAMINED, 5000, "docs examined"),),
    )
    return Explained(
        "db.orders.find({status: 'paid', total: {$gt: 100}})",
        fetch,
        analyzed=True,
        execution_ms=3.0,
        rejected=(collscan,),
        metrics=(PlanMetric(PlanMeasure.RETURNED, 10, "returned"),),
    )


async def test_a_plan_without_costs_marks_the_most_examined_node_and_lists_rejected_plans() -> None:
    app = ExplainApp(document_plan())
    async with app.run_test(size=(140, 20)) as pilot:
        await wait_until_idle(pilot)
        tree = app.query_one(PlanTree)
        assert tree.marked is not None and tree.marked.label == "IXSCAN { status: 1 }"
        assert tree.node_count == 2, "the rejected plan is not counted as a node"
        text = screen_text(app)
        header = text.splitlines()[0]
        assert header.startswith(" Plan (executed) · execution 3.000 ms · returned 10 · 2 nodes")
        assert "1 rejected plan · ◆ costliest: IXSCAN { status: 1 } (500 examined)" in header
        fetch = _line(text, "FETCH  docs")
        assert "FETCH  docs examined 120 · returned 10" in fetch
        assert "cost" not in fetch and "rows" not in fetch and "◆" not in fetch
        scan = _line(text, "IXSCAN { status: 1 }  ")
        assert "◆ costliest  IXSCAN { status: 1 }  keys examined 500 · returned 120" in scan
        rejected = _line(text, "COLLSCAN")
        assert "✕ rejected  COLLSCAN  docs examined 5,000" in rejected
        assert "◆" not in rejected, "a rejected plan is never the marked node"
        # The cursor starts on the marked node: its measures are in the details.
        assert "keys examined: 500" in text and "indexName: status_1" in text
        await drive(pilot, ["up"])
        text = screen_text(app)
        assert "docs examined: 120" in text and "filter: { total: { $gt: 100 } }" in text
        await drive(pilot, ["down", "down"])
        assert "docs examined: 5,000" in screen_text(app), "a rejected plan's details"
        await drive(pilot, ["c", "home"])
        assert tree.cursor_node is tree.plan_root, "collapsing keeps the plans' list open"
        await drive(pilot, ["s"])
        assert tree.cursor_node is tree.marked_node


async def test_a_plan_without_a_heading_is_named_by_the_view() -> None:
    app = ExplainApp(Explained("x", PlanNode("Scan", 0.0, 1.0, 1.0, 1)))
    async with app.run_test(size=(100, 12)) as pilot:
        await wait_until_idle(pilot)
        assert screen_text(app).splitlines()[0].startswith(" Plan (estimates only) · 1 node")


async def test_the_key_to_the_marked_node_is_named_as_its_marker() -> None:
    """ "s" jumps to the marked node: "Slowest" when the plan ran (marked by
    time), "Costliest" when it was only estimated or counted."""

    def label(app: App[None]) -> str:
        return next(
            b.binding.description
            for b in app.screen.active_bindings.values()
            if b.binding.action == "cursor_to_marked"
        )

    for plan, word in ((analyzed_plan(), "Slowest"), (estimated_plan(), "Costliest")):
        app = ExplainApp(plan)
        async with app.run_test(size=(120, 20)) as pilot:
            await wait_until_idle(pilot)
            assert label(app) == word
