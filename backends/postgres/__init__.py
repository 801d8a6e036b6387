"""PostgreSQL backend (psycopg2; the statements a user types run on a
psycopg 3 session of their own, see ``query``).

``core`` holds connections, the catalog and browsing (its docstring explains
the paging strategies). Each capability group is a plain object in its own
module, given what it needs: ``QuerySession`` (QUERY, CANCEL, TRANSACTIONS)
the core; ``Explainer`` (EXPLAIN) the query session; ``IndexManager``
(INDEXES) the core and the query session (is a user's transaction open
there); ``RecordWriter`` (RECORDS, PLAN, filtered browsing) and ``Monitor``
(MONITOR) the core. ``PostgresBackend`` is the core holding one of each; its
public methods delegate, and every error leaving them has the URL's secrets
scrubbed (``_scrubbed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..base import Capability
from ..errors import NotSupported
from ..language import QueryLanguage
from ..sql_language import POSTGRES_SQL
from ..types import (
    ROW_WORDS,
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
    Page,
    Record,
    RecordKey,
    RecordSchema,
    Result,
    Sort,
    Statement,
    Stats,
    StoreWords,
    TransactionState,
)
from .core import PostgresCore, _scrubbed
from .explain import Explainer
from .indexes import INDEX_METHODS, IndexManager
from .monitor import Monitor
from .query import QuerySession
from .records import RecordWriter

__all__ = ["PostgresBackend", "PostgresCore"]


class PostgresBackend(PostgresCore):
    capabilities: ClassVar[Capability] = (
        Capability.QUERY
        | Capability.RECORDS
        | Capability.PLAN
        | Capability.INDEXES
        | Capability.EXPLAIN
        | Capability.MONITOR
        | Capability.CANCEL
        | Capability.TRANSACTIONS
    )
    language: ClassVar[QueryLanguage] = POSTGRES_SQL
    index_methods: ClassVar[tuple[str, ...]] = INDEX_METHODS
    #: Today's words: rows in tables, columns, NULL.
    words: ClassVar[StoreWords] = ROW_WORDS

    def __init__(self, url: str, *, read_only: bool = False, connect_timeout: float = 5.0) -> None:
        super().__init__(url, read_only=read_only, connect_timeout=connect_timeout)
        self._session = QuerySession(self)
        self._explainer = Explainer(self._session)
        self._indexes = IndexManager(self, self._session)
        self._records = RecordWriter(self)
        self._monitor = Monitor(self)

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        # Under the query session's call lock: a running call ends first, and
        # its idle timer does not act meanwhile.
        with self._session.lock:
            self._session.close()
            super().close()
            self._records.close()

    def _own_pids(self) -> set[int]:
        return super()._own_pids() | self._session.own_pids()

    # -- browsing with a filter and a sort (RecordWriter) ----------------------------------

    @_scrubbed
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
        if filter is not None and not isinstance(filter, Filter):
            raise NotSupported("a PostgreSQL filter is a Filter holding a WHERE expression")
        if sort is not None and not isinstance(sort, Sort):
            raise NotSupported("a PostgreSQL sort is a Sort of (column, direction) pairs")
        if filter is None and (sort is None or not sort.fields):
            return super().browse(path, cursor=cursor, limit=limit, whole=whole)
        return self._records.browse_filtered(
            path, cursor=cursor, limit=limit, filter=filter, sort=sort, whole=whole
        )

    # -- QUERY, CANCEL, TRANSACTIONS (QuerySession) ----------------------------------------

    def split(self, text: str) -> list[Statement]:
        return self._session.split(text)

    @_scrubbed
    def execute(self, statement: str, *, limit: int = 200, whole: bool = False) -> Result:
        return self._session.execute(statement, limit=limit, whole=whole)

    @_scrubbed
    def fetch(self, cursor: str, *, limit: int = 200) -> Page:
        return self._session.fetch(cursor, limit=limit)

    @_scrubbed
    def release(self, handle: str) -> None:
        self._session.release(handle)

    @_scrubbed
    def completions(self, path: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        return self._session.completions(path)

    @_scrubbed
    def cancel(self) -> None:
        self._session.cancel()

    @_scrubbed
    def begin(self) -> None:
        self._session.begin()

    @_scrubbed
    def commit(self) -> None:
        self._session.commit()

    @_scrubbed
    def rollback(self) -> None:
        self._session.rollback()

    def transaction_state(self) -> TransactionState:
        return self._session.transaction_state()

    # -- EXPLAIN (Explainer) ---------------------------------------------------------------

    @_scrubbed
    def explain(self, statement: str, *, analyze: bool = False, buffers: bool = False) -> Explained:
        return self._explainer.explain(statement, analyze=analyze, buffers=buffers)

    # -- INDEXES (IndexManager) ------------------------------------------------------------

    @_scrubbed
    def list_indexes(self, path: tuple[str, ...]) -> list[IndexInfo]:
        return self._indexes.list_indexes(path)

    def index_options(self, path: tuple[str, ...]) -> IndexOptions:
        return self._indexes.index_options(path)

    @_scrubbed
    def plan_index(self, change: CreateIndex | DropIndex) -> IndexPlan:
        return self._indexes.plan_index(change)

    @_scrubbed
    def create_index(self, path: tuple[str, ...], spec: IndexSpec) -> None:
        self._indexes.create_index(path, spec)

    @_scrubbed
    def drop_index(self, path: tuple[str, ...], name: str, *, online: bool = True) -> None:
        self._indexes.drop_index(path, name, online=online)

    # -- RECORDS, PLAN (RecordWriter) ------------------------------------------------------

    @_scrubbed
    def record_schema(self, path: tuple[str, ...]) -> RecordSchema:
        return self._records.record_schema(path)

    @_scrubbed
    def get(self, path: tuple[str, ...], key: RecordKey) -> Record:
        return self._records.get(path, key)

    @_scrubbed
    def check_value(self, path: tuple[str, ...], field: str, value: Any) -> None:
        self._records.check_value(path, field, value)

    @_scrubbed
    def plan(self, changes: Sequence[Change]) -> ChangePlan:
        return self._records.plan(changes)

    @_scrubbed
    def apply(self, changes: Sequence[Change]) -> AppliedPlan:
        return self._records.apply(changes)

    # -- MONITOR (Monitor) -----------------------------------------------------------------

    @_scrubbed
    def stats(self) -> Stats:
        return self._monitor.stats()

    @_scrubbed
    def session_action(self, action: str, session_id: Any) -> str:
        return self._monitor.session_action(action, session_id)
