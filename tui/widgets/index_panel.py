"""IndexPanel (placeholder until built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from tui.widgets.panel import Panel

if TYPE_CHECKING:
    from textual.app import ComposeResult


class IndexPanel(Panel):
    def compose(self) -> ComposeResult:
        yield Static("Indexes: not built yet.")
