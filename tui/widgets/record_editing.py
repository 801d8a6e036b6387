"""RecordEditing: the record-editing half of the DataPanel (a base class the
panel extends with browsing): the record view, edits in place, inserts,
selection, deletes, undo/discard, and the commit (plan, review, apply).

Changes are staged per table in ``StagedChanges`` (tui/widgets/staging.py),
held here and not in the grid's page cache, so paging never loses one and
opening another table keeps them (they show again when it is opened). The
grid draws them through its ``row_marks`` hook; staged inserts are the grid's
pinned rows at the top ("+" in the gutter): ``e`` edits one of their cells,
Enter shows the whole insert (``e`` there edits a field), ``d`` un-stages it.
ctrl+s commits them (the base class, tui/widgets/change_commit.py).

The cell editor stages its text on Enter, on ctrl+s (then commits) and when
it loses focus with changed text; Esc is the only cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import events, work
from textual.message import Message
from textual.widgets import Input
from textual.worker import get_current_worker

from storescope.backends.errors import BackendError
from storescope.backends.types import DEFAULT, Insert, Record, Update
from storescope.tui.messages import (
    ConfirmRequested,
    RecordFormRequested,
    RecordViewRequested,
    WorkFailed,
)
from storescope.tui.sanitize import has_controls, sanitize, shown_path
from storescope.tui.widgets.cell_editor import CellEditor
from storescope.tui.widgets.cells import CellKind, format_value
from storescope.tui.widgets.change_commit import ChangeCommitting
from storescope.tui.widgets.data_grid import RowMarks
from storescope.tui.widgets.staging import NOTHING, StagedChanges, edit_text, key_of

if TYPE_CHECKING:
    from textual.widgets import Static

    from storescope.backends.types import RecordKey, RecordSchema

#: What a cell editor edits: (table, the record's key or a staged insert, field).
_Target = tuple[tuple[str, ...], "RecordKey | Insert", str]


class RecordEditing(ChangeCommitting):
    """The records of the table shown (see the module docstring); the
    DataPanel sets the attributes declared here."""

    strip: Static
    editor: CellEditor
    schemas: dict[tuple[str, ...], RecordSchema]
    _editing: _Target | None
    #: The staged inserts of the table shown, as the grid's pinned rows.
    _inserts: list[Insert]

    # -- messages of the workers ---------------------------------------------------

    @dataclass
    class RecordFetched(Message):
        record: Record

    def read_only_reason(self) -> str | None:
        """Why the records of the table shown cannot be edited, or None."""
        raise NotImplementedError

    @property
    def schema(self) -> RecordSchema | None:
        path = self.browse_path
        return self.schemas.get(path) if path is not None else None

    def unsaved_work(self) -> str | None:
        tables = [(len(s), s.path) for s in self.staged_by_path.values() if s]
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
        selected = key in self.selected
        if entry is None and not selected:
            return None
        cells = {}
        if isinstance(entry, Update):
            for name, value in entry.changes:
                if name in names:
                    cells[names.index(name)] = format_value(value)
        failed = (
            staged is not None
            and staged.failed_step is not None
            and staged.step_of(key) == staged.failed_step
        )
        return RowMarks(
            cells=cells,
            deleted=entry is not None and not isinstance(entry, Update),
            selected=selected,
            failed=failed,
        )

    def _insert_marks(self, insert: Insert, staged: StagedChanges | None) -> RowMarks:
        values = dict(insert.fields)
        cells = {}
        for i, name in enumerate(self._names()):
            value = values.get(name, DEFAULT)
            cells[i] = ("DEFAULT", CellKind.NULL) if value is DEFAULT else format_value(value)
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
        active = bool(staged) or bool(self.selected)
        self.grid.row_marks = self._row_marks if active else None
        self.grid.marks_changed()
        self._update_strip()
        self.refresh_bindings()

    def _strip_texts(self) -> tuple[list[str], bool, bool]:
        """The strip's wordings, longest first, and whether it shows a
        failure or the read-only reason."""
        staged = self.staged
        if self._busy:
            summary = staged.summary() if staged else ""
            return [f"{self._busy} {summary}…", f"{self._busy}…"], False, False
        if staged and staged.failed_message:
            message = staged.failed_message
            return (
                [
                    f"⚠ {message} · ^s retry · ^z undo last · ^d discard all",
                    # Narrow: the keys first, the message cut at the end.
                    f"⚠ ^s retry · ^z undo · ^d discard · {message}",
                ],
                True,
                False,
            )
        if staged:
            n = len(staged)
            return (
                [
                    f"{staged.summary()} · ^s review & commit · ^z undo last · ^d discard all",
                    f"{staged.summary()} · ^s commit · ^z undo · ^d discard",
                    f"{n} staged · ^s commit · ^z undo · ^d discard",
                    f"{n} staged · ^s commit ^z undo ^d discard",
                ],
                False,
                False,
            )
        if self.browse_path is not None and self.schema is not None:
            reason = self.read_only_reason()
            if reason is not None:
                return [f"read-only: {reason}"], False, True
        return [], False, False

    def _update_strip(self) -> None:
        texts, failed, read_only = self._strip_texts()
        room = (self.strip.size.width or self.size.width) - 2  # padding 0 1
        text = next((t for t in texts if len(t) <= room), texts[-1] if texts else "")
        strip = self.strip
        strip.update(sanitize(text))  # a read-only reason may quote a name
        strip.set_class(bool(text), "-shown")
        strip.set_class(failed, "-failed")
        strip.set_class(read_only, "-read-only")

    def _on_resize(self, event: events.Resize) -> None:
        self._update_strip()

    def _staged_for(self, path: tuple[str, ...]) -> StagedChanges:
        staged = self.staged_by_path.get(path)
        if staged is None:
            staged = self.staged_by_path[path] = StagedChanges(path)
        return staged

    def _staged_for_shown(self) -> StagedChanges:
        assert self.browse_path is not None
        return self._staged_for(self.browse_path)

    # -- the record view -------------------------------------------------------------

    def action_view_browsed_row(self) -> None:
        """A store without records: the row as browsed, read-only."""
        path = self.browse_path
        row = self.grid.row(self.grid.cursor_row)
        if path is not None and row is not None:
            fields = tuple(zip(self._names(), row, strict=False))
            self._show_record(Record(path=path, key=(), fields=fields))

    def action_view_record(self) -> None:
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
        self._fetch_record(path, key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="record_readers")
    def _fetch_record(self, path: tuple[str, ...], key: RecordKey) -> None:
        worker = get_current_worker()
        try:
            record = self.context.session.call(lambda b: b.get(path, key))
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(WorkFailed(e))
            return
        if not worker.is_cancelled:
            self.post_message(self.RecordFetched(record))

    def on_record_editing_record_fetched(self, event: RecordFetched) -> None:
        event.stop()
        if event.record.path == self.browse_path:
            self._show_record(event.record)

    def _show_record(self, record: Record) -> None:
        path, key = record.path, record.key
        reason = self.read_only_reason()
        if reason is None and not key:
            reason = "this row has no key to address it by"
        staged = self.staged_by_path.get(path)

        def stage(name: str, value: Any) -> str | None:
            return self._stage_edit(path, key, name, value)

        title = shown_path(path)
        if not key:
            title += " · as browsed (no key to fetch the whole row by)"
        self.post_message(
            RecordViewRequested(
                record=record,
                schema=self.schemas.get(path),
                staged=staged.staged_fields(key) if staged and key else {},
                stage=stage,
                read_only_reason=reason,
                title=title,
            )
        )

    def _show_insert(self, path: tuple[str, ...], insert: Insert) -> None:
        """A staged insert in the record view: ``e`` there edits its fields."""
        schema = self.schemas.get(path)
        values = dict(insert.fields)
        names = [f.name for f in schema.fields] if schema else list(values)
        fields = tuple((name, values.get(name, DEFAULT)) for name in names)
        staged = self.staged_by_path.get(path)
        step = staged.index_of(insert) if staged else None

        def stage(name: str, value: Any) -> str | None:
            # An edit replaces the insert (frozen) by a new one at its step.
            entries = staged.entries if staged else []
            current = entries[step] if step is not None and step < len(entries) else None
            if not isinstance(current, Insert):
                return "this insert is no longer staged"
            return self._stage_edit(path, current, name, value)

        self.post_message(
            RecordViewRequested(
                record=Record(path=path, key=(), fields=fields),
                schema=schema,
                staged={},
                stage=stage,
                title=f"{shown_path(path)} · staged insert (empty = DEFAULT)",
            )
        )

    # -- editing -----------------------------------------------------------------------

    def _stage_edit(
        self, path: tuple[str, ...], target: RecordKey | Insert, name: str, value: Any
    ) -> str | None:
        schema = self.schemas.get(path)
        field = next((f for f in schema.fields if f.name == name), None) if schema else None
        if field is not None and not field.editable:
            return f"{name} is {field.default or 'generated'}; it cannot be set"
        staged = self._staged_for(path)
        if isinstance(target, Insert):
            refusal = staged.edit_insert(target, name, _insert_value(value))
        else:
            refusal = staged.edit(target, name, value)
        if path == self.browse_path:
            self._marks_changed()
        return refusal

    def action_edit_cell(self) -> None:
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
        text = edit_text(value)
        if text is None:
            self._refuse(
                f"{name} shows a preview of a bigger value; edit it in the query editor "
                "(Enter shows the whole row)"
            )
            return
        if has_controls(text):
            # The one-line editor would show them raw, or send back the
            # visible escapes instead of the value: neither is editing it.
            self._refuse(
                f"{name} holds control characters or line breaks; edit it in the query editor "
                "(Enter shows the whole row)"
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
            placeholder = "DEFAULT" if value is DEFAULT else "empty = DEFAULT"
        else:
            placeholder = "NULL" if value is None else '""'
        editor.open(text, placeholder=placeholder)
        # Once it has its width: the end of the text in view.
        self.call_after_refresh(editor.action_end)

    @property
    def is_editing(self) -> bool:
        return self._editing is not None and self.editor.display

    def finish_editing(self) -> None:
        """Stage the open cell editor's text (as Enter would) and close it."""
        if self.is_editing:
            self._finish(self.editor.value, cancelled=False)

    def on_cell_editor_finished(self, event: CellEditor.Finished) -> None:
        event.stop()
        self._finish(event.value, cancelled=event.cancelled)

    def _finish(self, value: str | None, *, cancelled: bool) -> None:
        editing = self._editing
        self._close_editor()
        if editing is None or cancelled:
            return
        path, target, name = editing
        refusal = self._stage_edit(path, target, name, value)
        if refusal:
            self._refuse(refusal)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is not self.editor:
            return
        event.stop()
        self.editor.post_message(CellEditor.Finished(self.editor, event.value))

    def _close_editor(self) -> None:
        self._editing = None
        if self.editor.display:
            had_focus = self.screen.focused in (None, self.editor)
            self.editor.display = False
            # Back to the grid only when nothing else took the focus (a
            # panel switch or a click did) and this panel is the one shown.
            if had_focus and self.display and self.grid.display:
                self.grid.focus()

    # -- insert, select, delete ---------------------------------------------------------

    def action_insert_row(self) -> None:
        schema = self.schema
        path = self.browse_path
        if schema is None or path is None:
            return

        def done(fields: tuple[tuple[str, Any], ...] | None) -> None:
            if fields is None:
                return
            self._staged_for(path).insert(fields)
            if path == self.browse_path:
                self._marks_changed()
                self.grid.action_first_row()  # the new row, pinned at the top

        self.post_message(
            RecordFormRequested(schema, done, title=f"Insert a row into {shown_path(path)}")
        )

    def action_toggle_select(self) -> None:
        key = self._cursor_key()
        if key is None:
            return
        self.selected ^= {key}
        self._marks_changed()
        self.grid.action_cursor_down()

    def action_delete_rows(self) -> None:
        insert = self._cursor_insert()
        if insert is not None and not self.selected:
            self._staged_for_shown().remove(insert)
            self._marks_changed()
            self.app.notify("The staged insert was removed (^z brings it back)", markup=False)
            return
        keys = list(self.selected)
        if not keys:
            key = self._cursor_key()
            keys = [key] if key is not None else []
        if not keys:
            return
        delta = self._staged_for_shown().toggle_delete(keys)
        self.selected = set()
        self._marks_changed()
        if delta < 0:
            self.app.notify(f"{-delta} row(s) no longer staged for deletion", markup=False)

    # -- undo, discard --------------------------------------------------------------------

    def action_undo(self) -> None:
        staged = self.staged
        if staged is None or not staged.undo():
            self._refuse("Nothing to undo")
        self._marks_changed()

    def action_discard(self) -> None:
        staged = self.staged
        if not staged:
            return

        def done(answer: bool) -> None:
            if answer:
                staged.discard()
                self._marks_changed()

        self.post_message(
            ConfirmRequested(
                "Discard staged changes?",
                f"{staged.summary()} in {shown_path(staged.path)}. "
                "Discard them all? The table stays as it is.",
                done,
                confirm="Discard",
                danger=True,
            )
        )


def _insert_value(value: Any) -> Any:
    """A value typed for an insert's field: empty text takes the DEFAULT (as
    in the insert form), None is NULL."""
    return DEFAULT if value == "" else value
