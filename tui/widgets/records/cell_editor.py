"""CellEditor: the one-line editor drawn over a grid cell (and over a field of
the record view).

Enter stages the text once the store has checked it (the owner's
background call answers with ``Checked``; refused text stays in the editor
with the store's reason), ctrl+n stages no value (named in the store's word
for it: "Set NULL" on PostgreSQL, "Set null" on a document store), Esc is the one explicit cancel.
Leaving it any other way (a click elsewhere, switching panels) posts
``Finished`` with ``blurred`` set and the text typed: its owner stages the
text when it differs from what the editor started from, so typed text is
never dropped silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingsMap, BindingType
from textual.message import Message
from textual.widgets import Input

from storescope.tui.widgets.store_words import NEUTRAL_WORDS, words_near

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual import events


def renamed(bindings: BindingsMap, action: str, description: str) -> BindingsMap:
    """``bindings`` (a widget's, inherited ones included) with the
    bindings of ``action`` described as ``description``."""
    return BindingsMap(
        [
            dataclasses.replace(b, description=description) if b.action == action else b
            for items in bindings.key_to_bindings.values()
            for b in items
        ]
    )


class CellEditor(Input):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        # Renamed in the store's word when opened (``null_word``).
        Binding("ctrl+n", "set_null", f"Set {NEUTRAL_WORDS.no_value}"),
    ]

    @dataclass
    class Finished(Message):
        """``value`` is the typed text, None for no value; ``cancelled`` when
        nothing is to be staged; ``blurred`` when the editor lost focus
        (``value`` is then the text typed, staged only if it changed)."""

        editor: CellEditor
        value: str | None
        cancelled: bool = False
        blurred: bool = False

    @dataclass
    class Checked(Message):
        """The outcome of the store's check of typed text, posted to the
        editor by its owner's background call: ``then`` (the owner's) runs
        on the event loop, where it may stage the text or keep it open."""

        then: Callable[[], None]

    #: The text the editor was opened with (set by its owner).
    start_text = ""

    def null_word(self, word: str) -> None:
        """Name ctrl+n in the store's word for no value (PostgreSQL: NULL)."""
        self._bindings = renamed(self._bindings, "set_null", f"Set {word}")
        self.refresh_bindings()

    @classmethod
    def keys(cls, null_word: str) -> list[Binding]:
        """The editor's keys with ctrl+n called "Set ``null_word``" (for a
        keys help of a store)."""
        return [
            dataclasses.replace(b, description=f"Set {null_word}") if b.action == "set_null" else b
            for b in cls.BINDINGS
            if isinstance(b, Binding)
        ]

    def open(self, text: str, *, placeholder: str, null_word: str | None = None) -> None:
        """Show the editor with ``text`` and focus it; ctrl+n is called
        "Set ``null_word``" (the store's word for no value; None: the words
        of the store the panel it is in shows)."""
        self.null_word(null_word if null_word is not None else words_near(self).no_value)
        self.start_text = text
        self.placeholder = placeholder
        self.value = text
        self.display = True
        self.focus()

    @property
    def changed(self) -> bool:
        return self.value != self.start_text

    def action_cancel(self) -> None:
        self.post_message(self.Finished(self, None, cancelled=True))

    def action_set_null(self) -> None:
        self.post_message(self.Finished(self, None))

    def on_cell_editor_checked(self, event: CellEditor.Checked) -> None:
        event.stop()
        event.then()

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        if self.display:
            self.post_message(
                self.Finished(self, self.value, cancelled=not self.changed, blurred=True)
            )
