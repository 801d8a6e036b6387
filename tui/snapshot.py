"""Run the TUI headless, press keys, and return the final screen.

Used by ``storescope snapshot`` and by the tests. Deterministic: the app runs
at a fixed size, the text cursor does not blink, and instead of sleeping we
wait until every worker has finished and the message queues are drained
(``wait_until_idle``) before and after each key.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot

#: Rounds of "wait for workers, then drain messages" before giving up; a
#: round that starts no new worker ends the wait early.
MAX_ROUNDS = 50


async def wait_until_idle(pilot: Pilot[Any]) -> None:
    """Wait until no worker is running and the app has processed what they
    posted (pages loaded, tree nodes filled), however many rounds it takes."""
    app = pilot.app
    for _ in range(MAX_ROUNDS):
        await pilot.pause()
        running = [w for w in app.workers if not w.is_finished]
        if not running:
            await pilot.pause()
            if not any(not w.is_finished for w in app.workers):
                return
            continue
        # A failed worker raises from wait(); its failure is already routed.
        await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)


def screen_text(app: App[Any]) -> str:
    """The current screen (with any modal and toasts) as plain text lines."""
    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    lines = console.export_text(clear=True, styles=False).splitlines()
    return "\n".join(line.rstrip() for line in lines[:height]) + "\n"


async def drive(pilot: Pilot[Any], keys: list[str]) -> None:
    """Press ``keys`` one by one, settling after each ("wait" only settles)."""
    await wait_until_idle(pilot)
    for key in keys:
        if key != "wait":
            await pilot.press(key)
        await wait_until_idle(pilot)


def _freeze_cursor_blink(app: App[Any]) -> None:
    # A blinking cursor (inputs, the command palette) would make two runs
    # of the same keys differ.
    from textual.widgets import Input

    for widget in app.screen.query(Input):
        widget.cursor_blink = False


async def _take(
    urls: list[str], keys: list[str], size: tuple[int, int], read_only: bool
) -> tuple[str, str]:
    from storescope.tui.app import StorescopeApp

    app = StorescopeApp(urls, read_only=read_only)
    async with app.run_test(size=size, notifications=True) as pilot:
        await drive(pilot, keys)
        _freeze_cursor_blink(app)
        await pilot.pause()
        return app.export_screenshot(), screen_text(app)


def take_snapshot(
    urls: list[str],
    *,
    keys: list[str],
    size: tuple[int, int] = (120, 40),
    read_only: bool = False,
) -> tuple[str, str]:
    """(SVG, plain text) of the screen after pressing ``keys`` (Textual key
    names: "down", "enter", "tab", "pagedown", "ctrl+r"; "wait" settles)."""
    return asyncio.run(_take(list(urls), list(keys), size, read_only))
