"""A connection as the UI holds it: one backend, one lock, used from threads.

A backend is not thread-safe, and Textual's exclusive workers cannot stop a
thread that is already running: cancelling a page load leaves its thread
inside ``browse()`` while the next worker starts. The lock makes the second
call wait for the first instead of sharing the driver connection.

The backend is created (and its driver imported) on the first call, inside a
worker thread, so nothing store-specific loads before the first frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

from backends import open_backend, redact_url, scheme_of
from backends.errors import BackendError, ConnectionLost

if TYPE_CHECKING:
    from backends.base import Backend
    from backends.types import ServerInfo

T = TypeVar("T")

SHORT_NAMES = {
    "postgresql": "PG",
    "postgres": "PG",
    "mongodb": "Mongo",
    "mongodb+srv": "Mongo",
    "redis": "Redis",
    "rediss": "Redis",
    "s3": "S3",
    "fake": "Fake",
}
TITLE_WIDTH = 40


def tab_title(url: str) -> str:
    """Short product name + redacted host/database, never a password."""
    shown = redact_url(url)
    parts = urlsplit(shown)
    name = SHORT_NAMES.get(scheme_of(url), parts.scheme or "?")
    where = f"{parts.netloc}{parts.path.rstrip('/')}"
    if not parts.netloc and "endpoint=" in parts.query:
        # s3://?endpoint=http://host:port: the endpoint says where it is.
        endpoint = parts.query.split("endpoint=", 1)[1].split("&", 1)[0]
        where = urlsplit(unquote(endpoint)).netloc or where
    title = f"{name} {where}".strip()
    return title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 1] + "…"


# How long closing waits for a running call before leaving the connection to
# the process exit (a slow query must not freeze quitting).
_CLOSE_WAIT = 0.5


class Session:
    """One backend connection, serialised by a lock; call only from threads."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._backend: Backend | None = None
        self._lock = threading.Lock()
        #: The store's own page size, known once connected.
        self.page_size = 200

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @property
    def title(self) -> str:
        return tab_title(self.url)

    def clone(self) -> Session:
        """A session with its own connection (for background work)."""
        return Session(self.url, read_only=self.read_only)

    def connect(self) -> ServerInfo:
        """(Re)connect and return the server's product and version."""
        with self._lock:
            self._close_locked()
            backend = self._open_locked()
            return backend.server_info()

    def call(self, fn: Callable[[Backend], T]) -> T:
        """Run ``fn(backend)``, connecting first when not connected.

        After ``ConnectionLost`` the backend is dropped, so the next call
        (or an explicit reconnect) starts from a fresh connection.
        """
        with self._lock:
            backend = self._backend or self._open_locked()
            try:
                return fn(backend)
            except ConnectionLost:
                self._close_locked()
                raise

    def close(self) -> None:
        if self._lock.acquire(timeout=_CLOSE_WAIT):
            try:
                self._close_locked()
            finally:
                self._lock.release()

    def _open_locked(self) -> Backend:
        backend = open_backend(self.url, read_only=self.read_only)
        backend.connect()
        self._backend = backend
        self.page_size = backend.default_page_size
        return backend

    def _close_locked(self) -> None:
        backend, self._backend = self._backend, None
        if backend is None:
            return
        try:
            backend.close()
        except BackendError:
            # Closing a connection that is already gone can fail; the object
            # is dropped either way and there is nothing the user can do.
            return
