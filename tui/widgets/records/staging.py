"""Staged record changes: edits, inserts, replaces, deletes and store
commands the user has made but not committed yet. Plain Python (no Textual,
no backend calls), store-neutral: changes are the neutral ``Insert``,
``Update``, ``Replace``, ``Delete`` and ``Command``.

``Staging`` is the DataPanel's model of every table it showed (not the
grid's page cache, so paging and eviction never lose a staged change):
their record schemas, their ``StagedChanges`` and the rows selected.
Records are addressed by their ``RecordKey``, computed from a browsed row
with the ``RecordSchema``'s key fields (``key_of``), without a round-trip
for every row drawn. A key names a record, not a place: a staged change
keeps addressing its record whatever is staged for the others; where the
store's key is a position (``Identity.POSITION``, a Redis list),
``changes()`` orders the plan so that no change moves another's record.

Edits of one record merge into one ``Update`` (the last value of a field
path wins); a ``Replace`` takes the place of the record's staged edits;
deleting a record drops them (the record goes anyway). Every operation can
be undone (``undo``), in reverse order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storescope.backends.types import (
    DEFAULT,
    MISSING,
    Change,
    Command,
    Delete,
    FieldPath,
    Identity,
    Insert,
    RecordKey,
    RecordSchema,
    Replace,
    Truncated,
    Update,
    ValueCodec,
    field_path,
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


#: The codec of a store that supplied none (no RECORDS): neutral forms.
NEUTRAL_CODEC = ValueCodec()


def _change_name(name_or_path: str | FieldPath) -> str | FieldPath:
    """How a change names a field: a top-level field by its name (what every
    store reads), a nested one by its path."""
    path = field_path(name_or_path)
    return path[0] if len(path) == 1 and isinstance(path[0], str) else path


def key_text(key: RecordKey) -> str:
    """A record key for people: "id=3", "order_id=1, line=2"."""
    return ", ".join(f"{name}={value!r}" for name, value in key)


@dataclass
class StagedChanges:
    """The staged changes of the table ``path`` (see the module docstring)."""

    path: tuple[str, ...]
    entries: list[Change] = field(default_factory=list)
    #: What the table's keys name (``RecordSchema.identity``).
    identity: Identity = Identity.STABLE
    #: Index of the change a failed commit stopped at (highlighted), if any.
    failed_step: int | None = None
    failed_message: str = ""
    _history: list[list[Change]] = field(default_factory=list)
    _by_key: dict[RecordKey, int] = field(default_factory=dict)

    # -- reading ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def changes(self) -> tuple[Change, ...]:
        """What a commit plans and applies (``changes_in_order``)."""
        return self.changes_in_order()

    def changes_in_order(self) -> tuple[Change, ...]:
        """The changes as the plan runs them: as staged, except where keys
        are positions (``identity``), where edits and replaces come first
        (at the positions browsed), then deletes from the last position to
        the first, then the rest (inserts and commands, as staged)."""
        if self.identity is not Identity.POSITION:
            return tuple(self.entries)
        edits = [c for c in self.entries if isinstance(c, Update | Replace)]
        deletes = [c for c in self.entries if isinstance(c, Delete)]
        rest = [c for c in self.entries if not isinstance(c, Update | Replace | Delete)]
        deletes.sort(key=lambda c: tuple(_position(v) for _, v in c.key), reverse=True)
        return (*edits, *deletes, *rest)

    def counts(self) -> tuple[int, int, int]:
        """(inserts, edits, deletes); a replace counts as an edit, a
        command as neither (see ``summary``)."""
        inserts = sum(isinstance(c, Insert) for c in self.entries)
        updates = sum(isinstance(c, Update | Replace) for c in self.entries)
        deletes = sum(isinstance(c, Delete) for c in self.entries)
        return inserts, updates, deletes

    def summary(self) -> str:
        """ "3 changes staged (1 insert, 1 edit, 1 delete)"."""
        n = len(self.entries)
        commands = sum(isinstance(c, Command) for c in self.entries)
        parts = [
            f"{count} {word}{'' if count == 1 else 's'}"
            for count, word in zip(
                (*self.counts(), commands), ("insert", "edit", "delete", "command"), strict=True
            )
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

    def staged_fields(self, key: RecordKey) -> dict[str | FieldPath, Any]:
        """The staged values of record ``key``, by field name (a top-level
        field) or path (a nested one); a staged replace's whole document."""
        entry = self.entry_for(key)
        if isinstance(entry, Replace):
            return dict(entry.document)
        return dict(entry.changes) if isinstance(entry, Update) else {}

    def staged_value(self, key: RecordKey, name: str | FieldPath) -> Any:
        """The staged value of field ``name`` of record ``key``, or ``NOTHING``."""
        return self.staged_fields(key).get(_change_name(name), NOTHING)

    # -- changing -----------------------------------------------------------------

    def edit(self, key: RecordKey, name: str | FieldPath, value: Any) -> str | None:
        """Stage ``name = value`` on record ``key`` (``name`` a field or a
        path into it; ``UNSET`` removes the field); None, or why it cannot be."""
        index = self._by_key.get(key)
        entry = None if index is None else self.entries[index]
        if isinstance(entry, Delete):
            return "this row is staged for deletion (d again un-stages it)"
        self._remember()
        name = _change_name(name)
        if isinstance(entry, Replace) and index is not None and isinstance(name, str):
            document = dict(entry.document)
            document[name] = value
            self.entries[index] = Replace(self.path, key, tuple(document.items()))
        elif isinstance(entry, Update | Replace) and index is not None:
            changes: dict[str | FieldPath, Any] = dict(
                entry.changes if isinstance(entry, Update) else entry.document
            )
            changes[name] = value
            self.entries[index] = Update(self.path, key, tuple(changes.items()))
        else:
            self.entries.append(Update(self.path, key, ((name, value),)))
        self._changed()
        return None

    def replace(self, key: RecordKey, document: tuple[tuple[str, Any], ...]) -> str | None:
        """Stage the whole record ``key`` replaced by ``document`` (its staged
        edits go: the document says every field); None, or why it cannot be."""
        index = self._by_key.get(key)
        entry = None if index is None else self.entries[index]
        if isinstance(entry, Delete):
            return "this row is staged for deletion (d again un-stages it)"
        self._remember()
        if index is not None:
            self.entries[index] = Replace(self.path, key, document)
        else:
            self.entries.append(Replace(self.path, key, document))
        self._changed()
        return None

    def command(self, command: Command) -> None:
        """Stage a store command; it runs in the plan where it was staged."""
        self._remember()
        self.entries.append(command)
        self._changed()

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
            self.entries = [
                c for c in self.entries if not (isinstance(c, Update | Replace) and c.key == key)
            ]
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
            if isinstance(change, Update | Replace | Delete):
                self._by_key[change.key] = i


def insert_fields(schema: RecordSchema, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """An insert's fields in the schema's order; a field left out takes ``DEFAULT``."""
    return tuple((f.name, values.get(f.name, DEFAULT)) for f in schema.fields)


def _position(value: Any) -> tuple[int, Any]:
    """A sort key for a position of any type (ints by number)."""
    return (0, value) if isinstance(value, int) else (1, str(value))


@dataclass
class Staging:
    """Everything the data panel knows about the records of the tables it
    showed: their schemas (or why one could not be read), their staged
    changes and the rows selected in the table shown."""

    schemas: dict[tuple[str, ...], RecordSchema] = field(default_factory=dict)
    schema_errors: dict[tuple[str, ...], str] = field(default_factory=dict)
    by_path: dict[tuple[str, ...], StagedChanges] = field(default_factory=dict)
    #: Rows selected with space (by key), for the table shown.
    selected: set[RecordKey] = field(default_factory=set)

    def staged(self, path: tuple[str, ...] | None) -> StagedChanges | None:
        """The staged changes of ``path`` (None when none were made)."""
        return self.by_path.get(path) if path is not None else None

    def staged_for(self, path: tuple[str, ...]) -> StagedChanges:
        """The staged changes of ``path``, made when there are none yet."""
        staged = self.by_path.get(path)
        if staged is None:
            schema = self.schemas.get(path)
            identity = schema.identity if schema is not None else Identity.STABLE
            staged = self.by_path[path] = StagedChanges(path, identity=identity)
        return staged

    def schema_loaded(
        self, path: tuple[str, ...], schema: RecordSchema | None, error: str = ""
    ) -> None:
        if schema is not None:
            self.schemas[path] = schema
            self.schema_errors.pop(path, None)
            staged = self.by_path.get(path)
            if staged is not None:
                staged.identity = schema.identity
        else:
            self.schema_errors[path] = error

    def codec(self, path: tuple[str, ...] | None) -> ValueCodec:
        """How values of ``path`` become edit text (neutral when unknown)."""
        schema = self.schemas.get(path) if path is not None else None
        return schema.codec if schema is not None else NEUTRAL_CODEC

    def tables_with_changes(self) -> list[StagedChanges]:
        return [s for s in self.by_path.values() if s]


def strip_texts(
    staged: StagedChanges | None, busy: str, read_only_reason: str | None
) -> tuple[list[str], bool, bool]:
    """What the strip over the status line says about ``staged``: its
    wordings, longest first (the panel shows the longest that fits), and
    whether it shows a failure or the read-only reason. ``busy`` is the
    commit's progress ("planning", "committing") or ""."""
    if busy:
        summary = staged.summary() if staged else ""
        return [f"{busy} {summary}…", f"{busy}…"], False, False
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
    if read_only_reason is not None:
        return [f"read-only: {read_only_reason}"], False, True
    return [], False, False
