"""PostgreSQL QUERY, CANCEL and TRANSACTIONS: the SQL editor's statements."""

from __future__ import annotations

from .core import PostgresCore


class QueryMixin(PostgresCore):
    pass
