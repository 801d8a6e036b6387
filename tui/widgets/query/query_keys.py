"""The query panel's keys, and the hint line naming the handiest of them.

Which keys a store has, and what they are called, follow from its
``QueryLanguage`` and capabilities alone (no connection): the panel labels
its bindings with ``key_labels`` and hides the others with ``offers``; the
keys screen lists ``offered_keys`` for the active connection, even before
its query panel was ever opened.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget

from storescope import backends
from storescope.backends.base import Capability
from storescope.backends.errors import BackendError
from storescope.backends.language import PLAIN

if TYPE_CHECKING:
    from storescope.backends.language import QueryLanguage

BINDINGS: list[BindingType] = [
    Binding("f5,ctrl+j,ctrl+enter", "run('cursor')", "Run"),
    Binding("f8", "run('all')", "Run all"),
    Binding("ctrl+c", "cancel", "Cancel", show=False, priority=False),
    Binding("escape", "escape", "Cancel/editor", show=False),
    # The labels of keys that depend on the language are the store's own
    # (``key_labels``).
    Binding("f7", "explain(False)", "Explain"),
    Binding("shift+f7", "explain(True)", "Explain and measure", show=False),
    Binding("ctrl+t", "transaction", "Transaction mode", show=False),
    Binding("ctrl+g", "history", "History"),
    Binding("ctrl+o", "open_file", "Open file", show=False),
    Binding("ctrl+s", "save_file", "Save file", show=False),
    Binding("ctrl+f", "format", "Format", show=False),
    Binding("ctrl+l", "toggle_focus", "Editor/results", show=False),
    # ctrl+w deletes a word in the editor: it closes a tab from the results.
    Binding("ctrl+w", "close_result", "Close result tab", show=False),
    Binding("ctrl+pageup", "switch_result(-1)", "Previous result", show=False),
    Binding("ctrl+pagedown", "switch_result(1)", "Next result", show=False),
    Binding("ctrl+b", "open_in_query", "Query current table", show=False),
]


def transactions_offered(language: QueryLanguage, capabilities: Capability) -> bool:
    """Transactions are offered: the capability, and words for them."""
    return Capability.TRANSACTIONS in capabilities and language.transactions is not None


def key_labels(language: QueryLanguage) -> dict[str, str]:
    """Binding action -> its label in the language's words (its file
    extension, its name, its explain words)."""
    return {
        "open_file": f"Open {language.files}",
        "save_file": f"Save {language.files}",
        "format": f"Format {language.name}",
        "open_in_query": language.open_label,
        "explain(False)": language.explain.label,
        "explain(True)": language.explain.analyze_label or "",
    }


def offers(
    action: str, parameters: tuple[object, ...], language: QueryLanguage, capabilities: Capability
) -> bool:
    """Whether a store has the key at all: its capabilities and its
    language's description say."""
    if action == "explain":
        analyze = bool(parameters and parameters[0])
        if analyze and language.explain.analyze_label is None:
            return False
        return Capability.EXPLAIN in capabilities
    if action == "transaction":
        return transactions_offered(language, capabilities)
    if action == "format":
        return language.format is not None
    if action == "open_in_query":
        return language.open_template is not None
    return True


def labelled(bindings: list[Binding], language: QueryLanguage) -> list[Binding]:
    """``bindings`` with the language's labels."""
    labels = key_labels(language)
    return [replace(b, description=labels[b.action]) if b.action in labels else b for b in bindings]


def offered_keys(language: QueryLanguage, capabilities: Capability) -> list[Binding]:
    """The panel's keys a store with ``language`` and ``capabilities``
    offers, labelled in its words, in the panel's order (keys of one binding
    stay together: "f5,ctrl+j,ctrl+enter")."""
    out: list[Binding] = []
    for binding in labelled([b for b in BINDINGS if isinstance(b, Binding)], language):
        _, name, parameters = parse_action(binding.action)
        if offers(name, parameters, language, capabilities):
            out.append(binding)
    return out


def hints(
    language: QueryLanguage, file_name: str, transactions: bool
) -> tuple[str, list[tuple[str, int]]]:
    """The hint line when nothing runs: the lead (the language's name and
    the file open) and the key hints with their ranks (see ``HintLine``)."""
    lead = language.name + (f" · {file_name}" if file_name else "")
    shown: list[tuple[str, int]] = []
    if transactions:
        shown.append(("^t transaction", 1))
    shown += [("^o open", 3), ("^s save", 2)]
    if language.format is not None:
        shown.append(("^f format", 4))
    shown.append(("^l results", 0))
    return lead, shown


class HintLine(Widget):
    """One line: a lead (the language's name and the file open) and key hints; hints that do not
    fit the width are left out, the least useful first."""

    DEFAULT_CSS: ClassVar[str] = "HintLine { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lead = ""
        #: (text, rank): hints in the order shown; the highest rank goes first.
        self.hints: list[tuple[str, int]] = []

    def show(self, lead: str, hints: list[tuple[str, int]] | None = None) -> None:
        self.lead = lead
        self.hints = hints or []
        self.refresh()

    @property
    def text(self) -> str:
        """What fits the current width."""
        width = self.content_size.width or 10_000
        kept = list(self.hints)
        while True:
            line = " · ".join([self.lead, *(h for h, _ in kept)])
            if cell_len(line) <= width or not kept:
                break
            kept.remove(max(kept, key=lambda h: h[1]))
        return line if cell_len(line) <= width else line[: max(0, width - 1)] + "…"

    def render(self) -> Content:
        return Content(self.text)


def language_of(url: str) -> QueryLanguage:
    """The language of the backend class serving ``url`` (no connection):
    what the panel says until the connected backend tells."""
    try:
        language: QueryLanguage = backends.described(url, "language")
        return language
    except BackendError:
        return PLAIN
