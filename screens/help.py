"""The keys screen (``?`` / F1): every key of the app, the catalog and the
grid, generated from their bindings so it cannot drift from what works.

Nothing here comes from a store today; the rows still go through the one
sanitizer (``tui.sanitize``) and are Content parts, never markup, so a
section a panel adds later cannot carry an escape to the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from storescope.tui.sanitize import sanitize

if TYPE_CHECKING:
    from textual.app import ComposeResult

#: (section title, [(keys, what they do)])
Sections = list[tuple[str, list[tuple[str, str]]]]

KEY_WIDTH = 12


def binding_rows(bindings: Iterable[BindingType], key_display: object) -> list[tuple[str, str]]:
    """(keys, description) for each binding that has a description.

    ``key_display`` is ``App.get_key_display``; keys of one binding written
    "a,b" are shown "a / b".
    """
    rows: list[tuple[str, str]] = []
    groups: dict[str, int] = {}  # a footer group (↑↓←→ Move) is one row here too
    for item in bindings:
        if not isinstance(item, Binding) or not item.description:
            continue
        keys = []
        for key in item.key.split(","):
            single = "," not in item.key
            one = Binding(
                key.strip(),
                item.action,
                item.description,
                key_display=item.key_display if single else None,
            )
            keys.append(key_display(one) if callable(key_display) else key)
        shown = " / ".join(keys)
        if item.group is not None and item.group.description and single:
            name = item.group.description
            if name in groups:
                keys_so_far, _ = rows[groups[name]]
                rows[groups[name]] = (f"{keys_so_far} {shown}", name)
                continue
            groups[name] = len(rows)
            rows.append((shown, name))
            continue
        rows.append((shown, item.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss_help", "Close", show=True, key_display="esc"),
    ]

    def __init__(self, sections: Sections) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        # Two columns so the whole list fits an 80x24 terminal unscrolled.
        half = (len(self.sections) + 1) // 2
        with VerticalScroll(id="help-box") as box:
            box.border_title = "storescope · keys"
            box.border_subtitle = "esc closes"
            with Horizontal(id="help-columns"):
                yield Static(self._content(self.sections[:half]), classes="help-column")
                yield Static(self._content(self.sections[half:]), classes="help-column")

    @staticmethod
    def _content(sections: Sections) -> Content:
        parts: list[str | tuple[str, str]] = []
        for n, (title, rows) in enumerate(sections):
            if n:
                parts.append("\n")
            parts.append((f"{sanitize(title)}\n", "bold $text-accent"))
            for keys, description in rows:
                parts.append((f" {sanitize(keys):<{KEY_WIDTH}} ", "bold"))
                parts.append(f"{sanitize(description)}\n")
        return Content.assemble(*parts).rstrip()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
