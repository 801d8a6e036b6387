"""PostgreSQL backend (psycopg2; the statements a user types run on a
psycopg 3 session of their own, see ``query``).

``core`` holds connections, the catalog and browsing (its docstring explains
the paging strategies); each capability group is a subclass of
``PostgresCore`` in its own module, combined here.
"""

from __future__ import annotations

from typing import ClassVar

from ..base import Capability
from .core import PostgresCore
from .explain import ExplainMixin
from .indexes import IndexesMixin
from .monitor import MonitorMixin
from .query import QueryMixin
from .records import RecordsMixin

__all__ = ["PostgresBackend", "PostgresCore"]


# QueryMixin comes first: it fills in the hooks of ExplainMixin (EXPLAIN on
# the query session) and IndexesMixin (is a user's transaction open there).
class PostgresBackend(QueryMixin, ExplainMixin, IndexesMixin, RecordsMixin, MonitorMixin):
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
