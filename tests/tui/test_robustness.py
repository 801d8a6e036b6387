"""Pilot tests of what must hold whatever a backend does: no secret on
screen, a bad URL is an error and not a crash, a slow driver does not freeze
quitting or reconnecting, and a late page request never runs on the wrong
table. On the fake backend."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

from textual.message import Message

from storescope.backends import fake
from storescope.tui.session import tab_title
from storescope.tui.widgets import ConnectionTabs, DataGrid

from .conftest import drive, explorer_of, open_table, run_app, screen_text, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]
BIG = ("shop", "public", "big")
MIXED = ("shop", "public", "mixed")

# The fake echoes these in its error messages (?echo=1), in the URL and as
# "password=s3cr!t", like a driver quoting its DSN.
PASSWORD = "s3cr%21t"
TOKEN = "tok3nvalue"


def secret_free(text: str) -> bool:
    return all(s not in text for s in ("s3cr", TOKEN))


async def test_a_failure_echoing_the_password_is_notified_without_it() -> None:
    url = f"fake://bob:{PASSWORD}@echoconn/shop?fail=connect&echo=1&password={TOKEN}"
    async with run_app([url], size=(140, 30)) as (app, pilot):
        text = screen_text(app)
        assert "Connection failed" in text
        assert "refused the connection" in text
        assert "password=***" in text, "the echoed password is there, scrubbed"
        assert secret_free(text)
        assert secret_free(app.export_screenshot())
        assert all(secret_free(n.message + n.title) for n in app._notifications)


async def test_a_browse_failure_echoing_the_password_shows_in_the_grid_without_it() -> None:
    fake.set_failing("echobrowse", "browse")
    url = f"fake://bob:{PASSWORD}@echobrowse/shop?echo=1"
    async with run_app([url, "fake://demo"], size=(260, 30)) as (app, pilot):
        await open_table(app, pilot, BIG)
        text = screen_text(app)
        grid_line = next(line for line in text.splitlines() if "⚠ browsing" in line)
        assert "password=***" in grid_line and "F5 retries" in grid_line
        assert "Query failed · Fake bob:***@echobrowse/shop" in text, (
            "the notification names the tab"
        )
        assert secret_free(text)
        assert secret_free(app.export_screenshot())
        assert all(secret_free(n.message + n.title) for n in app._notifications)
    fake.set_failing("echobrowse")


async def test_an_unparseable_url_is_notified_and_the_app_keeps_running() -> None:
    bad = "postgresql://bob:pw1234@[::1/db"
    assert tab_title(bad) == "PG <invalid URL>"
    assert tab_title("postgresql://[::1/db") == "PG <invalid URL>"
    async with run_app([bad, "fake://demo"], size=(100, 30)) as (app, pilot):
        assert explorer_of(app).state == "failed"
        text = screen_text(app)
        assert "Invalid URL" in text and "invalid URL" in text
        assert "PG <invalid URL>" in text.splitlines()[0]
        assert "pw1234" not in text and "pw1234" not in app.export_screenshot()
        assert "Traceback" not in text
        await drive(pilot, ["right_square_bracket"])
        assert app.active_index == 1
        explorer = await open_table(app, pilot, BIG)
        assert explorer.state == "connected"
        assert "user1@example.com" in screen_text(app)
        assert app.query_one(ConnectionTabs).states == ["failed", "connected"]


async def test_quitting_does_not_wait_for_a_slow_driver_close() -> None:
    async with run_app(["fake://slowclose?close_delay=5000"]) as (app, pilot):
        await open_table(app, pilot, BIG)  # both connections open
        started = time.monotonic()
        await pilot.press("q")
    elapsed = time.monotonic() - started
    assert app.return_code == 0
    assert elapsed < 1.5, f"quitting took {elapsed:.2f} s"


async def test_reconnecting_does_not_wait_for_the_old_connection_to_close() -> None:
    async with run_app(["fake://slowreconnect?close_delay=5000"]) as (app, pilot):
        explorer = await open_table(app, pilot, BIG)
        connects = fake.get_dataset("slowreconnect").calls["connect"]
        started = time.monotonic()
        await drive(pilot, ["ctrl+r"])
        elapsed = time.monotonic() - started
        assert fake.get_dataset("slowreconnect").calls["connect"] >= connects + 2
        assert explorer.state == "connected"
        assert "user1@example.com" in screen_text(app)
        assert elapsed < 1.5, f"reconnecting took {elapsed:.2f} s"
        # Leave without waiting for those closes either.
        started = time.monotonic()
    assert time.monotonic() - started < 1.5


async def test_a_page_request_for_a_table_no_longer_shown_is_not_run() -> None:
    async with run_app(["fake://stale"]) as (app, pilot):
        browsed = fake.get_dataset("stale").browsed
        explorer = await open_table(app, pilot, BIG)
        grid = explorer.grid
        assert list(browsed) == [(BIG, None)]
        # The grid asks for big's second page (cursor "200"); hold that
        # request back, as a busy message queue would...
        held: list[Message] = []
        grid.post_message = held.append  # type: ignore[method-assign,assignment]
        grid.action_last_row()
        del grid.post_message
        (stale,) = [m for m in held if isinstance(m, DataGrid.PageRequested)]
        assert stale.request.cursor == "200"
        # ...while the user opens another table; then it arrives.
        explorer.open_path(MIXED)
        await wait_until_idle(pilot)
        explorer.post_message(stale)
        await wait_until_idle(pilot)
        assert (MIXED, "200") not in browsed, "a cursor of big was used on mixed"
        assert (BIG, "200") not in browsed, "nor is big still wanted"
        assert [c for p, c in browsed if p == MIXED] == [None]
        row = grid.row(0)
        assert row is not None and row[1] == "item 1"
        assert grid.row_count == 60 and grid.complete
        assert "⚠" not in screen_text(app)
        assert not app._notifications


def test_quitting_the_real_app_does_not_wait_for_a_call_in_flight(tmp_path: Path) -> None:
    """In a terminal, as a user runs it: asyncio.run joins the threads of its
    default executor before returning, so a driver call still waiting on a
    dead server would hold up the exit (pymongo: ~10 s)."""
    stamp = tmp_path / "painted"
    env = {**os.environ, "STORESCOPE_PAINT_STAMP": str(stamp), "TERM": "xterm-256color"}
    argv = [sys.executable, "-m", "storescope", "fake://inflight?delay=4000&close_delay=5000"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the app, never return into pytest
        try:
            os.chdir(ROOT)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    try:
        deadline = time.monotonic() + 20
        while not stamp.exists() and time.monotonic() < deadline:
            _drain(fd, 0.05)
        assert stamp.exists(), "the app never painted"
        _drain(fd, 0.3)  # connecting now: a 4 s call in flight
        os.write(fd, b"q")
        started = time.monotonic()
        while time.monotonic() - started < 10:
            _drain(fd, 0.05)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        elapsed = time.monotonic() - started
        assert done, "the app did not quit"
        assert os.waitstatus_to_exitcode(status) == 0
        assert elapsed < 2.0, f"quitting took {elapsed:.2f} s"
    finally:
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(fd)


def _drain(fd: int, seconds: float) -> None:
    """Read what the app wrote (a full pty would block it)."""
    ready, _, _ = select.select([fd], [], [], seconds)
    if ready:
        with contextlib.suppress(OSError):
            os.read(fd, 65536)
