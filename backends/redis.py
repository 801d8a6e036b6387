"""Redis: logical databases → key namespaces (split on ':') → keys.

Decisions a user of this backend should know:

Names. Keys are bytes. Names are decoded as UTF-8 with
``errors="surrogateescape"``: every byte string maps to a distinct ``str``
and back, so a path built from a listed name always reaches the same key
(``backslashreplace`` would be readable but lossy: a key ``\\xff`` and a key
of the single byte 0xFF would collide). A display layer that prints such a
name should re-encode it with ``surrogateescape`` and decode it with
``backslashreplace``. Values are different: they become ``str`` when they are
valid UTF-8 and stay ``bytes`` otherwise.

Paths (see ``paths.py``). ``("db0", ns..., tail)``: a path whose last
segment ends with ':' is a namespace (a key prefix), any other one is a key,
and the full name is ``"".join(path[1:])``. A key whose name is exactly a
namespace prefix (``"foo:"``) is the child with the empty tail,
``("db0", "foo:", "")``. Namespaces exist only while some key has their
prefix: an empty one is ``NotFound``.

Listing is bounded. ``list_children`` of a database or namespace runs
``SCAN MATCH <escaped prefix>*`` until it has seen ``LIST_SCAN_MAX_KEYS`` keys
or spent ``LIST_SCAN_SECONDS``, and returns at most ``LIST_MAX_CHILDREN``
children (namespaces first, then keys, each sorted by name). When the listing
is incomplete, a namespace's ``estimate`` is its count scaled up by the
share of the database the scan covered (SCAN order is unrelated to names, so
that share is a fair sample), its detail reads "≥N keys, ~M estimated", and
a final marker node is appended: ``name == TRUNCATED_MARKER``, kind MORE, neither browsable nor
expandable (its kind tells it apart from a real key),
its ``detail`` saying why. Browsing the namespace always reaches every key.
TYPE and TTL are fetched only for the key children returned; a key that
vanished meanwhile is left out.

Browsing a database or namespace pages through ``SCAN`` (rows: key, type,
ttl). SCAN batches vary in size, so the opaque cursor carries the SCAN
position plus the keys already scanned but not yet shown (at most one
batch). Duplicates that SCAN may return while Redis rehashes are dropped
within that window; across pages they can (rarely) reappear — SCAN's own
guarantee. TYPE and TTL come only for the rows returned, from one small
read-only Lua script per 1,000 keys (one reply that parses in C; pipelined
TYPE/TTL replies cost ~5x the SCAN itself in redis-py's Python parser), or
plain pipelining where scripting is refused. A key that vanished between
SCAN and TYPE is still shown, with type "none" and no TTL, so every page but
the last stays exactly ``limit`` rows. A page over a narrow prefix in a
large database may have to scan the whole key-space to fill up: Redis has no
prefix index.

``filter`` is a SCAN MATCH glob applied after the path's (escaped) prefix:
``filter="1*"`` on ``("db0", "user:")`` matches ``user:1*``. On a hash or
set key it is the HSCAN/SSCAN MATCH glob of fields/members; other key types
and ``sort`` raise ``NotSupported``.

Key contents, paged the same way and never loaded whole: a string is one
row (``value``; over ``PREVIEW_BYTES`` a ``Truncated`` preview carrying its
STRLEN, or with ``browse(whole=True)`` the whole string in one GET: one
value, as big as Redis holds it); hash → HSCAN (field, value); list → LRANGE windows (index, value);
set → SSCAN (member); zset → ZRANGE by rank (rank, member, score); stream →
XRANGE with an exclusive start (id, fields as a dict). Other types (module
types) raise ``NotSupported``.

Connections. One single-connection client per logical database, opened
lazily, closed by ``close()``, speaking RESP2 on every server version.
redis-py's retries are off, and a pooled client would silently replace a
dropped connection; with one connection per client a dropped connection
surfaces once as ``ConnectionLost`` (the next call, or ``connect()``,
reconnects). ``socket_timeout`` equals ``connect_timeout``: every command
sent here is bounded (SCAN COUNT ≤ 10,000, windows of ``limit`` items, a
64 KB GETRANGE), so a server that does not answer one in that time is
treated as gone rather than hanging the worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, cast

import redis
from redis.backoff import NoBackoff
from redis.connection import ConnectionPool, parse_url
from redis.retry import Retry

from . import cursors
from .base import Backend, Capability
from .errors import (
    ConnectionFailed,
    ConnectionLost,
    InvalidURL,
    NotFound,
    NotSupported,
    PermissionDenied,
    QueryFailed,
)
from .types import (
    KEY_WORDS,
    Column,
    Node,
    NodeAction,
    NodeActionKind,
    NodeKind,
    Page,
    RecordStyle,
    ServerInfo,
    StoreWords,
    Truncated,
)

#: Bounds of one ``list_children`` scan (see the module docstring).
LIST_SCAN_MAX_KEYS = 50_000
LIST_SCAN_SECONDS = 1.0
LIST_MAX_CHILDREN = 5_000
#: Name of the node appended to an incomplete listing.
TRUNCATED_MARKER = "…"
#: Largest value shown whole; bigger ones become a ``Truncated`` preview.
PREVIEW_BYTES = 64 * 1024

_SCAN_COUNT_MIN = 100
_SCAN_COUNT_MAX = 1000
_PIPELINE_KEYS = 1000  # keys per round trip when fetching TYPE + TTL
_DB_SEGMENT = re.compile(r"db(0|[1-9][0-9]{0,8})")
_GLOB_SPECIAL = re.compile(rb"([*?\[\]\\])")
_CURSOR_VERSION = 1
# TYPE and TTL of every key in KEYS, as one "type ttl" line per key: a
# single bulk reply that bytes.split() parses in C. (TYPE answers a status
# reply, which Lua sees as a table {ok = "..."}; type names hold no spaces.)
_TYPE_TTL_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call("TYPE", key)["ok"] .. " " .. redis.call("TTL", key)
end
return table.concat(out, "\\n")
"""

_KEY_COLUMNS = (Column("key", "str", primary_key=True), Column("type", "str"), Column("ttl", "int"))
_STRING_COLUMNS = (Column("value", "str"),)
_HASH_COLUMNS = (Column("field", "str", primary_key=True), Column("value", "str"))
_LIST_COLUMNS = (Column("index", "int", primary_key=True), Column("value", "str"))
_SET_COLUMNS = (Column("member", "str", primary_key=True),)
_ZSET_COLUMNS = (
    Column("rank", "int", primary_key=True),
    Column("member", "str"),
    Column("score", "float"),
)
_STREAM_COLUMNS = (Column("id", "str", primary_key=True), Column("fields", "dict"))


# -- names, values, globs ----------------------------------------------------


def decode_name(raw: bytes) -> str:
    """A key/namespace name as text that encodes back to the same bytes."""
    return raw.decode("utf-8", "surrogateescape")


def encode_name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def glob_escape(raw: bytes) -> bytes:
    """``raw`` as a SCAN MATCH pattern that matches only itself."""
    return _GLOB_SPECIAL.sub(rb"\\\1", raw)


def _value(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _prefix_value(raw: bytes) -> str | bytes:
    """Decode a cut-off prefix, ignoring a multi-byte character split by the cut."""
    for cut in range(4):
        try:
            return raw[: len(raw) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return raw


def _bounded(raw: bytes, total: int | None = None) -> Any:
    """A value, or a ``Truncated`` preview when it is over ``PREVIEW_BYTES``."""
    size = len(raw) if total is None else total
    if size <= PREVIEW_BYTES and len(raw) == size:
        return _value(raw)
    return Truncated(_prefix_value(raw[:PREVIEW_BYTES]), size, "bytes")


def _text(raw: Any) -> str:
    return raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else str(raw)


def _ttl(raw: Any) -> int | None:
    # TTL answers -1 for "no expiry" and -2 for "no such key".
    return raw if isinstance(raw, int) and raw >= 0 else None


#: What browsing a key shows, by its type: the catalog's action label.
_BROWSE_LABELS = {
    "string": "View value",
    "hash": "Browse fields",
    "list": "Browse items",
    "set": "Browse members",
    "zset": "Browse members",
    "stream": "Browse entries",
}


def _ttl_text(ttl: int | None) -> str:
    if ttl is None:
        return "no ttl"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if ttl >= size:
            major, rest = divmod(ttl, size)
            minor_unit, minor_size = {"d": ("h", 3_600), "h": ("m", 60), "m": ("s", 1)}[unit]
            minor = rest // minor_size
            return f"ttl {major}{unit} {minor}{minor_unit}" if minor else f"ttl {major}{unit}"
    return f"ttl {ttl}s"


def _pack_commands(commands: Sequence[tuple[Any, ...]]) -> bytes:
    """RESP encoding of ``commands``; redis-py's own packer costs ~1 µs per
    argument in Python, which a 1,000-key EVAL per page makes visible."""
    parts: list[bytes] = []
    for command in commands:
        parts.append(b"*%d\r\n" % len(command))
        for arg in command:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            parts += (b"$%d\r\n" % len(data), data, b"\r\n")
    return b"".join(parts)


# -- paths ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    db: int
    name: bytes  # the prefix of a database/namespace, or the key
    is_key: bool


def _target(path: tuple[str, ...]) -> _Target:
    if not path:
        raise NotSupported("the server itself is not browsable; pick a database (db0, db1, …)")
    m = _DB_SEGMENT.fullmatch(path[0])
    if m is None:
        raise NotFound(f"no database {path[0]!r}: Redis databases are named db0, db1, …")
    try:
        name = encode_name("".join(path[1:]))
    except UnicodeEncodeError as e:
        raise NotFound(f"no key named {''.join(path[1:])!r}") from e
    return _Target(int(m.group(1)), name, len(path) > 1 and not path[-1].endswith(":"))


# -- cursors -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ScanState:
    """Where a SCAN-family walk stands between pages."""

    position: int = 0  # the SCAN cursor to continue from
    pending: list[bytes] = field(default_factory=list)  # scanned, not yet shown
    started: bool = False  # position 0 after the first call means "done"


def _fingerprint(*parts: object) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


def _encode_cursor(fingerprint: str, **data: Any) -> str:
    # Pending names travel as latin-1 text: a 1:1 byte mapping that JSON
    # holds and zlib compresses well (keys of a page share long prefixes).
    if "pending" in data:
        data["pending"] = [p.decode("latin-1") for p in data["pending"]]
    payload = {"v": _CURSOR_VERSION, "f": fingerprint, **data}
    try:
        return cursors.encode_cursor(
            json.dumps(payload, ensure_ascii=False).encode("utf-8"), compress=True
        )
    except cursors.CursorError as e:  # names of ~4 MiB scanned past the page
        raise QueryFailed(f"cannot continue after this page: {e}") from e


def _decode_cursor(cursor: str, fingerprint: str) -> dict[str, Any]:
    try:
        # Bounded: a crafted cursor cannot inflate past cursors.MAX_CURSOR_BYTES.
        payload = json.loads(cursors.decode_cursor(cursor, compressed=True).decode("utf-8"))
        if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
            raise ValueError("unknown cursor version")
        if "pending" in payload:
            payload["pending"] = [str(p).encode("latin-1") for p in payload["pending"]]
    except (ValueError, TypeError, RecursionError) as e:  # CursorError is a ValueError
        raise QueryFailed(f"invalid page cursor: {e}") from e
    if payload.get("f") != fingerprint:
        raise QueryFailed("this page cursor belongs to another path or filter")
    return payload


def _scan_state(cursor: str | None, fingerprint: str) -> _ScanState:
    if cursor is None:
        return _ScanState()
    data = _decode_cursor(cursor, fingerprint)
    try:
        return _ScanState(int(data["pos"]), list(data["pending"]), True)
    except (KeyError, TypeError, ValueError) as e:
        raise QueryFailed(f"invalid page cursor: {e}") from e


def _index_cursor(cursor: str | None, fingerprint: str, key: str = "at") -> Any:
    if cursor is None:
        return None
    data = _decode_cursor(cursor, fingerprint)
    if key not in data:
        raise QueryFailed("invalid page cursor")
    return data[key]


ScanCall = Callable[[int, int], tuple[int, Sequence[bytes]]]


def _collect(
    scan: ScanCall, state: _ScanState, limit: int
) -> tuple[list[bytes], _ScanState | None]:
    """``limit`` items of a SCAN-family walk, and the state after them (None
    when the walk is over).

    Collects ``limit + 1`` items so it knows whether another page exists;
    everything past ``limit`` is carried in the state for the next page.
    """
    need = limit + 1
    items: list[bytes] = []
    seen: set[bytes] = set()
    for item in state.pending:
        if item not in seen:
            seen.add(item)
            items.append(item)
    position = state.position
    done = state.started and position == 0
    count = min(_SCAN_COUNT_MAX, max(_SCAN_COUNT_MIN, need - len(items)))
    while len(items) < need and not done:
        position, batch = scan(position, count)
        for item in batch:
            if item not in seen:
                seen.add(item)
                items.append(item)
        done = position == 0
        # COUNT is a hint of work, not of results: on a sparse MATCH, widen it.
        sparse = len(batch) < count // 2
        count = min(
            _SCAN_COUNT_MAX, max(_SCAN_COUNT_MIN, need - len(items), count * 2 if sparse else 0)
        )
    page, rest = items[:limit], items[limit:]
    if done and not rest:
        return page, None
    return page, _ScanState(position, rest, True)


# -- the backend ---------------------------------------------------------------


class RedisBackend(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("redis", "rediss")
    product: ClassVar[str] = "Redis"
    capabilities: ClassVar[Capability] = Capability.NONE
    default_page_size: ClassVar[int] = 200
    record_style: ClassVar[RecordStyle] = RecordStyle.ROWS
    words: ClassVar[StoreWords] = KEY_WORDS
    #: Key names are bytes: a name that is not UTF-8 travels as lone
    #: surrogates (see the module docstring), so the CLI passes such a PATH on.
    binary_names: ClassVar[bool] = True

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._options: dict[str, Any] = {}
        self._default_db = 0
        self._clients: dict[int, redis.Redis] = {}
        self._connected = False
        self._use_script = True

    # -- lifecycle -------------------------------------------------------------

    def connect(self) -> None:
        self.close()
        try:
            url_options: dict[str, Any] = parse_url(self.url)  # type: ignore[no-untyped-call]
        except ValueError as e:
            raise InvalidURL(f"invalid Redis URL {self.display_url}: {e}") from e
        self._default_db = int(url_options.pop("db", 0) or 0)
        self._options = {
            "socket_connect_timeout": self.connect_timeout,
            "socket_timeout": self.connect_timeout,
            "retry": Retry(NoBackoff(), 0),
            "decode_responses": False,
            "client_name": "storescope",
            # Query options in the URL (socket_timeout=...) win, as in redis-py.
            **url_options,
            # RESP2 on every server version: the raw pipelined replies parsed
            # here (ZRANGE WITHSCORES, XRANGE) keep one shape.
            "protocol": 2,
        }
        with self._translated(connecting=True, db=self._default_db):
            try:
                client = self._new_client(self._default_db)
            except TypeError as e:
                # redis-py hands every query option of the URL to the
                # connection class as a keyword: an unknown one fails there.
                unknown = re.search(r"unexpected keyword argument '([^']*)'", str(e))
                raise InvalidURL(
                    f"unknown Redis URL option '{unknown.group(1)}'" if unknown else str(e)
                ) from e
            try:
                client.ping()
            except BaseException:
                self._close_client(client)
                raise
        self._clients[self._default_db] = client
        self._connected = True

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        self._connected = False
        for client in clients.values():
            self._close_client(client)

    def ping(self) -> float:
        client = self._client(self._default_db)
        with self._translated():
            start = time.perf_counter()
            client.ping()
            return time.perf_counter() - start

    def server_info(self) -> ServerInfo:
        client = self._client(self._default_db)
        with self._translated():
            info = client.info()
        details = (
            ("mode", str(info.get("redis_mode", "standalone"))),
            ("role", str(info.get("role", "?"))),
            ("used memory", str(info.get("used_memory_human", "?"))),
        )
        return ServerInfo(self.product, str(info.get("redis_version", "?")), details)

    # -- connections -------------------------------------------------------------

    def _new_client(self, db: int) -> redis.Redis:
        pool = ConnectionPool(**{**self._options, "db": db})
        try:
            # Connects now (TCP, AUTH, SELECT): errors surface here.
            return redis.Redis(connection_pool=pool, single_connection_client=True)
        except BaseException:
            pool.disconnect()
            raise

    @staticmethod
    def _close_client(client: redis.Redis) -> None:
        # Closing a connection the server already dropped can fail again;
        # there is nothing left to release then.
        with contextlib.suppress(redis.exceptions.RedisError, OSError):
            client.close()
        with contextlib.suppress(redis.exceptions.RedisError, OSError):
            client.connection_pool.disconnect()

    def _client(self, db: int) -> redis.Redis:
        if not self._connected:
            raise ConnectionLost(f"not connected to {self.display_url}")
        client = self._clients.get(db)
        if client is None:
            with self._translated(db=db):
                client = self._new_client(db)
            self._clients[db] = client
        return client

    @contextlib.contextmanager
    def _translated(self, *, connecting: bool = False, db: int | None = None) -> Iterator[None]:
        try:
            yield
        except redis.exceptions.AuthenticationError as e:
            # redis-py's messages never contain the password; the URL is redacted.
            raise ConnectionFailed(f"authentication failed for {self.display_url}: {e}") from e
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
            reason = str(e) or type(e).__name__
            if connecting:
                raise ConnectionFailed(f"could not connect to {self.display_url}: {reason}") from e
            raise ConnectionLost(f"lost the connection to {self.display_url}: {reason}") from e
        except redis.exceptions.NoPermissionError as e:
            raise PermissionDenied(str(e)) from e
        except redis.exceptions.ResponseError as e:
            if "DB index is out of range" in str(e):
                shown = f"db{db}" if db is not None else "the database"
                err_cls = ConnectionFailed if connecting else NotFound
                raise err_cls(f"{shown} does not exist on this server ({e})") from e
            if connecting:
                raise ConnectionFailed(f"could not connect to {self.display_url}: {e}") from e
            raise QueryFailed(str(e)) from e
        except redis.exceptions.RedisError as e:
            raise QueryFailed(str(e) or type(e).__name__) from e

    def _pipeline(self, client: redis.Redis, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one round trip on the client's own connection.

        redis-py's ``pipeline()`` would borrow a second pooled connection; this
        keeps one connection per database. Every reply is read before the first
        error is raised, so the connection stays in step.
        """
        conn = client.connection
        if conn is None:  # only single-connection clients are made here
            raise ConnectionLost(f"not connected to {self.display_url}")
        conn.send_packed_command([_pack_commands(commands)])  # type: ignore[no-untyped-call]
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.exceptions.ResponseError as e:
                replies.append(e)
        for reply in replies:
            if isinstance(reply, redis.exceptions.ResponseError):
                raise reply
        return replies

    def _types_and_ttls(
        self, client: redis.Redis, keys: Sequence[bytes]
    ) -> list[tuple[str, int | None]]:
        """TYPE and TTL of each key, in chunks of ``_PIPELINE_KEYS`` keys.

        A tiny read-only Lua script answers a whole chunk in one reply: with
        redis-py's pure-Python parser, 2,000 separate pipelined replies per
        page cost ~5x the SCAN itself. Where scripting is refused (ACLs,
        managed services) plain pipelining takes over for this connection.
        """
        out: list[tuple[str, int | None]] = []
        for start in range(0, len(keys), _PIPELINE_KEYS):
            chunk = keys[start : start + _PIPELINE_KEYS]
            if self._use_script:
                try:
                    (reply,) = self._pipeline(
                        client, [("EVAL", _TYPE_TTL_SCRIPT, len(chunk), *chunk)]
                    )
                except redis.exceptions.ResponseError:
                    self._use_script = False
                else:
                    for line in reply.split(b"\n"):
                        kind, _, ttl = line.partition(b" ")
                        out.append((kind.decode("ascii", "replace"), _ttl(int(ttl))))
                    continue
            commands: list[tuple[Any, ...]] = []
            for key in chunk:
                commands += [("TYPE", key), ("TTL", key)]
            flat = self._pipeline(client, commands)
            out += [(_text(flat[i]), _ttl(flat[i + 1])) for i in range(0, len(flat), 2)]
        return out

    # -- catalog -----------------------------------------------------------------

    node_action_table: ClassVar[tuple[NodeAction, ...] | None] = (
        NodeAction(
            "browse",
            "Browse keys",
            NodeActionKind.BROWSE,
            kinds=frozenset({NodeKind.DATABASE, NodeKind.NAMESPACE}),
            key="b",
            help="List its keys with their type and TTL",
        ),
        NodeAction(
            "browse",
            "Browse",
            NodeActionKind.BROWSE,
            kinds=frozenset({NodeKind.KEY}),
            key="b",
            help="Show the key's value",
        ),
    )

    def node_actions(self, node: Node) -> tuple[NodeAction, ...]:
        actions = super().node_actions(node)
        if node.kind is not NodeKind.KEY:
            return actions
        # The key's type leads its detail ("hash · no TTL", see list_children).
        label = _BROWSE_LABELS.get(node.detail.partition(" · ")[0])
        if label is None:
            return actions
        return tuple(replace(a, label=label) if a.id == "browse" else a for a in actions)

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        if not path:
            return self._list_databases()
        target = _target(path)
        client = self._client(target.db)
        with self._translated(db=target.db):
            if target.is_key:
                if not client.exists(target.name):
                    raise NotFound(f"no key {decode_name(target.name)!r} in {path[0]}")
                return []
            return self._list_level(client, path, target)

    def _list_databases(self) -> list[Node]:
        client = self._client(self._default_db)
        with self._translated():
            keyspace: dict[str, Any] = client.info("keyspace")
            try:
                # redis-py decodes CONFIG GET's names and values itself.
                raw = cast(dict[str, str], client.config_get("databases"))
                count: int | None = int(raw.get("databases") or 0) or None
            except redis.exceptions.ResponseError:
                # CONFIG is often renamed or refused (managed services, ACLs):
                # list the databases that hold keys, plus db0 and ours.
                count = None
        if count is not None:
            indexes = list(range(count))
        else:
            indexes = sorted(
                {0, self._default_db}
                | {int(name[2:]) for name in keyspace if _DB_SEGMENT.fullmatch(name)}
            )
        nodes = []
        for i in indexes:
            entry = keyspace.get(f"db{i}")
            keys = int(entry.get("keys", 0)) if isinstance(entry, dict) else 0
            nodes.append(
                Node(
                    path=(f"db{i}",),
                    name=f"db{i}",
                    kind=NodeKind.DATABASE,
                    expandable=True,
                    browsable=True,
                    estimate=keys,
                )
            )
        return nodes

    def _list_level(
        self, client: redis.Redis, path: tuple[str, ...], target: _Target
    ) -> list[Node]:
        prefix = target.name
        pattern = glob_escape(prefix) + b"*"
        namespaces: dict[bytes, int] = {}
        keys: set[bytes] = set()
        seen = 0
        examined = 0  # keys SCAN looked at, matching or not (≈ COUNT per call)
        position = 0
        count = _SCAN_COUNT_MAX
        start = time.monotonic()
        complete = False
        while True:
            position, batch = cast(
                tuple[int, list[bytes]], client.scan(position, match=pattern, count=count)
            )
            for key in batch:
                rest = key[len(prefix) :]
                colon = rest.find(b":")
                if colon >= 0:
                    ns = rest[: colon + 1]
                    namespaces[ns] = namespaces.get(ns, 0) + 1
                else:
                    keys.add(rest)
            seen += len(batch)
            examined += max(count, len(batch))
            if position == 0:
                complete = True
                break
            if seen >= LIST_SCAN_MAX_KEYS or time.monotonic() - start >= LIST_SCAN_SECONDS:
                break
            # A narrow prefix in a big database matches few keys per call.
            if len(batch) < count // 10:
                count = min(count * 2, 10 * _SCAN_COUNT_MAX)
        elapsed = time.monotonic() - start

        if complete and not namespaces and not keys and len(path) > 1:
            raise NotFound(f"no keys under {decode_name(prefix)!r} in {path[0]}")
        # SCAN visits hash buckets in an order unrelated to names, so the part
        # of the key-space it covered is a fair sample: scale counts up by it.
        scale = 1.0
        if not complete:
            scale = max(1.0, int(client.dbsize()) / max(examined, 1))

        ordered = [(ns, True) for ns in sorted(namespaces)] + [(k, False) for k in sorted(keys)]
        capped = len(ordered) > LIST_MAX_CHILDREN
        ordered = ordered[:LIST_MAX_CHILDREN]
        key_tails = [tail for tail, is_ns in ordered if not is_ns]
        meta = dict(
            zip(
                key_tails,
                self._types_and_ttls(client, [prefix + t for t in key_tails]),
                strict=True,
            )
        )

        nodes: list[Node] = []
        for tail, is_ns in ordered:
            name = decode_name(tail)
            if is_ns:
                n = namespaces[tail]
                estimate = max(n, round(n * scale))
                nodes.append(
                    Node(
                        path=(*path, name),
                        name=name,
                        kind=NodeKind.NAMESPACE,
                        expandable=True,
                        browsable=True,
                        estimate=estimate,
                        # The estimate is the key count; say more only when
                        # it is an extrapolation from a scan cut short.
                        detail="" if complete else f"≥{n:,} keys seen, ~{estimate:,} estimated",
                    )
                )
                continue
            kind, ttl = meta[tail]
            if kind == "none":  # deleted or expired since SCAN saw it
                continue
            nodes.append(
                Node(
                    path=(*path, name),
                    name=name,
                    kind=NodeKind.KEY,
                    browsable=True,
                    detail=f"{kind} · {_ttl_text(ttl)}",
                )
            )

        if not complete or capped:
            if not complete:
                why = f"scan stopped after {elapsed:.1f} s, {seen:,} matching keys seen"
            else:
                why = f"showing the first {LIST_MAX_CHILDREN:,} of {len(namespaces) + len(keys):,} entries"
            nodes.append(
                Node(
                    path=(*path, TRUNCATED_MARKER),
                    name=TRUNCATED_MARKER,
                    kind=NodeKind.MORE,
                    detail=f"listing incomplete: {why}; browse {path[-1]} to see every key",
                )
            )
        return nodes

    # -- browsing ------------------------------------------------------------------

    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Any = None,
        sort: Any = None,
        whole: bool = False,
    ) -> Page:
        if sort is not None:
            raise NotSupported("Redis keys have no order to sort by")
        if filter is not None and not isinstance(filter, str):
            raise NotSupported("a Redis filter is a MATCH glob pattern (text)")
        if limit < 1:
            raise QueryFailed("the page size must be at least 1")
        target = _target(path)
        client = self._client(target.db)
        with self._translated(db=target.db):
            if target.is_key:
                return self._browse_key(client, path, target, cursor, limit, filter, whole)
            return self._browse_keys(client, path, target, cursor, limit, filter)

    def _browse_keys(
        self,
        client: redis.Redis,
        path: tuple[str, ...],
        target: _Target,
        cursor: str | None,
        limit: int,
        filter: str | None,
    ) -> Page:
        pattern = glob_escape(target.name) + (encode_name(filter) if filter is not None else b"*")
        fingerprint = _fingerprint("keys", target.db, pattern)
        state = _scan_state(cursor, fingerprint)

        def scan(position: int, count: int) -> tuple[int, Sequence[bytes]]:
            return cast(tuple[int, list[bytes]], client.scan(position, match=pattern, count=count))

        keys, after = _collect(scan, state, limit)
        if cursor is None and not keys and after is None and len(path) > 1 and filter is None:
            raise NotFound(f"no keys under {decode_name(target.name)!r} in {path[0]}")
        rows = tuple(
            (decode_name(key), kind, ttl)
            for key, (kind, ttl) in zip(keys, self._types_and_ttls(client, keys), strict=True)
        )
        total = int(client.dbsize()) if len(path) == 1 and filter is None else None
        return Page(_KEY_COLUMNS, rows, self._scan_cursor(fingerprint, after), total)

    @staticmethod
    def _scan_cursor(fingerprint: str, state: _ScanState | None) -> str | None:
        if state is None:
            return None
        return _encode_cursor(fingerprint, pos=str(state.position), pending=state.pending)

    def _browse_key(
        self,
        client: redis.Redis,
        path: tuple[str, ...],
        target: _Target,
        cursor: str | None,
        limit: int,
        filter: str | None,
        whole: bool = False,
    ) -> Page:
        key = target.name
        kind = _text(client.type(key))
        if kind == "none":
            raise NotFound(f"no key {decode_name(key)!r} in {path[0]}")
        if filter is not None and kind not in ("hash", "set"):
            raise NotSupported(f"a filter applies to hash and set keys, not to a {kind}")
        fingerprint = _fingerprint("key", target.db, key, kind, filter)
        match = encode_name(filter) if filter is not None else None
        # A page's values: cut to previews, or whole for an export (the
        # members a window holds are in memory whole either way).
        cell: Callable[[bytes], Any] = _value if whole else _bounded
        if kind == "string":
            return self._browse_string(client, key, cursor, whole)
        if kind == "hash":
            return self._browse_hash(client, key, fingerprint, cursor, limit, match, cell)
        if kind == "set":
            return self._browse_set(client, key, fingerprint, cursor, limit, match, cell)
        if kind == "list":
            return self._browse_list(client, key, fingerprint, cursor, limit, cell)
        if kind == "zset":
            return self._browse_zset(client, key, fingerprint, cursor, limit, cell)
        if kind == "stream":
            return self._browse_stream(client, key, fingerprint, cursor, limit, cell)
        raise NotSupported(f"browsing a {kind} key is not supported")

    def _browse_string(
        self, client: redis.Redis, key: bytes, cursor: str | None, whole: bool = False
    ) -> Page:
        if cursor is not None:  # a string is one row: nothing follows it
            return Page(_STRING_COLUMNS, (), None, 1)
        if whole:  # one value, as big as Redis holds it (at most 512 MB)
            raw = cast(bytes | None, client.get(key))
            if raw is None:
                raise NotFound(f"no key {decode_name(key)!r}")
            return Page(_STRING_COLUMNS, ((_value(raw),),), None, 1)
        size, head = self._pipeline(
            client, [("STRLEN", key), ("GETRANGE", key, 0, PREVIEW_BYTES - 1)]
        )
        return Page(_STRING_COLUMNS, ((_bounded(head, int(size)),),), None, 1)

    def _browse_hash(
        self,
        client: redis.Redis,
        key: bytes,
        fingerprint: str,
        cursor: str | None,
        limit: int,
        match: bytes | None,
        cell: Callable[[bytes], Any] = _bounded,
    ) -> Page:
        state = _scan_state(cursor, fingerprint)
        # Values seen in this call's batches; fields carried over from the
        # previous page travel without their values (which may be large) and
        # are fetched again with HMGET.
        values: dict[bytes, bytes] = {}

        def scan(position: int, count: int) -> tuple[int, Sequence[bytes]]:
            position, found = cast(
                tuple[int, dict[bytes, bytes]],
                client.hscan(key, position, match=match, count=count),
            )
            values.update(found)
            return position, list(found)

        fields, after = _collect(scan, state, limit)
        missing = [f for f in fields if f not in values]
        if missing:
            values.update(
                (f, v)
                for f, v in zip(
                    missing, cast(list[bytes | None], client.hmget(key, missing)), strict=True
                )
                if v is not None
            )
        rows = tuple((cell(f), cell(values[f]) if f in values else None) for f in fields)
        return Page(
            _HASH_COLUMNS, rows, self._scan_cursor(fingerprint, after), int(client.hlen(key))
        )

    def _browse_set(
        self,
        client: redis.Redis,
        key: bytes,
        fingerprint: str,
        cursor: str | None,
        limit: int,
        match: bytes | None,
        cell: Callable[[bytes], Any] = _bounded,
    ) -> Page:
        state = _scan_state(cursor, fingerprint)

        def scan(position: int, count: int) -> tuple[int, Sequence[bytes]]:
            return cast(
                tuple[int, list[bytes]], client.sscan(key, position, match=match, count=count)
            )

        members, after = _collect(scan, state, limit)
        rows = tuple((cell(m),) for m in members)
        return Page(
            _SET_COLUMNS, rows, self._scan_cursor(fingerprint, after), int(client.scard(key))
        )

    def _browse_list(
        self,
        client: redis.Redis,
        key: bytes,
        fingerprint: str,
        cursor: str | None,
        limit: int,
        cell: Callable[[bytes], Any] = _bounded,
    ) -> Page:
        start = int(_index_cursor(cursor, fingerprint) or 0)
        size, items = self._pipeline(client, [("LLEN", key), ("LRANGE", key, start, start + limit)])
        rows = tuple((start + i, cell(v)) for i, v in enumerate(items[:limit]))
        more = len(items) > limit
        next_cursor = _encode_cursor(fingerprint, at=start + limit) if more else None
        return Page(_LIST_COLUMNS, rows, next_cursor, int(size))

    def _browse_zset(
        self,
        client: redis.Redis,
        key: bytes,
        fingerprint: str,
        cursor: str | None,
        limit: int,
        cell: Callable[[bytes], Any] = _bounded,
    ) -> Page:
        start = int(_index_cursor(cursor, fingerprint) or 0)
        size, flat = self._pipeline(
            client, [("ZCARD", key), ("ZRANGE", key, start, start + limit, "WITHSCORES")]
        )
        pairs = [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]
        rows = tuple((start + i, cell(m), s) for i, (m, s) in enumerate(pairs[:limit]))
        more = len(pairs) > limit
        next_cursor = _encode_cursor(fingerprint, at=start + limit) if more else None
        return Page(_ZSET_COLUMNS, rows, next_cursor, int(size))

    def _browse_stream(
        self,
        client: redis.Redis,
        key: bytes,
        fingerprint: str,
        cursor: str | None,
        limit: int,
        cell: Callable[[bytes], Any] = _bounded,
    ) -> Page:
        after_id = _index_cursor(cursor, fingerprint)
        low = "-" if after_id is None else f"({after_id}"
        size, entries = self._pipeline(
            client, [("XLEN", key), ("XRANGE", key, low, "+", "COUNT", limit + 1)]
        )
        rows = []
        for entry_id, flat in entries[:limit]:
            fields = {_value(flat[i]): cell(flat[i + 1]) for i in range(0, len(flat), 2)}
            rows.append((_text(entry_id), fields))
        more = len(entries) > limit
        next_cursor = _encode_cursor(fingerprint, at=rows[-1][0]) if more else None
        return Page(_STREAM_COLUMNS, tuple(rows), next_cursor, int(size))
