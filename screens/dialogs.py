"""Small modal dialogs: a yes/no confirmation, a one-line text prompt and a
short menu of choices.

Keyboard first (80x24 over SSH): Enter answers yes / submits, Esc (or n)
answers no / cancels; the buttons are there for the mouse.

Titles and messages often quote a store (a table, a session's query): they
are shown through the one sanitizer (``tui.sanitize``) and never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from storescope.tui.sanitize import sanitize, sanitize_lines

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("enter,y", "answer(True)", "Confirm", priority=True),
    ]

    def __init__(self, title: str, message: str, *, confirm: str = "OK", danger: bool = False):
        super().__init__(classes="dialog-screen")
        self._title = sanitize(title)
        self._message = sanitize_lines(message)
        self._confirm = confirm
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._message, classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                # The buttons are for the mouse and never take the focus:
                # Enter always means what the ⏎ label says, whichever
                # button Tab would have highlighted.
                confirm = Button(
                    f"{self._confirm} (⏎)",
                    variant="error" if self._danger else "primary",
                    id="confirm",
                )
                cancel = Button("Cancel (Esc)", id="cancel")
                confirm.can_focus = cancel.can_focus = False
                yield confirm
                yield cancel

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextPromptScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._title = sanitize(title)
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Input(self._value, placeholder=self._placeholder, id="text")
            yield Static("⏎ OK   Esc cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[int | None]):
    """A short menu (a catalog node's actions): answers the index of the
    chosen entry, or None. Each entry may have a one-letter key that
    chooses it at once; arrows and Enter choose the highlighted one."""

    DEFAULT_CSS: ClassVar[str] = """
    ChoiceScreen OptionList, ChoiceScreen OptionList:focus {
        height: auto;
        max-height: 12;
        width: auto;
        min-width: 24;
        border: none;
        padding: 0;
        margin-bottom: 1;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, choices: list[tuple[str | None, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self._title = sanitize(title)
        self._choices = [(key, sanitize(label)) for key, label in choices]

    def compose(self) -> ComposeResult:
        options = [
            Option(f"{key or ' '}  {label}", id=str(i))
            for i, (key, label) in enumerate(self._choices)
        ]
        dialog = Vertical(classes="dialog")
        dialog.styles.width = "auto"  # a short menu, not a 70-column dialog
        with dialog:
            yield Static(self._title, classes="dialog-title", markup=False)
            yield OptionList(*options, markup=False, id="choices")
            yield Static("⏎ choose   Esc cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def on_key(self, event: events.Key) -> None:
        for i, (key, _label) in enumerate(self._choices):
            if key is not None and event.character == key:
                event.stop()
                self.dismiss(i)
                return

    def action_cancel(self) -> None:
        self.dismiss(None)
