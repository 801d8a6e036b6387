"""MonitorPanel (placeholder until built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from tui.widgets.panel import Panel

if TYPE_CHECKING:
    from textual.app import ComposeResult


class MonitorPanel(Panel):
    def compose(self) -> ComposeResult:
        yield Static("Monitor: not built yet.")
