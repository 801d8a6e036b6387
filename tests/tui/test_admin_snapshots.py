"""SVG snapshots of the index panel and the explain view, fed constructed
``IndexInfo`` lists and ``Explained`` plans (sizes, scans and timings from a
live server would change between runs).

Each test's docstring says what the picture must show. Update a snapshot
(``--snapshot-update``) only after looking at the new picture.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from storescope.backends.base import Capability
from storescope.backends.postgres.indexes import INDEX_OPTIONS
from storescope.backends.types import ROW_WORDS, IndexInfo
from storescope.tui.session import Session
from storescope.tui.snapshot import wait_until_idle
from storescope.tui.widgets.explain.explain_view import ExplainView
from storescope.tui.widgets.indexes.index_panel import IndexPanel
from storescope.tui.widgets.panel import Panel, PanelContext

from .test_explain_view import analyzed_plan

PATH = ("shop", "public", "orders")
COLUMNS = ["id", "customer_id", "status", "total", "created_at"]
INDEXES = [
    IndexInfo(
        "orders_created_idx", "created_at", method="btree", size_bytes=2_760_704, scans=0,
        definition="CREATE INDEX orders_created_idx ON public.orders USING btree (created_at)",
        flags=("unused",),
    ),
    IndexInfo(
        "orders_customer_id_idx", "customer_id", method="btree", size_bytes=1_089_536,
        scans=48_211,
        definition="CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)",
    ),
    IndexInfo(
        "orders_customer_idx", "customer_id", method="btree", size_bytes=1_089_536, scans=12,
        definition="CREATE INDEX orders_customer_idx ON public.orders USING btree (customer_id)",
        flags=("duplicate of orders_customer_id_idx",),
    ),
    IndexInfo(
        "orders_pkey", "id", unique=True, primary=True, method="btree", size_bytes=2_711_552,
        scans=903_114,
        definition="CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
    ),
    IndexInfo(
        "orders_status_uniq", "status", unique=True, method="btree", size_bytes=16_384, scans=0,
        valid=False,
        definition="CREATE UNIQUE INDEX orders_status_uniq ON public.orders USING btree (status)",
        flags=("invalid",),
    ),
]  # fmt: skip


class PanelApp(App[None]):
    """The index panel alone, on a session it never calls (nothing is shown
    until the test feeds it)."""

    def __init__(self) -> None:
        super().__init__()
        self.session = Session("fake://unused")

    def compose(self) -> ComposeResult:
        context = PanelContext(
            session=self.session,
            capabilities=Capability.INDEXES | Capability.RECORDS,
            read_only=False,
            path=lambda: PATH,
            describe=lambda error: ("Error", str(error)),
            status_changed=self._status_changed,
        )
        yield IndexPanel(context, id="panel-indexes")

    def _status_changed(self, panel: Panel) -> None:
        return


async def _fed(pilot: Pilot[Any], *, form: bool) -> None:
    panel = pilot.app.query_one(IndexPanel)
    panel.post_message(IndexPanel.IndexesLoaded(PATH, INDEXES))
    await wait_until_idle(pilot)
    panel.table.focus()
    if form:
        panel.post_message(IndexPanel.FormFactsLoaded(PATH, COLUMNS, INDEX_OPTIONS))
        await wait_until_idle(pilot)
        await pilot.press(*"customer_id, lower(status)")
    else:
        await pilot.press("down", "down")  # onto the duplicate
    await wait_until_idle(pilot)


class TestIndexPanel:
    def test_indexes_with_flags(self, snap_compare: Any) -> None:
        """The title "Indexes of orders · 5 indexes, 3 flagged"; one row per
        index with a mark column: ✕ and the error colour on
        orders_status_uniq (invalid, valid "NO"), ⚠ and the warning colour on
        orders_created_idx (unused) and orders_customer_idx (duplicate of
        orders_customer_id_idx), which has the cursor; orders_pkey says
        primary; flags in one word; sizes read 2.6 MB, 1 MB, 16 kB, and every
        column up to "valid" fits. Below: the duplicate's
        CREATE INDEX definition, "btree · 1 MB · 12 scans", a ⚠ line saying
        what the duplicate flag means; the one-line legend at the bottom."""

        async def run_before(pilot: Pilot[Any]) -> None:
            await _fed(pilot, form=False)

        assert snap_compare(PanelApp(), terminal_size=(100, 30), run_before=run_before)

    def test_create_form(self, snap_compare: Any) -> None:
        """The new index form in place of the list, offering what PostgreSQL's
        ``INDEX_OPTIONS`` describe in its words: "New index on orders",
        Columns holding "customer_id, lower(status)" with the table's
        columns listed below it, Method btree, unique unticked and
        concurrently ticked, empty Where and Name with their placeholders,
        and the hint line "⏎ review the plan · Esc cancel · → takes a column"."""

        async def run_before(pilot: Pilot[Any]) -> None:
            await _fed(pilot, form=True)

        assert snap_compare(PanelApp(), terminal_size=(100, 30), run_before=run_before)


class ExplainApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ExplainView(analyzed_plan(), id="explain", words=ROW_WORDS)  # PostgreSQL's plan

    def on_mount(self) -> None:
        self.query_one(ExplainView).focus()


class TestExplainView:
    def test_analyzed_plan_tree(self, snap_compare: Any) -> None:
        """Header "EXPLAIN ANALYZE · planning 0.213 ms · execution 99.4 ms ·
        5 nodes · ◆ slowest: Index Scan using customers_pkey…"; the tree fully
        expanded with guides; the index scan line in the error colour led by
        "◆ slowest" and ending "×99,876 loops", with the cursor on it; the
        Nested Loop's "rows est 10 → actual 99,876 ×9,988 off" in the warning
        colour; "never executed" dim on the refunds scan. Below the tree, the
        index scan's Cost, Rows, Time, Index Cond and Buffers."""
        assert snap_compare(ExplainApp(), terminal_size=(100, 30))
