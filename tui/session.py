"""A connection as the UI holds it: one backend, one lock, used from threads.

A backend is not thread-safe, and Textual's exclusive workers cannot stop a
thread that is already running: cancelling a page load leaves its thread
inside ``browse()`` while the next worker starts. The lock makes the second
call wait for the first instead of sharing the driver connection.

The backend is created (and its driver imported) on the first call, inside a
worker thread, so nothing store-specific loads before the first frame.

Closing a backend is a driver call like any other and can be slow (pymongo
waits ~10 s for a server that is gone), so a backend is always closed in a
daemon thread of its own: reconnecting does not wait for the old connection
to close, and quitting waits a bounded time before leaving the rest to the
process exit.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from storescope.backends import open_backend, redact_url
from storescope.backends.base import Capability
from storescope.backends.errors import BackendError, ConnectionLost
from storescope.backends.secrets import scrub, url_secrets

if TYPE_CHECKING:
    from storescope.backends.base import Backend
    from storescope.backends.types import ServerInfo

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
    """Short product name + redacted host/database, never a password.

    An unparseable URL gets a title too (connecting to it reports why).
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(shown)
        where = f"{parts.netloc}{parts.path.rstrip('/')}"
        if not parts.netloc and "endpoint=" in parts.query:
            # s3://?endpoint=http://host:port: the endpoint says where it is.
            endpoint = parts.query.split("endpoint=", 1)[1].split("&", 1)[0]
            where = urlsplit(unquote(endpoint)).netloc or where
    except ValueError:
        parts, where = None, ""
    if parts is None or not parts.scheme:
        # redact_url says "<invalid URL>": name the scheme the user typed.
        scheme = url.partition("://")[0] if "://" in url else ""
        name = SHORT_NAMES.get(scheme.lower(), scheme[:12] or "?")
        title = f"{name} {shown}"
    else:
        name = SHORT_NAMES.get(parts.scheme.lower(), parts.scheme)
        title = f"{name} {where}".strip()
    title = scrub(title, url_secrets(url))
    return title if len(title) <= TITLE_WIDTH else title[: TITLE_WIDTH - 1] + "…"


def close_in_background(backend: Backend) -> threading.Thread:
    """Close ``backend`` in a daemon thread, returned for a bounded ``join``."""
    thread = threading.Thread(
        target=_close_quietly, args=(backend,), name="storescope-close", daemon=True
    )
    thread.start()
    return thread


def _close_quietly(backend: Backend) -> None:
    try:
        backend.close()
    except BackendError:
        # Closing a connection that is already gone can fail; the object is
        # dropped either way and there is nothing the user can do.
        return


class DaemonThreadExecutor(ThreadPoolExecutor):
    """Runs each call in a daemon thread of its own, and never waits for them.

    Textual runs thread workers in the event loop's default executor, and
    ``asyncio.run`` joins that executor's threads before returning: a driver
    call still waiting on a dead server (pymongo: ~10 s) would hold up
    quitting. As the loop's default executor (``install``), calls left
    running at exit die with the process instead. The pool is never used.
    """

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:  # handed to the awaiting worker, not lost
                future.set_exception(e)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="storescope-call", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return  # nothing pooled; running calls are left to the process exit

    @classmethod
    def install(cls) -> None:
        """Make it the running loop's default executor (thread workers)."""
        loop = asyncio.get_running_loop()
        if loop not in _INSTALLED:
            loop.set_default_executor(cls())
            _INSTALLED.add(loop)


_INSTALLED: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class Session:
    """One backend connection, serialised by a lock; call only from threads."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self._backend: Backend | None = None
        self._lock = threading.Lock()
        #: The store's own page size, known once connected.
        self.page_size = 200
        #: What the backend can do beyond browsing, known once connected.
        self.capabilities = Capability.NONE
        #: What must never be shown of this URL (see ``scrub``).
        self.secrets = url_secrets(url)

    @property
    def display_url(self) -> str:
        return self.scrub(redact_url(self.url))

    def scrub(self, text: str) -> str:
        """``text`` (an error message...) without this connection's secrets."""
        return scrub(text, self.secrets)

    @property
    def title(self) -> str:
        return tab_title(self.url)

    def clone(self) -> Session:
        """A session with its own connection (for background work)."""
        return Session(self.url, read_only=self.read_only)

    def connect(self) -> ServerInfo:
        """(Re)connect and return the server's product and version; the old
        connection closes in the background."""
        with self._lock:
            self._drop_locked()
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
                self._drop_locked()
                raise

    def cancel(self) -> None:
        """Ask the server to stop the call running on this session, from any
        thread, without waiting for the lock that call holds (see
        ``Backend.cancel``). A no-op when not connected."""
        backend = self._backend
        if backend is not None and Capability.CANCEL in backend.capabilities:
            backend.cancel()

    def close(self) -> threading.Thread:
        """Close the connection in a daemon thread, once any running call
        (or connect) is done, and return that thread. Never blocks: callers
        that want to wait ``join`` it with a timeout."""
        thread = threading.Thread(
            target=self._close_when_free, name="storescope-close", daemon=True
        )
        thread.start()
        return thread

    def _close_when_free(self) -> None:
        # The lock: a call still running on the backend (a thread worker
        # Textual cannot stop) finishes before its connection is closed.
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            _close_quietly(backend)

    def _open_locked(self) -> Backend:
        backend = open_backend(self.url, read_only=self.read_only)
        backend.connect()
        self._backend = backend
        self.page_size = backend.default_page_size
        self.capabilities = backend.capabilities
        return backend

    def _drop_locked(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            close_in_background(backend)
