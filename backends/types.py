"""Neutral value objects that cross the ``backends/`` boundary.

Nothing from a driver (cursor, BSON type, pipeline, boto3 response) ever leaves
a backend: rows hold plain Python values (``str int float bool None bytes
Decimal date time datetime timedelta list dict``) plus the few tagged wrappers
below, for store types the UI must render faithfully.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class ServerInfo:
    product: str  # "PostgreSQL", "MongoDB", "Redis", "S3"
    version: str
    details: tuple[tuple[str, str], ...] = ()


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
