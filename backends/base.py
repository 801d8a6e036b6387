"""The one interface every store implements.

Methods are synchronous and may block; the UI calls them only from thread
workers, never on the event loop. Only the neutral types of ``backends.types``
cross this boundary, and only the errors of ``backends.errors`` come out of it.

Optional method groups are declared with ``Capability`` flags on the class; the
UI reads ``backend.capabilities`` and never probes with ``isinstance`` or
``NotImplementedError``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .types import Node, Page, ServerInfo


class Capability(enum.Flag):
    NONE = 0
    QUERY = enum.auto()
    RECORDS = enum.auto()
    PLAN = enum.auto()
    INDEXES = enum.auto()
    EXPLAIN = enum.auto()
    MONITOR = enum.auto()
    CANCEL = enum.auto()
    TRANSACTIONS = enum.auto()


class Backend(ABC):
    """A connection to one server (PostgreSQL, MongoDB, Redis, S3...).

    Constructed unconnected from a URL; ``connect()`` opens it. A backend is
    used by one thread at a time (the UI serialises calls per connection with
    exclusive workers); background work (catalog refresh, monitoring) uses its
    own instance from ``clone()``, never the interactive one.
    """

    #: URL schemes this backend serves, e.g. ("postgresql", "postgres").
    schemes: ClassVar[tuple[str, ...]] = ()
    #: Product name shown in the UI.
    product: ClassVar[str] = ""
    capabilities: ClassVar[Capability] = Capability.NONE
    #: A sensible default page size for this store's browse().
    default_page_size: ClassVar[int] = 200
    #: "rows" (fixed columns: PG, Redis, S3 listings) or "documents" (each
    #: record a document that may have its own fields: MongoDB). The CLI
    #: writes documents as relaxed Extended JSON; the grid shows nested values.
    record_style: ClassVar[str] = "rows"

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.read_only = read_only
        self.connect_timeout = connect_timeout

    # -- lifecycle ---------------------------------------------------------

    @abstractmethod
    def connect(self) -> None:
        """Open the connection and check it works (one round-trip).

        Raises ``ConnectionFailed`` within ``connect_timeout`` seconds (plus a
        small margin) when the server is unreachable or rejects the
        credentials. Calling it again on a connected backend reconnects.
        """

    @abstractmethod
    def close(self) -> None:
        """Close every connection held. Safe to call twice or unconnected."""

    @abstractmethod
    def ping(self) -> float:
        """One round-trip; returns its latency in seconds.

        Raises ``ConnectionLost`` when the connection has gone away.
        """

    @abstractmethod
    def server_info(self) -> ServerInfo:
        """Product and version of the server (and a few details)."""

    def clone(self) -> Backend:
        """A new, unconnected backend with the same URL and options."""
        return type(self)(self.url, read_only=self.read_only, connect_timeout=self.connect_timeout)

    @property
    def display_url(self) -> str:
        """The URL with any password or secret removed, safe to show."""
        from . import redact_url

        return redact_url(self.url)

    # -- catalog -----------------------------------------------------------

    @abstractmethod
    def list_children(self, path: tuple[str, ...]) -> list[Node]:
        """One level of the catalog below ``path`` (``()`` is the top).

        Lazy and bounded: it never walks a whole key-space or bucket. Raises
        ``NotFound`` when ``path`` does not exist.
        """

    @abstractmethod
    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Any = None,
        sort: Any = None,
    ) -> Page:
        """One page of at most ``limit`` records of a browsable node.

        Forward-only. ``cursor`` is ``None`` for the first page, otherwise the
        ``next_cursor`` of the previous page; it is an opaque string that only
        this backend reads, and it stays valid across reconnects where the
        store allows (keyset positions rather than server-side state). Pages
        chained this way join without gaps or duplicates on data that does
        not change meanwhile. ``next_cursor`` is ``None`` exactly when no
        record follows (backends fetch ``limit + 1`` to know).

        ``filter`` and ``sort`` are store-native (SQL WHERE text, a Mongo
        filter document, a Redis MATCH pattern, an S3 key prefix); a backend
        that cannot honour them raises ``NotSupported``. Raises ``NotFound``
        for a path that is not there and ``NotSupported`` for a node that is
        not browsable.
        """

    def iter_pages(
        self, path: tuple[str, ...], *, limit: int = 1000, filter: Any = None, sort: Any = None
    ) -> Iterator[Page]:
        """Every page of ``path``, one at a time (memory stays flat)."""
        cursor: str | None = None
        while True:
            page = self.browse(path, cursor=cursor, limit=limit, filter=filter, sort=sort)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def __enter__(self) -> Backend:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
