"""ConnectionTabs: a one-line tab bar, one label per connection.

Textual's TabbedContent cost about 40 ms of CPU before the first frame here
(measured: run-to-first-paint 137 ms with it, 89 ms with a one-line bar and
a ContentSwitcher) and two rows; at 80x24 and with a 0.35 s launch budget
both matter. This bar is one rendered line: each label
carries its connection's state glyph, the active one is highlighted, labels
shrink (with "…") when they do not all fit, and a click activates a tab.
The panes live in a ContentSwitcher next to it (see ``tui.app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len as text_width
from textual.message import Message
from textual.reactive import reactive

from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.label_bar import Label, LabelBar

GLYPHS: dict[str, tuple[str, str]] = {
    # connection state -> (glyph, style); theme variables only
    "idle": ("○", "$text-muted"),
    "connecting": ("◌", "$text-warning"),
    "connected": ("●", "$text-success"),
    "lost": ("✕", "$text-error"),
    "failed": ("✕", "$text-error"),
}
ACTIVE = "bold $foreground on $primary-muted"
INACTIVE = "$foreground"
MIN_LABEL = 6


class ConnectionTabs(LabelBar):
    DEFAULT_CSS: ClassVar[str] = """
    ConnectionTabs {
        height: 1;
        width: 1fr;
    }
    """

    active: reactive[int] = reactive(0)

    @dataclass
    class Activated(Message):
        """The user clicked tab ``index``."""

        tabs: ConnectionTabs
        index: int

    def __init__(self, titles: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        # A title is a redacted URL: whatever the user typed, escapes too.
        self.titles = [sanitize(t) for t in titles]
        self.states = ["idle"] * len(self.titles)

    def set_state(self, index: int, state: str) -> None:
        if 0 <= index < len(self.states) and self.states[index] != state:
            self.states[index] = state
            self.refresh()

    def _labels(self, width: int) -> list[str]:
        labels = list(self.titles)
        # Each tab costs its label plus " ● " before and " " after.
        overhead = 4 * len(labels)
        while labels and sum(text_width(t) for t in labels) + overhead > width:
            # Shorten the longest inactive label first, the active one last.
            order = sorted(range(len(labels)), key=lambda i: (i == self.active, -len(labels[i])))
            i = order[0]
            if len(labels[i]) <= MIN_LABEL:
                break
            labels[i] = labels[i][: max(MIN_LABEL, len(labels[i]) - 4) - 1] + "…"
        return labels

    def labels(self) -> list[Label]:
        out: list[Label] = []
        for i, label in enumerate(self._labels(self.size.width)):
            glyph, glyph_style = GLYPHS.get(self.states[i], ("?", ""))
            base = ACTIVE if i == self.active else INACTIVE
            background = base.partition(" on ")[2]
            out.append(
                [
                    (" ", base),
                    (glyph, f"{glyph_style} on {background}" if background else glyph_style),
                    (f" {label} ", base),
                ]
            )
        return out

    def label_clicked(self, index: int) -> None:
        self.post_message(self.Activated(self, index))
