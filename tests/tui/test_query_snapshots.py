"""SVG snapshots of the query panel on the real sandbox PostgreSQL, hosted in a
small app (no status line: the server's port would change every run). Times
are fixed by replacing ``query_results.elapsed_text``. Each docstring says
what the picture must show; update (``--snapshot-update``) only after looking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer

from storescope.backends import open_backend, sandbox
from storescope.tui.session import Session
from storescope.tui.snapshot import drive
from storescope.tui.widgets.panel import Panel, PanelContext
from storescope.tui.widgets.query import query_results
from storescope.tui.widgets.query.query_panel import QueryPanel

DB = "querysnaptest"


@pytest.fixture(scope="module")
def snap_url(pg_server: sandbox.Server) -> Iterator[str]:
    conn = psycopg2.connect(pg_server.url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DB}")
    conn.close()
    url = pg_server.url.rsplit("/", 1)[0] + f"/{DB}"
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE fruit (id integer PRIMARY KEY, name text, price numeric)")
        cur.execute(
            "INSERT INTO fruit VALUES (1, 'apple', 1.50), (2, 'pear', 2.25),"
            " (3, 'plum', NULL), (4, 'fig', 0.80)"
        )
    conn.close()
    yield url
    conn = psycopg2.connect(pg_server.url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    conn.close()


@pytest.fixture(autouse=True)
def _fixed_times(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(query_results, "elapsed_text", lambda seconds: "12 ms")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))


class PanelApp(App[None]):
    def __init__(self, url: str) -> None:
        super().__init__()
        session = Session(url)
        self.status: dict[str, str] = {}

        def changed(panel: Panel) -> None:
            self.status = {"mode": panel.status_mode, "window": panel.status_window}

        self.context = PanelContext(
            session=session,
            capabilities=open_backend(url).capabilities,
            read_only=False,
            path=lambda: None,
            describe=lambda e: (getattr(e, "title", "Error"), str(e)),
            status_changed=changed,
        )

    def compose(self) -> ComposeResult:
        yield QueryPanel(self.context, id="panel")
        yield Footer()

    def on_mount(self) -> None:
        panel = self.query_one(QueryPanel)
        panel.editor.cursor_blink = False
        panel.panel_shown()
        panel.focus_main()


def script(text: str, *keys: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        panel = pilot.app.query_one(QueryPanel)
        await drive(pilot, ["wait"])
        panel.editor.load_text(text)
        panel.editor.move_cursor(panel.editor.document.end)
        await drive(pilot, list(keys))

    return run_before


def test_a_result_tab_with_rows(snap_url: str, snap_compare: Any) -> None:
    """The editor holds two statements, SQL keywords highlighted and line
    numbers on; F8 ran both: two tabs ("1 SELECT fruit", "2 UPDATE fruit"), the newest
    (UPDATE) selected showing "✓ UPDATE 0 · 12 ms" and "0 rows affected".
    Then the first tab is selected: "✓ SELECT 4 · 12 ms · rows 1–4 of 4" over
    the grid (id, name, price) with plum's price a dim NULL. The footer lists
    f5 Run, f8 Run all, f7 Explain, ^g History (as `?` writes keys)."""
    assert snap_compare(
        PanelApp(snap_url),
        terminal_size=(100, 30),
        run_before=script(
            "SELECT id, name, price\n  FROM fruit\n ORDER BY id;\n"
            "UPDATE fruit SET price = 1 WHERE id = 99;",
            "f8",
            "ctrl+pageup",
        ),
    )


def test_an_error_marks_its_position(snap_url: str, snap_compare: Any) -> None:
    """At 80x24: a misspelt FROM; the tab says "✗ Query failed" with the
    server's message (syntax error at or near "fruit") in the error colour,
    and the editor selects "fruit" on line 2, where the server pointed."""
    assert snap_compare(
        PanelApp(snap_url),
        terminal_size=(80, 24),
        run_before=script("SELECT name\n  FRM fruit;", "f5"),
    )
