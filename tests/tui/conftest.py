"""Helpers for the TUI tests: every test runs the real app on the in-memory
fake backend, at a fixed size, and waits for workers instead of sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from textual.pilot import Pilot

from storescope.screens.explorer import Explorer
from storescope.tui.app import StorescopeApp
from storescope.tui.snapshot import drive, screen_text, wait_until_idle

__all__ = ["drive", "run_app", "screen_text", "wait_until_idle", "explorer_of", "open_table"]


@asynccontextmanager
async def run_app(
    urls: list[str], *, size: tuple[int, int] = (120, 40), read_only: bool = False
) -> AsyncIterator[tuple[StorescopeApp, Pilot[None]]]:
    app = StorescopeApp(urls, read_only=read_only)
    async with app.run_test(size=size, notifications=True) as pilot:
        await wait_until_idle(pilot)
        yield app, pilot


def explorer_of(app: StorescopeApp) -> Explorer:
    explorer = app.active_explorer
    assert explorer is not None
    return explorer


async def open_table(app: StorescopeApp, pilot: Pilot[None], path: tuple[str, ...]) -> Explorer:
    """Open ``path`` in the grid as Enter on its catalog node would, and focus the grid."""
    explorer = explorer_of(app)
    explorer.open_path(path)
    explorer.focus_grid()
    await wait_until_idle(pilot)
    return explorer
