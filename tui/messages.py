"""Messages workers post back to the UI (past-tense events; failures end in
``Failed``). Workers never touch widgets: they post one of these and the
handler, on the event loop, updates the screen.

Every failure is a ``WorkFailed``: the explorer reads it to track the
connection state and the App routes it to one notification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from typing import Any

    from storescope.backends.types import ChangePlan, Node, Page, Record, RecordSchema, ServerInfo


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Page ``index`` of the grid's source ``path`` (opened as ``token``),
    starting at ``cursor`` (the previous page's ``next_cursor``; ``None`` for
    page 0). A cursor belongs to its path: the request carries the path so a
    request handled late is never run against another table."""

    token: int
    index: int
    cursor: str | None
    limit: int
    path: tuple[str, ...] = ()


@dataclass
class WorkFailed(Message):
    """A worker failed; ``error`` is a ``BackendError`` or, for a bug, any exception.

    ``origin`` names the connection and ``secrets`` are what must not be
    shown of its URL; the explorer fills both in as the message bubbles past
    it, so the notification can say which one failed, and say it scrubbed.
    """

    error: BaseException
    origin: str = field(default="", init=False)
    secrets: tuple[str, ...] = field(default=(), init=False)


@dataclass
class Connected(Message):
    info: ServerInfo
    reconnected: bool = False


@dataclass
class ConnectFailed(WorkFailed):
    reconnecting: bool = False


@dataclass
class ChildrenLoaded(Message):
    path: tuple[str, ...]
    nodes: list[Node]
    token: int


@dataclass
class ChildrenFailed(WorkFailed):
    path: tuple[str, ...] = ()
    token: int = 0


@dataclass
class PageLoaded(Message):
    request: PageRequest
    page: Page


@dataclass
class PageFailed(WorkFailed):
    request: PageRequest | None = None


# -- modal screens a panel asks for --------------------------------------------
# Widgets never import screens (DESIGN.md's dependency direction): a panel
# that needs a modal posts one of these and the explorer pushes the screen,
# calling ``done`` with the user's answer.


@dataclass
class ConfirmRequested(Message):
    """Ask a yes/no question ("Terminate session 1234?"). ``danger`` styles
    the confirm button as destructive; Esc/n always answers False."""

    title: str
    message: str
    done: Callable[[bool], None]
    confirm: str = "OK"
    danger: bool = False


@dataclass
class PlanReviewRequested(Message):
    """Show a change plan (the exact statements and what each touches) and
    ask whether to run it; ``done(True)`` runs it."""

    plan: ChangePlan
    done: Callable[[bool], None]
    title: str = "Review changes"
    confirm: str = "Commit"


@dataclass
class TextRequested(Message):
    """Ask for one line of text (a file name, a filter...). ``done`` gets
    the text, or None when the user cancelled."""

    title: str
    done: Callable[[str | None], None]
    value: str = ""
    placeholder: str = ""


# -- records (DataPanel): the record view and the insert form ------------------


@dataclass
class RecordViewRequested(Message):
    """Show one whole ``record`` (from ``get``) with its ``schema`` (types
    next to names; None when unknown). ``staged`` are the record's staged
    field values. When ``read_only_reason`` is None, ``e`` edits the focused
    field: ``stage(field, value)`` stages it (``value`` the typed text, or
    None for NULL) and returns None, or why it could not."""

    record: Record
    schema: RecordSchema | None
    staged: dict[str, Any]
    stage: Callable[[str, Any], str | None]
    read_only_reason: str | None = None
    title: str = ""


@dataclass
class RecordFormRequested(Message):
    """Ask for a new record's fields (the insert form). ``done`` gets
    (field, value) pairs (typed text, None for NULL, ``DEFAULT``), or None
    when the user cancelled."""

    schema: RecordSchema
    done: Callable[[tuple[tuple[str, Any], ...] | None], None]
    title: str = "Insert a record"
