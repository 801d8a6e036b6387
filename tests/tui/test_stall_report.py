"""The stall watchdog as a user sees it: a call the server does not answer
is reported on the status line ("the server has not answered for N s",
counting) with the keys that help, in the footer too, and the report clears
when the call returns, is cancelled, or is abandoned by reconnecting.

The fake backend's ``browse`` is held on an event to make the stall; the
report threshold is lowered from 5 s to 1 s to keep the tests short.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from storescope.backends import fake
from storescope.backends.base import Capability
from storescope.backends.errors import Cancelled
from storescope.tui import session as session_module
from storescope.tui.widgets.status_line import StatusLine

from .conftest import explorer_of, run_app, screen_text, wait_until_idle

BIG = ("shop", "public", "big")


class Gate:
    """Holds the fake's first browse of BIG until opened (or cancelled);
    later browses pass, as on a server that answers again."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.cancelled = False
        self.held = 0

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    monkeypatch.setattr(session_module, "STALL_REPORT_AFTER", 1.0)
    gate = Gate()
    original = fake.FakeBackend.browse

    def browse(self: fake.FakeBackend, path: tuple[str, ...], **kwargs: Any) -> Any:
        if path == BIG and gate.held == 0:
            gate.held += 1
            gate.opened.wait(30)
            if gate.cancelled:
                raise Cancelled("canceling statement due to user request")
        return original(self, path, **kwargs)

    monkeypatch.setattr(fake.FakeBackend, "browse", browse)
    yield gate
    gate.open()  # never leave a thread waiting


async def _until(pilot: Pilot[None], check: Callable[[], bool], timeout: float = 8.0) -> None:
    waited = 0.0
    while not check():
        assert waited < timeout, "timed out"
        await pilot.pause(0.1)
        waited += 0.1


def _status(app: Any) -> str:
    return str(explorer_of(app).query_one(StatusLine).render())


async def _footer(pilot: Pilot[None]) -> str:
    await pilot.pause(0.1)  # the footer recomposes after a bindings change
    lines = [line for line in screen_text(pilot.app).splitlines() if line.strip()]
    return lines[-1]


async def test_a_call_not_answered_is_reported_counting_and_the_report_clears(gate: Gate) -> None:
    async with run_app(["fake://stall"], size=(80, 24)) as (app, pilot):
        explorer = explorer_of(app)
        explorer.open_path(BIG)
        explorer.focus_grid()
        await _until(pilot, lambda: "has not answered" in _status(app))
        assert "the server has not answered for 1 s · ^r reconnects" in screen_text(app)
        # Offered in the footer too (at 80 columns "Reconnect" is cut short).
        assert "^r R" in await _footer(pilot)
        assert "^c" not in await _footer(pilot)  # the fake cannot cancel
        await _until(pilot, lambda: "has not answered for 2 s" in _status(app))  # counting
        assert gate.held == 1

        gate.open()
        await wait_until_idle(pilot)
        await _until(pilot, lambda: "has not answered" not in _status(app))
        text = screen_text(app)
        assert "● connected" in text
        assert "^r" not in await _footer(pilot)
        assert "rows 1–" in text  # the page the call brought


async def test_reconnecting_while_stalled_abandons_the_call_and_reloads(gate: Gate) -> None:
    async with run_app(["fake://stall-reconnect"], size=(80, 24)) as (app, pilot):
        explorer = explorer_of(app)
        explorer.open_path(BIG)
        explorer.focus_grid()
        await _until(pilot, lambda: "has not answered" in _status(app))
        await pilot.press("ctrl+r")
        # The held call stays stuck in its driver thread; its caller does not.
        await wait_until_idle(pilot)
        await _until(pilot, lambda: "● connected" in _status(app))
        text = screen_text(app)
        assert "has not answered" not in text
        assert "rows 1–" in text
        # The user asked to reconnect: no "stopped waiting" notification.
        assert "Stopped waiting" not in text


async def test_ctrl_c_cancels_a_stalled_call_when_the_backend_can(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancels: list[bool] = []

    def cancel(self: fake.FakeBackend) -> None:
        cancels.append(True)
        gate.cancelled = True
        gate.open()

    monkeypatch.setattr(fake.FakeBackend, "capabilities", Capability.CANCEL)
    monkeypatch.setattr(fake.FakeBackend, "cancel", cancel)
    async with run_app(["fake://stall-cancel"], size=(80, 24)) as (app, pilot):
        explorer = explorer_of(app)
        explorer.open_path(BIG)
        explorer.focus_grid()
        await _until(pilot, lambda: "has not answered" in _status(app))
        assert "^r reconnect · ^c cancel" in _status(app)
        assert "^c Cancel" in await _footer(pilot)
        await pilot.press("ctrl+c")
        await _until(pilot, lambda: bool(cancels))
        await wait_until_idle(pilot)
        await _until(pilot, lambda: "has not answered" not in _status(app))
        assert "^c" not in await _footer(pilot)
        assert "Cancelled" in screen_text(app)  # the statement ended as the server said


def _call_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as e:  # the outcome the caller would see
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_reconnecting_never_abandons_a_commit_whose_outcome_matters() -> None:
    """A commit held by the server past the stall report: ctrl+r moves the
    session to a new connection, but the committing caller keeps waiting for
    the real outcome (an abandoned commit may still commit, and a retry would
    apply the changes twice); an ordinary call is abandoned at once, and the
    old connection is closed once the held call returns."""
    session = session_module.Session("fake://commit-held")
    session.call(lambda b: b.server_info())
    release = threading.Event()
    closed: list[bool] = []

    def held(backend: Any) -> str:
        original_close = backend.close
        backend.close = lambda: (closed.append(True), original_close())
        release.wait(30)
        return "committed"

    commit, commit_outcome = _call_in_thread(lambda: session.call(held, abandonable=False))
    for _ in range(250):  # the commit holds the connection before the other queues
        if session.watch._waiting(0.0):
            break
        threading.Event().wait(0.02)
    assert session.watch._waiting(0.0), "the commit never started"
    other, other_outcome = _call_in_thread(lambda: session.call(lambda b: "read"))
    session.connect()  # ctrl+r: a new line, the old one abandoned
    other.join(5)
    assert isinstance(other_outcome[0], session_module.CallAbandoned)
    assert commit.is_alive() and commit_outcome == []  # still waiting for the truth
    assert closed == []  # the held call still needs its connection
    release.set()
    commit.join(5)
    assert commit_outcome == ["committed"]
    for _ in range(100):
        if closed:
            break
        threading.Event().wait(0.02)
    assert closed == [True]  # closed once free, not leaked
    session.close().join(5)
