"""ChangePlanScreen (placeholder until built): review a change plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from screens.dialogs import ConfirmScreen

if TYPE_CHECKING:
    from backends.types import ChangePlan


class ChangePlanScreen(ConfirmScreen):
    def __init__(self, plan: ChangePlan, *, title: str = "Review changes", confirm: str = "Commit"):
        text = "\n".join(step.text for step in plan.steps)
        super().__init__(title, text, confirm=confirm)
