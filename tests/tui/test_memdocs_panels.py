"""The panels on memdocs, the in-memory document store: a second store,
unlike PostgreSQL, with its own command language, nested documents,
step-by-step plans, its own index options, a plan without costs and an
Operations monitor with "kill op". Every panel reads what the backend
describes, so these pictures show memdocs' words, and any PostgreSQL or SQL
wording left in a panel shows up here.

Each store is a fresh copy of memdocs' default dataset (``shop/orders``:
1,100 orders with nested customers and items). SVG snapshots are taken at
80x24; each docstring says what the picture must show. Update them
(``--snapshot-update``) only after looking at the picture.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from storescope.backends import memdocs
from storescope.screens.explorer import Explorer
from storescope.tui.app import StorescopeApp
from storescope.tui.snapshot import drive
from storescope.tui.widgets.monitor.monitor_panel import MonitorPanel
from storescope.tui.widgets.query import query_results
from storescope.tui.widgets.query.query_panel import QueryPanel

from .conftest import explorer_of, open_table, run_app, screen_text

STORE = "panels"
URL = f"memdocs://{STORE}"
ORDERS = ("shop", "orders")
SIZE = (80, 24)
FIND_OPEN = 'find orders {"status": "open"}'

RunBefore = Callable[[Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def fresh_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[memdocs.MemStore]:
    """A fresh default store per test; fixed query times; a monitor that
    samples only when asked; history in a temporary directory."""
    store = memdocs.register_store(STORE, memdocs.default_store())
    monkeypatch.setattr(query_results, "elapsed_text", lambda seconds: "12 ms")
    monkeypatch.setattr(MonitorPanel, "POLL_INTERVAL", 3600.0)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    yield store


def _explorer(pilot: Pilot[Any]) -> Explorer:
    app = pilot.app
    assert isinstance(app, StorescopeApp)
    return explorer_of(app)


async def _orders(pilot: Pilot[Any]) -> Explorer:
    """orders open in the grid, which has the focus (once connected)."""
    app = pilot.app
    assert isinstance(app, StorescopeApp)
    await drive(pilot, ["wait"])
    return await open_table(app, pilot, ORDERS)


async def _query(pilot: Pilot[Any], text: str, *keys: str) -> QueryPanel:
    """The query panel (F3) holding ``text``, after ``keys``."""
    explorer = _explorer(pilot)
    await drive(pilot, ["f3"])
    panel = explorer.panels["query"]
    assert isinstance(panel, QueryPanel)
    panel.editor.cursor_blink = False
    panel.editor.load_text(text)
    panel.editor.move_cursor(panel.editor.document.end)
    await drive(pilot, list(keys))
    return panel


async def _monitor(pilot: Pilot[Any], samples: int) -> MonitorPanel:
    explorer = _explorer(pilot)
    await drive(pilot, ["f6"])
    panel = explorer.panels["monitor"]
    assert isinstance(panel, MonitorPanel)
    for _ in range(samples - 1):
        panel.sample_now()
        await drive(pilot, ["wait"])
    return panel


def orders_then(*keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _orders(pilot)
        await drive(pilot, list(keys))

    return run_before


def query_then(text: str, *keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _orders(pilot)
        await _query(pilot, text, *keys)

    return run_before


def monitor_then(samples: int, *keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _orders(pilot)
        await _monitor(pilot, samples)
        await drive(pilot, list(keys))

    return run_before


# A cell's edit: go to the end of "open", erase it, type "paid", stage it.
EDIT_STATUS = ["right", "e", "end", *["backspace"] * 4, "p", "a", "i", "d", "enter"]


# From the top of the catalog: expand shop and stop on orders.
CATALOG_ORDERS = ["down", "right", "down", "down", "down"]


def keys(*pressed: str) -> RunBefore:
    async def run_before(pilot: Pilot[Any]) -> None:
        await drive(pilot, ["wait", *pressed])

    return run_before


class TestMemDocsSnapshots:
    def test_catalog_actions_in_memdocs_words(self, snap_compare: Any) -> None:
        """`a` on the orders collection: a menu titled orders offering b
        Browse documents, f Find in query and i Indexes (memdocs' own
        names for its node actions)."""
        assert snap_compare(
            StorescopeApp([URL]), terminal_size=SIZE, run_before=keys(*CATALOG_ORDERS, "a")
        )

    def test_orders_grid(self, snap_compare: Any) -> None:
        """The catalog lists logs and shop; the grid shows orders with _id*
        as the key, status, and the nested customer document as one line of
        JSON; the status line says memdocs 0.1, shop/orders and est. 1,100."""
        assert snap_compare(StorescopeApp([URL]), terminal_size=SIZE, run_before=orders_then())

    def test_record_view_with_nested_fields(self, snap_compare: Any) -> None:
        """Enter on order 1: the record view lists _id (int, the key), status
        (string) and customer (object) pretty-printed over several lines
        with its nested address, titled shop/orders and _id=1."""
        assert snap_compare(
            StorescopeApp([URL]), terminal_size=SIZE, run_before=orders_then("enter")
        )

    def test_commit_review_says_step_by_step(self, snap_compare: Any) -> None:
        """Order 1's status edited to "paid" and ctrl+s: the review shows the
        memdocs command that will run (update orders {"_id": 1} {"$set":
        {"status": "paid"}}) with its count, and says the plan is NOT atomic
        (steps that ran stay applied)."""
        assert snap_compare(
            StorescopeApp([URL]),
            terminal_size=SIZE,
            run_before=orders_then(*EDIT_STATUS, "ctrl+s"),
        )

    def test_insert_form(self, snap_compare: Any) -> None:
        """`i` on orders: the insert form lists the collection's fields with
        memdocs' types (int, string, object, array, double, bool) and its
        codec's words: an empty field is "left out" (memdocs has no
        defaults) and ^n sets "null"."""
        assert snap_compare(StorescopeApp([URL]), terminal_size=SIZE, run_before=orders_then("i"))

    def test_query_result(self, snap_compare: Any) -> None:
        """F3 and F5 on `find orders {"status": "open"}`: the hint line names
        "memdocs commands", the result tab is "1 find", its status says
        "✓ found 275 documents · 12 ms" over the matching orders (_id 1, 5, 9...)."""
        assert snap_compare(
            StorescopeApp([URL]), terminal_size=SIZE, run_before=query_then(FIND_OPEN, "f5")
        )

    def test_index_panel(self, snap_compare: Any) -> None:
        """F4 on orders: _id_ (primary), status_1 and the unused compound
        customer.name_1_created_-1 flagged, with memdocs' own definition
        text ({"_id": 1} {"unique": true}) in the detail line."""
        assert snap_compare(StorescopeApp([URL]), terminal_size=SIZE, run_before=orders_then("f4"))

    def test_new_index_form(self, snap_compare: Any) -> None:
        """`n` in the index panel: the form in memdocs' words: Fields (with a
        direction after a field: "created -1"), Kind (ordered/hashed),
        unique and sparse, an expiry in seconds, and the name placeholder
        saying how memdocs names an index (status_1)."""
        assert snap_compare(
            StorescopeApp([URL]), terminal_size=SIZE, run_before=orders_then("f4", "n")
        )

    def test_monitor_operations_and_kill_op(self, snap_compare: Any) -> None:
        """F6 after 3 samples, then x: the Operations table's first row (101,
        find on shop.orders, 12 s) is asked about in a "Kill operation 101?"
        dialog quoting its command and its 12 s in shop.orders, with a "Kill
        op" button; the footer behind it offers x Kill op."""
        assert snap_compare(
            StorescopeApp([URL]), terminal_size=SIZE, run_before=monitor_then(3, "x")
        )


# -- behaviour ------------------------------------------------------------------


async def test_a_committed_edit_changes_the_document(fresh_store: memdocs.MemStore) -> None:
    async with run_app([URL], size=SIZE) as (app, pilot):
        await _orders(pilot)
        await drive(pilot, [*EDIT_STATUS, "ctrl+s"])
        assert "NOT atomic" in screen_text(app)
        await drive(pilot, ["enter"])
        order = fresh_store.collection(*ORDERS).get(1)
        assert order is not None and order["status"] == "paid"
        assert order["customer"]["address"]["city"] == "Lisbon", "the rest stays"


async def test_query_pages_past_the_first_result_page() -> None:
    """The query grid reaches the last of 275 matches by paging on (the
    first page holds 200: the rest comes from fetch)."""
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        await _query(pilot, FIND_OPEN, "f5", "ctrl+l")
        assert "found 275 documents" in screen_text(app)
        await drive(pilot, ["pagedown"] * 25)
        text = screen_text(app)
        assert "of 275" in text
        assert " 1097 " in text, "the last open order (_id 1097) is reached"


async def test_kill_op_removes_the_operation(fresh_store: memdocs.MemStore) -> None:
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        await _monitor(pilot, 1)
        await drive(pilot, ["x"])
        assert "Kill operation 101?" in screen_text(app)
        await drive(pilot, ["enter"])
        with fresh_store.lock:
            assert 101 not in fresh_store.operations
        assert 102 in fresh_store.operations
        # The status counts the monitor table's rows (operations here), not
        # the store's records: "rows", never "documents".
        window = explorer_of(app).query_one(MonitorPanel).status_window
        assert window == "2 rows", window


async def test_new_index_from_the_form_is_built(fresh_store: memdocs.MemStore) -> None:
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        await drive(pilot, ["f4", "n", *"total -1", "ctrl+s"])
        review = screen_text(app)
        assert 'createIndex orders {"total": -1}' in review
        # memdocs has no transactions: the review says what is true of its
        # index builds, not PostgreSQL's "in one transaction".
        assert "all or nothing: a failed change leaves nothing behind" in review
        assert "transaction" not in review and "rows unknown" not in review
        await drive(pilot, ["enter"])
        names = [i.name for i in fresh_store.collection(*ORDERS).indexes]
        assert "total_-1" in names
        assert "total_-1" in screen_text(app)


async def test_explain_shows_the_winning_plan_and_the_rejected_scan() -> None:
    """F7: a plan with no costs, "fetch the documents found" over "look up
    status_1" (the index on status won), memdocs' measures (docs and keys
    examined), and the collection scan it rejected (the finished tab's
    picture: test_explain_tab_once_the_plan_came)."""
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        await _query(pilot, FIND_OPEN, "f7")
        text = screen_text(app)
        assert "fetch the documents found" in text
        assert "look up status_1" in text
        assert "rejected" in text and "scan the whole collection orders" in text
        assert "docs examined 275" in text and "keys examined 275" in text
        assert "cost" not in text.replace("costliest", "")


async def test_find_in_query_writes_a_find_command() -> None:
    """The catalog action "Find in query" puts memdocs' own command for the
    collection in the query editor, and running it finds every order."""
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await drive(pilot, [*CATALOG_ORDERS, "a", "f"])
        panel = _explorer(pilot).panels["query"]
        assert isinstance(panel, QueryPanel)
        assert panel.editor.text.strip() == "find orders {}"
        await drive(pilot, ["f5"])
        assert "found 1100 documents" in screen_text(app)


def test_explain_tab_once_the_plan_came(snap_compare: Any) -> None:
    """F7 on `find orders {"status": "open"}`: the tab "1 find" is headed
    "Plan" (no "⏳ running" left above it), over memdocs' plan line (docs
    and keys examined 275, no costs), "fetch the documents found" marked
    costliest over "look up status_1", and the rejected collection scan."""
    assert snap_compare(
        StorescopeApp([URL]), terminal_size=SIZE, run_before=query_then(FIND_OPEN, "f7")
    )


async def test_memdocs_counts_documents_where_postgresql_counts_rows() -> None:
    """The grid's status, the insert form's title and fields, the commit
    review, the index list and the plan speak of documents, fields and
    null: no "row", "table", "not null" or "columns" left from PostgreSQL."""
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        text = screen_text(app)
        assert "documents 1–" in text and "of ≥ 200" in text and "rows" not in text
        await drive(pilot, ["i"])
        form = screen_text(app)
        assert "Insert a document into shop/orders" in form
        assert "_id int required key" in form and "set by the store" in form
        assert "not null" not in form and "generated" not in form
        await drive(pilot, ["escape", *EDIT_STATUS, "ctrl+s"])
        review = screen_text(app)
        assert "1 change · 1 document in all" in review and "→ 1 document" in review
        assert " row" not in review
        await drive(pilot, ["escape", "f4"])
        indexes = screen_text(app)
        assert " fields " in indexes and " columns " not in indexes
        assert "✕ invalid" not in indexes  # no memdocs index is ever invalid
        await _query(pilot, FIND_OPEN, "f7")
        plan = screen_text(app)
        assert "documents est 275" in plan and "rows est" not in plan


async def test_discarding_staged_edits_speaks_of_the_collection() -> None:
    async with run_app([URL], size=(100, 30)) as (app, pilot):
        await _orders(pilot)
        await drive(pilot, [*EDIT_STATUS, "ctrl+d"])
        text = screen_text(app)  # the dialog wraps its message after "The"
        assert "Discard them all? The" in text and "collection stays as it is." in text
        assert "table" not in text
