"""The messages of the query panel's workers (posted from their threads,
handled on the event loop by the panel and its collaborators)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from storescope.backends.errors import BackendError, ConnectionFailed, ConnectionLost

if TYPE_CHECKING:
    from storescope.backends.language import QueryLanguage
    from storescope.backends.types import Explained, Page, Result, Statement, TransactionState
    from storescope.tui.messages import PageRequest
    from storescope.tui.widgets.query.completion import CompletionIndex

#: Errors that mean the panel's session lost its connection.
CONNECTION_ERRORS = (ConnectionLost, ConnectionFailed)


@dataclass
class SessionReady(Message):
    language: QueryLanguage
    page_size: int


@dataclass
class SessionCallFailed(Message):
    """A call on the panel's own session failed (reported on the event loop:
    a connection error also marks the session lost)."""

    error: BackendError


@dataclass
class TransactionCommandFailed(Message):
    error: BackendError


@dataclass
class CompletionsLoaded(Message):
    index: CompletionIndex


@dataclass
class StatementStarted(Message):
    number: int
    statement: Statement
    offset: int


@dataclass
class StatementFinished(Message):
    number: int
    result: Result
    state: TransactionState | None


@dataclass
class StatementFailed(Message):
    number: int
    error: BackendError
    state: TransactionState | None


@dataclass
class ConfirmNeeded(Message):
    """The run (or a measured explain) holds statements to ask about first."""

    statements: list[Statement]
    offset: int
    manual: bool
    explain: bool = False


@dataclass
class RunEnded(Message):
    state: TransactionState | None
    note: str = ""


@dataclass
class ResultPageLoaded(Message):
    number: int
    request: PageRequest
    page: Page


@dataclass
class ResultPageFailed(Message):
    number: int
    request: PageRequest
    error: BackendError


@dataclass
class ExplainReady(Message):
    number: int
    explained: Explained


@dataclass
class TransactionChanged(Message):
    state: TransactionState | None
    note: str = ""
    reconnected: bool = False


@dataclass
class SessionLost(Message):
    """A call on the panel's own session failed with a connection error:
    whatever transaction was open there is gone."""
