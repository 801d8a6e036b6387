"""The one-line status of a connection: state, server, redacted URL, and on
the right what the grid shows (table and row window).

When the line is too narrow (80 columns) the URL goes first, then the
location is shortened; the state and the row window always stay.

While a call has waited ``stalled_for`` seconds for the server (the
explorer's watchdog, see ``tui.session``), that report, counting, takes the
place of the state and the server, with the keys that help; the row window
gives way to it when the line is too narrow for both.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len as text_width
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from storescope.tui.sanitize import sanitize

STATES: dict[str, tuple[str, str, str]] = {
    # state -> (glyph, label, style: theme variables only)
    "idle": ("○", "not connected", "$text-muted"),
    "connecting": ("◌", "connecting…", "$text-warning"),
    "connected": ("●", "connected", "$text-success"),
    "lost": ("✕", "connection lost · ctrl+r reconnects", "bold $text-error"),
    "failed": ("✕", "connection failed · ctrl+r retries", "bold $text-error"),
}
_DIM = "$text-muted"


class StatusLine(Widget):
    DEFAULT_CSS: ClassVar[str] = """
    StatusLine {
        height: 1;
        width: 1fr;
    }
    """

    state: reactive[str] = reactive("idle")
    server: reactive[str] = reactive("")
    url: reactive[str] = reactive("")
    read_only: reactive[bool] = reactive(False)
    #: Said after "read-only" (the backend's ``ServerInfo.read_only_note``).
    read_only_note: reactive[str] = reactive("")
    location: reactive[str] = reactive("")
    window: reactive[str] = reactive("")
    #: A short mode shown after the server (the query panel's transaction).
    mode: reactive[str] = reactive("")
    #: Seconds a call has waited for the server (0: none stalled).
    stalled_for: reactive[int] = reactive(0)
    #: Whether the stalled call can be cancelled (the key is offered).
    stall_cancel: reactive[bool] = reactive(False)

    def __init__(self, *, url: str = "", read_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        # set_reactive: known before the first frame, no extra repaint.
        self.set_reactive(StatusLine.url, url)
        self.set_reactive(StatusLine.read_only, read_only)

    def watch_state(self, old: str, new: str) -> None:
        self.remove_class(f"-{old}")
        self.add_class(f"-{new}")

    def render(self) -> Content:
        width = self.size.width
        glyph, label, state_style = STATES.get(self.state, ("?", self.state, ""))
        left: list[tuple[str, str]] = [(f" {glyph} {label}", state_style)]
        if self.stalled_for:
            keys = "^r reconnect · ^c cancel" if self.stall_cancel else "^r reconnects"
            left = [(f" ⏳ {stall_text(self.stalled_for)} · {keys}", "bold $text-warning")]
        # Server, URL and location come from the store and the user: shown
        # through the one sanitizer, as Content parts (never markup).
        if self.server and not self.stalled_for:
            left.append((f"  {sanitize(self.server)}", ""))
        if self.read_only:
            note = f" ({self.read_only_note})" if self.read_only_note else ""
            left.append((f"  read-only{note}", "bold $text-warning"))
        if self.mode:
            left.append((f"  {sanitize(self.mode)}", "bold $text-warning"))
        url = sanitize(self.url)

        right_window = f"{sanitize(self.window)} " if self.window else ""
        location = sanitize(self.location)
        left_w = sum(text_width(t) for t, _ in left)
        if self.stalled_for and left_w + text_width(right_window) + 1 > width:
            right_window = ""
        sep = "  ·  " if location and right_window else "  " if location else ""
        room = width - left_w - text_width(right_window) - text_width(sep) - 1
        if room < text_width(location):
            location = _shorten(location, max(room, 0))
            sep = sep if location else ""
            url = ""
        elif room - text_width(location) - 2 < text_width(url):
            # A URL cut to its tail says little: show it whole or not at all.
            url = ""
        url = f"  {url}" if url else ""

        parts: list[str | tuple[str, str]] = list(left)
        if url:
            parts.append((url, _DIM))
        right = f"{location}{sep}{right_window}"
        used = left_w + text_width(url) + text_width(right)
        parts.append(" " * max(1, width - used))
        if location:
            parts.append((location, ""))
        if sep:
            parts.append((sep, _DIM))
        if right_window:
            parts.append((right_window, ""))
        return Content.assemble(*parts)


def stall_text(seconds: int) -> str:
    """The stall report: "the server has not answered for 7 s"."""
    return f"the server has not answered for {seconds} s"


def _shorten(text: str, width: int) -> str:
    """``text`` cut from the left to ``width`` cells ("…tail"); "" when too small."""
    if width < 4:
        return ""
    if text_width(text) <= width:
        return text
    return "…" + text[-(width - 1) :]
