"""Run the TUI headless, press keys, and return the final screen.

Used by ``storescope snapshot`` and by the tests. Deterministic: the app runs
at a fixed size, the text cursor does not blink, and instead of sleeping we
wait until every worker has finished and the message queues are drained
(``wait_until_idle``) before and after each key.
"""

from __future__ import annotations

import asyncio
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App
    from textual.pilot import Pilot

#: Rounds of "wait for workers, then drain messages" before giving up; a
#: round that starts no new worker ends the wait early.
MAX_ROUNDS = 50
#: Longest ``wait:MS`` pause a key list may ask for (one minute).
MAX_WAIT_MS = 60_000
_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_WAIT_MS = re.compile(r"wait:([0-9]{1,9})")


@dataclass(frozen=True, slots=True)
class Snapshot:
    svg: str
    text: str
    #: The connections (redacted URLs) that were not connected at the end:
    #: their connection failed or was lost. The picture shows the error.
    failed: tuple[str, ...] = ()
    #: The errors notified during the run, "title: message" (secrets scrubbed).
    errors: tuple[str, ...] = ()


def unknown_keys(keys: list[str]) -> list[str]:
    """The names in ``keys`` that are no key: Textual sends any name as a key
    event, so a typo (``f99``, ``bogus-key``) would press nothing, silently.

    A key is ``wait`` or ``wait:MS`` (settle; pause MS milliseconds), one
    printable character, or a Textual key name (``enter``, ``pagedown``,
    ``f1``..``f24``, ``question_mark``), with ``ctrl+``/``shift+``/``alt+``
    modifiers."""
    from textual.keys import KEY_NAME_REPLACEMENTS, KEY_TO_UNICODE_NAME, Keys

    named = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    named |= set(KEY_NAME_REPLACEMENTS.values()) | set(KEY_TO_UNICODE_NAME)

    def known(key: str) -> bool:
        if key == "wait" or (key.isprintable() and len(key) == 1):
            return True
        wait = _WAIT_MS.fullmatch(key)
        if wait:
            return int(wait.group(1)) <= MAX_WAIT_MS
        *mods, base = key.split("+")
        if len(set(mods)) != len(mods) or not _MODIFIERS.issuperset(mods):
            return False
        if (len(base) == 1 and base.isprintable()) or base in named:
            return True
        if not base.isascii() or base != base.lower():
            return False
        try:  # a character by its Unicode name, as Textual names them: "full_stop"
            return len(unicodedata.lookup(base.replace("_", " "))) == 1
        except KeyError:
            return False

    return [key for key in keys if not known(key)]


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
) -> Snapshot:
    from storescope.tui.app import StorescopeApp

    app = StorescopeApp(urls, read_only=read_only)
    errors: list[str] = []
    notify = app.notify

    def recording_notify(message: str, *, title: str = "", **options: Any) -> None:
        # Every failure reaches the screen as one error notification (see
        # StorescopeApp._notify_failure): keep its text for the caller too.
        if options.get("severity") == "error":
            errors.append(f"{title}: {message}" if title else message)
        notify(message, title=title, **options)

    setattr(app, "notify", recording_notify)  # noqa: B010  (an instance's own notify)
    async with app.run_test(size=size, notifications=True) as pilot:
        await drive(pilot, keys)
        _freeze_cursor_blink(app)
        await pilot.pause()
        failed = tuple(e.session.display_url for e in app.explorers if e.needs_reconnect)
        return Snapshot(app.export_screenshot(), screen_text(app), failed, tuple(errors))


def take_snapshot(
    urls: list[str],
    *,
    keys: list[str],
    size: tuple[int, int] = (120, 40),
    read_only: bool = False,
) -> Snapshot:
    """The screen (SVG and plain text) after pressing ``keys`` (Textual key
    names: "down", "enter", "tab", "pagedown", "ctrl+r"; "wait" settles; see
    ``unknown_keys``), and which connections failed."""
    return asyncio.run(_take(list(urls), list(keys), size, read_only))
