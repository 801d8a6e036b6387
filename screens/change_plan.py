"""ChangePlanScreen: review a change plan before it runs.

Every step with its exact statement (as the store will run it, values
inlined), the records it touches (counted before anything runs) and its
note; the total; the plan's warnings; and what the store does if a step
fails (``ChangePlan.atomic``: all or nothing in one transaction, applied
together without rollback, or step by step; or the store's own words), in
words. Counts use the store's nouns (``StoreWords``: "3 rows", "1
document"), given by whoever shows the screen. Scrollable for long
plans. Enter or ctrl+s commits, Esc cancels. The buttons are for the mouse and take no focus, so
Enter always means "commit" and never presses a focused Cancel by surprise.

Statements inline the values they write, so every text here is shown
through the one sanitizer (``tui.sanitize``; a statement keeps its own line
breaks) and never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from storescope.tui.sanitize import sanitize, sanitize_lines
from storescope.tui.widgets.store_words import NEUTRAL_WORDS

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from storescope.backends.types import ChangePlan, StoreWords

#: Characters of one statement shown (a value can be up to ~1 MB).
STATEMENT_CHARS = 4000


def plan_summary(plan: ChangePlan, words: StoreWords = NEUTRAL_WORDS) -> str:
    """ "2 changes · 3 rows in all · atomic: all or nothing, one transaction"
    (records counted in ``words``)."""
    n = len(plan.steps)
    total = plan.affected
    records = words.count(None) if total is None else f"{words.count(total)} in all"
    # What the store does if a step fails, in its words (``Atomicity``).
    return f"{n} change{'' if n == 1 else 's'} · {records} · {plan.atomicity_text}"


class ChangePlanScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("enter,ctrl+s", "answer(True)", "Commit", priority=True),
    ]

    CSS: ClassVar[str] = """
    ChangePlanScreen {
        align: center middle;
    }
    #plan-box {
        width: 90%;
        max-width: 120;
        height: auto;
        max-height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
        padding: 0 1;
    }
    #plan-summary {
        text-style: bold;
        margin-bottom: 1;
    }
    .plan-warning {
        color: $text-warning;
    }
    #plan-steps {
        height: auto;
        max-height: 1fr;
        margin-bottom: 1;
    }
    .plan-step {
        height: auto;
        margin-bottom: 1;
    }
    .plan-number {
        width: 4;
        text-style: bold;
    }
    .plan-statement {
        width: 1fr;
    }
    .plan-note {
        color: $text-warning;
        padding-left: 4;
    }
    #plan-buttons {
        height: auto;
        align-horizontal: right;
        & > Button {
            margin-left: 1;
        }
    }
    """

    def __init__(
        self,
        plan: ChangePlan,
        *,
        title: str = "Review changes",
        confirm: str = "Commit",
        words: StoreWords | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        #: The store's nouns for the counts (neutral when not given).
        self.words = words if words is not None else NEUTRAL_WORDS
        self._title = sanitize(title)
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        plan = self.plan
        box = Vertical(id="plan-box")
        box.border_title = Content(self._title)  # a str would be parsed as markup
        with box:
            yield Static(plan_summary(plan, self.words), id="plan-summary", markup=False)
            for warning in plan.warnings:
                yield Static(f"⚠ {sanitize(warning)}", classes="plan-warning", markup=False)
            with VerticalScroll(id="plan-steps"):
                for i, step in enumerate(plan.steps, 1):
                    text = Text()
                    statement = step.text
                    if len(statement) > STATEMENT_CHARS:
                        statement = (
                            statement[:STATEMENT_CHARS]
                            + f"… ({len(step.text):,} characters in all)"
                        )
                    text.append(sanitize_lines(statement))
                    text.append(f"  → {self.words.count(step.affected)}", "bold")
                    with Horizontal(classes="plan-step"):
                        yield Static(f"{i:>2}.", classes="plan-number", markup=False)
                        yield Static(text, classes="plan-statement")
                    if step.note:
                        yield Static(f"⚠ {sanitize(step.note)}", classes="plan-note", markup=False)
            with Horizontal(id="plan-buttons"):
                commit = Button(f"{self._confirm} (⏎/^s)", variant="primary", id="confirm")
                cancel = Button("Cancel (Esc)", id="cancel")
                commit.can_focus = cancel.can_focus = False
                yield commit
                yield cancel

    def on_mount(self) -> None:
        self.query_one("#plan-steps").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
