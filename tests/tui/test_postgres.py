"""Pilot tests of the TUI on the real sandbox PostgreSQL: what a user sees
when the server changes under the grid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storescope.backends import sandbox
from tests.pg_helpers import execute as _execute

from .conftest import drive, open_table, run_app, screen_text

DB = "tuitest"
DOOMED = (DB, "public", "doomed")
KEEPER = (DB, "public", "keeper")


@pytest.fixture()
def tuitest_db(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of its own with a 500-row table (more than one 200-row
    page) and a small one; the server's URL is returned."""
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    db_url = pg_server.url.rsplit("/", 1)[0] + f"/{DB}"
    _execute(
        db_url,
        "CREATE TABLE doomed (id integer PRIMARY KEY, label text NOT NULL)",
        "INSERT INTO doomed SELECT i, 'doomed row ' || i FROM generate_series(1, 500) AS i",
        "CREATE TABLE keeper (id integer PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO keeper VALUES (1, 'kept alpha'), (2, 'kept beta'), (3, 'kept gamma')",
        "ANALYZE",
    )
    yield pg_server.url
    _execute(pg_server.url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


async def test_a_table_dropped_while_shown_says_so_and_the_app_stays_usable(
    tuitest_db: str,
) -> None:
    db_url = tuitest_db.rsplit("/", 1)[0] + f"/{DB}"
    async with run_app([tuitest_db], size=(120, 40)) as (app, pilot):
        explorer = await open_table(app, pilot, DOOMED)
        grid = explorer.grid
        assert explorer.state == "connected"
        assert grid.row_count == 200 and not grid.complete
        assert "doomed row 1" in screen_text(app)

        # lock_timeout: if the app held a lock on the table, fail, not hang.
        _execute(db_url, "SET lock_timeout = '5s'", "DROP TABLE doomed")
        await drive(pilot, ["pagedown"] * 6)  # past row 200: the next page is fetched

        text = screen_text(app)
        assert "Not found" in text, "a notification says what failed"
        assert "table public.doomed does not exist" in text
        assert "Traceback" not in text and "psycopg2" not in text
        app.clear_notifications()  # it covers the end of the grid's line
        await pilot.pause()
        text = screen_text(app)
        lines = [line for line in text.splitlines() if "⚠" in line]
        assert len(lines) == 1, text
        assert "⚠ table public.doomed does not exist — F5 retries" in lines[0]
        assert "Traceback" not in text
        assert grid.row(0) is not None, "the rows already shown stay"

        await drive(pilot, ["f5"])
        assert len(app._notifications) == 1, "F5 asks again and is told again"
        assert explorer.state == "connected"

        # Another table still opens, on the same connection.
        await open_table(app, pilot, KEEPER)
        text = screen_text(app)
        assert "kept alpha" in text and "kept gamma" in text
        assert "⚠" not in text
        assert explorer.state == "connected"
        assert grid.row_count == 3 and grid.complete
