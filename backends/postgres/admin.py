"""PostgreSQL EXPLAIN and INDEXES."""

from __future__ import annotations

from .core import PostgresCore


class AdminMixin(PostgresCore):
    pass
