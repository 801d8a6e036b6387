"""RecordEditing: the record-editing collaborator of the DataPanel (held by
it, not a base class): the record view, edits in place, inserts, selection,
deletes, undo/discard. The panel's actions call it; it reads and changes the
panel's ``Staging`` (tui/widgets/staging.py) and draws on the panel's grid,
strip and cell editor. The commit is the ``ChangeCommitter``'s
(tui/widgets/change_commit.py).

Changes are staged per table in ``StagedChanges``, held in the ``Staging``
and not in the grid's page cache, so paging never loses one and opening
another table keeps them (they show again when it is opened). The grid draws
them through its ``row_marks`` hook; staged inserts are the grid's pinned
rows at the top ("+" in the gutter): ``e`` edits one of their cells, Enter
shows the whole insert (``e`` there edits a field), ``d`` un-stages it.

Values become edit text, and typed text values, through the store's
``ValueCodec`` (``RecordSchema.codec``), which also gives the words for no
value (NULL), removing a field and the store's default.

The cell editor stages its text on Enter, on ctrl+s (then commits) and when
it loses focus with changed text; Esc is the only cancel. Enter and leaving
the editor stage typed text only once the store's ``check_value`` accepts it
(parsed by the field's type, nothing written): refused on Enter, the text
stays in the editor with the store's reason; refused after leaving it, the
reason and the text are said. ctrl+s stages unchecked (its plan checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

from storescope.backends.errors import QueryFailed
from storescope.backends.types import DEFAULT, Insert, Record, Replace, Update
from storescope.tui.background import call_in_background
from storescope.tui.messages import (
    ConfirmRequested,
    RecordFormRequested,
    RecordViewRequested,
    WorkFailed,
)
from storescope.tui.sanitize import has_controls, sanitize, shown_path
from storescope.tui.widgets.grid.cells import CellKind, format_value
from storescope.tui.widgets.grid.data_grid import RowMarks
from storescope.tui.widgets.records.cell_editor import CellEditor
from storescope.tui.widgets.records.staging import NOTHING, StagedChanges, key_of, strip_texts

if TYPE_CHECKING:
    from storescope.backends.base import Backend
    from storescope.backends.types import Change, RecordKey, RecordSchema, ValueCodec
    from storescope.tui.widgets.records.change_commit import ChangeCommitter
    from storescope.tui.widgets.records.data_panel import DataPanel
    from storescope.tui.widgets.records.staging import Staging

#: What a cell editor edits: (table, the record's key or a staged insert, field).
_Target = tuple[tuple[str, ...], "RecordKey | Insert", str]


class RecordEditing:
    """The records of the table shown (see the module docstring)."""

    # -- messages of the workers ---------------------------------------------------

    @dataclass
    class RecordFetched(Message):
        record: Record

    def __init__(self, panel: DataPanel, staging: Staging, committer: ChangeCommitter) -> None:
        self.panel = panel
        self.staging = staging
        self.committer = committer
        self.grid = panel.grid
        self.editor = panel.editor
        self.strip = panel.strip
        #: What the open cell editor edits, if any.
        self._editing: _Target | None = None
        #: The staged inserts of the table shown, as the grid's pinned rows.
        self._inserts: list[Insert] = []

    @property
    def browse_path(self) -> tuple[str, ...] | None:
        return self.panel.browse_path

    @property
    def staged(self) -> StagedChanges | None:
        """The staged changes of the table shown (None when none were made)."""
        return self.staging.staged(self.browse_path)

    @property
    def schema(self) -> RecordSchema | None:
        path = self.browse_path
        return self.staging.schemas.get(path) if path is not None else None

    @property
    def codec(self) -> ValueCodec:
        return self.staging.codec(self.browse_path)

    def read_only_reason(self) -> str | None:
        return self.panel.read_only_reason()

    def _refuse(self, message: str) -> None:
        self.panel.app.notify(message, severity="warning", markup=False)

    def unsaved_work(self) -> str | None:
        tables = [(len(s), s.path) for s in self.staging.tables_with_changes()]
        if not tables:
            return None
        n = sum(count for count, _ in tables)
        where = ", ".join(shown_path(path) for _, path in tables)
        return f"{n} staged change{'' if n == 1 else 's'} on {where}"

    # -- rows and keys ---------------------------------------------------------------

    def _names(self) -> list[str]:
        return [c.name for c in self.grid.columns]

    def _cursor_key(self) -> RecordKey | None:
        return key_of(self.grid.row(self.grid.cursor_row), self._names(), self.schema)

    def _cursor_insert(self) -> Insert | None:
        """The staged insert under the cursor (a pinned row), if any."""
        row = self.grid.cursor_row
        return self._inserts[row] if row < len(self._inserts) else None

    def _row_marks(self, index: int) -> RowMarks | None:
        staged = self.staged
        if index < len(self._inserts):
            return self._insert_marks(self._inserts[index], staged)
        names = self._names()
        key = key_of(self.grid.row(index), names, self.schema)
        if key is None:
            return None
        entry = staged.entry_for(key) if staged else None
        selected = key in self.staging.selected
        if entry is None and not selected:
            return None
        cells = {}
        no_value = self.grid.words.no_value
        if isinstance(entry, Update | Replace):
            pairs = entry.changes if isinstance(entry, Update) else entry.document
            for name, value in pairs:
                if isinstance(name, str):
                    if name in names:
                        cells[names.index(name)] = format_value(value, no_value)
                elif name and str(name[0]) in names:
                    # A path inside a field: the field shows it changed.
                    cells.setdefault(names.index(str(name[0])), ("…", CellKind.JSON))
        failed = (
            staged is not None
            and staged.failed_step is not None
            and staged.step_of(key) == staged.failed_step
        )
        return RowMarks(
            cells=cells,
            deleted=entry is not None and not isinstance(entry, Update | Replace),
            selected=selected,
            failed=failed,
        )

    def _insert_marks(self, insert: Insert, staged: StagedChanges | None) -> RowMarks:
        values = dict(insert.fields)
        cells = {}
        default = self.codec.default_word or "·"  # no default: the field is left out
        for i, name in enumerate(self._names()):
            value = values.get(name, DEFAULT)
            cells[i] = (
                (default, CellKind.NULL)
                if value is DEFAULT
                else format_value(value, self.grid.words.no_value)
            )
        failed = (
            staged is not None
            and staged.failed_step is not None
            and staged.index_of(insert) == staged.failed_step
        )
        return RowMarks(cells=cells, inserted=True, failed=failed)

    def _marks_changed(self) -> None:
        """The staged changes or the selection changed: draw them."""
        staged = self.staged
        self._inserts = staged.inserts() if staged else []
        self.grid.set_pinned_rows(len(self._inserts))
        active = bool(staged) or bool(self.staging.selected)
        self.grid.row_marks = self._row_marks if active else None
        self.grid.marks_changed()
        self._update_strip()
        self.panel.refresh_bindings()

    def _update_strip(self) -> None:
        reason = None
        if self.browse_path is not None and self.schema is not None:
            reason = self.read_only_reason()
        texts, failed, read_only = strip_texts(self.staged, self.committer.busy, reason)
        room = (self.strip.size.width or self.panel.size.width) - 2  # padding 0 1
        text = next((t for t in texts if len(t) <= room), texts[-1] if texts else "")
        strip = self.strip
        strip.update(sanitize(text))  # a read-only reason may quote a name
        strip.set_class(bool(text), "-shown")
        strip.set_class(failed, "-failed")
        strip.set_class(read_only, "-read-only")

    def _staged_for(self, path: tuple[str, ...]) -> StagedChanges:
        return self.staging.staged_for(path)

    def _staged_for_shown(self) -> StagedChanges:
        assert self.browse_path is not None
        return self._staged_for(self.browse_path)

    # -- the record view -------------------------------------------------------------

    def view_browsed_row(self) -> None:
        """A store without records: the row as browsed, read-only."""
        path = self.browse_path
        row = self.grid.row(self.grid.cursor_row)
        if path is not None and row is not None:
            fields = tuple(zip(self._names(), row, strict=False))
            self._show_record(Record(path=path, key=(), fields=fields))

    def view_record(self) -> None:
        path = self.browse_path
        insert = self._cursor_insert()
        if path is not None and insert is not None:
            self._show_insert(path, insert)
            return
        row = self.grid.row(self.grid.cursor_row)
        if path is None or row is None:
            return
        key = self._cursor_key()
        if key is None:
            # No key to fetch it by: show the row as browsed (values may be previews).
            names = self._names()
            record = Record(path=path, key=(), fields=tuple(zip(names, row, strict=False)))
            self._show_record(record)
            return
        if self.schema is None:
            self._refuse(self.read_only_reason() or "")
            return
        call_in_background(
            self.panel,
            lambda b: b.get(path, key),
            done=self.RecordFetched,
            failed=WorkFailed,
            group="record_readers",
        )

    def record_fetched(self, record: Record) -> None:
        if record.path == self.browse_path:
            self._show_record(record)

    def _show_record(self, record: Record) -> None:
        path, key = record.path, record.key
        reason = self.read_only_reason()
        if reason is None and not key:
            reason = f"this {self.grid.words.record} has no key to address it by"
        staged = self.staging.staged(path)

        def stage(name: str, value: Any) -> str | None:
            return self._stage_edit(path, key, name, value)

        title = shown_path(path)
        if not key:
            title += f" · as browsed (no key to fetch the whole {self.grid.words.record} by)"
        fields = staged.staged_fields(key) if staged and key else {}
        self.panel.post_message(
            RecordViewRequested(
                record=record,
                schema=self.staging.schemas.get(path),
                staged={n: v for n, v in fields.items() if isinstance(n, str)},
                stage=stage,
                read_only_reason=reason,
                title=title,
            )
        )

    def _show_insert(self, path: tuple[str, ...], insert: Insert) -> None:
        """A staged insert in the record view: ``e`` there edits its fields."""
        schema = self.staging.schemas.get(path)
        values = dict(insert.fields)
        names = [f.name for f in schema.fields] if schema else list(values)
        fields = tuple((name, values.get(name, DEFAULT)) for name in names)
        staged = self.staging.staged(path)
        step = staged.index_of(insert) if staged else None

        def stage(name: str, value: Any) -> str | None:
            # An edit replaces the insert (frozen) by a new one at its step.
            entries = staged.entries if staged else []
            current = entries[step] if step is not None and step < len(entries) else None
            if not isinstance(current, Insert):
                return "this insert is no longer staged"
            return self._stage_edit(path, current, name, value)

        default = self.staging.codec(path).default_word
        empty = f"empty = {default}" if default else "empty = left out"
        self.panel.post_message(
            RecordViewRequested(
                record=Record(path=path, key=(), fields=fields),
                schema=schema,
                staged={},
                stage=stage,
                title=f"{shown_path(path)} · staged insert ({empty})",
            )
        )

    # -- editing -----------------------------------------------------------------------

    def _stage_edit(
        self, path: tuple[str, ...], target: RecordKey | Insert, name: str, value: Any
    ) -> str | None:
        schema = self.staging.schemas.get(path)
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        if field is not None and not field.editable:
            return f"{name} is {field.default or 'generated'}; it cannot be set"
        if isinstance(value, str):
            value = self.staging.codec(path).parse(field, value)
        staged = self._staged_for(path)
        if isinstance(target, Insert):
            refusal = staged.edit_insert(target, name, _insert_value(value))
        else:
            refusal = staged.edit(target, name, value)
        if path == self.browse_path:
            self._marks_changed()
        return refusal

    def edit_cell(self) -> None:
        names = self._names()
        col = self.grid.cursor_col
        path = self.browse_path
        insert = self._cursor_insert()
        key = None if insert is not None else self._cursor_key()
        if (key is None and insert is None) or path is None or not (0 <= col < len(names)):
            return
        name = names[col]
        schema = self.schema
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        if field is not None and not field.editable:
            self._refuse(f"{name} is {field.default or 'generated'}; it cannot be set")
            return
        target: RecordKey | Insert
        if insert is not None:
            target, value = insert, dict(insert.fields).get(name, DEFAULT)
        else:
            assert key is not None
            staged = self.staged
            target = key
            value = staged.staged_value(key, name) if staged is not None else NOTHING
            if value is NOTHING:
                row = self.grid.row(self.grid.cursor_row)
                assert row is not None
                value = row[col]
        codec = self.codec
        text = codec.edit_text(field, value)
        if text is None:
            self._refuse(
                f"{name} shows a preview of a bigger value; edit it in the query editor "
                f"(Enter shows the whole {self.grid.words.record})"
            )
            return
        if has_controls(text):
            # The one-line editor would show them raw, or send back the
            # visible escapes instead of the value: neither is editing it.
            self._refuse(
                f"{name} holds control characters or line breaks; edit it in the query editor "
                f"(Enter shows the whole {self.grid.words.record})"
            )
            return
        region = self.grid.cell_region(self.grid.cursor_row, col)
        if region is None:
            return
        self._editing = (path, target, name)
        editor = self.editor
        editor.styles.offset = (region.x, region.y)
        editor.styles.width = max(region.width, 24)
        if insert is not None:
            default = codec.default_word or "left out"
            placeholder = default if value is DEFAULT else f"empty = {default}"
        else:
            placeholder = codec.null_word if value is None else '""'
        editor.open(text, placeholder=placeholder, null_word=codec.null_word)
        # Once it has its width: the end of the text in view.
        self.panel.call_after_refresh(editor.action_end)

    @property
    def is_editing(self) -> bool:
        return self._editing is not None and self.editor.display

    def finish_editing(self) -> None:
        """Stage the open cell editor's text and close it, at once (ctrl+s
        commits it next, opening another table must not wait): unchecked,
        the plan that follows checks it."""
        editing = self._editing
        if self.is_editing and editing is not None:
            value = self.editor.value
            self._close_editor()
            self._stage(editing, value)

    def _finish(self, value: str | None, *, cancelled: bool) -> None:
        editing = self._editing
        if editing is None or cancelled or value is None:
            self._close_editor()
            if editing is not None and not cancelled:
                self._stage(editing, value)
            return
        # Typed text is staged once the store has parsed it by the field's
        # type (nothing written). Enter keeps the editor open meanwhile, and
        # with the text and the store's reason when it is refused; leaving
        # the editor (a click, a panel switch) closes it at once.
        keep_open = self.editor.has_focus
        if not keep_open:
            self._close_editor()
        self._check(editing, value, keep_open=keep_open)

    def _stage(self, editing: _Target, value: str | None) -> None:
        path, target, name = editing
        refusal = self._stage_edit(path, target, name, value)
        if refusal:
            self._refuse(refusal)

    def _check(self, editing: _Target, text: str, *, keep_open: bool) -> None:
        """Ask the store whether ``text`` is a value of the field, then stage
        it (see ``_checked``)."""
        path, target, name = editing
        schema = self.staging.schemas.get(path)
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        value: Any = self.staging.codec(path).parse(field, text)
        if isinstance(target, Insert):
            value = _insert_value(value)

        def outcome(reason: str | None) -> CellEditor.Checked:
            return CellEditor.Checked(lambda: self._checked(editing, text, reason, keep_open))

        call_in_background(
            self.panel,
            lambda b: b.check_value(path, name, value),
            done=lambda _: outcome(None),
            # Only the store's verdict on the value refuses it; a lost
            # connection stages as before (the commit checks again).
            failed=lambda e: outcome(e.message if isinstance(e, QueryFailed) else None),
            # Enter again replaces the check; a left editor's check is heard.
            group="value_checks" if keep_open else "left_value_checks",
            exclusive=keep_open,
            target=self.editor,
        )

    def _checked(self, editing: _Target, text: str, reason: str | None, keep_open: bool) -> None:
        path, target, name = editing
        if keep_open:
            editor = self.editor
            if self._editing is not editing or not editor.display or editor.value != text:
                return  # closed, or typed on since: what it holds now is checked on Enter
            if reason is not None:
                self.panel.app.notify(
                    f"{name}: {sanitize(reason)}",
                    title="Not staged: fix the value, or Esc",
                    severity="error",
                    markup=False,
                )
                return
            self._close_editor()
        elif reason is not None:
            self.panel.app.notify(
                f"{name}: {sanitize(reason)} (typed {sanitize(text)!r})",
                title="Not staged",
                severity="error",
                markup=False,
            )
            return
        self._stage(editing, text)

    def submitted(self, value: str) -> None:
        """Enter in the cell editor."""
        self.editor.post_message(CellEditor.Finished(self.editor, value))

    def _close_editor(self) -> None:
        self._editing = None
        if self.editor.display:
            had_focus = self.panel.screen.focused in (None, self.editor)
            self.editor.display = False
            # Back to the grid only when nothing else took the focus (a
            # panel switch or a click did) and this panel is the one shown.
            if had_focus and self.panel.display and self.grid.display:
                self.grid.focus()

    # -- insert, select, delete ---------------------------------------------------------

    def insert_row(self) -> None:
        schema = self.schema
        path = self.browse_path
        if schema is None or path is None:
            return

        def done(fields: tuple[tuple[str, Any], ...] | None) -> None:
            if fields is None:
                return
            infos = {f.name: f for f in schema.fields}
            parsed = tuple(
                (name, schema.codec.parse(infos.get(name), v) if isinstance(v, str) else v)
                for name, v in fields
            )
            staged = self._staged_for(path)
            staged.insert(parsed)
            self._check_insert(path, staged, staged.entries[-1])
            if path == self.browse_path:
                self._marks_changed()
                self.grid.action_first_row()  # the new row, pinned at the top

        self.panel.post_message(
            RecordFormRequested(
                schema, done, title=f"Insert {self.grid.words.a_record} into {shown_path(path)}"
            )
        )

    def _check_insert(self, path: tuple[str, ...], staged: StagedChanges, insert: Change) -> None:
        """The store checks the typed values of a staged insert (the form is
        closed by then): one it refuses marks the insert as failed, with the
        field and the store's reason, to fix in place (``e``) or remove."""
        if not isinstance(insert, Insert):
            return
        fields = [(n, v) for n, v in insert.fields if isinstance(v, str)]
        if not fields:
            return

        def check(b: Backend) -> str | None:
            for name, value in fields:
                try:
                    b.check_value(path, name, value)
                except QueryFailed as e:
                    return f"{name}: {e.message}"
            return None

        def checked(reason: str | None) -> None:
            step = staged.index_of(insert)
            if reason is None or step is None:
                return  # accepted, or no longer staged (edited, undone)
            staged.failed(step, reason)
            if path == self.browse_path:
                self._marks_changed()
            self.panel.app.notify(
                sanitize(reason),
                title=f"The staged insert needs fixing (e edits it, d removes it) on {shown_path(path)}",
                severity="error",
                markup=False,
            )

        call_in_background(
            self.panel,
            check,
            done=lambda reason: CellEditor.Checked(lambda: checked(reason)),
            failed=lambda _e: None,  # a lost connection: the commit checks again
            group="insert_checks",
            exclusive=False,
            target=self.editor,
        )

    def toggle_select(self) -> None:
        key = self._cursor_key()
        if key is None:
            return
        self.staging.selected ^= {key}
        self._marks_changed()
        self.grid.action_cursor_down()

    def delete_rows(self) -> None:
        insert = self._cursor_insert()
        if insert is not None and not self.staging.selected:
            self._staged_for_shown().remove(insert)
            self._marks_changed()
            self.panel.app.notify("The staged insert was removed (^z brings it back)", markup=False)
            return
        keys = list(self.staging.selected)
        if not keys:
            key = self._cursor_key()
            keys = [key] if key is not None else []
        if not keys:
            return
        delta = self._staged_for_shown().toggle_delete(keys)
        self.staging.selected = set()
        self._marks_changed()
        if delta < 0:
            self.panel.app.notify(
                f"{self.grid.words.count(-delta)} no longer staged for deletion", markup=False
            )

    # -- undo, discard --------------------------------------------------------------------

    def undo(self) -> None:
        staged = self.staged
        if staged is None or not staged.undo():
            self._refuse("Nothing to undo")
        self._marks_changed()

    def discard(self) -> None:
        staged = self.staged
        if not staged:
            return

        def done(answer: bool) -> None:
            if answer:
                staged.discard()
                self._marks_changed()

        self.panel.post_message(
            ConfirmRequested(
                "Discard staged changes?",
                f"{staged.summary()} in {shown_path(staged.path)}. "
                f"Discard them all? The {self.grid.words.container} stays as it is.",
                done,
                confirm="Discard",
                danger=True,
            )
        )


def _insert_value(value: Any) -> Any:
    """A value typed for an insert's field: empty text takes the DEFAULT (as
    in the insert form), None is NULL."""
    return DEFAULT if value == "" else value
