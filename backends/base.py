"""The one interface every store implements.

Methods are synchronous and may block; the UI calls them only from thread
workers, never on the event loop. Only the neutral types of ``backends.types``
cross this boundary, and only the errors of ``backends.errors`` come out of it.

Optional method groups are declared with ``Capability`` flags on the class; the
UI reads ``backend.capabilities`` and never probes with ``isinstance`` or
``NotImplementedError``.

Previews and whole values. A page is for looking at: by default a backend
cuts a big value (a long text, bytea or json, a big Redis value) to a
bounded preview, a ``Truncated`` holding the first part and the true size,
so a screen of rows never holds a 50 MB cell. An export needs the values
themselves, so ``browse()``, ``iter_pages()`` and ``execute()`` take
``whole=True``: then no value is cut, ever, and no ``Truncated`` comes out
(a ``Truncated`` in a whole page is a bug of the backend, which callers
report instead of writing it as data). Memory stays bounded all the same:
a whole page may hold fewer than ``limit`` records when its values are big
(PostgreSQL stops a page at ``WHOLE_PAGE_BYTES`` of values, at least one
record), so at most about one page of values is held, and a single value
is held whole, as big as the store hands it out. Stores whose pages never
cut a value (MongoDB documents, S3 listings) accept the flag and change
nothing. ``execute(whole=True)`` applies to every page of that result,
the first and those ``fetch()`` returns.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import NotSupported
from .language import PLAIN
from .types import NodeAction, NodeActionKind, NodeKind, RecordStyle, StoreWords

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from .language import QueryLanguage
    from .types import (
        AppliedPlan,
        Change,
        ChangePlan,
        CreateIndex,
        DropIndex,
        Explained,
        Filter,
        IndexInfo,
        IndexOptions,
        IndexPlan,
        IndexSpec,
        Node,
        Page,
        Record,
        RecordKey,
        RecordSchema,
        Result,
        ServerInfo,
        Sort,
        Statement,
        Stats,
        TransactionState,
    )


class Capability(enum.Flag):
    """Optional method groups; each flag's methods are documented on Backend.

    The default implementations of those methods raise ``NotSupported``; the
    UI never calls them for a backend whose flags do not include the group.
    """

    NONE = 0
    QUERY = enum.auto()
    RECORDS = enum.auto()
    PLAN = enum.auto()
    INDEXES = enum.auto()
    EXPLAIN = enum.auto()
    MONITOR = enum.auto()
    CANCEL = enum.auto()
    TRANSACTIONS = enum.auto()


#: Kinds of catalog node that hold records a statement can read.
RELATION_KINDS = frozenset(
    {
        NodeKind.TABLE,
        NodeKind.VIEW,
        NodeKind.MATVIEW,
        NodeKind.FOREIGN_TABLE,
        NodeKind.COLLECTION,
    }
)

#: The node actions of a backend that declares none (``node_action_table``):
#: browse any browsable node; open a table or collection in the query editor
#: (QUERY) and show its indexes (INDEXES).
DEFAULT_NODE_ACTIONS: tuple[NodeAction, ...] = (
    NodeAction(
        "browse", "Browse", NodeActionKind.BROWSE, key="b", help="Show its records in the grid"
    ),
    NodeAction(
        "open-in-query",
        "Open in query",
        NodeActionKind.OPEN_IN_QUERY,
        kinds=RELATION_KINDS,
        key="q",
        help="Write a query reading it in the query editor",
    ),
    NodeAction(
        "indexes",
        "Indexes",
        NodeActionKind.INDEXES,
        kinds=frozenset({NodeKind.TABLE, NodeKind.MATVIEW, NodeKind.COLLECTION}),
        key="i",
        help="List its indexes",
    ),
)


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
    #: Rows (fixed columns: PG, Redis, S3 listings) or documents (each
    #: record a document that may have its own fields: MongoDB). The CLI
    #: writes documents as relaxed Extended JSON; the grid shows nested values.
    record_style: ClassVar[RecordStyle] = RecordStyle.ROWS
    #: What the store calls its records, the nodes holding them, their
    #: fields and a missing value, for the panels' sentences ("rows 1–19 of
    #: ≥ 200", "Insert a document"). Neutral by default: record/container.
    words: ClassVar[StoreWords] = StoreWords()

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

    #: The actions catalog nodes offer, in the store's words (see
    #: ``node_actions``); a store overrides it to add or rename actions.
    #: None: ``DEFAULT_NODE_ACTIONS``.
    node_action_table: ClassVar[tuple[NodeAction, ...] | None] = None

    def node_actions(self, node: Node) -> tuple[NodeAction, ...]:
        """What the user can do with ``node`` (besides expanding it): the
        explorer offers these on its context key and in the command palette.

        Pure, no round-trip (the catalog asks for every node it lists). Only
        what works on this connection now: an action of ``node_action_table``
        that applies to the node's kind, whose capability this backend has
        (OPEN_IN_QUERY: QUERY and an ``open_template`` in ``language``,
        INDEXES: INDEXES), and that targets a
        browsable node (BROWSE on the node itself needs ``node.browsable``).
        """
        table = self.node_action_table
        if table is None:
            table = DEFAULT_NODE_ACTIONS
        return tuple(a for a in table if a.applies_to(node) and self._node_action_works(a, node))

    def _node_action_works(self, action: NodeAction, node: Node) -> bool:
        from .types import NodeActionKind

        if not action.parent and not node.browsable:
            return False
        if action.does is NodeActionKind.OPEN_IN_QUERY:
            # Only where the query language says what "open in query" writes.
            return Capability.QUERY in self.capabilities and self.language.open_template is not None
        if action.does is NodeActionKind.INDEXES:
            return Capability.INDEXES in self.capabilities
        return True

    @abstractmethod
    def browse(
        self,
        path: tuple[str, ...],
        *,
        cursor: str | None = None,
        limit: int = 200,
        filter: Filter | None = None,
        sort: Sort | None = None,
        whole: bool = False,
    ) -> Page:
        """One page of at most ``limit`` records of a browsable node.

        Forward-only. ``cursor`` is ``None`` for the first page, otherwise the
        ``next_cursor`` of the previous page; it is an opaque string that only
        this backend reads, and it stays valid across reconnects where the
        store allows (keyset positions rather than server-side state). Pages
        chained this way join without gaps or duplicates on data that does
        not change meanwhile. ``next_cursor`` is ``None`` exactly when no
        record follows (backends fetch ``limit + 1`` to know).

        ``filter`` keeps the records that match its text, in the store's
        own syntax (PG: a WHERE expression); text that is more than a filter
        (another statement, a write, a clause of its own) raises
        ``QueryFailed`` before anything runs. ``sort`` orders the records by
        its field paths; ties come in key order and paging stays exact (the
        cursor holds the sort values and the key). A cursor belongs to the
        filter and sort it was made with. A backend that cannot honour a
        filter or sort raises ``NotSupported``. Raises ``NotFound`` for a
        path that is not there and ``NotSupported`` for a node that is not
        browsable.

        ``whole``: values come whole, never as ``Truncated`` previews, for
        writing them out (see the module docstring). Such a page may end
        before ``limit`` records when its values are big; ``next_cursor``
        still says exactly whether more follow, and works with either mode.
        """

    def iter_pages(
        self,
        path: tuple[str, ...],
        *,
        limit: int = 1000,
        filter: Filter | None = None,
        sort: Sort | None = None,
        whole: bool = False,
    ) -> Iterator[Page]:
        """Every page of ``path``, one at a time (memory stays flat)."""
        cursor: str | None = None
        while True:
            page = self.browse(
                path, cursor=cursor, limit=limit, filter=filter, sort=sort, whole=whole
            )
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- QUERY -------------------------------------------------------------

    #: The language ``execute()`` speaks, described for the query editor:
    #: its name and file extension, highlighting, completion, formatter,
    #: explain and transaction words (``backends.language``). A store that
    #: declares none gets ``PLAIN``: a command line with no extras.
    language: ClassVar[QueryLanguage] = PLAIN

    def split(self, text: str) -> list[Statement]:
        """The statements of a script, with their offsets and kinds (no
        round-trip). Empty statements and pure comments are left out."""
        raise NotSupported(f"{self.product} has no query language here")

    def execute(self, statement: str, *, limit: int = 200, whole: bool = False) -> Result:
        """Run one statement and return its first page of at most ``limit``
        rows (more with ``fetch``). Rows are streamed from the server
        (server-side cursor or equivalent), never fetched all at once.
        Big values are ``Truncated`` previews unless ``whole``, which holds
        for every page of this result (see the module docstring).

        Raises ``QueryFailed`` (with ``position`` when the server says where),
        ``Cancelled`` when ``cancel()`` stopped it, ``ReadOnly`` for a write
        on a read-only connection, ``ConnectionLost``.
        """
        raise NotSupported(f"{self.product} has no query language here")

    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        """The page of a result starting at ``cursor`` (a ``Result``'s or a
        previous page's ``next_cursor``). Like ``browse`` cursors, an older
        cursor may be asked for again (the grid evicts and re-fetches pages);
        when the server-side state has gone, a read-only statement is re-run
        and positioned, anything else raises ``QueryFailed`` saying the
        result has expired."""
        raise NotSupported(f"{self.product} has no query language here")

    def release(self, handle: str) -> None:
        """Free the server-side state of a result (a closed result tab, a
        result nobody has paged for a few seconds). Owners should release
        what they no longer read: the state may hold a snapshot and locks
        (backends also bound it themselves: PostgreSQL ends an idle read
        transaction after 5 s). Unknown or already released handles are
        ignored."""
        return  # nothing held by a backend that keeps no result state

    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """Names for the editor's completion, as (name, kind) pairs: kind is
        "schema", "table", "view", "column" (as "table.column"), "function"...
        Bounded (a few thousand names); called on a background clone."""
        raise NotSupported(f"{self.product} has no query language here")

    # -- CANCEL ------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the server to stop the statement running on this backend.

        The one method that may be called from another thread while a call
        (``execute``/``fetch``) is running; it returns at once, and the
        running call raises ``Cancelled``. A no-op when nothing runs."""
        raise NotSupported(f"{self.product} cannot cancel a running command")

    # -- TRANSACTIONS --------------------------------------------------------

    def begin(self) -> None:
        """Start a transaction: the statements that follow commit together."""
        raise NotSupported(f"{self.product} has no transactions here")

    def commit(self) -> None:
        raise NotSupported(f"{self.product} has no transactions here")

    def rollback(self) -> None:
        raise NotSupported(f"{self.product} has no transactions here")

    def transaction_state(self) -> TransactionState:
        """Where the interactive connection stands (no round-trip)."""
        raise NotSupported(f"{self.product} has no transactions here")

    # -- RECORDS -------------------------------------------------------------

    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        """Fields, defaults and key of a browsable node's records, and why
        its records cannot be edited when they cannot. The key of a browsed
        row is its values of ``key`` (no round-trip); ``identity`` says
        whether that key names the record or its position; ``codec`` how
        values become edit text and typed text values."""
        raise NotSupported(f"{self.product} records cannot be edited here")

    def get(self, path: tuple[str, ...], key: RecordKey) -> Record:
        """The whole record ``key`` (big values bounded, see ``Record``).
        Raises ``NotFound`` when it is not there (any more)."""
        raise NotSupported(f"{self.product} records cannot be edited here")

    def check_value(self, path: tuple[str, ...], field: str, value: Any) -> None:
        """Whether ``value`` (as ``RecordSchema.codec`` parsed the typed text)
        is one the field ``field`` of ``path`` takes, checked by the store
        without writing anything: raises ``QueryFailed`` with the store's
        reason when it is not. A store that cannot tell before the write
        accepts every value (this default)."""
        return None

    # -- PLAN ----------------------------------------------------------------

    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        """What ``apply(changes)`` would run and how many records each step
        touches, counted now, changing nothing, and what the store does if a
        step fails (``ChangePlan.atomic``, an ``Atomicity``). Changes may
        name nested fields by path, remove fields (``UNSET``), replace
        whole records (``Replace``) or run a store command (``Command``,
        its text shown as is); a change the store cannot express raises
        ``NotSupported``. Refuses (``ReadOnly``) on a read-only connection
        and for a node without a key."""
        raise NotSupported(f"{self.product} has no change plans here")

    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        """Run ``changes`` in order, as the plan's ``Atomicity`` says:
        ``ONE_TRANSACTION``: on an error nothing is applied; otherwise the
        steps before the failed one stay applied. ``QueryFailed`` says which
        change (``step``) failed and why. Enforces read-only."""
        raise NotSupported(f"{self.product} has no change plans here")

    # -- INDEXES ---------------------------------------------------------------
    #
    # Index changes do not go through ``plan``/``apply`` (PLAN): a store with
    # INDEXES alone can list, describe, create and drop indexes. The UI asks
    # ``plan_index`` what a change will run, shows it, and on confirmation
    # calls ``create_index``/``drop_index``.

    #: Index methods the create form offers; the first is the default.
    index_methods: ClassVar[tuple[str, ...]] = ()

    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        """Every index of a table/collection, with size, usage and flags."""
        raise NotSupported(f"{self.product} has no indexes here")

    def index_options(self, path: tuple[str, ...]) -> IndexOptions:
        """What the new-index form offers for ``path``, in the store's words
        (no round-trip needed; may depend on the node). The default offers
        field names and ``index_methods``."""
        from .types import IndexOptions

        return IndexOptions(methods=self.index_methods)

    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        """What ``create_index``/``drop_index`` would run for ``change``, with
        the target checked, changing nothing. Refuses (``ReadOnly``) on a
        read-only connection."""
        raise NotSupported(f"{self.product} has no indexes here")

    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        """Build the index ``spec`` on ``path`` (what ``plan_index`` said).
        Enforces read-only; ``QueryFailed`` says why a build failed and what
        it left behind."""
        raise NotSupported(f"{self.product} has no indexes here")

    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        """Drop the index ``name`` of ``path``; ``online`` without blocking
        writes where the store offers the choice (``IndexOptions.online``).
        Raises ``NotFound`` when it is not there."""
        raise NotSupported(f"{self.product} has no indexes here")

    # -- EXPLAIN ---------------------------------------------------------------

    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        """The plan of ``statement``; with ``analyze`` it is executed (a
        statement that writes runs inside a transaction that is rolled back).
        """
        raise NotSupported(f"{self.product} cannot explain queries here")

    # -- MONITOR ---------------------------------------------------------------

    def stats(self) -> Stats:
        """One bounded sample of the server's state (called every few
        seconds on a background clone): metrics for sparklines and tables
        (sessions, locks, slow operations...)."""
        raise NotSupported(f"{self.product} has no monitoring here")

    def session_action(self, action: str, session_id: Any) -> str:
        """Run one of a stats table's ``actions`` (``action`` is its
        ``MonitorAction.id``: PG's "cancel", "terminate") on the row whose
        key column is ``session_id``; returns a one-line outcome for the UI.
        The table describes each action (key, label, confirmation, danger)
        and its columns' roles: the monitor panel shows only those words."""
        raise NotSupported(f"{self.product} has no monitoring here")

    def __enter__(self) -> Backend:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
