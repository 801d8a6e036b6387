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

**The stall watchdog.** A server can stop answering without closing anything
(``kill -STOP``, a frozen VM, a load balancer holding the socket): its kernel
still acknowledges TCP, so neither keepalives nor a driver error ever come.
Every call therefore runs in a daemon thread of its own while the caller
waits, and the session's ``CallWatch`` (shared with its clones: the
catalog's, the query panel's and the monitor's sessions) knows how long each
call has been waiting for the server. The explorer reads ``stalled()`` twice
a second and says "the server has not answered for N s" with the keys that
help; nothing is killed, so a long statement the user started runs on.
Reconnecting (or cancelling, once the server had a moment to act on the
cancel) *abandons* the stalled calls: their callers get ``CallAbandoned`` (a
``ConnectionLost``) at once, the session moves on to a new connection, and
the driver thread keeps the old one until the server answers, then closes
it. The lock still means one call at a time per connection.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import unquote, urlsplit

from storescope.backends import open_backend, redact_url, short_name
from storescope.backends.base import Capability
from storescope.backends.errors import BackendError, ConnectionLost
from storescope.backends.secrets import scrub, url_secrets

if TYPE_CHECKING:
    from storescope.backends.base import Backend
    from storescope.backends.types import ServerInfo

T = TypeVar("T")

TITLE_WIDTH = 40
#: A call that has waited this long for the server is reported as a stall.
STALL_REPORT_AFTER = 5.0
#: After a cancel is sent for a stalled call, how long the server has to end
#: it before the call is abandoned (a stopped server never answers a cancel).
CANCEL_GRACE = 2.0


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
        name = short_name(scheme) or scheme[:12] or "?"
        title = f"{name} {shown}"
    else:
        name = short_name(parts.scheme) or parts.scheme
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


def _close_line_when_free(line: _Line) -> None:
    """Close ``line``'s connection once no call holds it: a call still
    running on the backend (a thread worker Textual cannot stop) finishes
    before its connection is closed."""
    with line.lock:
        backend, line.backend = line.backend, None
    if backend is not None:
        _close_quietly(backend)


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


class CallAbandoned(ConnectionLost):
    """The session stopped waiting for a call the server did not answer
    (reconnect or cancel while stalled); the connection it ran on is dropped."""

    default_title = "Stopped waiting"

    def __init__(self, message: str, *, reconnecting: bool = False) -> None:
        super().__init__(message)
        #: Abandoned because the user reconnects: the reconnect reports itself.
        self.reconnecting = reconnecting


@dataclass(frozen=True, slots=True)
class Stall:
    """The oldest call still waiting for the server, once it waited
    ``STALL_REPORT_AFTER`` seconds."""

    #: How long it has waited, in seconds.
    seconds: float
    #: Whether a stalled call's backend can be asked to cancel (CANCEL).
    cancellable: bool


class _Line:
    """One connection of a session and the lock that serialises its calls.

    Reconnecting while a call is running starts a new line; the running call
    keeps the old one (``abandoned``) and closes it once the driver returns.
    """

    __slots__ = ("abandoned", "backend", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.backend: Backend | None = None
        self.abandoned = False


class _Call(Generic[T]):
    """One call: its line, when it started running, and its outcome."""

    __slots__ = (
        "_settle_lock",
        "abandonable",
        "done",
        "error",
        "line",
        "result",
        "session",
        "started",
    )

    def __init__(self, session: Session, line: _Line, *, abandonable: bool = True) -> None:
        self.session = session
        self.line = line
        #: False for a write whose outcome the caller must learn (a commit):
        #: abandoning it would report a failure for what may still commit.
        self.abandonable = abandonable
        #: time.monotonic() when it got the line (None while queued).
        self.started: float | None = None
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._settle_lock = threading.Lock()

    def settle(self, result: T | None = None, error: BaseException | None = None) -> bool:
        """Give the caller its outcome; only the first settle counts."""
        with self._settle_lock:
            if self.done.is_set():
                return False
            self.result, self.error = result, error
            self.done.set()
            return True


class CallWatch:
    """The calls in flight on one connection's sessions (a session and its
    clones share one), for the stall report; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: set[_Call[Any]] = set()

    def add(self, call: _Call[Any]) -> None:
        with self._lock:
            self._calls.add(call)

    def discard(self, call: _Call[Any]) -> None:
        with self._lock:
            self._calls.discard(call)

    def _waiting(self, after: float | None) -> list[_Call[Any]]:
        """Calls running (not queued) for ``after`` seconds or more, still
        awaited by their caller, oldest first."""
        limit = STALL_REPORT_AFTER if after is None else after
        now = time.monotonic()
        with self._lock:
            calls = [
                c
                for c in self._calls
                if c.started is not None
                and not c.done.is_set()
                and not c.line.abandoned
                and now - c.started >= limit
            ]
        return sorted(calls, key=lambda c: c.started or 0.0)

    def stalled(self, after: float | None = None) -> Stall | None:
        """The stall to report: the oldest call waiting ``after`` seconds or
        more (default ``STALL_REPORT_AFTER``) for the server, or None."""
        calls = self._waiting(after)
        if not calls:
            return None
        started = calls[0].started or time.monotonic()
        cancellable = any(Capability.CANCEL in c.session.capabilities for c in calls)
        return Stall(seconds=time.monotonic() - started, cancellable=cancellable)

    def abandon_stalled(self, after: float | None = None, *, reconnecting: bool = False) -> int:
        """Stop waiting for every stalled call (see ``Session.abandon``); how
        many sessions had one."""
        sessions = {c.session for c in self._waiting(after)}
        for session in sessions:
            session.abandon(reconnecting=reconnecting)
        return len(sessions)

    def cancel_stalled(self, after: float | None = None, grace: float | None = None) -> int:
        """Ask the server to cancel every stalled call whose backend can
        (CANCEL), each in a daemon thread; a call the server has not ended
        ``grace`` seconds later (default ``CANCEL_GRACE``) is abandoned.
        Returns how many calls were asked. Never blocks."""
        calls = [c for c in self._waiting(after) if Capability.CANCEL in c.session.capabilities]
        wait = CANCEL_GRACE if grace is None else grace
        for call in calls:
            threading.Thread(
                target=_cancel_or_abandon,
                args=(call, wait),
                name="storescope-cancel",
                daemon=True,
            ).start()
        return len(calls)


_RECONNECTING = "reconnecting"


def _cancel_or_abandon(call: _Call[Any], grace: float) -> None:
    # The cancel itself may hang on a server that does not answer (it opens
    # a connection): it runs in a thread of its own, and the grace is
    # counted from when it was asked, not from when it returned.
    asked = threading.Thread(
        target=_cancel_quietly, args=(call.session,), name="storescope-cancel", daemon=True
    )
    asked.start()
    if not call.done.wait(grace) and call.line is call.session.current_line:
        call.session.abandon()


def _cancel_quietly(session: Session) -> None:
    try:
        session.cancel()
    except BackendError:
        # Nothing more to do: the call is abandoned after the grace anyway.
        return


class Session:
    """One backend connection, serialised by a lock; call only from threads."""

    def __init__(
        self, url: str, *, read_only: bool = False, watch: CallWatch | None = None
    ) -> None:
        self.url = url
        self.read_only = read_only
        self._line = _Line()
        # Guards replacing ``_line`` (reconnect, abandon), never held during a call.
        self._line_swap = threading.Lock()
        #: The calls in flight on this session and its clones (stall report).
        self.watch = watch if watch is not None else CallWatch()
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

    @property
    def current_line(self) -> object:
        """An identity of the connection calls go to now (changes on reconnect)."""
        return self._line

    def clone(self) -> Session:
        """A session with its own connection (for background work), watched
        with this one's calls."""
        return Session(self.url, read_only=self.read_only, watch=self.watch)

    def connect(self) -> ServerInfo:
        """(Re)connect and return the server's product and version; the old
        connection closes in the background. A call still running on it is
        abandoned (its caller gets ``CallAbandoned``)."""
        with self._line_swap:
            self._retire_line_locked(_RECONNECTING)
        return self._submit(lambda backend: backend.server_info(), reconnect=True)

    def call(self, fn: Callable[[Backend], T], *, abandonable: bool = True) -> T:
        """Run ``fn(backend)``, connecting first when not connected.

        ``fn`` runs in a daemon thread of its own while the caller waits (see
        the module docstring), so a call the server never answers can be
        abandoned. After ``ConnectionLost`` the backend is dropped, so the
        next call (or an explicit reconnect) starts from a fresh connection.

        ``abandonable=False`` for a write whose outcome matters (applying a
        change plan, a COMMIT): reconnecting still moves the session to a new
        connection, but this caller keeps waiting for the real outcome,
        because an abandoned commit may still commit and a retry would then
        apply the changes twice.
        """
        return self._submit(fn, abandonable=abandonable)

    def abandon(self, *, reconnecting: bool = False) -> None:
        """Stop waiting for what runs on this session now: its callers get
        ``CallAbandoned`` at once, the next call opens a new connection, and
        the old one is closed when the driver returns. From any thread.
        ``reconnecting``: the user is reconnecting (nothing more to report)."""
        with self._line_swap:
            self._retire_line_locked(_RECONNECTING if reconnecting else "it did not answer")

    def cancel(self) -> None:
        """Ask the server to stop the call running on this session, from any
        thread, without waiting for the lock that call holds (see
        ``Backend.cancel``). A no-op when not connected."""
        backend = self._line.backend
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
        _close_line_when_free(self._line)

    # -- calls ------------------------------------------------------------------------

    def _submit(
        self, fn: Callable[[Backend], T], *, reconnect: bool = False, abandonable: bool = True
    ) -> T:
        call: _Call[T] = _Call(self, self._line, abandonable=abandonable)
        self.watch.add(call)
        try:
            threading.Thread(
                target=self._run, args=(call, fn, reconnect), name="storescope-call", daemon=True
            ).start()
            call.done.wait()
        finally:
            self.watch.discard(call)
        if call.error is not None:
            raise call.error
        return cast(T, call.result)

    def _run(self, call: _Call[T], fn: Callable[[Backend], T], reconnect: bool) -> None:
        line = call.line
        with line.lock:
            if not call.done.is_set():  # not abandoned while queued
                call.started = time.monotonic()
                self._run_locked(call, line, fn, reconnect)

    def _run_locked(
        self, call: _Call[T], line: _Line, fn: Callable[[Backend], T], reconnect: bool
    ) -> None:
        backend = line.backend
        try:
            if backend is None or reconnect:
                if backend is not None:
                    line.backend = None
                    close_in_background(backend)
                backend = self._open(line)
            result = fn(backend)
        except ConnectionLost as e:
            if backend is not None and line.backend is backend:
                line.backend = None
                close_in_background(backend)
            call.settle(error=e)
        except BaseException as e:  # handed to the waiting caller, not lost
            call.settle(error=e)
        else:
            call.settle(result=result)

    def _open(self, line: _Line) -> Backend:
        backend = open_backend(self.url, read_only=self.read_only)
        backend.connect()
        line.backend = backend
        if line is self._line:
            self.page_size = backend.default_page_size
            self.capabilities = backend.capabilities
        return backend

    def _retire_line_locked(self, why: str) -> None:
        """Replace the line; its callers stop waiting and its connection is
        closed now if idle, else by the call holding it when that returns."""
        old, self._line = self._line, _Line()
        with self.watch._lock:
            calls = [c for c in self.watch._calls if c.line is old]
        old.abandoned = True
        calls = [c for c in calls if c.abandonable]  # the others learn their outcome
        started = [c.started for c in calls if c.started is not None]
        waited = f" after {time.monotonic() - min(started):.0f} s" if started else ""
        for call in calls:
            call.settle(
                error=CallAbandoned(
                    f"stopped waiting for the server{waited} ({why})",
                    reconnecting=why == _RECONNECTING,
                )
            )
        # Closed by whoever gets the lock: now if idle, else after the call
        # still holding it returns (a daemon thread waits for it).
        threading.Thread(
            target=_close_line_when_free, args=(old,), name="storescope-close", daemon=True
        ).start()
