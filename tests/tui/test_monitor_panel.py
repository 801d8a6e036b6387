"""The monitor panel (F6) on the real sandbox PostgreSQL: what a user sees
and does — sessions and blocking chains as they happen, filtering, cancel
and terminate with their confirmations, polling only while shown, and a
failed sample stopping polling until asked. Polling is sped up to 0.2 s.

Then a store that is not PostgreSQL (the fake with monitor tables of its
own): its actions' keys, labels and words and its column roles are what the
panel shows, with nothing of PostgreSQL's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, ClassVar

import psycopg2
import psycopg2.errors
import pytest
from textual.pilot import Pilot

from storescope.backends import sandbox
from storescope.backends.base import Capability
from storescope.backends.fake import FakeBackend
from storescope.backends.postgres.monitor import (
    BLOCKING_COLUMNS,
    BLOCKING_ROLES,
    LOCKS_COLUMNS,
    LOCKS_ROLES,
    SESSIONS_COLUMNS,
    SESSIONS_ROLES,
)
from storescope.backends.types import (
    ActionDanger,
    ColumnRole,
    Metric,
    MetricKind,
    MonitorAction,
    Stats,
    StatsTable,
)
from storescope.screens.dialogs import ConfirmScreen
from storescope.tui.app import StorescopeApp
from storescope.tui.widgets.monitor.monitor_history import MetricHistory, format_metric
from storescope.tui.widgets.monitor.monitor_panel import MonitorPanel

from .conftest import drive, explorer_of, run_app, screen_text

DB = "monitorpanel"
INTERVAL = 0.2


def _db_url(server: sandbox.Server) -> str:
    return server.url.rsplit("/", 1)[0] + f"/{DB}"


def _connect(url: str, application_name: str = "") -> Any:
    conn = psycopg2.connect(url, application_name=application_name)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def db_url(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of its own with a small table to hold row locks on."""
    admin = _connect(pg_server.url)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin.cursor().execute(f"CREATE DATABASE {DB}")
    url = _db_url(pg_server)
    conn = _connect(url)
    conn.cursor().execute(
        "CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL);"
        "INSERT INTO accounts VALUES (1, 100), (2, 200)"
    )
    conn.close()
    yield url
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin.close()


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MonitorPanel, "POLL_INTERVAL", INTERVAL)


class Probe:
    """A second connection (application_name 'probe') running a statement
    in a thread; ``error`` is what the statement raised, if anything."""

    def __init__(self, url: str, statement: str, application_name: str = "probe") -> None:
        self.conn = _connect(url, application_name)
        self.pid: int = self.conn.get_backend_pid()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(statement,), daemon=True)
        self.thread.start()

    def _run(self, statement: str) -> None:
        try:
            self.conn.cursor().execute(statement)
        except psycopg2.Error as e:
            self.error = e

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.cancel()
        self.thread.join(10)
        self.conn.close()


@pytest.fixture
def probe(db_url: str) -> Iterator[Probe]:
    p = Probe(db_url, "SELECT pg_sleep(30)")
    yield p
    p.close()


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def show_monitor(app: StorescopeApp, pilot: Pilot[Any], samples: int = 1) -> MonitorPanel:
    await drive(pilot, ["f6"])
    panel = explorer_of(app).panels["monitor"]
    assert isinstance(panel, MonitorPanel)
    await wait_for(pilot, lambda: panel.history.samples >= samples)
    return panel


async def filter_rows(pilot: Pilot[Any], text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await pilot.pause()


async def test_sessions_show_a_probe_the_filter_finds_and_sparklines_fill(
    db_url: str, probe: Probe
) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await show_monitor(app, pilot, samples=2)
        view = panel.view
        assert view is not None and view.table_name == "Sessions"
        await wait_for(pilot, lambda: any(v[0] == probe.pid for _, v in view.shown))

        # Two samples: every metric has a value, counters as rates per second.
        text = screen_text(app)
        for label in ("connections", "commits/s", "cache hit ratio", "tuples read/s"):
            line = next(ln for ln in text.splitlines() if label in ln)
            assert "…" not in line.split(label, 1)[1][:40], line
        assert panel._metrics.lines["commits"]._spark.data, "the sparkline has points"

        await filter_rows(pilot, "probe")
        assert [v[0] for _, v in view.shown] == [probe.pid]
        text = screen_text(app)
        assert "probe" in text and "SELECT pg_sleep(30)" in text, "the detail line has the query"
        assert "1 of" in text and "rows" in text, "the status line counts what the filter kept"
        before = panel.history.samples
        await wait_for(pilot, lambda: panel.history.samples >= before + 2)
        assert [v[0] for _, v in view.shown] == [probe.pid], "the filter holds across samples"
        assert view.has_focus and view.cursor_row == 0


async def test_cancel_on_the_probe_session_stops_its_query(db_url: str, probe: Probe) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await show_monitor(app, pilot)
        await filter_rows(pilot, "probe")
        await wait_for(pilot, lambda: panel.view is not None and len(panel.view.shown) == 1)

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert isinstance(app.screen, ConfirmScreen)
        assert not app.screen._danger, "cancelling throws nothing away"
        assert f"session {probe.pid}" in app.screen._title
        await pilot.press("enter")

        await wait_for(pilot, lambda: not probe.thread.is_alive())
        assert isinstance(probe.error, psycopg2.errors.QueryCanceled)
        await wait_for(
            pilot, lambda: any("Cancelled the query" in n.message for n in app._notifications)
        )
        assert not probe.conn.closed, "cancel leaves the session connected"


async def test_terminate_asks_with_danger_and_escape_keeps_the_session(
    db_url: str, probe: Probe
) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await show_monitor(app, pilot)
        await filter_rows(pilot, "probe")
        await wait_for(pilot, lambda: panel.view is not None and len(panel.view.shown) == 1)

        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert screen._danger
        assert screen._title == f"Terminate session {probe.pid}?"
        assert "user " in screen._message and f"db {DB}" in screen._message
        assert "query running for" in screen._message
        assert "pg_sleep(30)" in screen._message
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)

        samples = panel.history.samples
        await wait_for(pilot, lambda: panel.history.samples >= samples + 2)
        assert probe.thread.is_alive() and probe.error is None, "nothing was terminated"


async def test_a_blocking_chain_shows_who_waits_for_whom(db_url: str) -> None:
    holder = _connect(db_url, "holder")
    holder.autocommit = False
    holder.cursor().execute("UPDATE accounts SET balance = balance + 1 WHERE id = 1")
    waiter = Probe(db_url, "UPDATE accounts SET balance = balance - 1 WHERE id = 1", "waiter")
    try:
        async with run_app([db_url], size=(140, 40)) as (app, pilot):
            panel = await show_monitor(app, pilot)
            await pilot.press("2")
            view = panel.view
            assert view is not None and view.table_name == "Blocking"
            await wait_for(pilot, lambda: any(v[0] == waiter.pid for _, v in view.shown))
            text = screen_text(app)
            assert f"{waiter.pid} ← {holder.get_backend_pid()}" in text
            assert "Blocking 1" in text, "the table bar counts the blocked sessions"
            assert "UPDATE accounts SET balance = balance - 1" in text, "the detail line"
    finally:
        holder.rollback()
        waiter.close()
        holder.close()


async def test_polling_runs_only_while_the_panel_is_shown(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await show_monitor(app, pilot, samples=2)
        await drive(pilot, ["f2"])
        await pilot.pause(INTERVAL)  # a sample still running may land
        hidden_at = panel.history.samples
        await pilot.pause(INTERVAL * 5)
        assert panel.history.samples == hidden_at, "no samples while hidden"

        await drive(pilot, ["f6"])
        await wait_for(pilot, lambda: panel.history.samples > hidden_at, timeout=INTERVAL * 0.9)


async def test_a_lost_connection_stops_polling_once_and_r_resumes(db_url: str) -> None:
    async with run_app([db_url], size=(120, 40)) as (app, pilot):
        panel = await show_monitor(app, pilot)
        # End every session of the database but ours: the panel's too.
        admin = _connect(db_url)
        admin.cursor().execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (DB,),
        )
        admin.close()
        await wait_for(pilot, lambda: panel.stopped is not None)
        await pilot.pause(INTERVAL * 6)
        text = screen_text(app)
        assert "polling stopped:" in text and "r retries" in text, text
        notes = [n for n in app._notifications if "Monitor" not in n.title]
        assert len(app._notifications) == 1, [(n.title, n.message) for n in notes]
        samples = panel.history.samples

        await pilot.press("r")
        await wait_for(pilot, lambda: panel.history.samples >= samples + 2)
        assert panel.stopped is None
        assert "polling stopped" not in screen_text(app)


# -- rates (no server needed) ---------------------------------------------------------


def _stats(at: float, commits: float, connections: float = 3) -> Stats:
    return Stats(
        taken_at=at,
        metrics=(
            Metric("commits", commits, MetricKind.COUNTER),
            Metric("connections", connections),
        ),
    )


def test_counters_show_as_rates_and_a_reset_skips_its_interval() -> None:
    history = MetricHistory()
    history.add(_stats(100.0, 1000))
    assert history.series["commits"].current is None, "one reading is no rate yet"
    assert history.series["connections"].current == 3, "a gauge shows at once"
    history.add(_stats(102.0, 1050))
    assert history.series["commits"].current == 25.0
    history.add(_stats(104.0, 10))  # the server restarted: counters start over
    assert history.series["commits"].values() == [25.0]
    history.add(_stats(106.0, 30))
    assert history.series["commits"].values() == [25.0, 10.0]
    assert format_metric(99.24, "%") == "99.2 %"
    assert format_metric(1_258_291.2, "bytes") == "1.2 MB"
    assert format_metric(12.5, "") == "12.5"


def test_history_is_bounded_to_ten_minutes() -> None:
    history = MetricHistory()
    for i in range(1000):
        history.add(_stats(i * 2.0, i * 10.0))
    points = history.series["connections"].points
    assert points[-1][0] - points[0][0] <= 600
    assert len(points) <= 301


def test_durations_read_at_a_glance() -> None:
    from storescope.tui.widgets.monitor.monitor_table import format_duration

    assert format_duration(timedelta(seconds=4.25)) == "4.2 s"
    assert format_duration(timedelta(seconds=185)) == "3:05"
    assert format_duration(timedelta(hours=1, seconds=62)) == "1:01:02"


# The PostgreSQL backend's Sessions columns, as a real sample has them.
SESSIONS = SESSIONS_COLUMNS
#: Longest cell of each sessions column in a typical sample.
SESSION_CELLS = [4, 8, 8, 11, 14, 19, 18, 19, 6, 6, 48]


def _names(columns: tuple[str, ...], order: tuple[int, ...]) -> list[str]:
    return [columns[i] for i in order]


def test_a_narrow_table_shows_duration_state_wait_and_query_first() -> None:
    from storescope.tui.widgets.monitor.monitor_columns import plan

    narrow = plan(SESSIONS, SESSIONS_ROLES, SESSION_CELLS, 56)
    assert _names(SESSIONS, narrow.order)[:5] == [
        "pid",
        "query duration",
        "state",
        "wait event",
        "query",
    ]
    assert narrow.narrow
    widths = dict(narrow.widths)
    assert sum(w + 2 for w in widths.values()) <= 56 + 12, "the query gets what is left"
    roomy = plan(SESSIONS, SESSIONS_ROLES, SESSION_CELLS, 110)
    assert _names(SESSIONS, roomy.order)[: len(roomy.widths)] == [
        "pid",
        "user",
        "database",
        "application",
        "state",
        "query duration",
        "wait event",
        "query",
    ], "with room, who and where come right after the pid"
    wide = plan(SESSIONS, SESSIONS_ROLES, SESSION_CELLS, 300)
    assert not wide.narrow and _names(SESSIONS, wide.order)[-1] == "query"


def test_blocking_and_locks_put_the_wait_first_too() -> None:
    from storescope.tui.widgets.monitor.monitor_columns import plan

    blocking = BLOCKING_COLUMNS
    order = _names(
        blocking, plan(blocking, BLOCKING_ROLES, [4, 4, 11, 26, 13, 4, 48, 48], 70).order
    )
    assert order[:6] == [
        "blocked pid",
        "wait duration",
        "blocked by",
        "chain",
        "lock",
        "blocked query",
    ]
    locks = LOCKS_COLUMNS
    order = _names(locks, plan(locks, LOCKS_ROLES, [4, 16, 13, 13, 3, 5], 40).order)
    assert order[:3] == ["pid", "wait duration", "granted"]


def test_other_stores_declared_roles_are_ranked_the_same_way() -> None:
    from storescope.tui.widgets.monitor.monitor_columns import Role, plan, roles

    current_op = ("opid", "ns", "client", "active", "secs_running", "waitingForLock", "command")
    declared = {
        ColumnRole.ID: (0,),
        ColumnRole.DATABASE: (1,),
        ColumnRole.USER: (2,),
        ColumnRole.STATE: (3,),
        ColumnRole.DURATION: (4,),
        ColumnRole.WAIT: (5,),
        ColumnRole.TEXT: (6,),
    }
    assert roles(len(current_op), declared) == [
        Role.KEY,
        Role.OTHER,
        Role.OTHER,
        Role.STATE,
        Role.DURATION,
        Role.WAIT,
        Role.DETAIL,
    ]
    client_list = ("id", "addr", "name", "age", "idle", "flags", "db", "cmd")
    declared = {ColumnRole.ID: (0,), ColumnRole.TEXT: (7,)}
    order = plan(client_list, declared, [3, 15, 8, 4, 4, 2, 2, 10], 30).order
    assert _names(client_list, order)[:2] == ["id", "cmd"], (
        "columns without a role keep their order after"
    )
    assert list(order[2:]) == [1, 2, 3, 4, 5, 6]


def test_roles_come_from_the_backend_not_from_column_names() -> None:
    from storescope.tui.widgets.monitor.monitor_columns import Role, plan, roles

    # Named like PostgreSQL's columns but declared nothing: no column is
    # taken for an id, a duration or a query, and the backend's order holds.
    assert set(roles(len(SESSIONS), {})) == {Role.OTHER}
    narrow = plan(SESSIONS, {}, SESSION_CELLS, 56)
    assert list(narrow.order) == list(range(len(SESSIONS)))
    # Any name serves once declared.
    named = ("a", "b", "c")
    declared = {ColumnRole.TEXT: (0,), ColumnRole.DURATION: (2,), ColumnRole.ID: (1,)}
    assert roles(3, declared) == [Role.DETAIL, Role.KEY, Role.DURATION]
    assert _names(named, plan(named, declared, [40, 3, 5], 30).order) == ["b", "c", "a"]


def test_help_lists_the_table_digits_on_one_short_row() -> None:
    from storescope.screens.help import binding_rows

    rows = binding_rows(MonitorPanel.BINDINGS, lambda b: b.key_display or b.key)
    digits = [(keys, what) for keys, what in rows if "table" in what.lower() and "1" in keys]
    assert digits == [("1…9", "Show table n")]


# -- a store of its own: its actions and roles, not PostgreSQL's ---------------------------

OPS_COLUMNS = ("op", "client", "ns", "microsecs_running", "phase", "desc", "plan")
OPS_ROLES = {
    ColumnRole.ID: (0,),
    ColumnRole.USER: (1,),
    ColumnRole.DATABASE: (2,),
    ColumnRole.DURATION: (3,),
    ColumnRole.STATE: (4,),
    ColumnRole.TEXT: (5,),
}
KILL = MonitorAction(
    "kill op",
    "Kill operation",
    "x",
    title="Kill operation {id}?",
    confirm="Kill it",
    text=(
        ("Operation {id} of {user} on {database}", "Operation {id}"),
        "busy for {duration}",
        "waiting on {wait}",  # no column has this role: the line is left out
        "{text}",
        "What it already wrote stays written.",
    ),
    danger=ActionDanger.DESTRUCTIVE,
)
MARK = MonitorAction("mark", "Mark", "y", title="", confirm="", danger=ActionDanger.SAFE)
#: Takes the panel's own sort key: not offered.
CLASH = MonitorAction("clash", "Clash", "s", title="Clash {id}?", confirm="Clash")


class OpsBackend(FakeBackend):
    """The fake with a monitor of its own: one table of operations whose
    columns have none of PostgreSQL's names, and actions of its own."""

    capabilities = FakeBackend.capabilities | Capability.MONITOR
    #: (action id, row id) of every action run, in order.
    acted: ClassVar[list[tuple[str, Any]]] = []

    def stats(self) -> Stats:
        rows = (
            (
                7,
                "app@10.0.0.1",
                "shop.orders",
                timedelta(seconds=185),
                "yielding",
                "aggregate [{$group: {_id: '$sku'}}]",
                "COLLSCAN",
            ),
            (9, "cron", "shop.carts", timedelta(seconds=2), "running", "remove {old: true}", ""),
        )
        return Stats(
            taken_at=time.time(),
            tables=(
                StatsTable(
                    "Operations",
                    OPS_COLUMNS,
                    rows,
                    key_column=0,
                    actions=(KILL, MARK, CLASH),
                    roles=OPS_ROLES,
                ),
            ),
        )

    def session_action(self, action: str, session_id: Any) -> str:
        OpsBackend.acted.append((action, session_id))
        return f"{action} done on operation {session_id}"


@pytest.fixture
def ops_backend(monkeypatch: pytest.MonkeyPatch) -> type[OpsBackend]:
    OpsBackend.acted.clear()
    monkeypatch.setattr(
        "storescope.tui.session.open_backend",
        lambda url, **kw: OpsBackend(url, **kw),
    )
    return OpsBackend


async def test_another_stores_actions_and_roles_are_what_the_user_sees(
    ops_backend: type[OpsBackend],
) -> None:
    async with run_app(["fake://demo"], size=(120, 30)) as (app, pilot):
        panel = await show_monitor(app, pilot)
        view = panel.view
        assert view is not None and view.table_name == "Operations"
        text = screen_text(app)
        footer = text.splitlines()[-1]
        assert "x Kill operation" in footer and "y Mark" in footer, footer
        assert "Clash" not in footer, "a key the panel uses itself is not taken"
        for word in ("Cancel", "Terminate"):
            assert word not in footer, footer
        from storescope.screens.help import binding_rows

        rows = binding_rows(panel.key_bindings(), lambda b: b.key_display or b.key)
        assert ("x", "Kill operation") in rows and ("y", "Mark") in rows
        # The declared text column is the detail line, whole; a column named
        # like a plan is not guessed to be one.
        assert "aggregate [{$group: {_id: '$sku'}}]" in text
        assert "COLLSCAN" not in text.splitlines()[-3]

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert screen._title == "Kill operation 7?"
        assert screen._danger, "destructive: the button is red"
        assert screen._message.splitlines() == [
            "Operation 7 of app@10.0.0.1 on shop.orders",
            "busy for 3:05",
            "aggregate [{$group: {_id: '$sku'}}]",
            "What it already wrote stays written.",
        ]
        assert "Kill it" in screen_text(app)
        for word in ("session", "transaction", "query"):
            assert word not in screen._message.lower()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(ops_backend.acted))
        assert ops_backend.acted == [("kill op", 7)]
        await wait_for(
            pilot,
            lambda: any("kill op done on operation 7" in n.message for n in app._notifications),
        )

        # A safe action runs at once, on the focused row.
        await pilot.press("down")
        await wait_for(pilot, lambda: view.focused_id() == 9)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(ops_backend.acted) == 2)
        assert not isinstance(app.screen, ConfirmScreen)
        assert ops_backend.acted[-1] == ("mark", 9)

        # The panel's own s still sorts.
        await pilot.press("s")
        await pilot.pause()
        assert view.sort_column is not None and len(ops_backend.acted) == 2


def test_postgresql_confirmations_name_what_the_row_has() -> None:
    from storescope.backends.postgres.monitor import BLOCKING_ACTIONS, SESSION_ACTIONS
    from storescope.tui.widgets.monitor.monitor_actions import confirmation
    from storescope.tui.widgets.monitor.monitor_table import StatsTableView

    cancel, terminate = SESSION_ACTIONS
    view = StatsTableView("Sessions")

    def focus(table: StatsTable, row: tuple[Any, ...]) -> None:
        view.source = table
        view.shown = [(str(row[0]), row)]

    sessions = StatsTable(
        "Sessions", SESSIONS_COLUMNS, key_column=0, actions=SESSION_ACTIONS, roles=SESSIONS_ROLES
    )
    background = (77, None, "shop", "", "", "active", None, None, None, None, "")
    focus(sessions, background)
    assert confirmation(view, terminate, 77) == (
        "Terminate session 77?",
        "Session 77 (db shop)\nEnds the session; its open transaction rolls back.",
        "Terminate",
    ), "no user, no duration, no query: their lines are left out"
    busy = (
        5,
        "ann",
        "shop",
        "psql",
        "local",
        "active",
        None,
        None,
        None,
        timedelta(seconds=4.25),
        "SELECT 1\n-- two lines",
    )
    focus(sessions, busy)
    title, text, button = confirmation(view, cancel, 5)
    assert (title, button) == ("Cancel the query of session 5?", "Cancel query")
    assert text.splitlines() == [
        "Session 5 (user ann, db shop)",
        "query running for 4.2 s",
        "SELECT 1⏎-- two lines",
    ]
    blocking = StatsTable(
        "Blocking", BLOCKING_COLUMNS, key_column=0, actions=BLOCKING_ACTIONS, roles=BLOCKING_ROLES
    )
    waiter = (9, "8", "9 ← 8", "ShareLock", None, timedelta(seconds=61), "UPDATE t", "SELECT 2")
    focus(blocking, waiter)
    _, text, _ = confirmation(view, BLOCKING_ACTIONS[0], 9)
    assert text.splitlines() == ["Session 9", "UPDATE t"], "a lock wait is no query duration"
