"""PostgreSQL RECORDS and PLAN: rows by key, change plans applied in one transaction."""

from __future__ import annotations

from .core import PostgresCore


class RecordsMixin(PostgresCore):
    pass
