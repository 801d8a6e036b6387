"""Staged record changes of one table: edits, inserts and deletes the user
has made but not committed yet. Plain Python (no Textual, no backend calls),
store-neutral: changes are the neutral ``Insert``/``Update``/``Delete``.

The model lives in the DataPanel, not in the grid's page cache, so paging
and eviction never lose a staged change. Rows are addressed by their
``RecordKey``, computed from a browsed row with the ``RecordSchema``'s key
fields (``key_of``): the same (field, value) pairs ``Backend.record_key``
returns, without a round-trip for every row drawn.

Edits of one record merge into one ``Update`` (the last value of a field
wins); deleting a record drops its staged ``Update`` (the row goes anyway).
Every operation can be undone (``undo``), in reverse order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from storescope.backends.types import (
    DEFAULT,
    MISSING,
    BinaryValue,
    Change,
    Delete,
    Insert,
    RecordKey,
    RecordSchema,
    Truncated,
    Update,
)

#: ``StagedChanges.staged_value`` for a field that has no staged value.
NOTHING: Any = object()


def key_of(
    row: Sequence[Any] | None, columns: Sequence[str], schema: RecordSchema | None
) -> RecordKey | None:
    """The key of a browsed ``row`` (aligned with ``columns``), or None when
    it cannot be known from the row (no key, a key column missing or shown
    as a preview)."""
    if row is None or schema is None or not schema.key:
        return None
    pairs: list[tuple[str, Any]] = []
    for name in schema.key:
        try:
            value = row[columns.index(name)]
        except (ValueError, IndexError):
            return None
        if value is None or value is MISSING or isinstance(value, Truncated):
            return None
        if isinstance(value, memoryview | bytearray):
            value = bytes(value)
        pairs.append((name, value))
    key = tuple(pairs)
    try:
        hash(key)
    except TypeError:
        return None  # a key value that is a container: not addressable here
    return key


def edit_text(value: Any) -> str | None:
    """The text an editor starts from for ``value`` (what the store would
    parse back to the same value), or None when the value cannot be edited
    as text (a preview of a bigger value)."""
    if value is None or value is MISSING or value is DEFAULT:
        return ""
    if isinstance(value, Truncated):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, BinaryValue):
        return "\\x" + value.data.hex()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def key_text(key: RecordKey) -> str:
    """A record key for people: "id=3", "order_id=1, line=2"."""
    return ", ".join(f"{name}={value!r}" for name, value in key)


@dataclass
class StagedChanges:
    """The staged changes of the table ``path`` (see the module docstring)."""

    path: tuple[str, ...]
    entries: list[Change] = field(default_factory=list)
    #: Index of the change a failed commit stopped at (highlighted), if any.
    failed_step: int | None = None
    failed_message: str = ""
    _history: list[list[Change]] = field(default_factory=list)
    _by_key: dict[RecordKey, int] = field(default_factory=dict)

    # -- reading ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def changes(self) -> tuple[Change, ...]:
        return tuple(self.entries)

    def counts(self) -> tuple[int, int, int]:
        """(inserts, edits, deletes)."""
        inserts = sum(isinstance(c, Insert) for c in self.entries)
        updates = sum(isinstance(c, Update) for c in self.entries)
        return inserts, updates, len(self.entries) - inserts - updates

    def summary(self) -> str:
        """ "3 changes staged (1 insert, 1 edit, 1 delete)"."""
        n = len(self.entries)
        parts = [
            f"{count} {word}{'' if count == 1 else 's'}"
            for count, word in zip(self.counts(), ("insert", "edit", "delete"), strict=True)
            if count
        ]
        return f"{n} change{'' if n == 1 else 's'} staged ({', '.join(parts)})"

    def entry_for(self, key: RecordKey) -> Change | None:
        index = self._by_key.get(key)
        return None if index is None else self.entries[index]

    def step_of(self, key: RecordKey) -> int | None:
        return self._by_key.get(key)

    def inserts(self) -> list[Insert]:
        """The staged inserts, in the order they were staged."""
        return [c for c in self.entries if isinstance(c, Insert)]

    def index_of(self, change: Change) -> int | None:
        """The step of ``change`` (this very object) in ``changes()``."""
        return next((i for i, c in enumerate(self.entries) if c is change), None)

    def is_deleted(self, key: RecordKey) -> bool:
        return isinstance(self.entry_for(key), Delete)

    def staged_fields(self, key: RecordKey) -> dict[str, Any]:
        entry = self.entry_for(key)
        return dict(entry.changes) if isinstance(entry, Update) else {}

    def staged_value(self, key: RecordKey, name: str) -> Any:
        """The staged value of field ``name`` of record ``key``, or ``NOTHING``."""
        return self.staged_fields(key).get(name, NOTHING)

    # -- changing -----------------------------------------------------------------

    def edit(self, key: RecordKey, name: str, value: Any) -> str | None:
        """Stage ``name = value`` on record ``key``; None, or why it cannot be."""
        index = self._by_key.get(key)
        entry = None if index is None else self.entries[index]
        if isinstance(entry, Delete):
            return "this row is staged for deletion (d again un-stages it)"
        self._remember()
        if isinstance(entry, Update) and index is not None:
            changes = dict(entry.changes)
            changes[name] = value
            self.entries[index] = Update(self.path, key, tuple(changes.items()))
        else:
            self.entries.append(Update(self.path, key, ((name, value),)))
        self._changed()
        return None

    def insert(self, fields: tuple[tuple[str, Any], ...]) -> None:
        self._remember()
        self.entries.append(Insert(self.path, fields))
        self._changed()

    def edit_insert(self, insert: Insert, name: str, value: Any) -> str | None:
        """Set field ``name`` of the staged ``insert`` (this very object) to
        ``value``; None, or why it cannot be."""
        index = self.index_of(insert)
        if index is None:
            return "this insert is no longer staged"
        self._remember()
        fields = dict(insert.fields)
        fields[name] = value
        self.entries[index] = Insert(self.path, tuple(fields.items()))
        self._changed()
        return None

    def remove(self, change: Change) -> bool:
        """Un-stage ``change`` (this very object); False when it is not staged."""
        index = self.index_of(change)
        if index is None:
            return False
        self._remember()
        del self.entries[index]
        self._changed()
        return True

    def toggle_delete(self, keys: Sequence[RecordKey]) -> int:
        """Stage deletes of ``keys``; when every one is already staged for
        deletion, un-stage them instead. Returns the change in staged deletes
        (negative when un-staged)."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        self._remember()
        if all(self.is_deleted(k) for k in keys):
            self.entries = [
                c for c in self.entries if not (isinstance(c, Delete) and c.key in keys)
            ]
            self._changed()
            return -len(keys)
        added = 0
        for key in keys:
            if self.is_deleted(key):
                continue
            self.entries = [c for c in self.entries if not (isinstance(c, Update) and c.key == key)]
            self.entries.append(Delete(self.path, key))
            added += 1
        self._changed()
        return added

    def undo(self) -> bool:
        """Undo the last operation; False when there is nothing to undo."""
        if not self._history:
            return False
        self.entries = self._history.pop()
        self._changed()
        return True

    def discard(self) -> None:
        self.entries = []
        self._history = []
        self._changed()

    def committed(self, changes: Sequence[Change]) -> None:
        """``changes`` (as given to ``apply``) are in the store now: drop them
        (and the undo history, which would bring them back)."""
        done = {id(c) for c in changes}
        self.entries = [c for c in self.entries if id(c) not in done]
        self._history = []
        self._changed()

    def failed(self, step: int | None, message: str) -> None:
        """A commit failed at change ``step`` (None: not one change's fault)."""
        self.failed_step = step
        self.failed_message = message

    def _remember(self) -> None:
        self._history.append(list(self.entries))

    def _changed(self) -> None:
        self.failed_step = None
        self.failed_message = ""
        self._by_key = {}
        for i, change in enumerate(self.entries):
            if isinstance(change, Update | Delete):
                self._by_key[change.key] = i


def insert_fields(schema: RecordSchema, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """An insert's fields in the schema's order; a field left out takes ``DEFAULT``."""
    return tuple((f.name, values.get(f.name, DEFAULT)) for f in schema.fields)
