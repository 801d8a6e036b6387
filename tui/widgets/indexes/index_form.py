"""IndexForm: the "new index" form the index panel shows in place of its list.

What it offers, and every word it says about the store, come from the
backend's ``IndexOptions``: the field list (names, or expressions when the
store allows them, with the node's field names listed below and completed as
you type, Right accepts), a direction word after an entry when the store
offers per-field directions, the index methods, unique, building without
blocking writes, a partial filter, a time to live, sparse, and an optional
name. One compact row per field so it fits the panel at 80x24. Enter in any
text field (or ctrl+s) submits; Esc cancels. The form only builds an
``IndexSpec``; the panel asks the backend what it will run and runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Checkbox, Input, Label, Select, Static

from storescope.backends.types import IndexDirection, IndexOptions, IndexSpec
from storescope.tui.sanitize import has_controls, sanitize

if TYPE_CHECKING:
    from textual.app import ComposeResult


def split_columns(text: str) -> tuple[str, ...]:
    """The comma-separated entries of ``text``, keeping commas inside
    parentheses and quotes (``coalesce(a, b)``, ``"a,b"``) as they are."""
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


def split_directions(
    entries: tuple[str, ...], options: IndexOptions
) -> tuple[tuple[str, ...], tuple[IndexDirection, ...]]:
    """Entries without their trailing direction word (one of the store's
    ``ascending_words``/``descending_words``, any case), and the directions."""
    words = {w.casefold(): IndexDirection.ASCENDING for w in options.ascending_words}
    words |= {w.casefold(): IndexDirection.DESCENDING for w in options.descending_words}
    names: list[str] = []
    directions: list[IndexDirection] = []
    for entry in entries:
        head, _, last = entry.rpartition(" ")
        direction = words.get(last.casefold()) if head.strip() else None
        names.append(head.strip() if direction is not None else entry)
        directions.append(direction or IndexDirection.DEFAULT)
    if all(d is IndexDirection.DEFAULT for d in directions):
        return tuple(names), ()
    return tuple(names), tuple(directions)


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
        options: IndexOptions,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.table = table
        self.columns = columns
        self.options = options

    def compose(self) -> ComposeResult:
        o = self.options
        yield Static(
            f"New index on {sanitize(self.table)}", classes="index-form-title", markup=False
        )
        with Horizontal():
            yield Label(o.fields_label)
            yield Input(
                placeholder=o.fields_placeholder,
                suggester=ColumnSuggester(self.columns),
                compact=True,
                id="index-columns",
            )
        listed = ", ".join(self.columns) if self.columns else f"({o.field_noun} names not known)"
        listed = sanitize(listed)
        yield Static(f"of: {listed}", classes="index-form-columns", markup=False)
        if o.methods:
            with Horizontal():
                yield Label(o.method_label)
                yield Select(
                    [(m or "default", m) for m in o.methods],
                    value=o.methods[0],
                    allow_blank=False,
                    compact=True,
                    id="index-method",
                )
        toggles: list[Checkbox] = []
        if o.unique:
            toggles.append(Checkbox(o.unique_label, compact=True, id="index-unique"))
        if o.online:
            toggles.append(
                Checkbox(o.online_label, o.online_default, compact=True, id="index-online")
            )
        if o.sparse:
            toggles.append(Checkbox(o.sparse_label, compact=True, id="index-sparse"))
        if toggles:
            with Horizontal():
                yield Label("Options")
                yield from toggles
        if o.partial:
            with Horizontal():
                yield Label(o.partial_label)
                yield Input(placeholder=o.partial_placeholder, compact=True, id="index-partial")
        if o.ttl:
            with Horizontal():
                yield Label(o.ttl_label)
                yield Input(
                    placeholder="empty: records never expire",
                    type="integer",
                    compact=True,
                    id="index-ttl",
                )
        with Horizontal():
            yield Label("Name")
            yield Input(placeholder=o.name_placeholder, compact=True, id="index-name")
        yield Static("", classes="index-form-error", id="index-form-error", markup=False)
        yield Static(
            f"⏎ review the plan · Esc cancel · → takes a {o.field_noun}",
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

    def _ticked(self, id: str) -> bool:
        found = self.query(f"#{id}").results(Checkbox)
        return any(box.value for box in found)

    def _text(self, id: str) -> str:
        return "".join(i.value.strip() for i in self.query(f"#{id}").results(Input))

    def spec(self) -> IndexSpec | None:
        """The index the fields describe, or None (and a message) when the
        fields are missing or a number is not one."""
        o = self.options
        entries = split_columns(self.query_one("#index-columns", Input).value)
        if not entries:
            either = " or expression" if o.expressions else ""
            self.show_error(f"Name at least one {o.field_noun}{either}.")
            return None
        columns: tuple[str, ...] = entries
        directions: tuple[IndexDirection, ...] = ()
        if o.directions:
            columns, directions = split_directions(entries, o)
        ttl: int | None = None
        ttl_text = self._text("index-ttl")
        if ttl_text:
            try:
                ttl = int(ttl_text)
            except ValueError:
                ttl = -1
            if ttl < 0:
                self.show_error(f"{o.ttl_label}: a whole number of seconds, 0 or more.")
                return None
        methods = list(self.query("#index-method").results(Select))
        method = methods[0].value if methods else ""
        return IndexSpec(
            columns=columns,
            unique=self._ticked("index-unique"),
            method=method if isinstance(method, str) else "",
            partial_filter=self._text("index-partial"),
            name=self._text("index-name"),
            online=self._ticked("index-online"),
            directions=directions,
            ttl_seconds=ttl,
            sparse=self._ticked("index-sparse"),
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
