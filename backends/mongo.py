"""MongoDB backend (pymongo): databases -> collections, documents paged by ``_id``.

Paths are ``(database, collection)``. Documents cross the boundary as dicts of
neutral values (see ``bson_to_neutral``); ``neutral_to_bson`` is its inverse,
used for cursors today and for writes later.

Paging is keyset on ``_id``: the opaque cursor is the last ``_id`` of a page as
canonical Extended JSON (type-preserving), base64url-encoded. A page after that
``_id`` is ``find({_id: {$gt: last}}).sort(_id)`` — but ``$gt`` only matches
values of the same BSON type bracket as ``last``, so once that bracket runs out
the reader continues with ``{_id: {$type: [every later bracket]}}``, which the
same ``_id`` sort returns in BSON comparison order. Pages therefore join without
gaps across mixed-type ``_id`` values (numbers, strings, ObjectIds, dates...).

Each such query can be slow (SecantusDB examines every document, even with an
index: ~150 ms over 10k documents), so the backend keeps a bounded read-ahead:
the open pymongo cursor of the last page read from each collection (at most
``MAX_HELD_CURSORS``, least recently used first out), with the cursor token it
stands at. A ``browse()`` with exactly that token continues the held cursor
(one ``getMore`` per batch); any other token, a killed or timed-out cursor, or a
reconnect falls back to the stateless query above. Either way the pages are the
same. A held cursor buffers at most one batch (``max(limit + 1, 500)``
documents) plus the one probe document it read ahead.

A collection dropped while it is being paged: the next page raises
``NotFound`` — at once on the stateless path (it checks the collection first),
and on the held path as soon as the held cursor fails or runs out (the final
page re-checks that the collection still exists). A held cursor may still hand
out documents from a batch the server had already sent.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import re
import socket
import time
import uuid
import warnings
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

import bson
import pymongo
from bson import json_util
from bson.binary import UuidRepresentation
from bson.codec_options import DatetimeConversion
from bson.errors import BSONError
from pymongo.errors import (
    ConfigurationError,
    ConnectionFailure,
    InvalidName,
    OperationFailure,
    PyMongoError,
)

from . import cursors
from .base import Backend, Capability
from .errors import (
    BackendError,
    ConnectionFailed,
    ConnectionLost,
    InvalidURL,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
)
from .secrets import scrub, url_secrets
from .types import (
    DOCUMENT_WORDS,
    MISSING,
    BinaryValue,
    Column,
    Node,
    NodeKind,
    ObjectIdValue,
    Page,
    RecordStyle,
    ServerInfo,
    StoreWords,
    TaggedValue,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pymongo.collection import Collection
    from pymongo.cursor import Cursor
    from pymongo.database import Database

#: How many open server cursors one backend keeps for read-ahead.
MAX_HELD_CURSORS = 4
#: Smallest batch a held cursor asks for: big enough that walking with a tiny
#: page size costs one getMore per few hundred documents, small enough to stay
#: a bounded buffer.
MIN_BATCH = 500
#: Per-socket-read timeout once connected, unless the URL sets socketTimeoutMS:
#: the last resort against a worker hanging forever, long enough that slow
#: legitimate reads have room. A server that stops answering is noticed
#: sooner, by pymongo's monitor (below).
DEFAULT_SOCKET_TIMEOUT_S = 60.0
#: How often pymongo's monitor sends ``hello`` on its own connection, unless
#: the URL says (pymongo's default is 10 s). A check that gets no answer
#: within connectTimeoutMS marks the server unknown and interrupts the
#: operations in flight on it with a network error, so a silent server is
#: reported in about this + connect_timeout (~7 s), while a long operation on
#: a server that still answers its monitor is left to run.
HEARTBEAT_FREQUENCY_MS = 2_000
#: list_children asks for an estimate per collection: one `count` command
#: each, metadata-only on MongoDB but a full scan on SecantusDB (~0.2 s per
#: 10k documents). Once this much time is spent the rest show no estimate.
ESTIMATE_BUDGET_S = 1.0
#: Collections whose estimate browse() remembers for its later pages.
MAX_CACHED_ESTIMATES = 64

# Server error codes with a meaning for the user.
_UNAUTHORIZED = 13
_AUTHENTICATION_FAILED = 18
_NAMESPACE_NOT_FOUND = 26

_UTC = dt.UTC
_JSON = json_util.JSONOptions(
    json_mode=json_util.JSONMode.CANONICAL,
    tz_aware=True,
    tzinfo=_UTC,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
)
_RELAXED = json_util.JSONOptions(
    json_mode=json_util.JSONMode.RELAXED,
    tz_aware=True,
    tzinfo=_UTC,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
)

# -- values: BSON <-> neutral ----------------------------------------------------

_RE_FLAGS = (("i", re.I), ("l", re.L), ("m", re.M), ("s", re.S), ("u", re.U), ("x", re.X))
_TIMESTAMP_TEXT = re.compile(r"\{\s*t:\s*(\d+),\s*i:\s*(\d+)\s*\}")


def _regex_flags_text(flags: int) -> str:
    return "".join(letter for letter, bit in _RE_FLAGS if flags & bit)


def bson_to_neutral(value: Any) -> Any:
    """A decoded BSON value as a neutral value (recursively for documents and
    arrays). Types with no plain-Python equivalent become ``TaggedValue``s whose
    text reads like mongosh and parses back in ``neutral_to_bson``."""
    # Order matters: Code is a str, bool and Int64 are ints, Binary is bytes.
    if isinstance(value, bson.Code):
        if value.scope is None:
            return TaggedValue("Code", str(value))
        return TaggedValue("BSON", json_util.dumps(value, json_options=_JSON))
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return int(value)  # Int64 -> int
    if isinstance(value, dict):
        return {str(k): bson_to_neutral(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bson_to_neutral(v) for v in value]
    if isinstance(value, bson.ObjectId):
        return ObjectIdValue(str(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)
    if isinstance(value, bson.Decimal128):
        return value.to_decimal()
    if isinstance(value, bson.Binary):
        if value.subtype == bson.binary.UUID_SUBTYPE and len(value) == 16:
            return TaggedValue("UUID", str(uuid.UUID(bytes=bytes(value))))
        return BinaryValue(bytes(value), value.subtype)
    if isinstance(value, bytes):
        return BinaryValue(bytes(value), 0)
    if isinstance(value, uuid.UUID):
        return TaggedValue("UUID", str(value))
    if isinstance(value, bson.DatetimeMS):  # a date outside datetime's range
        return TaggedValue("Date", str(int(value)))
    if isinstance(value, bson.Regex):
        flags = value.flags if isinstance(value.flags, int) else 0
        return TaggedValue("Regex", f"/{value.pattern}/{_regex_flags_text(flags)}")
    if isinstance(value, re.Pattern):
        return TaggedValue("Regex", f"/{value.pattern}/{_regex_flags_text(value.flags)}")
    if isinstance(value, bson.Timestamp):
        return TaggedValue("Timestamp", f"{{ t: {value.time}, i: {value.inc} }}")
    if isinstance(value, bson.MinKey):
        return TaggedValue("MinKey", "")
    if isinstance(value, bson.MaxKey):
        return TaggedValue("MaxKey", "")
    if isinstance(value, bson.DBRef):
        return TaggedValue("DBRef", json_util.dumps(value, json_options=_RELAXED))
    # Anything rarer keeps its exact canonical form.
    return TaggedValue("BSON", json_util.dumps(value, json_options=_JSON))


def _tagged_to_bson(value: TaggedValue) -> Any:
    tag, text = value.tag, value.text
    try:
        if tag == "UUID":
            return bson.Binary.from_uuid(uuid.UUID(text), UuidRepresentation.STANDARD)
        if tag == "Date":
            return bson.DatetimeMS(int(text))
        if tag == "Regex":
            pattern, _, flags = text[1:].rpartition("/")
            if not text.startswith("/") or any(f not in "ilmsux" for f in flags):
                raise ValueError(text)
            return bson.Regex(pattern, flags)
        if tag == "Timestamp":
            match = _TIMESTAMP_TEXT.fullmatch(text.strip())
            if match is None:
                raise ValueError(text)
            return bson.Timestamp(int(match[1]), int(match[2]))
        if tag == "MinKey":
            return bson.MinKey()
        if tag == "MaxKey":
            return bson.MaxKey()
        if tag == "Code":
            return bson.Code(text)
        if tag in ("DBRef", "BSON"):
            return json_util.loads(text, json_options=_JSON)
    except (ValueError, TypeError, BSONError) as e:
        raise NotSupported(f"cannot read {tag}({text}) as a BSON value") from e
    raise NotSupported(f"no BSON type for a {tag} value")


def neutral_to_bson(value: Any) -> Any:
    """The inverse of ``bson_to_neutral``: a value pymongo can encode.

    ``MISSING`` inside a document drops that field. Lossy in one place only:
    ``int`` encodes as int32 or int64 by size (MongoDB compares them as equal).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): neutral_to_bson(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list | tuple):
        return [neutral_to_bson(v) for v in value]
    if isinstance(value, ObjectIdValue):
        try:
            return bson.ObjectId(value.hex)
        except (bson.errors.InvalidId, TypeError) as e:
            raise NotSupported(f"not an ObjectId: {value.hex!r}") from e
    if isinstance(value, Decimal):
        try:
            return bson.Decimal128(value)
        except (ArithmeticError, ValueError) as e:
            raise NotSupported(f"{value} does not fit a Decimal128") from e
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=_UTC)
    if isinstance(value, BinaryValue):
        return bson.Binary(value.data, value.subtype)
    if isinstance(value, bytes | bytearray | memoryview):
        return bson.Binary(bytes(value), 0)
    if isinstance(value, TaggedValue):
        return _tagged_to_bson(value)
    if value is MISSING:
        raise NotSupported("a missing field has no BSON value")
    raise NotSupported(f"a {type(value).__name__} value has no BSON equivalent")


# -- cursors: the last _id, type-preserving ----------------------------------------


def encode_cursor(last_id: Any) -> str:
    text = json_util.dumps({"_id": last_id}, json_options=_JSON)
    try:
        return cursors.encode_cursor(text.encode())
    except cursors.CursorError as e:  # an _id of megabytes
        raise QueryFailed(f"cannot continue after this page: {e}") from e


def decode_cursor(cursor: str) -> Any:
    try:
        raw = cursors.decode_cursor(cursor)  # bounded (backends.cursors)
        doc = json_util.loads(raw.decode(), json_options=_JSON)
        return doc["_id"]
    except (ValueError, TypeError, KeyError, RecursionError, BSONError) as e:
        raise QueryFailed("invalid page cursor for MongoDB (it comes from another source)") from e


# BSON comparison order of _id values, one bracket per entry, as $type aliases.
# Arrays cannot be an _id and so are left out; MinKey and MaxKey are handled
# apart ($gt MinKey matches everything else; nothing follows MaxKey).
_BRACKETS: tuple[tuple[str, ...], ...] = (
    ("null", "undefined"),
    ("double", "int", "long", "decimal"),
    ("string", "symbol"),
    ("object",),
    ("binData",),
    ("objectId",),
    ("bool",),
    ("date",),
    ("timestamp",),
    ("regex",),
    ("dbPointer",),
    ("javascript",),
    ("javascriptWithScope",),
    ("maxKey",),
)


def _bracket(value: Any) -> int | None:
    """Index in ``_BRACKETS`` of a raw BSON value's type; None if unknown."""
    checks: tuple[tuple[int, type | tuple[type, ...]], ...] = (
        (6, bool),
        (1, (int, float, bson.Decimal128)),
        (2, str),
        (3, (dict, bson.DBRef)),
        (4, (bytes, uuid.UUID)),
        (5, bson.ObjectId),
        (7, (dt.datetime, bson.DatetimeMS)),
        (8, bson.Timestamp),
        (9, (bson.Regex, re.Pattern)),
    )
    if value is None:
        return 0
    if isinstance(value, bson.Code):
        return 11 if value.scope is None else 12
    for index, types in checks:
        if isinstance(value, types):
            return index
    return None


def _is_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, bson.Decimal128):
        return value.to_decimal().is_nan()
    return False


_START = object()  # "before the first document"


def _filters_after(after: Any) -> list[dict[str, Any]]:
    """The queries, run in turn with an ``_id`` sort, that return every
    document whose ``_id`` sorts after ``after``, in order."""
    if after is _START:
        return [{}]
    if isinstance(after, bson.MinKey):
        return [{"_id": {"$gt": after}}]
    if isinstance(after, bson.MaxKey):
        return []
    # NaN sorts first among numbers but `$gt NaN` matches nothing.
    same = {"$gte": float("-inf")} if _is_nan(after) else {"$gt": after}
    filters: list[dict[str, Any]] = [{"_id": same}]
    bracket = _bracket(after)
    if bracket is not None:
        later = [alias for group in _BRACKETS[bracket + 1 :] for alias in group]
        if later:
            filters.append({"_id": {"$type": later}})
    return filters


class _ForwardReader:
    """Documents of one collection in ``_id`` order after a position, read
    lazily through one open server cursor at a time."""

    def __init__(self, collection: Collection[dict[str, Any]], after: Any, batch_size: int) -> None:
        self._collection = collection
        self._filters = collections.deque(_filters_after(after))
        self._batch_size = batch_size
        self._cursor: Cursor[dict[str, Any]] | None = None
        self._pushed: dict[str, Any] | None = None
        #: The page cursor token this reader stands at (set after each page).
        self.token: str | None = None

    def next(self) -> dict[str, Any] | None:
        if self._pushed is not None:
            doc, self._pushed = self._pushed, None
            return doc
        while True:
            if self._cursor is None:
                if not self._filters:
                    return None
                query = self._filters.popleft()
                self._cursor = (
                    self._collection.find(query).sort("_id", 1).batch_size(self._batch_size)
                )
            try:
                return next(self._cursor)
            except StopIteration:
                self._cursor.close()
                self._cursor = None

    def push_back(self, doc: dict[str, Any]) -> None:
        self._pushed = doc

    def close(self) -> None:
        self._filters.clear()
        self._pushed = None
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            try:
                cursor.close()
            except PyMongoError:
                # Killing a server cursor on a dead connection fails; the
                # server reaps it on its own timeout, nothing else to undo.
                return


# -- errors ---------------------------------------------------------------------


def _short_message(e: BaseException) -> str:
    if isinstance(e, OperationFailure):
        details = e.details or {}
        text = str(details.get("errmsg") or str(e).split(", full error:")[0])
        name = details.get("codeName")
        return f"{text} ({name})" if name else text
    text = str(e)
    # ServerSelectionTimeoutError carries the whole topology description.
    text = text.split(", Timeout:")[0]
    text = re.sub(r" \(configured timeouts:[^)]*\)", "", text)
    return text or type(e).__name__


def _translate(e: BaseException) -> BackendError:
    """A pymongo/bson error raised after connecting, as a backend error."""
    message = _short_message(e)
    if isinstance(e, InvalidName):
        return NotFound(f"invalid name: {message}")
    if isinstance(e, OperationFailure):
        if e.code in (_UNAUTHORIZED, _AUTHENTICATION_FAILED):
            return PermissionDenied(message)
        if e.code == _NAMESPACE_NOT_FOUND:
            return NotFound(message)
        return QueryFailed(message)
    if isinstance(e, ConnectionFailure):  # AutoReconnect, NetworkTimeout, selection timeout
        return ConnectionLost(message)
    if isinstance(e, ConfigurationError):
        return ConnectionFailed(message)
    return QueryFailed(message)


def _url_options(url: str) -> set[str]:
    return {k.lower() for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def _check_url_options(url: str) -> None:
    """Refuse an unknown or malformed option in the URL, one line naming it.

    Given the URL, pymongo only *warns* (a ``UserWarning`` on stderr, drawn
    over the TUI) and goes on without the option, so a typo such as
    ``tls=ture`` or ``readPrefernce=secondary`` would silently connect
    differently. Each option is checked alone first, so the message names it,
    then all together (options that exclude each other)."""
    from pymongo.uri_parser import split_options

    query = urlsplit(url).query
    if not query:
        return
    items = [item for item in re.split("[&;]", query) if item]
    secrets = url_secrets(url)
    checks: list[tuple[str | None, str]] = [(unquote_plus(i.partition("=")[0]), i) for i in items]
    for key, text in [*checks, (None, query)]:
        # pymongo's warnings become errors here (an option it would drop).
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                split_options(text, validate=True, warn=False)
            except (PyMongoError, ValueError, TypeError, Warning) as e:
                detail = scrub(" ".join(str(e).split()), secrets)
                if key is None:
                    raise InvalidURL(f"MongoDB URL options: {detail}") from None
                if detail.startswith("Unknown option"):
                    hint = detail.partition("Did you mean one of ")[2].partition(" or maybe")[0]
                    raise InvalidURL(
                        f"unknown MongoDB URL option '{key}'"
                        + (f" (did you mean one of {hint}?)" if hint else "")
                    ) from None
                raise InvalidURL(f"MongoDB URL option '{key}': {detail}") from None


def _url_database(url: str) -> str | None:
    name = unquote(urlsplit(url).path.lstrip("/"))
    return name or None


class MongoBackend(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("mongodb", "mongodb+srv")
    product: ClassVar[str] = "MongoDB"
    capabilities: ClassVar[Capability] = Capability.NONE
    record_style: ClassVar[RecordStyle] = RecordStyle.DOCUMENTS
    words: ClassVar[StoreWords] = DOCUMENT_WORDS

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._client: pymongo.MongoClient[dict[str, Any]] | None = None
        # (database, collection) -> held reader, least recently used first.
        self._held: collections.OrderedDict[tuple[str, str], _ForwardReader] = (
            collections.OrderedDict()
        )
        self._estimates: collections.OrderedDict[tuple[str, str], int | None] = (
            collections.OrderedDict()
        )

    # -- lifecycle ---------------------------------------------------------

    def connect(self) -> None:
        self.close()
        ms = max(1, int(self.connect_timeout * 1000))
        given = _url_options(self.url)
        options: dict[str, Any] = {
            "appname": "storescope",
            "tz_aware": True,
            "tzinfo": _UTC,
            "datetime_conversion": DatetimeConversion.DATETIME_AUTO,
        }
        # Options spelled in the URL win; ours are only defaults.
        for key, value in (
            ("serverSelectionTimeoutMS", ms),
            ("connectTimeoutMS", ms),
            ("socketTimeoutMS", int(max(DEFAULT_SOCKET_TIMEOUT_S, self.connect_timeout) * 1000)),
            ("heartbeatFrequencyMS", HEARTBEAT_FREQUENCY_MS),
            # A read interrupted by the monitor would otherwise wait another
            # serverSelectionTimeoutMS for the silent server before failing
            # (~12 s in all); pages and listings are retried by the user.
            ("retryReads", False),
        ):
            if key.lower() not in given:
                options[key] = value
        _check_url_options(self.url)
        self._refuse_fast_when_nobody_listens()
        client: pymongo.MongoClient[dict[str, Any]] | None = None
        try:
            client = pymongo.MongoClient(self.url, **options)
            # A real round-trip: server selection, handshake and auth happen here.
            with pymongo.timeout(self.connect_timeout):
                client.admin.command("ping")
        except (PyMongoError, BSONError, ValueError, TypeError) as e:
            if client is not None:
                client.close()
            raise ConnectionFailed(self._connect_message(e)) from e
        self._client = client

    def _refuse_fast_when_nobody_listens(self) -> None:
        """pymongo retries server selection until its timeout even when the
        only host refuses the connection outright. For a single-host URL, one
        TCP connect tells "nobody listens" at once instead of after
        ``connect_timeout`` (replica sets and SRV are left to pymongo)."""
        parts = urlsplit(self.url)
        if parts.scheme != "mongodb":
            return
        hosts = parts.netloc.rpartition("@")[2]
        if "," in hosts or not hosts or hosts.startswith("%2F") or ".sock" in hosts:
            return
        try:
            host, port = parts.hostname, parts.port or 27017
        except ValueError:
            return  # a malformed port: let pymongo word the error
        if not host:
            return
        try:
            with socket.create_connection((host, port), timeout=self.connect_timeout):
                pass
        except ConnectionRefusedError as e:
            raise ConnectionFailed(
                f"{self.display_url}: connection refused by {host}:{port} (is the server running?)"
            ) from e
        except OSError:
            return  # timeouts and DNS errors: pymongo reports them in its own words

    def _connect_message(self, e: BaseException) -> str:
        text = _short_message(e)
        if isinstance(e, OperationFailure) and e.code == _AUTHENTICATION_FAILED:
            text = "authentication failed (check the user name, password and authSource)"
        return f"{self.display_url}: {scrub(text, url_secrets(self.url))}"

    def close(self) -> None:
        self._drop_held()
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def _drop_held(self) -> None:
        while self._held:
            _, reader = self._held.popitem(last=False)
            reader.close()

    def _connected(self) -> pymongo.MongoClient[dict[str, Any]]:
        if self._client is None:
            raise ConnectionLost("not connected to MongoDB")
        return self._client

    def ping(self) -> float:
        client = self._connected()
        start = time.perf_counter()
        try:
            client.admin.command("ping")
        except PyMongoError as e:
            raise _translate(e) from e
        return time.perf_counter() - start

    def server_info(self) -> ServerInfo:
        client = self._connected()
        try:
            build = client.admin.command("buildInfo")
            hello = client.admin.command("hello")
        except PyMongoError as e:
            raise _translate(e) from e
        details: list[tuple[str, str]] = []
        if build.get("secantusVersion"):
            details.append(("server", f"SecantusDB {build['secantusVersion']}"))
        if hello.get("setName"):
            details.append(("replica set", str(hello["setName"])))
        if hello.get("me"):
            details.append(("host", str(hello["me"])))
        if hello.get("msg") == "isdbgrid":
            details.append(("topology", "sharded (mongos)"))
        return ServerInfo("MongoDB", str(build.get("version", "")), tuple(details))

    # -- catalog -----------------------------------------------------------

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        client = self._connected()
        try:
            if len(path) == 0:
                return self._list_databases(client)
            if len(path) == 1:
                return self._list_collections(client[path[0]])
            if len(path) == 2:
                if self._collection_info(client[path[0]], path[1]) is None:
                    raise self._not_found(path)
                return []
        except PyMongoError as e:
            raise _translate(e) from e
        raise NotFound(f"no such MongoDB path: {'/'.join(path)}")

    def _list_databases(self, client: pymongo.MongoClient[dict[str, Any]]) -> list[Node]:
        fallback = _url_database(self.url)
        try:
            names = client.list_database_names()
        except OperationFailure as e:
            # Users without the listDatabases privilege (common on Atlas) can
            # still open the database their URL names.
            if e.code != _UNAUTHORIZED or fallback is None:
                raise
            names = []
        if not names and fallback is not None:
            names = [fallback]
        return [
            Node(path=(name,), name=name, kind=NodeKind.DATABASE, expandable=True)
            for name in sorted(names)
        ]

    def _list_collections(self, db: Database[dict[str, Any]]) -> list[Node]:
        infos = [
            info
            for info in db.list_collections(nameOnly=True, authorizedCollections=True)
            if not str(info["name"]).startswith("system.")
        ]
        if not infos:
            # A MongoDB database exists only while it holds a collection.
            raise NotFound(f"no such database: {db.name}")
        nodes: list[Node] = []
        deadline = time.monotonic() + ESTIMATE_BUDGET_S
        for info in sorted(infos, key=lambda i: str(i["name"])):
            name = str(info["name"])
            kind = str(info.get("type", "collection"))
            estimate = self._estimate(db[name], kind) if time.monotonic() < deadline else None
            nodes.append(
                Node(
                    path=(db.name, name),
                    name=name,
                    kind=NodeKind.COLLECTION,
                    browsable=True,
                    estimate=estimate,
                    detail="" if kind == "collection" else kind,
                )
            )
        return nodes

    @staticmethod
    def _estimate(collection: Collection[dict[str, Any]], kind: str) -> int | None:
        if kind == "view":
            return None  # counting a view runs its whole pipeline
        try:
            return int(collection.estimated_document_count())
        except OperationFailure:
            # An estimate is decoration: a user allowed to read but not to
            # count still gets the listing, without the number.
            return None

    @staticmethod
    def _collection_info(db: Database[dict[str, Any]], name: str) -> Mapping[str, Any] | None:
        for info in db.list_collections(filter={"name": name}, nameOnly=True):
            return info
        return None

    @staticmethod
    def _not_found(path: tuple[str, ...]) -> NotFound:
        return NotFound(f"no such collection: {path[1]} in database {path[0]}")

    # -- browse ------------------------------------------------------------

    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Any = None,
        sort: Any = None,
        whole: bool = False,  # documents are never cut here: every page is whole
    ) -> Page:
        if filter is not None or sort is not None:
            raise NotSupported("filtering and sorting MongoDB pages is not supported yet")
        if len(path) < 2:
            raise NotSupported("only a collection can be browsed; open one of its children")
        if len(path) > 2:
            raise NotFound(f"no such MongoDB path: {'/'.join(path)}")
        if limit < 1:
            raise QueryFailed("a page needs a limit of at least 1")
        client = self._connected()
        after = _START if cursor is None else decode_cursor(cursor)
        key = (path[0], path[1])
        held = self._held.pop(key, None)
        if held is not None and (cursor is None or held.token != cursor):
            held.close()
            held = None
        try:
            collection = client[key[0]][key[1]]
            docs, reader, reused = self._read(collection, key, held, after, limit)
            if (
                len(docs) <= limit
                and reused
                and self._collection_info(collection.database, key[1]) is None
            ):
                reader.close()
                raise self._not_found(key)
        except PyMongoError as e:
            raise _translate(e) from e
        if len(docs) > limit:
            reader.push_back(docs.pop())
            if "_id" not in docs[-1]:
                reader.close()
                raise NotSupported(
                    f"documents of {key[1]} have no _id, which paging needs; use a query instead"
                )
            reader.token = encode_cursor(docs[-1]["_id"])
            self._hold(key, reader)
            next_cursor: str | None = reader.token
        else:
            reader.close()
            next_cursor = None
        columns, rows = _tabulate(docs)
        return Page(columns, rows, next_cursor, self._estimates.get(key))

    def _read(
        self,
        collection: Collection[dict[str, Any]],
        key: tuple[str, str],
        held: _ForwardReader | None,
        after: Any,
        limit: int,
    ) -> tuple[list[dict[str, Any]], _ForwardReader, bool]:
        """``limit + 1`` documents after ``after`` (fewer at the end), from the
        held reader when there is one, else from a new stateless query.
        Returns them, the reader now positioned after them, and whether the
        held reader served them."""
        docs: list[dict[str, Any]] = []
        if held is not None:
            try:
                _fill(held, docs, limit + 1)
            except PyMongoError:
                # The server dropped the cursor (timeout, kill, collection
                # dropped, connection reset): carry on statelessly from the
                # last document already read; a real failure repeats below.
                held.close()
                if docs:
                    if "_id" not in docs[-1]:
                        raise
                    after = docs[-1]["_id"]
            else:
                return docs, held, True
        info = self._collection_info(collection.database, key[1])
        if info is None:
            raise self._not_found(key)
        if after is _START or key not in self._estimates:
            # The estimate can cost a full scan (SecantusDB): taken on a first
            # page and remembered for the pages after it.
            self._estimates[key] = self._estimate(collection, str(info.get("type", "collection")))
            self._estimates.move_to_end(key)
            while len(self._estimates) > MAX_CACHED_ESTIMATES:
                self._estimates.popitem(last=False)
        reader = _ForwardReader(collection, after, max(limit + 1, MIN_BATCH))
        try:
            _fill(reader, docs, limit + 1)
        except PyMongoError:
            reader.close()
            raise
        return docs, reader, False

    def _hold(self, key: tuple[str, str], reader: _ForwardReader) -> None:
        self._held[key] = reader
        self._held.move_to_end(key)
        while len(self._held) > MAX_HELD_CURSORS:
            _, evicted = self._held.popitem(last=False)
            evicted.close()


def _fill(reader: _ForwardReader, docs: list[dict[str, Any]], want: int) -> None:
    while len(docs) < want:
        doc = reader.next()
        if doc is None:
            return
        docs.append(doc)


def _tabulate(
    docs: list[dict[str, Any]],
) -> tuple[tuple[Column, ...], tuple[tuple[Any, ...], ...]]:
    """Columns: ``_id`` then every other top-level field in order of first
    appearance; each row aligned with ``MISSING`` where a document lacks one."""
    names: dict[str, None] = {"_id": None}
    for doc in docs:
        for name in doc:
            names.setdefault(str(name), None)
    order = list(names)
    columns = tuple(Column(name, primary_key=(name == "_id")) for name in order)
    rows = tuple(
        tuple(bson_to_neutral(doc[name]) if name in doc else MISSING for name in order)
        for doc in docs
    )
    return columns, rows
