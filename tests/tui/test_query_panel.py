"""Pilot tests of the query panel (F3) on the real sandbox PostgreSQL: what a
user sees when running statements, paging results, cancelling, failing,
confirming, using transactions, history, files, formatting and completion."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, TabPane

import storescope.backends
from storescope.backends import sandbox
from storescope.backends.base import Backend, Capability
from storescope.backends.fake import FakeBackend
from storescope.backends.language import ExplainWords, QueryLanguage, TransactionWords
from storescope.backends.types import TransactionState
from storescope.screens.dialogs import ConfirmScreen, TextPromptScreen
from storescope.screens.help import HelpScreen
from storescope.tui.app import StorescopeApp
from storescope.tui.widgets.query.query_history import History
from storescope.tui.widgets.query.query_panel import QueryPanel
from storescope.tui.widgets.query.query_transactions import LeaveTransactionScreen
from tests.pg_helpers import execute as _execute

from .conftest import drive, explorer_of, run_app, screen_text, wait_until_idle

DB = "querypaneltest"


@pytest.fixture(scope="module")
def db_url(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of its own: ``items`` (3 rows), ``big`` (100k rows),
    ``victims`` for destructive statements, ``ledger`` and ``customers`` for
    transactions, ``orders.customer_id`` next to ``customers`` for completion."""
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    url = pg_server.url.rsplit("/", 1)[0] + f"/{DB}"
    _execute(
        url,
        "CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL, price numeric)",
        "INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 2.25), (3, 'plum', 0.75)",
        "CREATE TABLE big (id integer PRIMARY KEY, payload text)",
        "INSERT INTO big SELECT i, 'payload ' || i FROM generate_series(1, 100000) AS i",
        "CREATE TABLE victims (id integer PRIMARY KEY)",
        "INSERT INTO victims SELECT generate_series(1, 5)",
        "CREATE TABLE ledger (id serial PRIMARY KEY, amount integer)",
        "CREATE TABLE warehouse_stock (sku text PRIMARY KEY, quantity_on_hand integer)",
        "CREATE TABLE customers (id integer PRIMARY KEY, city text)",
        "INSERT INTO customers VALUES (1, 'Oslo'), (2, 'Lima'), (3, 'Pune')",
        "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer)",
        "ANALYZE",
    )
    yield url
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


@pytest.fixture(autouse=True)
def _history_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


async def open_query(app: StorescopeApp, pilot: Pilot[None]) -> QueryPanel:
    explorer = explorer_of(app)
    panel = explorer.show_panel("query")
    assert isinstance(panel, QueryPanel)
    await wait_until_idle(pilot)
    assert panel.editor.has_focus
    return panel


async def run_text(pilot: Pilot[None], panel: QueryPanel, text: str, key: str = "f5") -> None:
    panel.editor.load_text(text)
    panel.editor.move_cursor(panel.editor.document.end)
    await drive(pilot, [key])


async def test_running_a_statement_shows_its_rows_in_a_result_tab(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT id, label FROM items ORDER BY id;")
        text = screen_text(app)
        assert "apple" in text and "pear" in text and "plum" in text
        assert "✓ SELECT 3" in text
        assert "rows 1–3 of 3" in text, text  # the status line counts the result rows
        assert explorer_of(app).status.mode == "autocommit"


async def test_run_all_gives_each_statement_its_own_tab(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(
            pilot,
            panel,
            "SELECT 1 AS one;\nSELECT 'two' AS two;\nSELECT label FROM items WHERE id = 3;",
            key="f8",
        )
        assert len(panel.states) == 3
        assert panel.results.active == "result-3", "the newest result is selected"
        assert "plum" in screen_text(app)


async def test_a_result_filled_while_its_tab_was_hidden_counts_its_rows_when_shown(
    db_url: str,
) -> None:
    """Run all fills the older tabs while they are hidden; showing one says
    which of its rows are on screen, not "rows 1–1"."""
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT * FROM big ORDER BY id;\nSELECT 1 AS one;", key="f8")
        assert panel.results.active == "result-2"
        await drive(pilot, ["ctrl+l", "ctrl+pageup"])
        await wait_until_idle(pilot)
        assert panel.results.active == "result-1"
        window = explorer_of(app).status.window
        assert window.startswith("rows 1–") and not window.startswith("rows 1–1 "), window


async def test_scrolling_a_big_result_fetches_more_pages_and_stays_bounded(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT * FROM big ORDER BY id")
        view = panel.views[1]
        grid = view.grid
        assert grid.row_count == 200 and not grid.complete
        assert "rows 1–" in explorer_of(app).status.window and "of ≥ 200" in (
            explorer_of(app).status.window
        )
        await drive(pilot, ["ctrl+l"])
        assert grid.has_focus
        for _ in range(40):
            await pilot.press("ctrl+end")  # to the last loaded row: the next page is asked for
            await wait_until_idle(pilot)
        assert grid.row_count > 5000
        assert grid.row(grid.cursor_row) == (grid.cursor_row + 1, f"payload {grid.cursor_row + 1}")
        assert len(grid.cached_pages) <= grid.max_pages, "far pages are evicted"
        await drive(pilot, ["ctrl+home"])
        assert grid.row(0) == (1, "payload 1"), "page 0 comes back from the kept first page"


async def test_cancel_stops_a_long_statement_within_a_second(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.editor.load_text("SELECT pg_sleep(30);")
        await pilot.press("f5")
        for _ in range(50):
            await pilot.pause(0.05)
            if panel.running and panel.runner.number is not None:
                break
        await pilot.pause(0.3)
        assert panel.running
        assert "running" in screen_text(app)
        started = time.monotonic()
        await pilot.press("escape")
        while panel.running and time.monotonic() - started < 5:
            await pilot.pause(0.02)
        assert time.monotonic() - started < 1.0
        await wait_until_idle(pilot)
        text = screen_text(app)
        assert "Cancelled" in text
        # The session is usable again at once.
        await run_text(pilot, panel, "SELECT 'after cancel' AS x")
        assert "after cancel" in screen_text(app)


async def test_a_syntax_error_shows_the_message_and_selects_the_position(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT 1;\nSELECT id FRM items;", key="f8")
        text = screen_text(app)
        assert 'syntax error at or near "items"' in text
        assert explorer_of(app).state == "connected", "a syntax error is no connection problem"
        editor = panel.editor
        assert editor.selected_text == "items"
        assert editor.cursor_location[0] == 1


async def test_a_destructive_statement_asks_and_escape_leaves_the_table(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "DELETE FROM victims")
        assert "destructive" in screen_text(app)
        await drive(pilot, ["escape"])
        assert _execute(db_url, "SELECT count(*) FROM victims") == [[(5,)]]
        assert "Not run" in screen_text(app)
        assert not panel.running


async def test_manual_transaction_mode_rolls_back_an_insert(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        explorer = explorer_of(app)
        assert explorer.status.mode == "autocommit"
        await drive(pilot, ["ctrl+t"])
        await run_text(pilot, panel, "INSERT INTO ledger (amount) VALUES (42)")
        assert explorer.status.mode == "BEGIN · in transaction"
        assert "1 row affected" in screen_text(app)
        assert _execute(db_url, "SELECT count(*) FROM ledger") == [[(0,)]], "not committed"
        await run_text(pilot, panel, "SELECT nonsense_column FROM ledger")
        assert explorer.status.mode == "transaction failed · ROLLBACK"
        await run_text(pilot, panel, "ROLLBACK")
        assert explorer.status.mode == "manual · next statement begins"
        assert _execute(db_url, "SELECT count(*) FROM ledger") == [[(0,)]]


async def test_history_persists_across_runs_and_search_finds_old_statements(
    db_url: str,
) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT 'remember the walrus' AS w")
        await run_text(pilot, panel, "SELECT 2")
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await drive(pilot, ["ctrl+g", *"walrus"])
        assert "remember the walrus" in screen_text(app)
        await drive(pilot, ["enter"])
        assert panel.editor.text == "SELECT 'remember the walrus' AS w"
        assert panel.editor.has_focus


async def test_open_and_save_sql_files(db_url: str, tmp_path: Path) -> None:
    source = tmp_path / "report.sql"
    source.write_text("SELECT label FROM items WHERE id = 2;\n")
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.editor.load_text("unsaved work")
        panel.open_file(str(tmp_path / "missing.sql"))
        await wait_until_idle(pilot)
        assert "Could not open" in screen_text(app)
        assert panel.editor.text == "unsaved work", "a failed open keeps the text"
        await drive(pilot, ["ctrl+o"])
        app.screen.query_one("Input").value = str(source)  # type: ignore[attr-defined]
        await drive(pilot, ["enter"])
        assert panel.editor.text == "SELECT label FROM items WHERE id = 2;\n"
        await drive(pilot, ["f5"])
        assert "pear" in screen_text(app)
        target = tmp_path / "out.sql"
        panel.editor.load_text("SELECT 42;")
        panel.save_file(str(target))
        assert target.read_text() == "SELECT 42;"
        panel.save_file(str(tmp_path / "no" / "such" / "dir.sql"))
        await wait_until_idle(pilot)
        assert "Could not save" in screen_text(app)


async def test_format_reindents_and_undo_restores(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.editor.load_text("select id, label from items where id = 1")
        await drive(pilot, ["ctrl+f"])
        assert panel.editor.text == "SELECT id,\n       label\nFROM items\nWHERE id = 1"
        await drive(pilot, ["ctrl+z"])
        assert panel.editor.text == "select id, label from items where id = 1"


async def test_completion_offers_a_table_and_then_its_columns(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        assert panel.editor.index is not None, "names are loaded when the panel is shown"
        panel.editor.insert("SELECT * FROM ware")  # typing each key is slow in a pilot
        await drive(pilot, ["h"])
        assert panel.popup.display
        assert "warehouse_stock" in screen_text(app)
        await drive(pilot, ["tab"])
        assert panel.editor.text == "SELECT * FROM warehouse_stock"
        panel.editor.insert(" WHERE warehouse_stock.qua")
        await drive(pilot, ["n"])
        assert panel.popup.display and panel.popup.chosen == "quantity_on_hand"
        await drive(pilot, ["enter"])
        assert panel.editor.text.endswith("warehouse_stock.quantity_on_hand")
        await drive(pilot, [*" is", "escape"])
        assert not panel.popup.display


async def test_explain_shows_the_plan_and_analyze_of_a_write_asks_first(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT * FROM items WHERE price > 1", key="f7")
        assert "Seq Scan on items" in screen_text(app)
        await run_text(pilot, panel, "DELETE FROM victims WHERE id = 1", key="shift+f7")
        assert "it will be rolled back" in screen_text(app)
        await drive(pilot, ["escape"])
        assert "Not run" in screen_text(app)
        await run_text(pilot, panel, "DELETE FROM victims WHERE id = 1", key="shift+f7")
        await drive(pilot, ["enter"])  # confirm
        assert "Delete on victims" in screen_text(app), "the analyzed plan is shown"
        assert _execute(db_url, "SELECT count(*) FROM victims") == [[(5,)]], "rolled back"


async def test_a_read_only_connection_refuses_a_write_in_its_tab(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40), read_only=True) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "INSERT INTO ledger (amount) VALUES (1)")
        text = screen_text(app)
        assert "✗ Read-only connection" in text
        assert _execute(db_url, "SELECT count(*) FROM ledger") == [[(0,)]]
        await run_text(pilot, panel, "SELECT label FROM items WHERE id = 1")
        assert "apple" in screen_text(app), "reading still works"


async def test_closing_a_tab_releases_its_result_and_tabs_are_capped(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.max_tabs = 3  # type: ignore[misc]
        await run_text(pilot, panel, ";".join(f"SELECT {i} AS n" for i in range(5)), key="f8")
        assert sorted(panel.states) == [3, 4, 5], "the oldest tabs were closed"
        await run_text(pilot, panel, "SELECT * FROM big")
        newest = max(panel.states)
        assert panel.states[newest].handle is not None, "a big result keeps a cursor"
        assert len(panel.results.query(TabPane)) == 3, "no more tabs than max_tabs"
        panel.editor.load_text("SELECT many words")
        panel.editor.move_cursor(panel.editor.document.end)
        await drive(pilot, ["ctrl+w"])
        assert panel.editor.text == "SELECT many ", "in the editor ctrl+w deletes a word"
        assert newest in panel.states
        await drive(pilot, ["ctrl+l", "ctrl+w"])
        assert newest not in panel.states
        assert panel.results.active == f"result-{newest - 1}"


async def test_an_idle_result_is_released_and_pages_again_later(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.release_after = 0.2  # type: ignore[misc]
        await run_text(pilot, panel, "SELECT * FROM big ORDER BY id")
        state = panel.states[1]
        await pilot.pause(0.5)
        await wait_until_idle(pilot)
        assert state.released
        await drive(pilot, ["ctrl+l", *["pagedown"] * 8])
        grid = panel.views[1].grid
        assert grid.row_count > 200, "paging after the release re-runs the statement"
        assert grid.row(250) == (251, "payload 251")


async def test_open_in_query_selects_from_the_table_opened_in_the_catalog(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        explorer = explorer_of(app)
        explorer.open_path((DB, "public", "items"))
        await wait_until_idle(pilot)
        panel = await open_query(app, pilot)
        await drive(pilot, ["ctrl+b", "f5"])
        assert panel.editor.text == "SELECT * FROM public.items;"
        assert "pear" in screen_text(app)


async def _pid_of(pilot: Pilot[None], panel: QueryPanel) -> int:
    await run_text(pilot, panel, "SELECT pg_backend_pid() AS pid")
    row = panel.views[max(panel.views)].grid.row(0)
    assert row is not None
    pid = row[0]
    assert isinstance(pid, int)
    return pid


async def test_reconnect_keeps_an_open_transaction_and_a_lost_one_is_said(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        explorer = explorer_of(app)
        await drive(pilot, ["ctrl+t"])
        await run_text(pilot, panel, "update customers set city='Txn2' where id=3;")
        assert explorer.status.mode == "BEGIN · in transaction"
        assert panel.unsaved_work() == "an open transaction", "quitting would ask"
        await drive(pilot, ["ctrl+r"])
        await wait_until_idle(pilot)
        assert explorer.status.mode == "BEGIN · in transaction", "ctrl+r leaves it open"
        await run_text(pilot, panel, "SELECT city FROM customers WHERE id = 3")
        assert "Txn2" in screen_text(app), "the update is still there"
        assert _execute(db_url, "SELECT city FROM customers WHERE id = 3") == [[("Pune",)]]
        # The server ends the query connection: the transaction is gone, and said so.
        pid = await _pid_of(pilot, panel)
        _execute(db_url, f"SELECT pg_terminate_backend({pid})")
        await run_text(pilot, panel, "SELECT 'after the loss' AS x")
        text = screen_text(app)
        assert "Transaction lost" in text, text
        assert panel.unsaved_work() is None
        assert explorer.status.mode == "manual · next statement begins", "still manual"
        await drive(pilot, ["ctrl+r"])
        await wait_until_idle(pilot)
        await run_text(pilot, panel, "SELECT city FROM customers WHERE id = 3")
        assert "Pune" in screen_text(app)
        assert explorer.status.mode == "BEGIN · in transaction"
        assert await _pid_of(pilot, panel) != pid


async def test_saving_over_another_existing_file_asks_first(db_url: str, tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.sql", tmp_path / "other.sql"
    other.write_text("SELECT 'keep me';")
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.editor.load_text("SELECT 1;")
        panel.save_file(str(mine))
        assert mine.read_text() == "SELECT 1;" and panel.unsaved_work() is None
        panel.editor.move_cursor(panel.editor.document.end)
        await drive(pilot, [*" -- more"])
        assert panel.unsaved_work() == "unsaved changes to mine.sql"
        panel.save_file(str(mine))  # its own file: no question
        await wait_until_idle(pilot)
        assert mine.read_text() == "SELECT 1; -- more" and panel.unsaved_work() is None
        panel.save_file(str(other))
        await wait_until_idle(pilot)
        assert "Overwrite" in screen_text(app)
        await drive(pilot, ["escape"])
        assert other.read_text() == "SELECT 'keep me';"
        panel.save_file(str(other))
        await wait_until_idle(pilot)
        await drive(pilot, ["enter"])
        assert other.read_text() == "SELECT 1; -- more"


async def test_at_80_columns_the_hints_fit_and_keys_read_alike(db_url: str) -> None:
    async with run_app([db_url], size=(80, 24)) as (app, pilot):
        panel = await open_query(app, pilot)
        hint = panel.info.text
        assert hint.startswith("SQL · ^t transaction") and hint.endswith("^l results"), hint
        assert len(hint) <= panel.info.content_size.width
        text = screen_text(app)
        assert "f5 Run" in text and "^g History" in text, "as ? writes them"
        labels = {b.action: b.description for b in panel.key_bindings()}
        assert labels["open_file"] == "Open .sql" and labels["save_file"] == "Save .sql"
        assert labels["format"] == "Format SQL"
        assert labels["open_in_query"] == "SELECT current table"
        assert labels["explain(True)"] == "Explain analyze"
        assert labels["transaction"] == "Transaction mode"


async def test_select_all_buffer_ends_and_completion_by_context(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        editor = panel.editor
        editor.load_text("SELECT 1;\nSELECT 2;\nSELECT 3;")
        editor.move_cursor((1, 3))
        await drive(pilot, ["ctrl+a"])
        assert editor.selected_text == editor.text
        await drive(pilot, ["ctrl+home"])
        assert editor.cursor_location == (0, 0)
        await drive(pilot, ["ctrl+end"])
        assert editor.cursor_location == (2, 9)
        await drive(pilot, ["home"])
        assert editor.cursor_location == (2, 0)
        # Completion ranks tables after FROM, columns after SELECT.
        for text, first in (("SELECT * FROM cus", "customers"), ("SELECT cus", "customer_id")):
            await drive(pilot, ["ctrl+a", "delete"])
            editor.insert(text)
            await drive(pilot, ["t"])
            assert panel.popup.display and panel.popup.chosen == first, text
            await drive(pilot, ["escape"])
        await drive(pilot, ["f6"])
        assert explorer_of(app).active_panel == "monitor", "F6 still shows the monitor"


async def test_read_only_run_and_explain_of_the_probe_attack_write_nothing(db_url: str) -> None:
    """Issue 8's nested-comment attack, with F5, F8 and F7 on a read-only
    connection: refused, nothing written; the status line says read-only is
    storescope's guard (the sandbox login is a superuser)."""
    attack = (
        "NOTIFY x /* /* */ ' */ ; COMMIT; BEGIN READ WRITE; "
        "INSERT INTO ledger (amount) VALUES (9); COMMIT; /* ' */"
    )
    async with run_app([db_url], size=(120, 40), read_only=True) as (app, pilot):
        panel = await open_query(app, pilot)
        assert "read-only (app guard; role can write)" in screen_text(app).splitlines()[-2]
        for key in ("f5", "f8", "f7", "shift+f7"):
            await run_text(pilot, panel, attack, key=key)
            await drive(pilot, ["escape"])  # a question or an error, whichever came
            assert _execute(db_url, "SELECT count(*) FROM ledger WHERE amount = 9") == [[(0,)]]
        await run_text(pilot, panel, "SELECT label FROM items WHERE id = 1")
        assert "apple" in screen_text(app), "reading still works"


# -- a store with a language of its own ---------------------------------------------------

#: A made-up language: no formatter, no "open in query", an explain without a
#: measured variant, and (by default) no words for transactions.
DOCQL = QueryLanguage(name="DocQL", extension=".dq", explain=ExplainWords(label="Show plan"))


class DocStore(FakeBackend):
    """The fake speaking DocQL, with a transaction the language has no words for."""

    language: ClassVar[QueryLanguage] = DOCQL

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.capabilities = self.capabilities | Capability.TRANSACTIONS  # type: ignore[misc]
        self.in_transaction = False

    def transaction_state(self) -> TransactionState:
        return TransactionState.OPEN if self.in_transaction else TransactionState.IDLE

    def begin(self) -> None:
        self.in_transaction = True

    def commit(self) -> None:
        self.in_transaction = False

    def rollback(self) -> None:
        self.in_transaction = False


class WordedDocStore(DocStore):
    """DocStore whose language names its transactions."""

    language: ClassVar[QueryLanguage] = replace(
        DOCQL, transactions=TransactionWords(begin="START", rollback="ABORT", open="open")
    )


def _serve_fake_with(monkeypatch: pytest.MonkeyPatch, cls: type[FakeBackend]) -> str:
    """A fake:// URL that opens ``cls`` (the fake with a language of its own)."""
    url = "fake://docql?caps=explain"
    real = storescope.backends.backend_class

    def lookup(asked: str) -> type[Backend]:
        return cls if asked.startswith("fake://docql") else real(asked)

    monkeypatch.setattr(storescope.backends, "backend_class", lookup)
    return url


def _actions(app: StorescopeApp) -> dict[str, str]:
    """The keys the user can press now: action -> its label."""
    return {b.binding.action: b.binding.description for b in app.screen.active_bindings.values()}


async def test_a_store_with_its_own_language_shows_its_words_and_only_its_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = _serve_fake_with(monkeypatch, DocStore)
    async with run_app([url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        hint = panel.info.text
        assert hint.startswith("DocQL · ") and "^o open" in hint, hint
        assert "^f format" not in hint and "^t transaction" not in hint, hint
        explorer = explorer_of(app)
        assert explorer.status.mode == "", "no transaction words: no transaction mode"
        keys = _actions(app)
        assert keys["open_file"] == "Open .dq" and keys["save_file"] == "Save .dq"
        assert keys["explain(False)"] == "Show plan"
        for hidden in ("format", "open_in_query", "transaction", "explain(True)"):
            assert hidden not in keys, hidden
        offered = {b.action: b.description for b in panel.key_bindings()}
        assert offered["open_file"] == "Open .dq" and "format" not in offered
        # The footer redraws after the bindings change, a moment later.
        for _ in range(100):
            if "f7 Show plan" in screen_text(app):
                break
            await pilot.pause(0.02)
        text = screen_text(app)
        assert "f7 Show plan" in text and "SQL" not in text and "EXPLAIN" not in text

        await drive(pilot, ["ctrl+t", "ctrl+b"])
        assert not isinstance(app.screen, ConfirmScreen)
        assert explorer.status.mode == "" and panel.editor.text == ""

        await run_text(pilot, panel, "select 1")
        tab = panel.results.get_pane("result-1")
        assert str(tab._title) == "1 read", "titled by what the statement does"

        await drive(pilot, ["ctrl+o"])
        assert isinstance(app.screen, TextPromptScreen)
        assert "Open a .dq file" in screen_text(app)
        await drive(pilot, ["escape"])


async def test_a_store_naming_its_transactions_shows_them_in_its_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = _serve_fake_with(monkeypatch, WordedDocStore)
    async with run_app([url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        explorer = explorer_of(app)
        assert explorer.status.mode == "autocommit"
        assert "^t transaction" in panel.info.text
        assert _actions(app)["transaction"] == "Transaction mode"
        await drive(pilot, ["ctrl+t"])
        await wait_until_idle(pilot)
        assert explorer.status.mode == "START · open"
        await drive(pilot, ["ctrl+t"])
        assert isinstance(app.screen, LeaveTransactionScreen)
        assert "ABORT" in screen_text(app), "the store's word for undoing it"
        await drive(pilot, ["escape"])
        assert explorer.status.mode == "START · open", "Esc keeps it open"


def test_history_written_by_an_earlier_version_is_still_read(tmp_path: Path) -> None:
    """Old lines kept the statement under "sql", new ones under "text": the
    picker offers both."""
    folder = tmp_path / "history"
    folder.mkdir(mode=0o700)
    old = [json.dumps({"t": 1, "sql": "SELECT 'old'"}), json.dumps({"t": 2, "text": "new one"})]
    (folder / "k.jsonl").write_text("\n".join(old) + "\n")
    (folder / "k.jsonl").chmod(0o600)
    history = History("k", directory=folder)
    assert history.entries() == ["SELECT 'old'", "new one"]
    history.append("db.orders.find()")
    assert History("k", directory=folder).search("") == [
        "db.orders.find()",
        "new one",
        "SELECT 'old'",
    ]


class JsonDocStore(DocStore):
    """DocStore whose language asks for a highlighting TextArea lists but
    whose grammar is not installed here."""

    language: ClassVar[QueryLanguage] = replace(DOCQL, highlight="json")


async def test_a_highlighting_without_its_grammar_falls_back_to_plain_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store naming "json" (known to TextArea, no grammar installed) gets
    an editor without highlighting instead of a crashed app: typing and
    running still work."""
    url = _serve_fake_with(monkeypatch, JsonDocStore)
    async with run_app([url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        assert app.is_running
        assert panel.editor.language is None
        await drive(pilot, [*"select 1", "f5"])
        await wait_until_idle(pilot)
        assert panel.editor.text == "select 1"
        assert "1 read" in screen_text(app)
        assert app.is_running


@pytest.fixture
def memdocs_url(monkeypatch: pytest.MonkeyPatch) -> str:
    from storescope.backends import memdocs

    memdocs.register_store("querypanel", memdocs.default_store())
    return "memdocs://querypanel"


@pytest.mark.parametrize(
    ("text", "keys", "shown"),
    [
        ('find orders {"status": "paid"}', ["f7"], "Plan"),
        ("sleep 1", ["f7"], "✗"),
        ("sleep 30", ["f5", "escape"], "⊘ Cancelled"),
    ],
    ids=["plan", "failed", "cancelled"],
)
async def test_the_running_label_is_gone_once_the_outcome_shows(
    memdocs_url: str, monkeypatch: pytest.MonkeyPatch, text: str, keys: list[str], shown: str
) -> None:
    """The tab's "⏳ running" header, refreshed every 0.1 s while a run goes,
    gives way to the outcome (a plan, an error, "Cancelled") for good, even
    when the plan takes a while to lay out and the run's end is heard late."""
    from storescope.tui.widgets.explain import explain_view

    slow_mount = explain_view.ExplainView.on_mount
    slow_end = QueryPanel.on_run_ended

    async def mount_slowly(self: Any) -> None:
        await asyncio.sleep(0.3)
        slow_mount(self)

    async def end_slowly(self: Any, event: Any) -> None:
        await asyncio.sleep(0.3)
        slow_end(self, event)

    monkeypatch.setattr(explain_view.ExplainView, "on_mount", mount_slowly)
    monkeypatch.setattr(QueryPanel, "on_run_ended", end_slowly)
    async with run_app([memdocs_url], size=(100, 30)) as (app, pilot):
        panel = await open_query(app, pilot)
        panel.editor.load_text(text)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.3)
        await pilot.pause(0.8)
        await wait_until_idle(pilot)
        assert not panel.running
        header = str(panel.views[1].header.render())
        assert shown in header, header
        assert "running" not in screen_text(app)


def _help_rows(app: StorescopeApp, title: str) -> dict[str, str]:
    """The keys screen's section ``title``: description -> keys."""
    assert isinstance(app.screen, HelpScreen)
    for name, rows in app.screen.sections:
        if name == title:
            return {description: keys for keys, description in rows}
    return {}


async def test_the_keys_screen_lists_the_query_keys_this_store_has(memdocs_url: str) -> None:
    """memdocs has no transactions: `?` lists its query keys in its words
    (Explain, counted; Find in this collection; .mdq files) and none of
    PostgreSQL's, before the query panel was ever opened and after."""
    async with run_app([memdocs_url], size=(160, 60)) as (app, pilot):
        for opened in (False, True):
            if opened:
                await open_query(app, pilot)
            await drive(pilot, ["f1"])  # ? types itself in the editor
            query = _help_rows(app, "Query")
            assert query["Explain, counted"] == "shift+f7", query
            assert query["Find in this collection"] == "^b"
            assert "Open .mdq" in query and "Run" in query
            for absent in ("Transaction mode", "Explain and measure", "Query current table"):
                assert absent not in query, absent
            assert not any("Format" in d for d in query), query
            text = screen_text(app)
            assert "Explain, counted" in text and "Transaction mode" not in text
            await drive(pilot, ["escape"])


async def test_the_keys_screen_leaves_out_panels_the_store_lacks() -> None:
    """The demo fake offers only the data panel: no Query, Indexes or
    Monitor section, and no F3/F4/F6 key."""
    async with run_app(["fake://demo"], size=(160, 60)) as (app, pilot):
        await drive(pilot, ["question_mark"])
        assert isinstance(app.screen, HelpScreen)
        titles = [name for name, _ in app.screen.sections]
        assert "Query" not in titles and "Monitor" not in titles and "Indexes" not in titles
        assert "Records" in titles
        panels = _help_rows(app, "Panels")
        assert panels["Data"] == "f2"
        assert not {"Query", "Indexes", "Monitor"} & set(panels), panels


async def test_ctrl_r_reconnects_a_query_session_whose_connection_was_lost() -> None:
    """A store without transactions: a run that finds the connection gone
    says so, and ctrl+r opens a new one for the query editor (nothing else
    had reconnected it), after which statements run again."""
    from storescope.backends import fake

    name = "query-reconnect"
    fake.register_dataset(name, fake.default_dataset())
    async with run_app([f"fake://{name}?caps=query"], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "select 1")
        assert "✓" in str(panel.views[1].header.render())
        fake.drop_connections(name)
        await run_text(pilot, panel, "select 1")
        assert panel.session_lost
        await drive(pilot, ["ctrl+r"])
        await wait_until_idle(pilot)
        assert not panel.session_lost, "the query session's own reconnect came back"
        await run_text(pilot, panel, "select 1")
        assert "✓" in str(panel.views[max(panel.views)].header.render())


def _leave_dialog(app: StorescopeApp) -> tuple[list[str], str]:
    """The leave-transaction dialog's choices as shown, and the highlighted
    one (what Enter does)."""
    assert isinstance(app.screen, LeaveTransactionScreen), app.screen
    options = app.screen.query_one(OptionList)
    labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    assert options.highlighted is not None
    return labels, labels[options.highlighted]


async def test_leaving_a_failed_transaction_offers_rollback_first(db_url: str) -> None:
    _execute(db_url, "CREATE TABLE IF NOT EXISTS leave_failed (n integer)")
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        explorer = explorer_of(app)
        await drive(pilot, ["ctrl+t"])
        await run_text(pilot, panel, "INSERT INTO leave_failed VALUES (1)")
        await run_text(pilot, panel, "SELECT nonsense_column FROM leave_failed")
        assert explorer.status.mode == "transaction failed · ROLLBACK"
        await drive(pilot, ["ctrl+t"])
        labels, default = _leave_dialog(app)
        assert labels == ["COMMIT (rolls back: it failed)", "ROLLBACK", "Keep open"]
        assert default == "ROLLBACK", "Enter must do the safe thing"
        await drive(pilot, ["enter"])
        await wait_until_idle(pilot)
        assert not isinstance(app.screen, LeaveTransactionScreen)
        assert explorer.status.mode == "autocommit", "out of transaction mode"
        assert "rolled back" in screen_text(app)
        assert _execute(db_url, "SELECT count(*) FROM leave_failed") == [[(0,)]]


async def test_leaving_a_healthy_transaction_commits_by_default_or_rolls_back_or_keeps(
    db_url: str,
) -> None:
    _execute(db_url, "CREATE TABLE IF NOT EXISTS leave_ok (n integer)")
    count = "SELECT count(*) FROM leave_ok WHERE n = %s"
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        explorer = explorer_of(app)
        await drive(pilot, ["ctrl+t"])
        await run_text(pilot, panel, "INSERT INTO leave_ok VALUES (7)")
        assert explorer.status.mode == "BEGIN · in transaction"

        # Keep open (chosen, then by Esc): nothing changes.
        await drive(pilot, ["ctrl+t"])
        labels, default = _leave_dialog(app)
        assert labels == ["COMMIT", "ROLLBACK", "Keep open"] and default == "COMMIT"
        await drive(pilot, ["down", "down", "enter"])
        await wait_until_idle(pilot)
        assert not isinstance(app.screen, LeaveTransactionScreen)
        assert explorer.status.mode == "BEGIN · in transaction"
        await drive(pilot, ["ctrl+t", "escape"])
        await wait_until_idle(pilot)
        assert explorer.status.mode == "BEGIN · in transaction"
        assert panel.unsaved_work() == "an open transaction"

        # Rollback undoes the INSERT: a fresh connection sees no row.
        await drive(pilot, ["ctrl+t", "down", "enter"])
        await wait_until_idle(pilot)
        assert explorer.status.mode == "autocommit"
        assert _execute(db_url, count % 7) == [[(0,)]]

        # Commit (the default) keeps the next one.
        await drive(pilot, ["ctrl+t"])
        await run_text(pilot, panel, "INSERT INTO leave_ok VALUES (8)")
        await drive(pilot, ["ctrl+t", "enter"])
        await wait_until_idle(pilot)
        assert explorer.status.mode == "autocommit"
        assert _execute(db_url, count % 8) == [[(1,)]]


async def test_result_tabs_are_named_after_their_statements(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(
            pilot,
            panel,
            "SELECT id FROM items;\nSELECT city FROM public.customers;\nUPDATE ledger SET amount = 1 WHERE id = 0;",
            key="f8",
        )
        titles = [str(panel.results.get_tab(f"result-{n}").label) for n in (1, 2, 3)]
        assert titles == ["1 SELECT items", "2 SELECT customers", "3 UPDATE ledger"]
        assert "SELECT customers" in screen_text(app)


async def test_many_runs_keep_the_tab_bound_and_release_the_oldest(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storescope.tui.widgets.query.query_tabs import ResultTabs

    released: list[str | None] = []
    original = ResultTabs.release

    def spy(self: ResultTabs, handle: str | None) -> None:
        released.append(handle)
        original(self, handle)

    monkeypatch.setattr(ResultTabs, "release", spy)
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT * FROM big")
        oldest = panel.states[1].handle
        assert oldest is not None, "a big result keeps a cursor on the server"
        bound = panel.max_tabs
        await run_text(
            pilot, panel, ";".join(f"SELECT {i} AS n" for i in range(bound + 2)), key="f8"
        )
        assert len(panel.results.query(TabPane)) == bound, "no more tabs than the bound"
        assert 1 not in panel.states and max(panel.states) == bound + 3
        assert oldest in released, "closing the oldest tab released its result"


async def test_enter_on_a_result_row_opens_the_record_view(db_url: str) -> None:
    from storescope.screens.record_view import RecordViewScreen

    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await open_query(app, pilot)
        await run_text(pilot, panel, "SELECT id, label, price FROM items ORDER BY id")
        await drive(pilot, ["ctrl+l", "down", "enter"])
        assert isinstance(app.screen, RecordViewScreen)
        text = screen_text(app)
        assert "label" in text and "pear" in text and "2.25" in text
        assert "apple" not in text, "the row under the cursor, not the first"
        await drive(pilot, ["escape"])
        assert not isinstance(app.screen, RecordViewScreen)
        assert panel.views[1].grid.has_focus
