"""LabelBar: a one-line row of clickable labels, drawn as one Content.

The connection tabs, the explorer's panel bar and the monitor's table bar
are all this: each label is a few styled segments, and a click anywhere on
a label picks it. Subclasses say what the labels are (``labels``) and what
a click means (``label_clicked``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.content import Content
from textual.widget import Widget

if TYPE_CHECKING:
    from textual import events

#: One label: its (text, style) segments, drawn side by side.
Label = list[tuple[str, str]]


class LabelBar(Widget):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int]] = []  # x range of each label

    def labels(self) -> list[Label]:
        """The labels to draw now, in order (the width is ``self.size.width``)."""
        raise NotImplementedError

    def label_clicked(self, index: int) -> None:
        """Label ``index`` was clicked."""
        raise NotImplementedError

    def render(self) -> Content:
        parts: list[str | tuple[str, str]] = []
        self._spans = []
        x = 0
        for label in self.labels():
            width = sum(cell_len(text) for text, _ in label)
            parts.extend(label)
            self._spans.append((x, x + width))
            x += width
        return Content.assemble(*parts)

    async def _on_click(self, event: events.Click) -> None:
        for i, (start, end) in enumerate(self._spans):
            if start <= event.x < end:
                self.label_clicked(i)
                return
