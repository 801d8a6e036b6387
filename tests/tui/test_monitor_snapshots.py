"""SVG snapshots of the monitor panel (F6), fed fixed samples.

The app runs on the deterministic fake backend with the MONITOR capability
switched on for the test, and its ``stats()`` returns a canned sequence of
``Stats`` (fixed times, fixed numbers) shaped as the PostgreSQL backend's
(its columns, column roles and actions), so rates and sparklines are the
same on every run. Polling is slowed to an hour: samples are taken
only when the test asks. Each docstring says what the picture must show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from storescope.backends.base import Capability
from storescope.backends.fake import FakeBackend
from storescope.backends.postgres.monitor import (
    BLOCKING_ACTIONS,
    BLOCKING_COLUMNS,
    BLOCKING_ROLES,
    DATABASES_COLUMNS,
    DATABASES_ROLES,
    LOCKS_COLUMNS,
    LOCKS_ROLES,
    SESSION_ACTIONS,
    SESSIONS_COLUMNS,
    SESSIONS_ROLES,
    STATEMENTS_COLUMNS,
    STATEMENTS_ROLES,
)
from storescope.backends.types import Metric, MetricKind, Stats, StatsTable
from storescope.tui.app import StorescopeApp
from storescope.tui.snapshot import drive
from storescope.tui.widgets.monitor.monitor_panel import MonitorPanel

T0 = 1_800_000_000.0
STARTED = datetime(2026, 11, 22, 9, 30, 0, tzinfo=UTC)

# The PostgreSQL backend's Sessions columns, as a real sample has them.
SESSION_COLUMNS = SESSIONS_COLUMNS


def sample(n: int) -> Stats:
    """Sample ``n`` (0-based), two seconds apart: counters grow unevenly so
    the sparklines have a shape."""
    wave = [3, 8, 5, 12, 9, 15, 7, 11][n % 8]
    commits = 1000 + sum([3, 8, 5, 12, 9, 15, 7, 11][i % 8] * 10 for i in range(n + 1))
    metrics = (
        Metric("connections", 5 + n % 3),
        Metric("active", 1 + n % 2),
        Metric("blocked", 1),
        Metric("commits", commits, MetricKind.COUNTER),
        Metric("rollbacks", 10 + n, MetricKind.COUNTER),
        Metric("cache hit ratio", 99.2 - n * 0.1, unit="%"),
        Metric("blocks hit", 50_000 + n * 4_000 + wave * 300, MetricKind.COUNTER, "blocks"),
        Metric("blocks read", 900 + n * 7, MetricKind.COUNTER, "blocks"),
        Metric("tuples read", 1e6 + n * 250_000, MetricKind.COUNTER, "rows"),
        Metric("tuples written", 5_000 + n * wave * 40, MetricKind.COUNTER, "rows"),
        Metric("deadlocks", 0, MetricKind.COUNTER),
        Metric("temp bytes", 1_000_000 + n * 2_621_440, MetricKind.COUNTER, "bytes"),
    )
    secs = 2.0 * n
    sessions = (
        (
            4101,
            "app",
            "shop",
            "checkout",
            "10.0.0.7:51234",
            "active",
            "Lock:transactionid",
            STARTED,
            timedelta(seconds=61 + secs),
            timedelta(seconds=61 + secs),
            "UPDATE orders SET status = 'paid' WHERE id = 42",
        ),
        (
            4088,
            "app",
            "shop",
            "billing",
            "10.0.0.8:40022",
            "idle in transaction",
            "Client:ClientRead",
            STARTED,
            timedelta(seconds=95 + secs),
            None,
            "UPDATE orders SET total = total + 1 WHERE id = 42",
        ),
        (
            4120,
            "report",
            "shop",
            "probe",
            "local",
            "active",
            "Timeout:PgSleep",
            STARTED,
            timedelta(seconds=4.5 + secs),
            timedelta(seconds=4.5 + secs),
            "SELECT pg_sleep(600) /* a long report that sleeps */",
        ),
        (
            4002,
            "postgres",
            "postgres",
            "psql",
            "local",
            "idle",
            "Client:ClientRead",
            STARTED,
            None,
            None,
            "SHOW work_mem",
        ),
    )
    tables = (
        StatsTable("Sessions", SESSION_COLUMNS, sessions, 0, SESSION_ACTIONS, roles=SESSIONS_ROLES),
        StatsTable(
            "Blocking",
            BLOCKING_COLUMNS,
            (
                (
                    4101,
                    "4088",
                    "4101 ← 4088",
                    "ShareLock on transactionid",
                    None,
                    timedelta(seconds=61 + secs),
                    sessions[0][10],
                    sessions[1][10],
                ),
            ),
            0,
            BLOCKING_ACTIONS,
            roles=BLOCKING_ROLES,
        ),
        StatsTable(
            "Locks",
            LOCKS_COLUMNS,
            (
                (4101, "ShareLock", "transactionid", None, False, timedelta(seconds=61 + secs)),
                (4088, "RowExclusiveLock", "relation", "public.orders", True, None),
                (4101, "RowExclusiveLock", "relation", "public.orders", True, None),
            ),
            roles=LOCKS_ROLES,
        ),
        StatsTable(
            "Databases",
            DATABASES_COLUMNS,
            (("postgres", 7_655_971, 1), ("shop", 48_234_496, 3)),
            roles=DATABASES_ROLES,
        ),
        StatsTable(
            "Statements",
            STATEMENTS_COLUMNS,
            note="pg_stat_statements is not installed in this database "
            "(CREATE EXTENSION pg_stat_statements; it also needs shared_preload_libraries)",
            roles=STATEMENTS_ROLES,
        ),
    )
    return Stats(taken_at=T0 + secs, metrics=metrics, tables=tables)


class CannedMonitor:
    """The samples the panel is handed, in order (the last one repeats)."""

    def __init__(self) -> None:
        self.n = 0

    def fetch(self) -> Stats:
        stats = sample(self.n)
        self.n += 1
        return stats


@pytest.fixture(autouse=True)
def canned_monitor(monkeypatch: pytest.MonkeyPatch) -> Iterator[CannedMonitor]:
    canned = CannedMonitor()
    monkeypatch.setattr(FakeBackend, "capabilities", FakeBackend.capabilities | Capability.MONITOR)
    monkeypatch.setattr(MonitorPanel, "POLL_INTERVAL", 3600.0)
    monkeypatch.setattr(FakeBackend, "stats", lambda self: canned.fetch())
    yield canned


def monitor(samples: int, *pressed: str) -> Callable[[Pilot[Any]], Any]:
    """F6, then ``samples`` samples in all, then ``pressed``."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, StorescopeApp)
        await drive(pilot, ["f6"])
        explorer = app.active_explorer
        assert explorer is not None
        panel = explorer.panels["monitor"]
        assert isinstance(panel, MonitorPanel)
        for _ in range(samples - 1):
            panel.sample_now()
            await drive(pilot, ["wait"])
        await drive(pilot, list(pressed))

    return run_before


class TestMonitorPanel:
    def test_sessions_with_sparklines_at_100x30(self, snap_compare: Any) -> None:
        """After 8 samples: two columns of metric lines, each name, a
        sparkline with a shape, and the value (connections 6, commits/s 55,
        cache hit ratio 98.5 %, temp bytes/s 1.2 MB); the table bar with
        Sessions 4 highlighted and Blocking 1; the sessions table with the
        first row (4101) focused and its full UPDATE query in the detail
        line; the footer shows Filter, Sort, Next table, Cancel query and
        Terminate."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(100, 30), run_before=monitor(8))

    def test_sessions_at_80x24(self, snap_compare: Any) -> None:
        """At 80x24 everything still fits: metric lines with cut names
        ending in "/s", at least a few session rows with columns pid,
        duration, state, wait, query (long states and waits cut with "…"),
        the detail line, the status line and the footer."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(80, 24), run_before=monitor(8))

    def test_sessions_filtered_and_sorted(self, snap_compare: Any) -> None:
        """Filter "probe": only session 4120 is left, the bottom line reads
        "filter / probe", the detail line its pg_sleep query, and the status
        says "1 of 4 rows"; then sorted (s) on pid: the pid header carries ▲."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(
            app,
            terminal_size=(100, 30),
            run_before=monitor(3, "slash", "p", "r", "o", "b", "e", "enter", "s"),
        )

    def test_blocking_chain(self, snap_compare: Any) -> None:
        """Table 2 (Blocking): one row, 4101 blocked by 4088, chain
        "4101 ← 4088", the lock, the wait duration; the detail line shows
        both the blocked and the blocker query."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(100, 30), run_before=monitor(3, "2"))

    def test_databases_with_human_sizes(self, snap_compare: Any) -> None:
        """Table 4 (Databases): sizes as 7.3 MB and 46.0 MB, right-aligned;
        no cancel/terminate keys in the footer (the table has no actions)."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(100, 30), run_before=monitor(2, "4"))

    def test_statements_note(self, snap_compare: Any) -> None:
        """Table 5 (Statements): no rows, the note saying
        pg_stat_statements is not installed, in muted italics above the
        empty table."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(100, 30), run_before=monitor(2, "5"))

    def test_terminate_confirmation(self, snap_compare: Any) -> None:
        """k on session 4101: a confirmation titled "Terminate session
        4101?" naming user app and db shop, how long the query has run and
        its text, with a red Terminate button."""
        app = StorescopeApp(["fake://demo"])
        assert snap_compare(app, terminal_size=(100, 30), run_before=monitor(2, "k"))


async def test_the_sessions_columns_are_laid_out_again_when_the_terminal_widens() -> None:
    app = StorescopeApp(["fake://demo"])
    async with app.run_test(size=(80, 24)) as pilot:
        await monitor(2)(pilot)
        explorer = app.active_explorer
        assert explorer is not None
        panel = explorer.panels["monitor"]
        assert isinstance(panel, MonitorPanel)
        view = panel.view
        assert view is not None

        def shown() -> list[str]:
            layout = view.column_layout
            return [SESSION_COLUMNS[i] for i in layout.order[: len(layout.widths) or None]]

        assert shown() == ["pid", "query duration", "state", "wait event", "query"]
        await pilot.resize_terminal(200, 40)
        await drive(pilot, ["wait"])
        assert shown()[:3] == ["pid", "user", "database"]
        assert shown()[-1] == "query"
        await pilot.resize_terminal(80, 24)
        await drive(pilot, ["wait"])
        assert shown() == ["pid", "query duration", "state", "wait event", "query"]
