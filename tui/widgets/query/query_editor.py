"""The query editor: a code ``TextArea`` (line numbers, soft tabs, the
backend's language highlighted when tree-sitter has it) with completion.

Completion pops up as you type a name (two characters, or right after a dot)
or with ctrl+space; ↑/↓ choose, Tab/Enter accept, Esc closes. The popup never
takes focus: while it shows, the editor routes those keys to it.

Esc and ctrl+c are the panel's while a statement runs (cancel): the editor
asks ``interrupt`` first and only does its own thing when that says no.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from storescope.backends.language import CompletionRules
from storescope.tui.widgets.query.completion import CompletionIndex, CompletionList

if TYPE_CHECKING:
    from textual import events
    from textual.widgets.text_area import Location

#: TextArea keys the explorer needs more (F6 is the Monitor panel, F7
#: Explain); select all moves to ctrl+a, line start keeps home.
_DROPPED = {"select_line", "select_all", "cursor_line_start"}
_POPUP_KEYS = {"up", "down", "pageup", "pagedown", "tab", "enter", "escape"}


class QueryEditor(TextArea, inherit_bindings=False):
    """See module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(b for b in TextArea.BINDINGS if isinstance(b, Binding) and b.action not in _DROPPED),
        Binding("home", "cursor_line_start", show=False),
        Binding("ctrl+a", "select_all", "Select all", show=False),
        Binding("ctrl+home", "buffer_start", "Start of text", show=False),
        Binding("ctrl+end", "buffer_end", "End of text", show=False),
        Binding("ctrl+shift+home", "buffer_start(True)", show=False),
        Binding("ctrl+shift+end", "buffer_end(True)", show=False),
        Binding("ctrl+space,ctrl+@", "complete", "Complete", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=False,
            tab_behavior="indent",
            show_line_numbers=True,
        )
        self.indent_type = "spaces"
        self.popup: CompletionList | None = None
        self.index: CompletionIndex | None = None
        #: The language's rules: what the word typed is, what fits there.
        self.rules = CompletionRules()
        #: Called with "escape" or "copy": True when the panel took the key
        #: (a statement is running: cancel it).
        self.interrupt: Callable[[str], bool] | None = None

    # -- offsets ----------------------------------------------------------------------

    def offset_of(self, location: Location) -> int:
        """The character offset in ``text`` of a (row, column) location."""
        row, col = location
        lines = self.document.lines
        return sum(len(line) + 1 for line in lines[:row]) + col

    def location_of(self, offset: int) -> Location:
        """The (row, column) of a character offset in ``text``."""
        offset = max(0, offset)
        lines = self.document.lines
        for row, line in enumerate(lines):
            if offset <= len(line):
                return row, offset
            offset -= len(line) + 1
        return len(lines) - 1, len(lines[-1])

    def select_word_at(self, offset: int) -> None:
        """Move the cursor to ``offset`` and select the word there (an error
        position)."""
        row, col = self.location_of(offset)
        line = self.document[row]
        start = col
        while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_$"):
            start -= 1
        end = col
        while end < len(line) and (line[end].isalnum() or line[end] in "_$"):
            end += 1
        if end == start and end < len(line):
            end += 1  # a symbol: select that one character
        self.selection = Selection((row, start), (row, end))
        self.scroll_cursor_visible()

    # -- keys -------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        popup = self.popup
        if popup is not None and popup.display and event.key in _POPUP_KEYS:
            event.stop()
            event.prevent_default()
            if event.key in ("up", "down"):
                popup.move(-1 if event.key == "up" else 1)
            elif event.key in ("pageup", "pagedown"):
                popup.move(-8 if event.key == "pageup" else 8)
            elif event.key == "escape":
                popup.hide()
            else:
                self.accept_completion()
            return
        if event.key == "escape" and self.interrupt is not None and self.interrupt("escape"):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)
        if event.is_printable and event.character is not None:
            self.update_completion(explicit=False, typed=event.character)
        elif popup is not None and popup.display:
            popup.hide()

    def action_copy(self) -> None:
        if self.interrupt is not None and self.interrupt("copy"):
            return
        super().action_copy()

    def action_delete_left(self) -> None:
        super().action_delete_left()
        if self.popup is not None and self.popup.display:
            self.update_completion(explicit=True)

    def action_buffer_start(self, select: bool = False) -> None:
        self.move_cursor((0, 0), select=select)

    def action_buffer_end(self, select: bool = False) -> None:
        self.move_cursor(self.document.end, select=select)

    def action_complete(self) -> None:
        self.update_completion(explicit=True)

    # -- completion -------------------------------------------------------------------

    def update_completion(self, *, explicit: bool, typed: str = "") -> None:
        """Show (or refresh, or hide) the popup for the word before the cursor."""
        popup, index = self.popup, self.index
        if popup is None:
            return
        if index is None or self.selection.start != self.selection.end:
            popup.hide()
            return
        row, col = self.cursor_location
        line = self.document[row]
        # The language reads a bounded window: the 20 lines above and this one.
        window = "\n".join([*self.document.lines[max(0, row - 20) : row], line[:col]])
        found = self.rules.context(window, len(window))
        qualifier, word = found.qualifier, found.word
        if not explicit and not popup.display:
            after_dot = typed == "." and qualifier is not None
            if not after_dot and len(word) < 2:
                return
        if not explicit and typed and not (typed.isalnum() or typed in self.rules.word_chars):
            popup.hide()
            return
        entries = index.matches(word, qualifier, prefer=found.prefer)
        if not entries:
            popup.hide()
            return
        popup.show(entries, len(word))
        self._place(popup)

    def _place(self, popup: CompletionList) -> None:
        parent = popup.parent
        if parent is None or not hasattr(parent, "content_region"):
            return
        origin = parent.content_region
        x, y = self.cursor_screen_offset
        height = min(10, popup.option_count)
        below = y + 1
        if below + height > origin.bottom:
            below = max(origin.y, y - height)
        popup.styles.offset = (max(0, x - popup.typed - origin.x), below - origin.y)

    def accept_completion(self) -> None:
        popup = self.popup
        if popup is None:
            return
        name = popup.chosen
        popup.hide()
        if name is None:
            return
        row, col = self.cursor_location
        start = (row, max(0, col - popup.typed))
        self.replace(name, start, (row, col))
