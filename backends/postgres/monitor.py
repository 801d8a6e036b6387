"""PostgreSQL MONITOR: sessions, locks and blocking chains, server numbers."""

from __future__ import annotations

from .core import PostgresCore


class MonitorMixin(PostgresCore):
    pass
