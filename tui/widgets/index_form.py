"""IndexForm: the "new index" form the index panel shows in place of its list.

One compact row per field so it fits the panel at 80x24: columns (with the
table's column names listed below and completed as you type, Right accepts),
method, unique and CONCURRENTLY toggles, a partial-index WHERE and an
optional name. Enter in any text field (or ctrl+s) submits; Esc cancels. The
form only builds an ``IndexSpec``; the panel plans and applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Checkbox, Input, Label, Select, Static

from storescope.backends.types import IndexSpec
from storescope.tui.sanitize import has_controls, sanitize

if TYPE_CHECKING:
    from textual.app import ComposeResult


def split_columns(text: str) -> tuple[str, ...]:
    """The comma-separated entries of ``text``, keeping commas inside
    parentheses and quotes (``coalesce(a, b)``, ``"a,b"``) where they are."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return tuple(p.strip() for p in parts if p.strip())


class ColumnSuggester(Suggester):
    """Completes the last entry of a comma-separated list with a column name."""

    def __init__(self, columns: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        # The Input shows a suggestion as it is: never one it cannot show.
        self.columns = [c for c in columns if not has_controls(c)]

    async def get_suggestion(self, value: str) -> str | None:
        head, _, last = value.rpartition(",")
        token = last.lstrip()
        if not token:
            return None
        for column in self.columns:
            if column.startswith(token) and column != token:
                return value + column[len(token) :]
        folded = token.casefold()
        for column in self.columns:
            if column.casefold().startswith(folded) and column.casefold() != folded:
                prefix = value[: len(value) - len(token)]
                # Only when the typed part matches exactly (the Input shows
                # a suggestion that extends what is typed).
                if (prefix + column).startswith(value):
                    return prefix + column
        return None


class IndexForm(Vertical):
    """Fields of a new index; posts ``Submitted(spec)`` or ``Cancelled``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=True),
        Binding("ctrl+s", "submit", "Review plan", show=True),
    ]

    DEFAULT_CSS: ClassVar[str] = """
    IndexForm {
        height: auto;
        padding: 0 1;
        & > .index-form-title { text-style: bold; margin-bottom: 1; }
        & > Horizontal { height: 1; margin-bottom: 1; }
        & Label { width: 10; color: $text-muted; }
        & Input { width: 1fr; }
        & Select { width: 16; }
        & Checkbox { margin-right: 2; }
        & > .index-form-columns { color: $text-muted; padding-left: 10; margin-bottom: 1; }
        & > .index-form-hint { color: $text-muted; }
        & > .index-form-error { color: $text-error; }
    }
    """

    @dataclass
    class Submitted(Message):
        form: IndexForm
        spec: IndexSpec

    @dataclass
    class Cancelled(Message):
        form: IndexForm

    def __init__(
        self,
        table: str,
        columns: list[str],
        methods: tuple[str, ...],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.table = table
        self.columns = columns
        self.methods = methods or ("",)

    def compose(self) -> ComposeResult:
        yield Static(
            f"New index on {sanitize(self.table)}", classes="index-form-title", markup=False
        )
        with Horizontal():
            yield Label("Columns")
            yield Input(
                placeholder="col, other DESC, lower(name)",
                suggester=ColumnSuggester(self.columns),
                compact=True,
                id="index-columns",
            )
        listed = ", ".join(self.columns) if self.columns else "(column names not known)"
        listed = sanitize(listed)
        yield Static(f"of: {listed}", classes="index-form-columns", markup=False)
        with Horizontal():
            yield Label("Method")
            yield Select(
                [(m or "default", m) for m in self.methods],
                value=self.methods[0],
                allow_blank=False,
                compact=True,
                id="index-method",
            )
        with Horizontal():
            yield Label("Options")
            yield Checkbox("unique", compact=True, id="index-unique")
            yield Checkbox("concurrently", True, compact=True, id="index-concurrently")
        with Horizontal():
            yield Label("Where")
            yield Input(
                placeholder="partial index: only rows matching this", compact=True, id="index-where"
            )
        with Horizontal():
            yield Label("Name")
            yield Input(placeholder="empty: the server picks one", compact=True, id="index-name")
        yield Static("", classes="index-form-error", id="index-form-error", markup=False)
        yield Static(
            "⏎ review the plan · Esc cancel · → takes a column",
            classes="index-form-hint",
            markup=False,
        )

    def on_mount(self) -> None:
        self.query_one("#index-columns", Input).focus()

    def focus_first(self) -> None:
        self.query_one("#index-columns", Input).focus()

    def show_error(self, message: str) -> None:
        """Say what is wrong (a plan the backend refused); "" clears it."""
        self.query_one("#index-form-error", Static).update(sanitize(message))

    def spec(self) -> IndexSpec | None:
        """The index the fields describe, or None (and a message) when the
        columns are missing."""
        columns = split_columns(self.query_one("#index-columns", Input).value)
        if not columns:
            self.show_error("Name at least one column or expression.")
            return None
        method = self.query_one("#index-method", Select).value
        return IndexSpec(
            columns=columns,
            unique=self.query_one("#index-unique", Checkbox).value,
            method=method if isinstance(method, str) else "",
            where=self.query_one("#index-where", Input).value.strip(),
            name=self.query_one("#index-name", Input).value.strip(),
            concurrently=self.query_one("#index-concurrently", Checkbox).value,
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        spec = self.spec()
        if spec is not None:
            self.show_error("")
            self.post_message(self.Submitted(self, spec))

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled(self))
