"""RecordViewScreen: one whole record, every field with its type.

Values are shown faithfully and bounded: NULL (dim italic) is not the empty
string (``""``), json/jsonb values are pretty-printed, binary values are a hex
dump (offset, hex, ASCII) of their first bytes, a preview of a bigger value
says its true size, and long values scroll in a box of their own. ``e``
edits the focused field (the panel stages an ``Update``), Esc closes.

Names, types, keys and values are shown through the one sanitizer
(``tui.sanitize``: a value in a box keeps its line breaks) and never as
markup. A value holding control characters is not edited in place: the
one-line editor would have to show them raw or send back the escapes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Static, TextArea

from storescope.backends.types import DEFAULT, MISSING, BinaryValue, Truncated
from storescope.tui.sanitize import has_controls, sanitize, sanitize_lines
from storescope.tui.widgets.grid.cells import human_size
from storescope.tui.widgets.records.cell_editor import CellEditor
from storescope.tui.widgets.records.staging import NEUTRAL_CODEC

if TYPE_CHECKING:
    from textual import events
    from textual.app import ComposeResult

    from storescope.backends.types import FieldInfo, ValueCodec
    from storescope.tui.messages import RecordViewRequested

#: Bytes of a binary value shown in the hex dump.
HEX_DUMP_BYTES = 4096
#: Characters of a text value shown (the backend bounds values at ~1 MB;
#: wrapping that much on every resize would stall the screen).
TEXT_CHARS = 200_000
#: A value longer than this, or with a line break, gets a scrolling box.
SHORT = 120


def hex_dump(data: bytes, limit: int = HEX_DUMP_BYTES) -> str:
    """``offset  hex bytes  |ascii|``, 16 bytes a line, the first ``limit`` bytes."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def describe_value(
    value: Any, codec: ValueCodec = NEUTRAL_CODEC, info: FieldInfo | None = None
) -> tuple[str, str, bool]:
    """(text shown, a note such as the true size, whether it needs a box);
    the text sanitized, keeping its line breaks when it goes in a box. A
    plain value is shown as the store's edit text (``codec``)."""
    text, note, boxed = _describe_value(value, codec, info)
    return (sanitize_lines(text) if boxed else sanitize(text)), note, boxed


def _describe_value(value: Any, codec: ValueCodec, info: FieldInfo | None) -> tuple[str, str, bool]:
    if isinstance(value, Truncated):
        preview = value.preview
        size = human_size(value.total_size, value.unit)
        if isinstance(preview, bytes):
            return (
                hex_dump(preview),
                f"preview: first {len(preview):,} of {size}",
                True,
            )
        return preview[:TEXT_CHARS], f"preview: first {len(preview):,} of {size}", True
    if isinstance(value, bytes | bytearray | memoryview | BinaryValue):
        data = value.data if isinstance(value, BinaryValue) else bytes(value)
        note = f"{human_size(len(data))}"
        if len(data) > HEX_DUMP_BYTES:
            note += f", first {HEX_DUMP_BYTES:,} bytes shown"
        return hex_dump(data), note, True
    if isinstance(value, dict | list):
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        return text[:TEXT_CHARS], "", "\n" in text or len(text) > SHORT
    if isinstance(value, str):
        note = f"{len(value):,} characters" if len(value) > SHORT else ""
        if len(value) > TEXT_CHARS:
            note = f"{len(value):,} characters, first {TEXT_CHARS:,} shown"
        return value[:TEXT_CHARS], note, "\n" in value or len(value) > SHORT
    text = codec.edit_text(info, value) or ""
    return text, "", "\n" in text or len(text) > SHORT


class FieldValue(Static, can_focus=True):
    """A short value; focusable, so ``e`` knows which field to edit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
    ]


class FieldBlock(Vertical):
    """One field: its name and type, its value, its staged value."""

    def __init__(self, field_name: str, *, classes: str, id: str) -> None:
        super().__init__(classes=classes, id=id)
        self.field_name = field_name


class RecordViewScreen(ModalScreen[None]):
    # Focused in on_mount: the automatic focus scrolled (animated) to
    # "center" the first value before the layout was done, hiding its name.
    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("e", "edit", "Edit field"),
    ]

    CSS: ClassVar[str] = """
    RecordViewScreen {
        align: center middle;
    }
    #record-box {
        width: 90%;
        height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        border-subtitle-color: $text-muted;
        background: $surface;
        padding: 0 1;
    }
    #record-fields {
        height: 1fr;
    }
    .record-field {
        height: auto;
        margin-bottom: 1;
    }
    .record-name {
        color: $text-primary;
    }
    .record-value {
        height: auto;
        padding-left: 2;
        &:focus {
            background: $block-cursor-blurred-background;
        }
        &.-null {
            color: $text-muted;
            text-style: italic;
        }
    }
    .record-box-value {
        height: auto;
        max-height: 12;
        margin-left: 2;
        border: none;
        padding: 0;
        &:focus {
            border: none;
            background: $block-cursor-blurred-background;
        }
    }
    .record-note {
        color: $text-muted;
        padding-left: 2;
    }
    .record-staged {
        padding-left: 2;
        background: $warning 30%;
    }
    #record-hint {
        color: $text-muted;
        height: 1;
    }
    #record-editor {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
        background: $warning 50%;
    }
    """

    def __init__(self, request: RecordViewRequested) -> None:
        super().__init__()
        self.request = request
        self.staged = dict(request.staged)
        types = {f.name: f for f in request.schema.fields} if request.schema else {}
        self._fields: dict[str, FieldInfo] = types
        self.codec = request.schema.codec if request.schema else NEUTRAL_CODEC
        self._editing: str | None = None

    def compose(self) -> ComposeResult:
        request = self.request
        box = Vertical(id="record-box")
        # Content, not str: a border title given as a str is parsed as markup.
        box.border_title = Content(sanitize(request.title or "Record"))
        key = ", ".join(f"{k}={v!r}" for k, v in request.record.key)
        box.border_subtitle = Content(sanitize(key))
        with box:
            with VerticalScroll(id="record-fields", can_focus=False):
                for name, value in request.record.fields:
                    yield from self._field(name, value)
            if request.read_only_reason:
                hint = f"read-only: {sanitize(request.read_only_reason)} · Esc close"
            else:
                hint = "Tab/↑↓ field · e edit field · Esc close"
            yield Static(hint, id="record-hint", markup=False)
            yield CellEditor(id="record-editor")
        # Its own footer: the explorer's would show the grid's keys.
        yield Footer()

    def _field(self, name: str, value: Any) -> ComposeResult:
        info = self._fields.get(name)
        header = Text()
        header.append(sanitize(name), "bold")
        if info is not None:
            header.append(f"  {sanitize(info.type_name)}", "dim")
            flags = []
            if name in dict(self.request.record.key) or info.primary_key:
                flags.append("key")
            if not info.nullable:
                flags.append(self.codec.required)
            if info.default:
                default = sanitize(info.default)
                flags.append(default if not info.editable else f"default {default}")
            if flags:
                header.append("  · " + " · ".join(flags), "dim italic")
        with FieldBlock(name, classes="record-field", id=f"field-{_safe_id(name)}"):
            yield Static(header, classes="record-name")
            if value is None:
                yield FieldValue(self.codec.null_word, classes="record-value -null", markup=False)
            elif value is MISSING:
                yield FieldValue("(absent)", classes="record-value -null", markup=False)
            elif value is DEFAULT:
                word = self.codec.default_word or "(left out)"
                yield FieldValue(word, classes="record-value -null", markup=False)
            elif value == "":
                yield FieldValue('""  (empty string)', classes="record-value", markup=False)
            else:
                text, note, boxed = describe_value(value, self.codec, info)
                if boxed:
                    area = TextArea(
                        text,
                        read_only=True,
                        soft_wrap=not _is_dump(value),
                        show_line_numbers=False,
                        classes="record-box-value",
                    )
                    area.cursor_blink = False
                    yield area
                else:
                    yield FieldValue(text, classes="record-value", markup=False)
                if note:
                    yield Static(f"({note})", classes="record-note", markup=False)
            yield Static(self._staged_text(name), classes="record-staged", markup=False).set_class(
                name not in self.staged, "-hidden"
            )

    def _staged_text(self, name: str) -> str:
        if name not in self.staged:
            return ""
        value = self.staged[name]
        if value is None:
            return f"staged: {self.codec.null_word}"
        return f"staged: {sanitize(str(value))}"

    def on_mount(self) -> None:
        for widget in self.query(".record-staged"):
            widget.display = not widget.has_class("-hidden")
        first = self.query("FieldValue, .record-box-value").first()
        first.focus(scroll_visible=False)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The whole field (its name and type too), not just the value.
        for node in event.widget.ancestors_with_self:
            if isinstance(node, FieldBlock):
                # After Textual's own scroll to the focused value.
                self.call_after_refresh(node.scroll_visible, animate=False)
                return

    def _focused_field(self) -> str | None:
        focused = self.focused
        if focused is None:
            return None
        for node in focused.ancestors_with_self:
            if isinstance(node, FieldBlock):
                return node.field_name
        return None

    def action_edit(self) -> None:
        if self.request.read_only_reason:
            self.notify(
                self.request.read_only_reason, title="Read-only", severity="warning", markup=False
            )
            return
        name = self._focused_field()
        if name is None:
            return
        info = self._fields.get(name)
        if info is not None and not info.editable:
            self.notify(f"{name} is {info.default or 'generated'}; it cannot be set", markup=False)
            return
        value = self.staged.get(name, dict(self.request.record.fields).get(name))
        text = self.codec.edit_text(info, value)
        if text is None or has_controls(text):
            what = "a preview of a bigger value" if text is None else "control characters"
            self.notify(
                f"{name} holds {what}; edit it in the query editor",
                severity="warning",
                markup=False,
            )
            return
        self._editing = name
        editor = self.query_one("#record-editor", CellEditor)
        hint = self.query_one("#record-hint", Static)
        type_name = info.type_name if info else ""
        null = self.codec.null_word
        hint.update(
            f"Edit {sanitize(name)} {sanitize(type_name)} · ⏎ stage · ^n {null} · Esc cancel"
        )
        editor.null_word(null)
        editor.placeholder = null if value is None else '""'
        editor.value = text
        editor.display = True
        editor.focus()

    def on_input_submitted(self, event: CellEditor.Submitted) -> None:
        event.stop()
        editor = self.query_one("#record-editor", CellEditor)
        editor.post_message(CellEditor.Finished(editor, event.value))

    def on_cell_editor_finished(self, event: CellEditor.Finished) -> None:
        event.stop()
        name, self._editing = self._editing, None
        editor = self.query_one("#record-editor", CellEditor)
        if not editor.display:
            return
        editor.display = False
        self.query_one("#record-hint", Static).update("Tab/↑↓ field · e edit field · Esc close")
        block = self.query_one(f"#field-{_safe_id(name)}") if name else None
        # Back to the field, unless the focus went elsewhere (Tab, a click).
        if block is not None and self.focused in (None, editor):
            target = block.query("FieldValue, .record-box-value").first()
            target.focus()
        if name is None or event.cancelled:
            return
        refusal = self.request.stage(name, event.value)
        if refusal:
            self.notify(refusal, severity="warning", markup=False)
            return
        self.staged[name] = event.value
        assert block is not None
        staged = block.query_one(".record-staged", Static)
        staged.update(self._staged_text(name))
        staged.display = True

    def action_close(self) -> None:
        self.dismiss(None)


def _is_dump(value: Any) -> bool:
    if isinstance(value, Truncated):
        return isinstance(value.preview, bytes)
    return isinstance(value, bytes | bytearray | memoryview | BinaryValue)


def _safe_id(name: str) -> str:
    """A widget id for any field name (ids allow letters, digits, - and _)."""
    return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in name)
