"""Neutral value objects that cross the ``backends/`` boundary.

Nothing from a driver (cursor, BSON type, pipeline, boto3 response) ever leaves
a backend: rows hold plain Python values (``str int float bool None bytes
Decimal date time datetime timedelta list dict``) plus the few tagged wrappers
below, for store types the UI must render faithfully.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class RecordStyle(enum.StrEnum):
    """How a store's records are shaped (``Backend.record_style``)."""

    ROWS = "rows"  # fixed columns: PostgreSQL, Redis and S3 listings
    DOCUMENTS = "documents"  # each record a document with its own fields


class NodeKind(enum.StrEnum):
    """What a catalog node is. The value is what the CLI prints."""

    DATABASE = "database"  # PG database, Mongo database, Redis logical db
    SCHEMA = "schema"
    TABLE = "table"
    VIEW = "view"
    MATVIEW = "matview"
    FOREIGN_TABLE = "foreign-table"
    COLLECTION = "collection"
    NAMESPACE = "namespace"  # Redis key prefix ending in ':'
    KEY = "key"  # Redis key
    BUCKET = "bucket"
    PREFIX = "prefix"  # S3 common prefix ending in '/'
    OBJECT = "object"  # S3 object
    #: Not a real entry: marks where a bounded listing was cut short. Its
    #: ``detail`` says why; it is neither expandable nor browsable.
    MORE = "more"


@dataclass(frozen=True, slots=True)
class Node:
    """One entry of the catalog tree.

    ``path`` is the full path including ``name`` as its last segment.
    ``expandable``: ``list_children(path)`` may return children.
    ``browsable``: ``browse(path, ...)`` returns pages of records.
    ``estimate``: a cheap estimate of the number of records (rows, documents,
    keys, objects); ``None`` when unknown. Never a full count.
    ``detail``: a short extra for display (Redis type and TTL, S3 size...).
    """

    path: tuple[str, ...]
    name: str
    kind: NodeKind
    expandable: bool = False
    browsable: bool = False
    estimate: int | None = None
    detail: str = ""


class NodeActionKind(enum.StrEnum):
    """What a catalog node's action does, in the UI's neutral terms."""

    #: Show the target's records in the data panel (Enter on a browsable node).
    BROWSE = "browse"
    #: Put the query language's "open in query" text for the target into the
    #: query editor (QUERY).
    OPEN_IN_QUERY = "open-in-query"
    #: Show the target's indexes (INDEXES).
    INDEXES = "indexes"


@dataclass(frozen=True, slots=True)
class NodeAction:
    """One thing the user can do with a catalog node, in the store's words
    (``Backend.node_actions``): the explorer offers it on its context key and
    in the command palette, and does ``does`` on ``target(node)``.

    ``id`` is stable (tests, key maps); ``label`` is what the menu shows
    ("Browse", "Browse items", "Indexes"); ``key`` a one-letter accelerator in
    that menu, or None; ``kinds`` the node kinds it applies to (empty: any);
    ``parent``: it acts on the node's parent (an S3 object's prefix) rather
    than on the node itself; ``help`` one line for the command palette.
    """

    id: str
    label: str
    does: NodeActionKind
    kinds: frozenset[NodeKind] = frozenset()
    key: str | None = None
    parent: bool = False
    help: str = ""

    def applies_to(self, node: Node) -> bool:
        return not self.kinds or node.kind in self.kinds

    def target(self, node: Node) -> tuple[str, ...]:
        """The path the action works on for ``node``."""
        return node.path[:-1] if self.parent else node.path


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type_name: str = ""
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records.

    ``rows`` are tuples aligned with ``columns``. Document stores build the
    columns from the page's own documents (union of top-level fields, in order
    of first appearance); a field a document lacks holds ``MISSING``.
    ``next_cursor`` is an opaque string only the backend reads; ``None`` means
    this was the last page (known exactly, from a limit+1 probe).
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    next_cursor: str | None
    total_estimate: int | None = None


#: Where a field sits in a record: top-level name first, then keys of nested
#: documents (``str``) and positions in arrays (``int``): ``("address",
#: "city")``, ``("tags", 0)``. A flat column is a path of one name; changes
#: may name such a field by its plain name.
FieldPath = tuple[str | int, ...]


def field_path(name_or_path: str | FieldPath) -> FieldPath:
    """``name_or_path`` as a path (a plain name is a path of one)."""
    return (name_or_path,) if isinstance(name_or_path, str) else tuple(name_or_path)


@dataclass(frozen=True, slots=True)
class Filter:
    """Which records a browse keeps, as text in the store's own syntax (PG:
    a WHERE expression such as ``total > 10 AND status = 'open'``; MongoDB:
    a filter document; Redis: a MATCH pattern; S3: a key prefix). The
    backend parses it and refuses (``QueryFailed``) text that is more than
    a filter: another statement, a write, a clause of its own."""

    text: str


class SortDirection(enum.StrEnum):
    ASCENDING = "asc"
    DESCENDING = "desc"


@dataclass(frozen=True, slots=True)
class Sort:
    """The order of a browse: (field path, direction) pairs, most
    significant first. Records that tie come in key order, so paging stays
    exact (the backend pages on the sort fields plus the key); a record
    without a value in a sort field (NULL, absent) comes after those with
    one, in either direction."""

    fields: tuple[tuple[FieldPath, SortDirection], ...]


@dataclass(frozen=True, slots=True)
class ServerInfo:
    product: str  # "PostgreSQL", "MongoDB", "Redis", "S3"
    version: str
    details: tuple[tuple[str, str], ...] = ()
    #: On a read-only connection, what the status line adds to "read-only"
    #: when it needs saying, e.g. "app guard; role can write": the
    #: guard is storescope's, and the server would let this login write.
    read_only_note: str = ""


class _Missing:
    """A document field that is absent (different from a null value)."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class ObjectIdValue:
    """A MongoDB ObjectId, as its 24 hex digits."""

    hex: str

    def __str__(self) -> str:
        return f"ObjectId('{self.hex}')"


@dataclass(frozen=True, slots=True)
class BinaryValue:
    """Binary data with a store-specific subtype (BSON subtype for Mongo)."""

    data: bytes
    subtype: int = 0


@dataclass(frozen=True, slots=True)
class TaggedValue:
    """A store value with no plain-Python equivalent, kept as its canonical
    text (e.g. Mongo Decimal128, Timestamp, MinKey, Regex)."""

    tag: str
    text: str

    def __str__(self) -> str:
        return f"{self.tag}({self.text})"


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One Redis stream entry."""

    id: str
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Truncated:
    """A bounded preview of a big value, with the value's true size."""

    preview: str | bytes
    total_size: int
    unit: str = "bytes"  # "bytes", "items", "chars"

    def __str__(self) -> str:
        return f"{self.preview!s}… ({self.total_size} {self.unit})"


# -- queries (Capability.QUERY) ------------------------------------------------


class StatementKind(enum.StrEnum):
    """What a statement does, as far as safety prompts need to know."""

    READ = "read"  # returns rows, changes nothing (SELECT, SHOW, EXPLAIN without ANALYZE...)
    WRITE = "write"  # changes data (INSERT/UPDATE/DELETE/MERGE, SELECT ... INTO, COPY FROM)
    DDL = "ddl"  # changes the schema (CREATE/ALTER/DROP/TRUNCATE...)
    TRANSACTION = "transaction"  # BEGIN/COMMIT/ROLLBACK/SAVEPOINT
    OTHER = "other"  # SET, VACUUM, ANALYZE, anything else


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a script, and where it sits in that script.

    ``start``/``end`` are character offsets into the script text given to
    ``split()`` (``end`` exclusive), so the editor can run the statement
    under the cursor and mark an error position. ``destructive`` flags what
    a careful tool asks about first (pgcli's destructive warning): DROP,
    TRUNCATE, DELETE or UPDATE without WHERE, ALTER ... DROP.
    """

    text: str
    start: int
    end: int
    kind: StatementKind = StatementKind.OTHER
    destructive: bool = False


@dataclass(frozen=True, slots=True)
class Result:
    """What one executed statement returned.

    ``columns`` is empty for a statement that returns no rows. ``rows`` is
    the first page; ``next_cursor`` (``None`` when that was all) continues
    with ``fetch()``. ``handle`` names the server-side state kept for the
    rows (``release()`` frees it); ``None`` when nothing is kept.
    ``status`` is the server's command tag ("SELECT 100", "UPDATE 3",
    "CREATE TABLE"); ``rowcount`` the rows a write touched (``None`` when
    unknown or not a write); ``elapsed`` seconds until the first page was in.
    ``notices`` are the server's notices/warnings raised by the statement.
    """

    statement: str
    columns: tuple[Column, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    next_cursor: str | None = None
    handle: str | None = None
    status: str = ""
    rowcount: int | None = None
    elapsed: float = 0.0
    notices: tuple[str, ...] = ()


class TransactionState(enum.StrEnum):
    """The interactive connection's transaction, as the status line shows it."""

    IDLE = "idle"  # autocommit: every statement commits on its own
    OPEN = "open"  # inside BEGIN ... (manual mode or a typed BEGIN)
    FAILED = "failed"  # a statement failed inside the transaction: ROLLBACK needed


# -- records and change plans (Capability.RECORDS / Capability.PLAN) -----------


#: A record's identity: (column, value) pairs of its primary key (PG), its
#: ``_id`` (Mongo), its key name (Redis) or object key (S3). Inside one
#: Redis value the key names what the record is, never where it is: a zset
#: or set member (``(("member", "alice"),)``, not its rank, which changes
#: when a score does), a hash field (``(("field", "f"),)``), a stream
#: entry id. Only a list has no such name: its key is the position
#: (``(("index", 3),)``) and its ``RecordSchema.identity`` says
#: ``Identity.POSITION`` (see there).
RecordKey = tuple[tuple[str, Any], ...]


class Identity(enum.StrEnum):
    """What a ``RecordKey`` of a node names (``RecordSchema.identity``)."""

    #: Values that stay with the record whatever happens to the others (a
    #: primary key, ``_id``, a key name, a zset member): changes address it
    #: by them in any order.
    STABLE = "stable"
    #: A position that shifts when a record before it comes or goes (a Redis
    #: list index): staged changes address records by their positions as
    #: browsed, and a plan runs edits first and deletes from the last
    #: position to the first, so no change moves the record of another.
    POSITION = "position"


class _Unset:
    """Update: remove the field from the record (a document field, a hash
    field), which is not the same as setting it to null."""

    __slots__ = ()
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class _Default:
    """Insert: let the store fill the field in (the column's DEFAULT)."""

    __slots__ = ()
    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"

    def __reduce__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


@dataclass(frozen=True, slots=True)
class ValueCodec:
    """How a store's values become edit text and typed text becomes values,
    per field, and the words an editor uses for the store's markers. A
    backend hands its codec out with ``RecordSchema.codec`` (a subclass
    overrides the methods); the methods are pure and cheap (no round-trip),
    so the UI calls them on its own thread.

    ``null_word`` is what a field holding no value is called ("NULL");
    ``unset_word`` what removing a field is called ("unset"), ``""`` when a
    store's fields cannot be removed (rows); ``default_word`` what letting
    the store fill a field in is called ("DEFAULT"), ``""`` when the store
    has no defaults.
    """

    null_word: str = "NULL"
    unset_word: str = ""
    default_word: str = "DEFAULT"
    #: How an editor flags a field that must hold a value (``FieldInfo``
    #: ``nullable`` False); ``""``: ``required`` says it from the store's
    #: other words.
    required_word: str = ""
    #: What an editor says of a field the store fills in itself
    #: (``FieldInfo.editable`` False, no ``default`` text); ``""``:
    #: ``generated`` says it from the store's other words.
    generated_word: str = ""

    @property
    def required(self) -> str:
        """``required_word``, else "not null" (lower case, as a flag) where
        the store has defaults and a null (rows), else "required"."""
        if self.required_word:
            return self.required_word
        if self.default_word and self.null_word:
            return f"not {self.null_word.lower()}"
        return "required"

    @property
    def generated(self) -> str:
        """``generated_word``, else "generated" where the store has
        defaults (a generated or identity column), else "set by the store"
        (a document's ``_id`` the store assigns)."""
        if self.generated_word:
            return self.generated_word
        return "generated" if self.default_word else "set by the store"

    def edit_text(self, field: FieldInfo | None, value: Any) -> str | None:
        """The text an editor starts from for ``value`` of ``field`` (what
        ``parse`` turns back into the same value), or None when the value
        cannot be edited as text (a preview of a bigger value). This
        default writes neutral forms: JSON for documents and arrays, ISO
        8601 for times, ``true``/``false``, ``\\x`` and hex for bytes."""
        import json
        from datetime import date, datetime, time

        if value is None or value is MISSING or value is DEFAULT or value is UNSET:
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

    def parse(self, field: FieldInfo | None, text: str) -> Any:
        """The value to stage for ``text`` typed into ``field``. This default
        stages the text itself: the store parses typed text by the field's
        type when the change is planned (and says there what it refuses)."""
        return text


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One field of a record, as an editor needs it.

    ``default`` is the store's default expression as text ("now()",
    "nextval('orders_id_seq'::regclass)"), ``""`` when there is none.
    ``editable`` is False for generated/identity-always columns.
    """

    name: str
    type_name: str = ""
    nullable: bool = True
    default: str = ""
    primary_key: bool = False
    editable: bool = True


@dataclass(frozen=True, slots=True)
class RecordSchema:
    """What an editor needs to know about a browsable node's records.

    ``key`` names the fields that identify a record (the primary key, or a
    unique NOT NULL key). ``read_only_reason`` is ``None`` when records can
    be edited, otherwise a sentence the UI shows as is ("orders_archive has
    no primary key or unique NOT NULL key, so rows cannot be addressed one
    by one").
    """

    path: tuple[str, ...]
    fields: tuple[FieldInfo, ...]
    key: tuple[str, ...] = ()
    read_only_reason: str | None = None
    #: What ``key`` names: a record that stays itself, or a position.
    identity: Identity = Identity.STABLE
    #: How values of these fields become edit text and typed text values.
    codec: ValueCodec = field(default_factory=lambda: ValueCodec())


@dataclass(frozen=True, slots=True)
class Record:
    """One whole record, from ``get()``. Values are neutral; a value too big
    to hold (over the backend's bound, e.g. 1 MB) is a ``Truncated``."""

    path: tuple[str, ...]
    key: RecordKey
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Insert:
    """Insert one record. Field values are neutral values or ``str`` text the
    user typed, which the store parses by the field's type (PG casts it with
    the column's type); ``DEFAULT`` or an absent field takes the default."""

    path: tuple[str, ...]
    fields: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Update:
    """Set ``changes`` on the record ``key`` (values as for ``Insert``;
    ``None`` is NULL; ``UNSET`` removes the field). A change names its field
    by name (a top-level field) or by a ``FieldPath`` into nested documents
    and arrays (PG: a path inside a json/jsonb column)."""

    path: tuple[str, ...]
    key: RecordKey
    changes: tuple[tuple[str | FieldPath, Any], ...]


@dataclass(frozen=True, slots=True)
class Delete:
    path: tuple[str, ...]
    key: RecordKey


@dataclass(frozen=True, slots=True)
class Replace:
    """Replace the whole record ``key`` by ``document``: afterwards it holds
    exactly these fields (values as for ``Insert``). A field left out is
    removed where records are documents, and takes its default where they
    are rows (PG: DEFAULT, else NULL)."""

    path: tuple[str, ...]
    key: RecordKey
    document: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Command:
    """A store-specific step, run as written: Redis ``EXPIRE k 60``, a
    MongoDB ``updateMany``, an S3 copy, a PostgreSQL statement. ``text`` is
    exactly what the plan review shows and what runs; ``affected`` what its
    producer counted (``None``: unknown). The backend refuses a command it
    cannot run inside the plan's ``Atomicity`` (PG: one statement, no
    transaction control)."""

    path: tuple[str, ...]
    text: str
    affected: int | None = None


class IndexDirection(enum.StrEnum):
    """The order of one field of an index."""

    DEFAULT = ""  # the store's default (ascending), or said inside the entry's own text
    ASCENDING = "ascending"
    DESCENDING = "descending"


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An index to create (``Backend.create_index``).

    ``columns`` are field names or, for stores whose ``IndexOptions`` say
    ``expressions``, expressions in the store's syntax; ``directions``, when
    given, holds one ``IndexDirection`` per entry of ``columns`` (``()``: the
    store's default for all; ``fields`` pairs them up). ``partial_filter``
    restricts the index to matching records, in the store's own syntax (PG:
    a WHERE predicate; MongoDB: a partialFilterExpression document);
    ``online`` builds without blocking writes where the store offers the
    choice (PG: CONCURRENTLY); ``ttl_seconds`` and ``sparse`` are for stores
    that have them. ``name`` empty lets the backend choose one.
    """

    columns: tuple[str, ...]
    unique: bool = False
    method: str = ""  # "" = the store's default (btree for PG)
    partial_filter: str = ""
    name: str = ""
    online: bool = True
    directions: tuple[IndexDirection, ...] = ()
    ttl_seconds: int | None = None
    sparse: bool = False

    @property
    def fields(self) -> tuple[tuple[str, IndexDirection], ...]:
        """(column or expression, direction) for every entry of ``columns``."""
        directions = self.directions or (IndexDirection.DEFAULT,) * len(self.columns)
        return tuple(zip(self.columns, directions, strict=True))


@dataclass(frozen=True, slots=True)
class CreateIndex:
    path: tuple[str, ...]
    spec: IndexSpec


@dataclass(frozen=True, slots=True)
class DropIndex:
    """Drop the index ``name``; ``online`` without blocking writes where the
    store offers the choice (``IndexOptions.online``; PG: CONCURRENTLY)."""

    path: tuple[str, ...]
    name: str
    online: bool = True


#: Everything that goes through a change plan.
Change = Insert | Update | Delete | Replace | Command | CreateIndex | DropIndex


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One change of a plan: the exact statement/command that will run (with
    its values, as the store would log it) and how many records it will
    touch, counted before anything runs (``None`` when it cannot be known
    cheaply, e.g. an index build)."""

    change: Change
    text: str
    affected: int | None = None
    note: str = ""


class Atomicity(enum.StrEnum):
    """What a store really does with a plan's steps if one fails.

    True in a boolean test only for ``ONE_TRANSACTION`` (what ``atomic``
    meant when it was a bool)."""

    #: All or nothing: the steps run in one transaction, rolled back on an error.
    ONE_TRANSACTION = "one-transaction"
    #: Run together, never interleaved with others (Redis MULTI/EXEC), but a
    #: step that fails does not undo the steps that ran.
    ALL_APPLIED_NO_ROLLBACK = "all-applied-no-rollback"
    #: One after another: the steps that ran stay applied if a later one fails.
    STEP_BY_STEP = "step-by-step"

    def __bool__(self) -> bool:
        return self is Atomicity.ONE_TRANSACTION

    @property
    def words(self) -> str:
        """How the plan review says it."""
        return _ATOMICITY_WORDS[self]


_ATOMICITY_WORDS = {
    Atomicity.ONE_TRANSACTION: "atomic: all or nothing, in one transaction",
    Atomicity.ALL_APPLIED_NO_ROLLBACK: (
        "applied together, but NOT rolled back: a step that fails leaves the others applied"
    ),
    Atomicity.STEP_BY_STEP: "NOT atomic: steps that ran stay applied if a later one fails",
}


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """What ``apply()`` will do, in order. ``atomic`` says what the store
    does if a step fails (``Atomicity``); a bool is accepted and read as
    ``ONE_TRANSACTION`` (True) or ``STEP_BY_STEP`` (False). Steps that
    cannot run in one transaction (CREATE INDEX CONCURRENTLY) make it
    weaker and say so in ``warnings``."""

    steps: tuple[PlannedStep, ...]
    atomic: Atomicity | bool = Atomicity.ONE_TRANSACTION
    warnings: tuple[str, ...] = ()
    #: What a failure does, in the store's own words when ``Atomicity``'s
    #: do not fit (an index build: "all or nothing: a failed build leaves
    #: nothing behind"); ``""``: ``atomicity.words``.
    atomic_words: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.atomic, Atomicity):
            value = Atomicity.ONE_TRANSACTION if self.atomic else Atomicity.STEP_BY_STEP
            object.__setattr__(self, "atomic", value)

    @property
    def atomicity(self) -> Atomicity:
        """``atomic`` as an ``Atomicity`` (always one after construction)."""
        atomic = self.atomic
        assert isinstance(atomic, Atomicity)
        return atomic

    @property
    def atomicity_text(self) -> str:
        """How the plan review says what a failure does."""
        return self.atomic_words or self.atomicity.words

    @property
    def affected(self) -> int | None:
        counts = [s.affected for s in self.steps]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """What ``apply()`` did: the records each step touched, in order."""

    affected: tuple[int | None, ...]
    elapsed: float = 0.0


# -- indexes (Capability.INDEXES) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of a table/collection.

    ``columns`` is the column list or expression as the store prints it;
    ``scans`` how often it was used (``None`` when the store does not say);
    ``flags`` what deserves attention: "unused" (never scanned), "duplicate
    of <name>", "invalid".
    """

    name: str
    columns: str
    unique: bool = False
    primary: bool = False
    method: str = ""
    size_bytes: int | None = None
    scans: int | None = None
    valid: bool = True
    definition: str = ""
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndexOptions:
    """What a store's new-index form offers, in the store's own words
    (``Backend.index_options``). The form shows only what is offered here.

    ``fields_label``/``fields_placeholder``: the field list's label and hint
    ("Columns", "col, other DESC, lower(name)"); ``field_noun`` what one
    field is called in messages ("column").
    ``expressions``: an entry may be an expression, not only a field name.
    ``directions``: the form offers a direction per entry (an entry ending
    in a word of ``descending_words``/``ascending_words`` sets it).
    ``methods``: the index methods to choose from, the first the default
    (``()``: no choice). ``unique``: a unique index can be asked for.
    ``partial``: a filter restricts the index, typed in the store's syntax
    under ``partial_label``. ``online``: the store can build and drop without
    blocking writes, as an option labelled ``online_label``, ticked when
    ``online_default``; ``drop_online`` is what a drop uses. ``ttl``/
    ``sparse``: records expire after a number of seconds / records without
    the field are left out. ``name_placeholder``: what an empty name means.
    """

    fields_label: str = "Fields"
    fields_placeholder: str = ""
    field_noun: str = "field"
    expressions: bool = False
    directions: bool = False
    ascending_words: tuple[str, ...] = ("asc",)
    descending_words: tuple[str, ...] = ("desc",)
    methods: tuple[str, ...] = ()
    method_label: str = "Method"
    unique: bool = True
    unique_label: str = "unique"
    partial: bool = False
    partial_label: str = "Filter"
    partial_placeholder: str = "only records matching this"
    online: bool = False
    online_label: str = "online"
    online_default: bool = True
    drop_online: bool = False
    ttl: bool = False
    ttl_label: str = "TTL (s)"
    sparse: bool = False
    sparse_label: str = "sparse"
    name_placeholder: str = "empty: the store picks one"


@dataclass(frozen=True, slots=True)
class IndexPlan:
    """What ``create_index``/``drop_index`` will do, said before it runs
    (``Backend.plan_index``): the exact statement or command as the store
    will run it (PG: the SQL), what it does to the store meanwhile
    (``note``: locks, blocking), and ``warnings`` about a failure.
    ``all_or_nothing`` is False when a failure can leave something behind
    (a failed online build leaves an INVALID index in PG)."""

    change: CreateIndex | DropIndex
    text: str
    note: str = ""
    warnings: tuple[str, ...] = ()
    all_or_nothing: bool = True
    #: What a failure does, as the review says it: an ``Atomicity`` (PG: a
    #: plain CREATE INDEX is ``ONE_TRANSACTION``) or the store's own words.
    #: None: ``STEP_BY_STEP``'s words when ``all_or_nothing`` is False, else
    #: a neutral sentence that claims nothing (the review never guesses it
    #: from the store's flags: MongoDB has TRANSACTIONS, its index builds
    #: are not in one).
    atomicity: Atomicity | str | None = None


#: How a review says an index change that leaves nothing behind when it
#: fails, without a transaction (an in-memory or MongoDB index build).
INDEX_ALL_OR_NOTHING = "all or nothing: a failed change leaves nothing behind"


# -- explain (Capability.EXPLAIN) ----------------------------------------------


class PlanMeasure(enum.StrEnum):
    """What a ``PlanMetric`` counts."""

    KEYS_EXAMINED = "keys examined"  # index entries read
    EXAMINED = "examined"  # records (rows, documents) read
    RETURNED = "returned"  # records handed up by the node
    TIME_MS = "time"  # milliseconds, as the store measured them
    OTHER = "other"


_EXAMINED = frozenset({PlanMeasure.KEYS_EXAMINED, PlanMeasure.EXAMINED})


@dataclass(frozen=True, slots=True)
class PlanMetric:
    """One typed measure of a plan node, as the store reports it.

    ``label`` is the store's word ("docs examined", "keys examined",
    "nReturned"); ``""`` shows the measure's own name."""

    measure: PlanMeasure
    value: float
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or str(self.measure)


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One node of a query plan.

    Every number is optional: a planner without costs (MongoDB) leaves the
    costs None. Costs are the planner's units; ``actual_*`` are set only when
    the plan was executed (ANALYZE). ``actual_time_ms`` is the node's total
    time over all its loops, ``self_time_ms`` that minus its children's.
    ``metrics`` are the store's own typed measures of the node (keys and
    documents examined, returned...). The UI marks the most expensive node
    by whatever the store measures: the largest ``self_time_ms`` when
    analyzed, else the largest ``self_cost``, else the most examined.
    """

    label: str  # "Seq Scan on big", "Hash Join", "Index Scan using orders_pkey on orders"
    startup_cost: float | None = None
    total_cost: float | None = None
    self_cost: float | None = None
    est_rows: float | None = None
    actual_rows: float | None = None
    loops: int | None = None
    actual_time_ms: float | None = None
    self_time_ms: float | None = None
    details: tuple[tuple[str, str], ...] = ()  # ("Filter", "(id > 5)"), ("Buffers", "shared hit=3")
    children: tuple[PlanNode, ...] = ()
    metrics: tuple[PlanMetric, ...] = ()

    @property
    def examined(self) -> float | None:
        """Keys and records this node examined (``None``: not measured)."""
        values = [m.value for m in self.metrics if m.measure in _EXAMINED]
        return sum(values) if values else None


@dataclass(frozen=True, slots=True)
class Explained:
    """The plan of one statement."""

    statement: str
    root: PlanNode
    analyzed: bool = False
    planning_ms: float | None = None
    execution_ms: float | None = None
    #: The store's own plan text (PG: the JSON), for copying or saving.
    raw: str = ""
    #: What the store calls this plan ("EXPLAIN ANALYZE"); "" lets the view
    #: say "plan (executed)" or "plan (estimates only)".
    heading: str = ""
    #: Plans the planner considered and did not choose (MongoDB's
    #: rejectedPlans), best first; PG has none.
    rejected: tuple[PlanNode, ...] = ()
    #: Measures of the whole statement (documents examined, returned...).
    metrics: tuple[PlanMetric, ...] = ()


# -- monitoring (Capability.MONITOR) -------------------------------------------


class MetricKind(enum.StrEnum):
    GAUGE = "gauge"  # a level: connections, cache hit ratio
    COUNTER = "counter"  # ever-growing total: the UI shows its rate per second


@dataclass(frozen=True, slots=True)
class Metric:
    name: str  # "connections", "commits", "cache hit ratio"
    value: float
    kind: MetricKind = MetricKind.GAUGE
    unit: str = ""  # "", "%", "bytes", "rows"


class ColumnRole(enum.StrEnum):
    """What a column of a ``StatsTable`` holds, declared by the backend
    (``StatsTable.roles``) so the monitor panel never guesses from names.

    The panel lays a narrow table out by role (the id, the duration, the
    state, what it waits for, then the text; see tui's monitor_columns),
    shows TEXT columns whole in its detail line, formats BYTES as sizes,
    and names a row's facts in an action's confirmation by role
    (``MonitorAction.text``: ``{user}``, ``{duration}``...).
    """

    ID = "id"  # what identifies the row for an action (default: key_column)
    USER = "user"  # who runs it
    DATABASE = "database"  # where: a database, a namespace
    DURATION = "duration"  # how long it has run (the first one counts)
    STATE = "state"  # active, idle, granted...
    WAIT = "wait"  # what it waits for
    CHAIN = "chain"  # who waits for whom ("412 ← 398"): a wait kept wider
    TEXT = "text"  # the query, command or operation
    BYTES = "bytes"  # a size in bytes


class ActionDanger(enum.StrEnum):
    """How much a monitor action throws away, which says how it is asked."""

    SAFE = "safe"  # changes nothing that matters: runs without a question
    DISRUPTIVE = "disruptive"  # interrupts work but loses none: asked first
    DESTRUCTIVE = "destructive"  # loses work: asked first, the button in red


@dataclass(frozen=True, slots=True)
class MonitorAction:
    """One action on a row of a monitor table, in the store's own words.

    ``id`` is what ``Backend.session_action`` receives; ``key`` the key that
    runs it (a Textual key name: "c", "x", "ctrl+k") and ``label`` its name
    in the footer and help. Unless it is ``SAFE`` it is confirmed first: a
    dialog titled ``title`` with the lines of ``text`` and a button reading
    ``confirm``.

    ``title`` and each line of ``text`` may name the focused row's facts by
    ``ColumnRole`` (``"{user}"``, ``"{duration}"``; ``"{id}"`` is the row's
    id); the panel fills them in, on one sanitized line each (a duration
    read at a glance, a TEXT cut to a line). A line that names a fact the row
    does not have (no such column, or empty) is left out; an entry that is
    a tuple of lines offers alternatives: the first whose facts are all
    there is shown.
    """

    id: str
    label: str
    key: str
    title: str
    confirm: str
    text: tuple[str | tuple[str, ...], ...] = ()
    danger: ActionDanger = ActionDanger.DISRUPTIVE


@dataclass(frozen=True, slots=True)
class StatsTable:
    """A table of the monitor panel (sessions, locks, slow statements...).

    ``key_column`` is the position of the column that identifies a row for
    ``actions`` (PG: the pid); ``actions`` describe what ``session_action``
    accepts for its rows (``MonitorAction``: PG's cancel and terminate).
    ``note`` is shown instead of/under the rows ("pg_stat_statements is not
    installed: ..."). ``roles`` says which columns hold what (``ColumnRole``
    to column positions, the first the main one); a column with no role is
    shown after those with one.

    A bare string in ``actions`` is an action id without a description: the
    UI does not offer it (kept only while backends move to ``MonitorAction``).
    """

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] = ()
    key_column: int | None = None
    actions: tuple[MonitorAction | str, ...] = ()
    note: str = ""
    roles: Mapping[ColumnRole, tuple[int, ...]] = field(default_factory=dict)

    @property
    def described_actions(self) -> tuple[MonitorAction, ...]:
        """The actions the UI can offer (those with a description)."""
        return tuple(a for a in self.actions if isinstance(a, MonitorAction))

    def columns_of(self, role: ColumnRole) -> tuple[int, ...]:
        """The positions of the columns with ``role``; the id defaults to
        ``key_column``."""
        found = tuple(i for i in self.roles.get(role, ()) if 0 <= i < len(self.columns))
        if not found and role is ColumnRole.ID and self.key_column is not None:
            return (self.key_column,)
        return found


@dataclass(frozen=True, slots=True)
class Stats:
    """One sample of the server's state. ``taken_at`` is ``time.time()``."""

    taken_at: float
    metrics: tuple[Metric, ...] = ()
    tables: tuple[StatsTable, ...] = ()


# -- the store's nouns (Backend.words) -----------------------------------------


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


@dataclass(frozen=True, slots=True)
class StoreWords:
    """What a store calls its records, the nodes that hold them, their
    fields and a value that is not there, for the panels' sentences
    ("documents 1–19 of ≥ 200", "Insert a document into shop/orders", "→ 3
    rows"). ``Backend.words``; PostgreSQL says row/table/column/NULL.

    ``no_value`` is what a grid cell holding no value shows (None; the
    record editors say the same with ``ValueCodec.null_word``).
    """

    record: str = "record"
    records: str = "records"
    container: str = "container"
    field: str = "field"
    fields: str = "fields"
    no_value: str = "null"

    def count(self, n: int | None) -> str:
        """ "1 row", "3,000 rows", or "rows unknown" for None."""
        if n is None:
            return f"{self.records} unknown"
        return f"{n:,} {self.record if n == 1 else self.records}"

    @property
    def a_record(self) -> str:
        """ "a row", "an object"."""
        return _a(self.record)

    @property
    def a_container(self) -> str:
        """ "a table", "a collection"."""
        return _a(self.container)

    @property
    def choose_hint(self) -> str:
        """What an empty data panel says: "Choose a table in the catalog
        and press Enter."."""
        return f"Choose {self.a_container} in the catalog and press Enter."


#: A relational store's words (PostgreSQL and the PG-shaped fake).
ROW_WORDS = StoreWords(
    record="row",
    records="rows",
    container="table",
    field="column",
    fields="columns",
    no_value="NULL",
)
#: A document store's words (MongoDB, memdocs).
DOCUMENT_WORDS = StoreWords(
    record="document", records="documents", container="collection", no_value="null"
)
#: redis-cli's words: keys in a namespace, "(nil)" for no value.
KEY_WORDS = StoreWords(record="key", records="keys", container="namespace or key", no_value="(nil)")
#: The AWS CLI's words: objects under a bucket or prefix; a listing cell
#: with no value (a prefix has no size) shows a dash.
OBJECT_WORDS = StoreWords(
    record="object", records="objects", container="bucket or prefix", no_value="—"
)
