"""memdocs' data: stores of databases of collections of documents, the
field paths, filters and sorts that reach into them, and how a change
becomes a new document (documents are never changed in place)."""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import (
    NotFound,
    NotSupported,
    QueryFailed,
)
from ..types import (
    MISSING,
    UNSET,
    Column,
    Filter,
    IndexDirection,
    IndexSpec,
    Sort,
    SortDirection,
)

if TYPE_CHECKING:
    from ..types import RecordKey


Doc = dict[str, Any]

#: A collection name a command can write bare; others are JSON strings.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")

# -- the store ------------------------------------------------------------------


def _id_key(value: Any) -> tuple[int, Any]:
    """Order of ``_id`` values: numbers, then strings, then anything else by
    its JSON text (the order pages are cut in)."""
    if isinstance(value, bool):
        return (2, json.dumps(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


@dataclass
class MemIndex:
    name: str
    fields: tuple[tuple[str, int], ...]  # (dotted path, 1 or -1)
    unique: bool = False
    sparse: bool = False
    ttl_seconds: int | None = None
    hashed: bool = False
    scans: int = 0

    def describe(self) -> str:
        kind = "hashed" if self.hashed else None
        return ", ".join(f"{f} {kind or d}" for f, d in self.fields)

    def definition(self) -> str:
        keys = {f: ("hashed" if self.hashed else d) for f, d in self.fields}
        options: dict[str, Any] = {}
        if self.unique:
            options["unique"] = True
        if self.sparse:
            options["sparse"] = True
        if self.ttl_seconds is not None:
            options["expireAfterSeconds"] = self.ttl_seconds
        text = json.dumps(keys, ensure_ascii=False)
        return f"{text} {json.dumps(options)}" if options else text


@dataclass
class MemCollection:
    """Documents by ``_id`` plus their ``_id`` keys in order. Documents are
    never changed in place (an update stores a new dict), so a list of them
    is a consistent snapshot for a query result."""

    docs: dict[Any, Doc] = field(default_factory=dict)
    order: list[tuple[int, Any]] = field(default_factory=list)
    ids: dict[tuple[int, Any], Any] = field(default_factory=dict)
    indexes: list[MemIndex] = field(
        default_factory=lambda: [MemIndex("_id_", (("_id", 1),), unique=True)]
    )

    def put(self, doc: Doc) -> None:
        key = _id_key(doc["_id"])
        if key not in self.ids:
            bisect.insort(self.order, key)
            self.ids[key] = doc["_id"]
        self.docs[key] = doc

    def remove(self, _id: Any) -> None:
        key = _id_key(_id)
        if key in self.ids:
            del self.docs[key], self.ids[key]
            self.order.pop(bisect.bisect_left(self.order, key))

    def get(self, _id: Any) -> Doc | None:
        try:
            return self.docs.get(_id_key(_id))
        except TypeError:
            return None

    def in_order(self, start: int = 0) -> Iterable[Doc]:
        for key in itertools.islice(self.order, start, None):
            yield self.docs[key]


@dataclass(frozen=True)
class Operation:
    """One row of the monitor's Operations table."""

    opid: int
    op: str
    namespace: str
    seconds: float
    command: str
    cancel: threading.Event | None = None


@dataclass
class MemStore:
    """One memdocs server: databases of collections, plus what the monitor
    shows. ``lock`` guards everything here."""

    databases: dict[str, dict[str, MemCollection]] = field(default_factory=dict)
    operations: dict[int, Operation] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    commands: int = 0
    next_opid: int = 1000
    #: Where commands run unless the URL or ``use`` says otherwise: the
    #: first database added.
    default_db: str = ""

    def collection(self, db: str, name: str) -> MemCollection:
        try:
            return self.databases[db][name]
        except KeyError:
            raise NotFound(f"no collection {name!r} in database {db!r}") from None

    def add(self, db: str, name: str, docs: Iterable[Doc] = ()) -> MemCollection:
        """Create (or empty) collection ``db``/``name`` holding ``docs``."""
        with self.lock:
            coll = MemCollection()
            for doc in docs:
                coll.put(doc)
            self.databases.setdefault(db, {})[name] = coll
            self.default_db = self.default_db or db
            return coll


_STORES: dict[str, MemStore] = {}
_STORES_LOCK = threading.Lock()


def register_store(name: str, store: MemStore) -> MemStore:
    with _STORES_LOCK:
        _STORES[name] = store
    return store


def get_store(name: str) -> MemStore:
    """The store called ``name``, made from ``default_store()`` on first use."""
    with _STORES_LOCK:
        if name not in _STORES:
            from .dataset import default_store

            _STORES[name] = default_store()
        return _STORES[name]


# -- values and paths -------------------------------------------------------------


#: A field path as changes and sorts name it (``FieldPath``), or dotted text.
PathLike = str | tuple[str | int, ...]


def _segments(path: PathLike) -> list[str | int]:
    """Dotted text splits on its dots; a ``FieldPath`` is taken as it is
    (its segments may hold dots: ``("dotted.key",)`` is one field)."""
    return list(path.split(".")) if isinstance(path, str) else list(path)


def _index(target: Any, part: str | int) -> int | None:
    """``part`` as a position in the list ``target``, if it is one."""
    if not isinstance(target, list):
        return None
    if isinstance(part, int):
        return part if 0 <= part < len(target) else None
    return int(part) if part.isdigit() and int(part) < len(target) else None


def _path_get(doc: Any, path: PathLike) -> Any:
    """The value at ``path`` (a list segment may be a position), or
    ``MISSING``. A field whose name holds a dot is found whole first."""
    if isinstance(path, str) and isinstance(doc, dict) and path in doc:
        return doc[path]
    value = doc
    for part in _segments(path):
        at = _index(value, part)
        if at is not None:
            value = value[at]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list):
            # A field of the documents in an array: their values, so that
            # {"items.sku": "lamp"} matches an order with a lamp among its items.
            found = [v[part] for v in value if isinstance(v, dict) and part in v]
            if not found:
                return MISSING
            value = found
        else:
            return MISSING
    return value


def _path_set(doc: Doc, path: PathLike, value: Any) -> None:
    parts = _segments(path)
    shown = ".".join(str(p) for p in parts)
    target: Any = doc
    for part in parts[:-1]:
        at = _index(target, part)
        if at is not None:
            target = target[at]
            continue
        if not isinstance(target, dict):
            raise QueryFailed(f"cannot set {shown}: {part!r} is not inside a document")
        if not isinstance(target.get(part), dict | list):
            target[part] = {}
        target = target[part]
    last = parts[-1]
    at = _index(target, last)
    if at is not None:
        target[at] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise QueryFailed(f"cannot set {shown}: its parent is not a document")


def _path_unset(doc: Doc, path: PathLike) -> None:
    parts = _segments(path)
    target: Any = doc
    for part in parts[:-1]:
        at = _index(target, part)
        if at is not None:
            target = target[at]
        elif isinstance(target, dict) and isinstance(target.get(part), dict | list):
            target = target[part]
        else:
            return
    if isinstance(target, dict):
        target.pop(parts[-1], None)
    elif (at := _index(target, parts[-1])) is not None:
        del target[at]


def _compare(value: Any, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (value is not MISSING) == bool(arg)
    if op == "$ne":
        return not _equals(value, arg)
    if op == "$in":
        return any(_equals(value, a) for a in arg)
    if op == "$nin":
        return not any(_equals(value, a) for a in arg)
    if value is MISSING or value is None:
        return False
    try:
        if op == "$gt":
            return bool(value > arg)
        if op == "$gte":
            return bool(value >= arg)
        if op == "$lt":
            return bool(value < arg)
        if op == "$lte":
            return bool(value <= arg)
    except TypeError:
        return False
    raise QueryFailed(f"unknown filter operator {op}")


def _equals(value: Any, target: Any) -> bool:
    """Equality as filters mean it: an array matches a value it holds, a
    missing field matches null, and true is not 1."""
    if isinstance(value, list) and not isinstance(target, list):
        return any(_equals(v, target) for v in value)
    if value is MISSING:
        return target is None
    if isinstance(value, bool) or isinstance(target, bool):
        return type(value) is type(target) and value == target
    return bool(value == target)


def matches(doc: Doc, filter_doc: dict[str, Any]) -> bool:
    """Whether ``doc`` matches a memdocs filter document."""
    for path, cond in filter_doc.items():
        value = _path_get(doc, path)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            if not all(_compare(value, op, arg) for op, arg in cond.items()):
                return False
        elif not _equals(value, cond):
            return False
    return True


def type_name(value: Any) -> str:
    """A value's type in this store's own words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, datetime):
        return "date"
    return type(value).__name__


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)


def _name_token(name: str) -> str:
    """A collection name as a command writes it."""
    return name if _WORD.fullmatch(name) else _json(name)


def _filter_of(flt: Filter | None) -> dict[str, Any] | None:
    """A browse filter: a JSON filter document, as ``find`` takes it."""
    if flt is None or not flt.text.strip():
        return None
    try:
        value = json.loads(flt.text)
    except ValueError as e:
        raise QueryFailed(f"a memdocs filter is a JSON document: {e}") from e
    if not isinstance(value, dict):
        raise QueryFailed('a memdocs filter is a JSON object, e.g. {"status": "open"}')
    return value


class _Desc:
    """Reverses the order of the value it wraps (a descending sort field)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple[int, Any]) -> None:
        self.key = key

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.key < self.key)

    def __gt__(self, other: _Desc) -> bool:
        return bool(other.key > self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


_Rank = tuple[Any, ...]


def _sort_key(sort: Sort) -> Callable[[Doc], _Rank]:
    """A document's rank under ``sort``: per field (absent or null last in
    either direction, then the value), then its ``_id``."""

    def rank(doc: Doc) -> _Rank:
        parts: list[Any] = []
        for path, direction in sort.fields:
            value = _path_get(doc, path)
            if value is MISSING or value is None:
                parts.append((1, None))
                continue
            key = _id_key(value)
            parts.append((0, _Desc(key) if direction is SortDirection.DESCENDING else key))
        parts.append(_id_key(doc["_id"]))
        return tuple(parts)

    return rank


def _cursor_of(rank: _Rank) -> list[Any]:
    """A rank as JSON: each part [absent, descending, type, value]."""
    out: list[Any] = []
    for part in rank[:-1]:
        absent, key = part
        if absent:
            out.append([1])
        elif isinstance(key, _Desc):
            out.append([0, 1, *key.key])
        else:
            out.append([0, 0, *key])
    out.append(list(rank[-1]))
    return out


def _rank_of_cursor(data: Any) -> _Rank:
    if not isinstance(data, list) or not data:
        raise ValueError("not a sort cursor")
    parts: list[Any] = []
    for part in data[:-1]:
        if part[0]:
            parts.append((1, None))
        else:
            key = (part[2], part[3])
            parts.append((0, _Desc(key) if part[1] else key))
    parts.append((data[-1][0], data[-1][1]))
    return tuple(parts)


_DESCENDING_WORDS = ("-1", "desc", "descending")


def _index_of(spec: IndexSpec) -> MemIndex:
    fields: list[tuple[str, int]] = []
    for column, given in spec.fields:
        text = column.strip()
        direction = -1 if given is IndexDirection.DESCENDING else 1
        if given is IndexDirection.DEFAULT:
            # Typed as one entry: "-created" or "created -1" / "created desc".
            if text.startswith("-"):
                text, direction = text[1:], -1
            elif " " in text:
                text, _, word = text.rpartition(" ")
                direction = -1 if word.lower() in _DESCENDING_WORDS else 1
                text = text.strip()
        if not text:
            raise QueryFailed("an index field has no name")
        fields.append((text, direction))
    if not fields:
        raise QueryFailed("an index needs at least one field")
    if spec.partial_filter.strip():
        raise NotSupported("memdocs indexes have no partial filter (sparse leaves out documents)")
    hashed = spec.method == "hashed"
    name = spec.name or "_".join(f"{f}_{'hashed' if hashed else d}" for f, d in fields)
    return MemIndex(
        name,
        tuple(fields),
        unique=spec.unique,
        sparse=spec.sparse,
        ttl_seconds=spec.ttl_seconds,
        hashed=hashed,
    )


def _droppable(coll: MemCollection, name: str) -> None:
    if name == "_id_":
        raise QueryFailed("the _id_ index cannot be dropped")
    if not any(i.name == name for i in coll.indexes):
        raise NotFound(f"no index named {name}")


def _usable_index(coll: MemCollection, flt: dict[str, Any]) -> MemIndex | None:
    """The index a filter's equality on its first field can use."""
    for index in coll.indexes:
        first = index.fields[0][0]
        if first in flt and not isinstance(flt[first], dict):
            return index
    return None


def _all_missing(doc: Doc, index: MemIndex) -> bool:
    return all(_path_get(doc, f) is MISSING for f, _ in index.fields)


def _check_unique(coll: MemCollection, doc: Doc, own_id: Any = MISSING) -> None:
    for index in coll.indexes:
        if not index.unique or index.name == "_id_":
            continue
        if index.sparse and _all_missing(doc, index):
            continue
        value = [_path_get(doc, f) for f, _ in index.fields]
        for other in coll.in_order():
            if own_id is not MISSING and _equals(other["_id"], own_id):
                continue
            if [_path_get(other, f) for f, _ in index.fields] == value:
                raise QueryFailed(f"{index.name}: duplicate key {_json(value)}")


def _updated(old: Doc, changes: Iterable[tuple[Any, Any]]) -> Doc:
    """A copy of ``old`` with ``changes`` set (a dotted name or a tuple of
    segments is a nested path; ``MISSING`` removes the field)."""
    new = copy.deepcopy(old)
    for name, value in changes:
        if name == "_id" or (isinstance(name, tuple) and name[:1] == ("_id",)):
            if value != old["_id"]:
                raise QueryFailed("_id cannot be changed")
            continue
        if value is MISSING or value is UNSET:
            _path_unset(new, name)
        else:
            _path_set(new, name, copy.deepcopy(value))
    return new


def _operators(old: Doc, update: dict[str, Any], replace: bool) -> Doc:
    if replace:
        if any(k.startswith("$") for k in update):
            raise QueryFailed("replace takes a whole document, not $ operators")
        new = copy.deepcopy(update)
        new["_id"] = old["_id"]
        return new
    unknown = [k for k in update if k not in ("$set", "$unset", "$inc")]
    if unknown or not update:
        raise QueryFailed(
            "update takes $set, $unset or $inc" + (f", not {unknown[0]}" if unknown else "")
        )
    changes: list[tuple[Any, Any]] = list(update.get("$set", {}).items())
    changes += [(k, MISSING) for k in update.get("$unset", {})]
    for k, by in update.get("$inc", {}).items():
        current = _path_get(old, k)
        base = 0 if current is MISSING else current
        if not isinstance(base, int | float) or not isinstance(by, int | float):
            raise QueryFailed(f"$inc needs numbers at {k}")
        changes.append((k, base + by))
    return _updated(old, changes)


def _next_id(coll: MemCollection) -> int:
    numbers = [k[1] for k in coll.order if k[0] == 0]
    return int(max(numbers, default=0)) + 1


def _key_id(key: RecordKey) -> Any:
    fields = dict(key)
    if "_id" not in fields:
        raise NotFound("a memdocs record is found by its _id")
    return fields["_id"]


def _tabulate(docs: Sequence[Doc]) -> tuple[tuple[Column, ...], tuple[tuple[Any, ...], ...]]:
    """Columns: the union of the documents' top-level fields in order of
    first appearance; a field a document lacks is ``MISSING``."""
    names: dict[str, None] = {}
    for doc in docs:
        names.update(dict.fromkeys(doc))
    columns = tuple(Column(n, primary_key=n == "_id") for n in names)
    rows = tuple(tuple(copy.deepcopy(doc.get(n, MISSING)) for n in names) for doc in docs)
    return columns, rows
