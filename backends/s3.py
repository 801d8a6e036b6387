"""Amazon S3 and S3-compatible servers, through boto3.

URLs::

    s3://                                 every bucket the credentials may list
    s3://BUCKET                           only BUCKET (for identities without ListBuckets)
    s3://?endpoint=http://127.0.0.1:9000  an S3-compatible server (path-style addressing)
    ...&region=eu-west-1&profile=work     region and a named AWS profile

Credentials come only from the standard AWS chain (environment, ``~/.aws``,
``profile=``, SSO, instance roles), never from the URL: a URL carrying access
keys (``s3://KEY:SECRET@bucket`` or ``?aws_secret_access_key=``) is refused so a
secret never ends up in shell history, profiles or window titles.

Catalog (paths as in ``backends.paths``: ``(bucket, prefix..., object-tail)``):

- ``()`` lists buckets; ``(bucket, *prefixes)`` lists ONE level with
  ``Delimiter="/"``: common prefixes first ("2024/"), then objects (their tail,
  detail "size · last-modified"). A zero-byte "folder" marker object whose key
  equals the listed prefix is the node itself and is not repeated as a child.
- Bounded: one LIST request of at most ``LIST_CHILDREN_CAP`` entries. When the
  server has more, the listing ends with a *truncation marker*: a node whose
  last path segment is ``""`` (no real child can have an empty name), named
  "…", kind MORE, neither expandable nor browsable, its detail saying that the listing was
  cut and that browsing the prefix pages through everything.
- A prefix exists while some key starts with it: listing or browsing one that
  has nothing under it (not even its folder marker) is ``NotFound``, told by
  the one LIST already sent. Only the first page can say so: a later page that
  finds nothing (objects deleted meanwhile) just ends the cursor. A bucket with
  no objects is an empty container, not an error.

Browsing ``(bucket, *prefixes)`` pages through every object under the prefix,
recursively (like ``aws s3 ls --recursive``), including folder markers, in key
order: columns key, size, last_modified (UTC), etag. ``filter`` is a key prefix
relative to the path. The cursor is the last key returned (``StartAfter``), so
it is stateless and survives reconnects. Because an S3 LIST returns up to 1,000
keys for the price of one request, a reader who pages on from a page we served
gets a read-ahead: LISTs of 1,000 keys whose unused tail is kept per (bucket,
prefix) — at most 1,000 entries, a few prefixes, a minute — and the page that
continues from exactly that cursor is served out of it. A page at any other
position (the first page, a cursor from elsewhere) is a fresh ``StartAfter``
LIST of ``limit + 1`` keys, so it shows as soon as possible. The pages are the
same either way.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

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
from .paths import encode_path
from .types import (
    OBJECT_WORDS,
    Column,
    Node,
    NodeAction,
    NodeActionKind,
    NodeKind,
    Page,
    RecordStyle,
    ServerInfo,
    StoreWords,
)

#: Most entries one list_children() call returns (one LIST request; S3's own cap).
LIST_CHILDREN_CAP = 1000
#: Keys a read-ahead LIST asks for at least; S3 returns at most 1,000 per request.
LIST_BATCH = 1000
#: How many (bucket, prefix) read-ahead buffers one backend keeps.
READAHEAD_SLOTS = 4
#: A read-ahead buffer older than this is dropped so scrolling shows fresh data.
READAHEAD_MAX_AGE = 60.0
#: Interactive calls once connected (listings, HEADs, previews): each socket
#: connect or read waits at most this, and a failed attempt is retried once
#: (botocore's standard mode first backs off under 1 s), so a server that
#: stops answering is reported as ConnectionLost within 10 s (~9 s). S3
#: starts answering a LIST of 1,000 keys well within this; the timeout is
#: between bytes, not for the whole response. connect() and ping() make a
#: single attempt bounded by connect_timeout.
INTERACTIVE_TIMEOUT = 4.0
INTERACTIVE_ATTEMPTS = 2
#: Transfers (a whole object streamed down or up): patient, since a slow link
#: or a big part can be quiet for a while and a retry restarts a part.
TRANSFER_READ_TIMEOUT = 60.0
TRANSFER_ATTEMPTS = 5
#: The S3 REST API version: S3 has no server version to report.
S3_API_VERSION = "2006-03-01"

_QUERY_PARAMS = ("endpoint", "region", "profile")
_CREDENTIAL_PARAMS = {
    "access_key",
    "access_key_id",
    "aws_access_key_id",
    "secret",
    "secret_key",
    "secret_access_key",
    "aws_secret_access_key",
    "token",
    "session_token",
    "aws_session_token",
    "password",
}
_CREDENTIAL_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure ~/.aws/credentials, "
    "or add profile=NAME to the URL"
)
_CURSOR_PREFIX = "k1."
# What botocore accepts as a bucket name (legacy names included).
_BUCKET_NAME = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")

_NOT_FOUND_CODES = {"NoSuchBucket", "NoSuchKey", "NotFound", "404"}
_DENIED_CODES = {"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"}
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "InvalidClientTokenId",
}

COLUMNS = (
    Column("key", "str", primary_key=True),
    Column("size", "int"),
    Column("last_modified", "datetime"),
    Column("etag", "str"),
)

Row = tuple[str, int, datetime, str]


@dataclass(frozen=True, slots=True)
class S3Location:
    """What an ``s3://`` URL says: where to connect and what to show."""

    bucket: str | None
    endpoint: str | None
    region: str | None
    profile: str | None


def parse_s3_url(url: str) -> S3Location:
    """Parse ``url``; raises ``InvalidURL`` for anything we do not accept."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise InvalidURL(f"invalid S3 URL: {e}") from e
    if parts.scheme.lower() != "s3":
        raise InvalidURL("an S3 URL starts with s3://")
    params: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        name = key.lower()
        if name in _CREDENTIAL_PARAMS:
            raise InvalidURL(
                f"credentials are not accepted in the URL ('{key}'): {_CREDENTIAL_HINT}",
                title="Credentials in URL",
            )
        if name not in _QUERY_PARAMS:
            raise InvalidURL(
                f"unknown S3 URL parameter '{key}'; expected: " + ", ".join(_QUERY_PARAMS)
            )
        params[name] = value
    if "@" in parts.netloc:
        raise InvalidURL(
            f"credentials are not accepted in the URL: {_CREDENTIAL_HINT}",
            title="Credentials in URL",
        )
    if ":" in parts.netloc:
        raise InvalidURL("an s3:// URL names a bucket, not a host: use ?endpoint=http://HOST:PORT")
    if parts.path.strip("/"):
        raise InvalidURL(
            f"open s3://{parts.netloc} and browse the path instead of putting it in the URL"
        )
    endpoint = params.get("endpoint") or None
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.netloc:
            raise InvalidURL(f"endpoint must look like http://HOST:PORT, not '{endpoint}'")
        if ep.username or ep.password:
            raise InvalidURL(
                f"credentials are not accepted in the endpoint: {_CREDENTIAL_HINT}",
                title="Credentials in URL",
            )
    return S3Location(
        bucket=parts.netloc or None,
        endpoint=endpoint,
        region=params.get("region") or None,
        profile=params.get("profile") or None,
    )


def encode_cursor(key: str) -> str:
    """The cursor that continues after ``key`` (S3 keys are at most 1024 bytes)."""
    return cursors.encode_cursor(key.encode("utf-8"), prefix=_CURSOR_PREFIX)


def decode_cursor(cursor: str) -> str:
    if not isinstance(cursor, str) or not cursor.startswith(_CURSOR_PREFIX):
        raise QueryFailed("this cursor does not come from the S3 backend")
    try:
        # Bounded (backends.cursors); UnicodeDecodeError is a ValueError too.
        return cursors.decode_cursor(cursor, prefix=_CURSOR_PREFIX).decode("utf-8")
    except ValueError as e:
        raise QueryFailed(f"invalid S3 cursor: {e}") from e


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def _utc(value: datetime) -> datetime:
    # botocore attaches dateutil's tzutc/tzlocal; hand out a plain UTC datetime.
    return value.astimezone(UTC)


def _row(obj: dict[str, Any]) -> Row:
    return (
        str(obj["Key"]),
        int(obj.get("Size", 0)),
        _utc(obj["LastModified"]),
        str(obj.get("ETag", "")).strip('"'),
    )


@dataclass(slots=True)
class _ReadAhead:
    """The unused tail of the last LIST for one (bucket, prefix).

    ``token`` is the cursor whose page starts at ``entries[0]``; ``exhausted``
    says the server has nothing after the last entry.
    """

    token: str
    entries: deque[Row] = field(default_factory=deque)
    exhausted: bool = False
    fetched_at: float = 0.0


class S3Backend(Backend):
    schemes: ClassVar[tuple[str, ...]] = ("s3",)
    product: ClassVar[str] = "S3"
    capabilities: ClassVar[Capability] = Capability.NONE
    default_page_size: ClassVar[int] = 200
    record_style: ClassVar[RecordStyle] = RecordStyle.ROWS
    words: ClassVar[StoreWords] = OBJECT_WORDS

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        # Parsed on connect(): a bad URL is reported like any failed connection.
        self._location: S3Location | None = None
        self._client: Any = None  # ordinary calls: longer read timeout, one retry
        self._probe: Any = None  # connect() and ping(): connect_timeout, no retry
        self._transfer: Any = None  # transfers: see TRANSFER_READ_TIMEOUT, made on first use
        self._make_client: Callable[[float, float, int], Any] | None = None
        self._server_header = ""
        self._region = ""
        self._readahead: OrderedDict[tuple[str, str], _ReadAhead] = OrderedDict()
        #: LIST requests sent so far (diagnostics: benchmarks and tests read it).
        self.list_requests = 0

    # -- lifecycle ---------------------------------------------------------

    def connect(self) -> None:
        self.close()
        location = parse_s3_url(self.url)
        # botocore takes ~0.1-0.3 s to import: only pay for it when connecting.
        import botocore.session
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        if location.bucket:
            action = f"checking bucket '{location.bucket}'"
            hints = {
                "denied": "these credentials may not list this bucket (s3:ListBucket)",
                "missing": "check the bucket name",
            }
        else:
            action = "listing buckets"
            hints = {"denied": "if this identity may not list buckets, open s3://BUCKET instead"}
        try:
            # A new session per connect re-reads the credential chain (a
            # refreshed SSO login, a changed profile); only the parsed JSON
            # models are shared, which saves ~0.1-0.2 s per connect.
            session = botocore.session.Session(profile=location.profile)
            session.register_component("data_loader", _shared_loader())
            credentials = session.get_credentials()
        except BotoCoreError as e:
            raise _translate(e, "reading AWS credentials", connecting=True) from e
        if credentials is None:
            raise ConnectionFailed(f"no AWS credentials found: {_CREDENTIAL_HINT}")
        try:
            extra: dict[str, Any] = {}
            if location.endpoint is not None:
                # S3-compatible servers rarely have DNS per bucket, and some
                # reject the newer default checksum headers.
                extra = {
                    "s3": {"addressing_style": "path"},
                    "request_checksum_calculation": "when_required",
                    "response_checksum_validation": "when_required",
                }

            def client(connect_timeout: float, read_timeout: float, attempts: int) -> Any:
                config = Config(
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    retries={"total_max_attempts": attempts, "mode": "standard"},
                    user_agent_extra="storescope",
                    **extra,
                )
                return session.create_client(
                    "s3", region_name=location.region, endpoint_url=location.endpoint, config=config
                )

            # A single attempt bounded by connect_timeout, so a closed port or a
            # silent endpoint fails fast; interactive calls retry once.
            self._probe = client(self.connect_timeout, self.connect_timeout, 1)
            self._client = client(INTERACTIVE_TIMEOUT, INTERACTIVE_TIMEOUT, INTERACTIVE_ATTEMPTS)
            self._make_client = client
            self._region = str(self._probe.meta.region_name or "")
            self._location = location
            response = self._round_trip()
        except BackendError:
            self.close()
            raise
        except (BotoCoreError, ClientError) as e:
            self.close()
            raise _translate(e, action, connecting=True, hints=hints) from e
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        self._server_header = str(headers.get("server", ""))

    def close(self) -> None:
        for client in (self._client, self._probe, self._transfer):
            if client is not None:
                with contextlib.suppress(OSError):  # only pooled sockets to drop
                    client.close()
        self._client = None
        self._probe = None
        self._transfer = None
        self._make_client = None
        self._location = None
        self._readahead.clear()

    def ping(self) -> float:
        self._require()
        start = time.monotonic()
        with _boundary("ping"):
            self._round_trip()
        return time.monotonic() - start

    def server_info(self) -> ServerInfo:
        location = self._require()
        details: list[tuple[str, str]] = [
            ("endpoint", location.endpoint or "AWS (default endpoint)"),
            ("region", self._region or "(default)"),
        ]
        if self._server_header:
            details.append(("server", self._server_header))
        if location.bucket:
            details.append(("bucket", location.bucket))
        if location.profile:
            details.append(("profile", location.profile))
        return ServerInfo(self.product, S3_API_VERSION, tuple(details))

    # -- catalog -----------------------------------------------------------

    node_action_table: ClassVar[tuple[NodeAction, ...] | None] = (
        NodeAction(
            "browse",
            "Browse",
            NodeActionKind.BROWSE,
            kinds=frozenset({NodeKind.BUCKET, NodeKind.PREFIX}),
            key="b",
            help="List its objects, page by page",
        ),
        NodeAction(
            "browse-parent",
            "Browse parent",
            NodeActionKind.BROWSE,
            kinds=frozenset({NodeKind.OBJECT}),
            key="b",
            parent=True,
            help="List the objects beside it (its prefix or bucket)",
        ),
    )

    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        location = self._require()
        if not path:
            return self._list_buckets(location)
        bucket, prefix = self._container(path, location, verb="listed")
        with _boundary(f"listing {_show(bucket, prefix)}"):
            self.list_requests += 1
            response = self._client.list_objects_v2(
                Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=LIST_CHILDREN_CAP
            )
        if prefix and not response.get("CommonPrefixes") and not response.get("Contents"):
            raise NotFound(f"no objects under {_show(bucket, prefix)}")
        nodes: list[Node] = []
        for entry in response.get("CommonPrefixes", []):
            name = str(entry["Prefix"])[len(prefix) :]
            nodes.append(
                Node(path + (name,), name, NodeKind.PREFIX, expandable=True, browsable=True)
            )
        for obj in response.get("Contents", []):
            key, size, modified, _etag = _row(obj)
            if key == prefix:
                continue  # the folder marker of the prefix being listed
            name = key[len(prefix) :]
            detail = f"{human_size(size)} · {modified:%Y-%m-%d %H:%M} UTC"
            nodes.append(Node(path + (name,), name, NodeKind.OBJECT, detail=detail))
        if response.get("IsTruncated"):
            nodes.append(_truncation_marker(path, LIST_CHILDREN_CAP))
        return nodes

    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Any = None,
        sort: Any = None,
        whole: bool = False,  # a listing holds no big values: every page is whole
    ) -> Page:
        location = self._require()
        if limit < 1:
            raise QueryFailed("the page size must be at least 1")
        if sort is not None:
            raise NotSupported("S3 lists keys in key order only; sorting is not supported")
        if filter is not None and not isinstance(filter, str):
            raise NotSupported("an S3 filter is a key prefix (text)")
        if not path:
            raise NotSupported("choose a bucket to browse")
        bucket, prefix = self._container(path, location, verb="browsed")
        prefix += filter or ""
        after = decode_cursor(cursor) if cursor is not None else None
        with _boundary(f"listing {_show(bucket, prefix)}"):
            rows, more = self._take(bucket, prefix, cursor, after, limit)
        # A filter narrows the listing without saying whether the prefix
        # exists, and finding out would cost a second LIST.
        if not rows and cursor is None and len(path) > 1 and not filter:
            raise NotFound(f"no objects under {_show(bucket, prefix)}")
        next_cursor = encode_cursor(rows[-1][0]) if more else None
        return Page(COLUMNS, tuple(rows), next_cursor, None)

    # -- internals ---------------------------------------------------------

    def _require(self) -> S3Location:
        if self._client is None or self._location is None:
            raise ConnectionLost("not connected to S3")
        return self._location

    def _transfer_client(self) -> Any:
        """The client for transfers (whole objects down or up), with
        ``TRANSFER_READ_TIMEOUT`` and ``TRANSFER_ATTEMPTS`` instead of the
        interactive calls' short ones; made on first use."""
        self._require()
        if self._transfer is None:
            assert self._make_client is not None
            self._transfer = self._make_client(
                self.connect_timeout, TRANSFER_READ_TIMEOUT, TRANSFER_ATTEMPTS
            )
        return self._transfer

    def _round_trip(self) -> dict[str, Any]:
        assert self._location is not None
        if self._location.bucket:
            # A one-key LIST rather than HeadBucket: it needs the same
            # permission (s3:ListBucket), and its error has a body, so a
            # rejected key (InvalidAccessKeyId) is told apart from AccessDenied
            # and NoSuchBucket, where HEAD only says 403 or 404.
            self.list_requests += 1
            response: dict[str, Any] = self._probe.list_objects_v2(
                Bucket=self._location.bucket, MaxKeys=1
            )
        else:
            response = self._probe.list_buckets(MaxBuckets=1)
        return response

    def _container(
        self, path: tuple[str, ...], location: S3Location, *, verb: str
    ) -> tuple[str, str]:
        """(bucket, key prefix) of a bucket or prefix path."""
        bucket = path[0]
        if path == ("",):  # the "…" node that ends a cut list of buckets
            raise NotSupported("'…' only marks where a long listing was cut; browse its parent")
        # botocore would refuse a name outside its pattern before sending
        # anything; its pattern lets "." and ".." through (a path typed like
        # a file path, "../x"), which no bucket is called.
        if not _BUCKET_NAME.fullmatch(bucket) or not bucket.strip("."):
            raise NotFound(
                f"no bucket '{bucket}': not a valid S3 bucket name"
                " (PATH is BUCKET/PREFIX%2F/..., as 'storescope ls' prints it)"
            )
        if location.bucket and bucket != location.bucket:
            raise NotFound(f"this connection shows only bucket '{location.bucket}', not '{bucket}'")
        inner, last = path[1:-1], path[-1] if len(path) > 1 else None
        if last == "" and all(segment.endswith("/") for segment in inner):
            # The path of the "…" node that ends a cut listing (_truncation_marker).
            raise NotSupported(
                "'…' only marks where a long listing was cut; browse its parent: "
                f"{_show(bucket, ''.join(inner))}"
            )
        if last == "" or any(not segment.endswith("/") for segment in inner):
            raise NotFound(
                f"not an S3 path: '{encode_path(path)}': after the bucket, each segment but "
                "the last is a prefix that ends in '/', written %2F (as 'storescope ls' "
                "prints it: BUCKET/logs%2F/2024%2F)"
            )
        if last is not None and not last.endswith("/"):
            raise NotSupported(
                f"an object is opened, not {verb}: {_show(bucket, ''.join(path[1:]))}"
            )
        return bucket, "".join(path[1:])

    def _list_buckets(self, location: S3Location) -> list[Node]:
        if location.bucket:
            # Scoped to one bucket, perhaps because ListBuckets is not allowed:
            # connect() has just listed one key of it.
            b = location.bucket
            return [Node((b,), b, NodeKind.BUCKET, expandable=True, browsable=True)]
        with _boundary("listing buckets"):
            response = self._client.list_buckets(MaxBuckets=LIST_CHILDREN_CAP)
        nodes = []
        for bucket in response.get("Buckets", []):
            name = str(bucket["Name"])
            created = bucket.get("CreationDate")
            detail = f"created {_utc(created):%Y-%m-%d}" if created else ""
            nodes.append(
                Node((name,), name, NodeKind.BUCKET, expandable=True, browsable=True, detail=detail)
            )
        if response.get("ContinuationToken"):
            nodes.append(_truncation_marker((), LIST_CHILDREN_CAP))
        return nodes

    def _take(
        self, bucket: str, prefix: str, cursor: str | None, after: str | None, limit: int
    ) -> tuple[list[Row], bool]:
        """Up to ``limit`` rows after ``after``, and whether more follow.

        Needs ``limit + 1`` entries in hand (the probe) unless the listing is
        exhausted; what the page does not use is kept for the page that
        continues from it.
        """
        slot = (bucket, prefix)
        buffer = self._readahead.pop(slot, None)
        if (
            buffer is None
            or cursor is None
            or buffer.token != cursor
            or time.monotonic() - buffer.fetched_at > READAHEAD_MAX_AGE
        ):
            buffer = _ReadAhead(token=cursor or "")
        while len(buffer.entries) < limit + 1 and not buffer.exhausted:
            start_after = buffer.entries[-1][0] if buffer.entries else after
            want = limit + 1 - len(buffer.entries)
            # A page at a new position lists only what it needs: the first
            # page shows soonest (moto and many S3-compatible servers take
            # time per key returned). Once a reader walks on from a page we
            # served, it is reading sequentially: ask for a full batch.
            if buffer.fetched_at:
                want = max(want, LIST_BATCH)
            self._fill(buffer, bucket, prefix, start_after, want)
        more = len(buffer.entries) > limit
        rows = [buffer.entries.popleft() for _ in range(min(limit, len(buffer.entries)))]
        if more:
            buffer.token = encode_cursor(rows[-1][0])
            self._readahead[slot] = buffer
            while len(self._readahead) > READAHEAD_SLOTS:
                self._readahead.popitem(last=False)
        return rows, more

    def _fill(
        self, buffer: _ReadAhead, bucket: str, prefix: str, start_after: str | None, want: int
    ) -> None:
        # StartAfter (not ContinuationToken) for every refill: it is the same
        # position as the cursor, never expires, and costs S3 the same.
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": want}
        if start_after:
            kwargs["StartAfter"] = start_after
        self.list_requests += 1
        response = self._client.list_objects_v2(**kwargs)
        contents = response.get("Contents", [])
        buffer.entries.extend(_row(obj) for obj in contents)
        buffer.exhausted = not response.get("IsTruncated") or not contents
        buffer.fetched_at = time.monotonic()


@functools.cache
def _shared_loader() -> Any:
    """botocore's loader of service models and endpoint rules, which caches
    what it parses; thread-safe enough (a race only parses a file twice)."""
    from botocore.loaders import create_loader

    return create_loader()


def _truncation_marker(path: tuple[str, ...], shown: int) -> Node:
    what = "buckets" if not path else "entries"
    return Node(
        path + ("",),
        "…",
        NodeKind.MORE,
        detail=f"only the first {shown:,} {what} are listed; browse to page through all",
    )


def _show(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


@contextlib.contextmanager
def _boundary(action: str, *, connecting: bool = False) -> Iterator[None]:
    """Translate botocore's errors raised inside into ``backends.errors``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as e:
        raise _translate(e, action, connecting=connecting) from e


def _translate(
    e: Exception, action: str, *, connecting: bool, hints: dict[str, str] | None = None
) -> BackendError:
    """The ``backends.errors`` class for a botocore error, its message naming
    what we were doing and the AWS error code. ``hints`` ("denied", "missing")
    extend connect()'s messages."""
    from botocore import exceptions as bx

    if isinstance(e, bx.ClientError):
        error = e.response.get("Error", {})
        code = str(error.get("Code", "") or "Unknown")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(error.get("Message", "") or "")
        if not message or message == code:
            message = {"404": "not found", "403": "access denied"}.get(code, f"HTTP {status}")
        text = f"{action}: {message} ({code})"
        if code in _CREDENTIAL_CODES:
            cls: type[BackendError] = ConnectionFailed if connecting else ConnectionLost
            return cls(f"{text}; the AWS credentials were rejected: {_CREDENTIAL_HINT}")
        if connecting:
            hints = hints or {}
            hint = hints.get("denied") if code in _DENIED_CODES else None
            hint = hints.get("missing") if code in _NOT_FOUND_CODES else hint
            return ConnectionFailed(f"{text}; {hint}" if hint else text)
        if code in _NOT_FOUND_CODES:
            return NotFound(text)
        if code in _DENIED_CODES:
            return PermissionDenied(text)
        return QueryFailed(text)
    credential_errors = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.CredentialRetrievalError,
        bx.ProfileNotFound,
        bx.TokenRetrievalError,
        bx.SSOError,
    )
    name = type(e).__name__
    if isinstance(e, credential_errors):
        return ConnectionFailed(f"{action}: {e} ({name}); {_CREDENTIAL_HINT}")
    if isinstance(e, bx.ConnectionError | bx.HTTPClientError):
        cls = ConnectionFailed if connecting else ConnectionLost
        return cls(f"{action}: {e} ({name})")
    if connecting:
        return ConnectionFailed(f"{action}: {e} ({name})")
    return QueryFailed(f"{action}: {e} ({name})")
