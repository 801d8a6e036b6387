"""RecordEditorScreen: the form for a new record (the insert form).

One line per field: its name, type and whether it must hold a value (the
codec's ``required``: PostgreSQL's "not null"), and an input
whose placeholder is what an empty input means: the field's DEFAULT
expression, NULL (a nullable field without a default), or "required". An
empty input takes the default; ctrl+n sets the focused field to NULL
explicitly (typing clears it again). The words are the store's
(``RecordSchema.codec``: PostgreSQL's NULL and DEFAULT; a store without
defaults leaves an empty field out). Generated fields cannot be set (the
codec's ``generated`` word, or the field's default text, says why).
ctrl+s stages the insert; nothing is written until the staged changes are
committed. The key hint sits above the fields and the form has its own
footer, so how to submit it shows at 80x24 however many fields there are;
the fields scroll, following the focus.

Given ``values`` (a staged insert's fields), the form starts from them.

Field names, types and defaults come from the store: they are shown through
the one sanitizer (``tui.sanitize``) and never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from storescope.backends.types import DEFAULT
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.records.cell_editor import renamed

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from storescope.backends.types import FieldInfo, RecordSchema, ValueCodec


class FieldInput(Input):
    """An input for one field; ``null`` is the explicit NULL toggle."""

    def __init__(self, info: FieldInfo, codec: ValueCodec) -> None:
        super().__init__(
            placeholder=_placeholder(info, codec),
            disabled=not info.editable,
            classes="form-input",
        )
        self.info = info
        self.codec = codec
        self.null = False

    def set_null(self, null: bool) -> None:
        self.null = null
        if null:
            self.value = ""
        self.placeholder = self.codec.null_word if null else _placeholder(self.info, self.codec)
        self.set_class(null, "-null")


def _placeholder(info: FieldInfo, codec: ValueCodec) -> str:
    if not info.editable:
        return sanitize(info.default) or codec.generated
    default = codec.default_word
    if info.default:
        return f"{default} {sanitize(info.default)}" if default else sanitize(info.default)
    if info.nullable:
        return f"{default} ({codec.null_word})" if default else "left out"
    return "required"


class RecordEditorScreen(ModalScreen[tuple[tuple[str, Any], ...] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Stage insert", priority=True),
        Binding("ctrl+n", "toggle_null", "NULL"),
    ]

    CSS: ClassVar[str] = """
    RecordEditorScreen {
        align: center middle;
    }
    #form-box {
        width: 90;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
        padding: 0 1;
    }
    #form-fields {
        height: auto;
        /* Bounded in the screen's terms: a max-height of 1fr inside an
           auto-height box did not bound it, so nothing scrolled. */
        max-height: 70vh;
    }
    .form-row {
        height: 1;
        margin-bottom: 1;
    }
    .form-label {
        width: 40%;
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    .form-input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
        &:focus {
            background: $block-cursor-blurred-background;
        }
        &.-null {
            text-style: italic;
        }
    }
    #form-hint {
        color: $text-muted;
        height: 1;
        margin-bottom: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(
        self,
        schema: RecordSchema,
        *,
        title: str = "Insert a record",
        values: tuple[tuple[str, Any], ...] = (),
    ) -> None:
        super().__init__()
        self.schema = schema
        self.codec = schema.codec
        self._title = sanitize(title)
        self._values = dict(values)
        null = self.codec.null_word
        # The store's word for no value on the key too (PostgreSQL: NULL).
        self._bindings = renamed(self._bindings, "toggle_null", null)

    def compose(self) -> ComposeResult:
        box = Vertical(id="form-box")
        box.border_title = Content(self._title)  # a str would be parsed as markup
        with box:
            empty = self.codec.default_word or "left out"
            yield Static(
                f"^s stage insert · Esc cancel · empty = {empty} · ^n {self.codec.null_word} · "
                "⏎ next field",
                id="form-hint",
                markup=False,
            )
            with VerticalScroll(id="form-fields", can_focus=False):
                for info in self.schema.fields:
                    label = Text()
                    label.append(sanitize(info.name), "bold")
                    label.append(f" {sanitize(info.type_name)}", "dim")
                    if not info.nullable:
                        label.append(f" {self.codec.required}", "dim italic")
                    if info.primary_key:
                        label.append(" key", "dim italic")
                    with Horizontal(classes="form-row"):
                        yield Static(label, classes="form-label")
                        yield self._input(info)
        yield Footer()

    def _input(self, info: FieldInfo) -> FieldInput:
        field_input = FieldInput(info, self.codec)
        value = self._values.get(info.name, DEFAULT)
        if value is None:
            field_input.set_null(True)
        elif value is not DEFAULT and info.editable:
            field_input.value = self.codec.edit_text(info, value) or ""
        return field_input

    def on_mount(self) -> None:
        inputs = [i for i in self.query(FieldInput) if not i.disabled]
        if inputs:
            inputs[0].focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FieldInput) and event.value and event.input.null:
            event.input.set_null(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next(FieldInput)

    def action_toggle_null(self) -> None:
        focused = self.focused
        if isinstance(focused, FieldInput):
            if not focused.info.nullable:
                self.notify(
                    f"{focused.info.name} cannot be {self.codec.null_word}",
                    severity="warning",
                    markup=False,
                )
                return
            focused.set_null(not focused.null)

    def values(self) -> tuple[tuple[str, Any], ...]:
        """(field, value) in the schema's order: typed text, None, or DEFAULT."""
        fields: list[tuple[str, Any]] = []
        for field_input in self.query(FieldInput):
            info = field_input.info
            if field_input.null:
                fields.append((info.name, None))
            elif field_input.value == "" or not info.editable:
                fields.append((info.name, DEFAULT))
            else:
                fields.append((info.name, field_input.value))
        return tuple(fields)

    def action_save(self) -> None:
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)
