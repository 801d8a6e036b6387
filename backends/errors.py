"""The errors every backend raises.

Backends catch their driver's own base exception at the boundary, translate it
into one of these and re-raise with ``from e`` so the cause is kept. The UI and
the CLI only ever see these classes. ``title`` is a short user-facing heading
("Connection failed"); ``str(err)`` is the one-line message.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error a backend raises on purpose."""

    default_title = "Error"

    def __init__(self, message: str, title: str | None = None) -> None:
        # One line only: multi-line driver messages are folded so the CLI's
        # "one line on stderr" and the UI's notifications stay tidy.
        message = " ".join(str(message).split())
        super().__init__(message)
        self.message = message
        self.title = title or self.default_title

    def __str__(self) -> str:
        return self.message


class ConnectionFailed(BackendError):
    """Could not connect at all: bad host, refused, bad credentials, timeout."""

    default_title = "Connection failed"


class ConnectionLost(BackendError):
    """An established connection went away; reconnecting may help."""

    default_title = "Connection lost"


class QueryFailed(BackendError):
    """The server rejected a statement/command; the connection is fine.

    ``position`` is the 0-based character offset in the statement text where
    the server says the error is (PG's error position), ``None`` when it does
    not say. ``step`` is, for ``apply()``, the index of the change that failed.
    """

    default_title = "Query failed"

    def __init__(
        self,
        message: str,
        title: str | None = None,
        *,
        position: int | None = None,
        step: int | None = None,
    ) -> None:
        super().__init__(message, title)
        self.position = position
        self.step = step


class Cancelled(QueryFailed):
    """The running statement was cancelled on request (``cancel()``)."""

    default_title = "Cancelled"


class PermissionDenied(BackendError):
    default_title = "Permission denied"


class NotFound(BackendError):
    """A path (database, table, key, object...) does not exist."""

    default_title = "Not found"


class NotSupported(BackendError):
    """The backend or the URL does not support what was asked."""

    default_title = "Not supported"


class InvalidURL(NotSupported):
    """The connection URL itself is wrong (unknown scheme, a port or Redis
    database that is not a number, an unknown MongoDB option, bytes that are
    not UTF-8): bad usage, found before anything is sent (CLI exit status 2)."""

    default_title = "Invalid URL"


class ReadOnly(BackendError):
    """A write was refused because the connection is read-only."""

    default_title = "Read-only connection"
