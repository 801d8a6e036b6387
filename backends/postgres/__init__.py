"""PostgreSQL backend (psycopg2).

``core`` holds connections, the catalog and browsing (its docstring explains
the paging strategies); each capability group is a subclass of
``PostgresCore`` in its own module, combined here.
"""

from __future__ import annotations

from typing import ClassVar

from ..base import Capability
from .admin import AdminMixin
from .core import PostgresCore
from .monitor import MonitorMixin
from .query import QueryMixin
from .records import RecordsMixin

__all__ = ["PostgresBackend", "PostgresCore"]


class PostgresBackend(QueryMixin, RecordsMixin, AdminMixin, MonitorMixin):
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
