"""QueryPanel (F3): an editor for the store's query language and a tab per result.

Store-neutral: everything goes through the QUERY contract (``split``,
``execute``, ``fetch``, ``release``, ``completions``) and what the
capabilities add (CANCEL, TRANSACTIONS, EXPLAIN). Every word and rule of the
language (its name, file extension, highlighting, completion, formatter, the
text "open in query" writes, the explain and transaction words, a result
tab's title) is the backend's ``QueryLanguage`` (``backends.language``): the
keys a description leaves out are hidden.

**Connections.** Statements run on the panel's own session (a clone of the
explorer's), so SET, temporary tables and a manual transaction live there and
never on the connection the data grid browses with. Completion names are
loaded once (and after a reconnect) on a second clone that is closed after.

**Running.** F5 (or ctrl+j, or ctrl+enter where the terminal sends it) runs
the selection, or else the statement under the cursor; F8 runs every
statement. The text is split by the backend; each statement gets a result tab
(the newest selected, at most ``max_tabs``). A destructive statement asks
first and a refusal stops the run, as does an error. Rows stream into a
``DataGrid``: page 0 is the Result's first page (kept), later pages come from
``fetch`` in a worker. A result not paged for ``release_after`` seconds is
released on the server (the backend re-runs a read statement if it is paged
again) unless a transaction is open. Closing a tab (ctrl+w) releases it too.

**Cancel.** Esc or ctrl+c while a statement runs calls ``Session.cancel()``
from a worker of another group (it does not wait for the session's lock); the
running statement ends as "Cancelled" and no further statement of the run
starts.

**Errors** show in their tab with the server's message, and the error
position is selected in the editor. Only connection errors are reported as
``WorkFailed`` (the explorer tracks the connection from them); a rejected
statement is the user's business, shown where it happened.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import work
from textual.actions import parse as parse_action
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane
from textual.widgets.text_area import LanguageDoesNotExist
from textual.worker import Worker, WorkerState, get_current_worker

from storescope import backends
from storescope.backends.base import Capability
from storescope.backends.errors import (
    BackendError,
    Cancelled,
    ConnectionFailed,
    ConnectionLost,
    QueryFailed,
)
from storescope.backends.language import PLAIN, QueryLanguage, TransactionWords
from storescope.backends.types import StatementKind, TransactionState
from storescope.tui.background import call_in_background
from storescope.tui.messages import ConfirmRequested, PageRequest, TextRequested, WorkFailed
from storescope.tui.sanitize import sanitize, shown_path
from storescope.tui.widgets import query_results
from storescope.tui.widgets.completion import CompletionIndex, CompletionList
from storescope.tui.widgets.data_grid import DataGrid
from storescope.tui.widgets.panel import Panel, PanelContext
from storescope.tui.widgets.query_editor import QueryEditor
from storescope.tui.widgets.query_history import History, HistoryPicker, history_key
from storescope.tui.widgets.query_results import ResultState, ResultView, one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import ComposeResult
    from textual.timer import Timer

    from storescope.backends.base import Backend
    from storescope.backends.types import Explained, Page, Result, Statement
    from storescope.tui.session import Session

#: Largest file opened into the editor.
MAX_FILE_BYTES = 5 * 1024 * 1024
_CONNECTION_ERRORS = (ConnectionLost, ConnectionFailed)


# -- messages the workers post -------------------------------------------------------


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


def mode_text(state: TransactionState | None, manual: bool, words: TransactionWords | None) -> str:
    """The status line's mode, in the store's transaction words."""
    if state is None or words is None:
        return ""
    if state is TransactionState.OPEN:
        return f"{words.begin} · {words.open}"
    if state is TransactionState.FAILED:
        return f"{words.failed} · {words.rollback}"
    return words.manual if manual else words.autocommit


class HintLine(Widget):
    """One line: a lead (the language's name and the file open) and key hints; hints that do not
    fit the width are left out, the least useful first."""

    DEFAULT_CSS: ClassVar[str] = "HintLine { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lead = ""
        #: (text, rank): hints in the order shown; the highest rank goes first.
        self.hints: list[tuple[str, int]] = []

    def show(self, lead: str, hints: list[tuple[str, int]] | None = None) -> None:
        self.lead = lead
        self.hints = hints or []
        self.refresh()

    @property
    def text(self) -> str:
        """What fits the current width."""
        width = self.content_size.width or 10_000
        kept = list(self.hints)
        while True:
            line = " · ".join([self.lead, *(h for h, _ in kept)])
            if cell_len(line) <= width or not kept:
                break
            kept.remove(max(kept, key=lambda h: h[1]))
        return line if cell_len(line) <= width else line[: max(0, width - 1)] + "…"

    def render(self) -> Content:
        return Content(self.text)


class QueryPanel(Panel):
    """See module docstring."""

    DEFAULT_CSS: ClassVar[str] = """
    QueryPanel { layout: vertical; }
    QueryPanel > #query-editor { height: 1fr; min-height: 4; border: none; }
    QueryPanel > #query-results { height: 2fr; display: none; }
    QueryPanel.-has-results > #query-results { display: block; }
    QueryPanel > #query-results > ContentSwitcher { height: 1fr; }
    QueryPanel > #query-results TabPane { height: 1fr; padding: 0; }
    QueryPanel > #query-info { height: 1; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5,ctrl+j,ctrl+enter", "run('cursor')", "Run"),
        Binding("f8", "run('all')", "Run all"),
        Binding("ctrl+c", "cancel", "Cancel", show=False, priority=False),
        Binding("escape", "escape", "Cancel/editor", show=False),
        # The labels of keys that depend on the language are the panel's
        # own, from its description (``_label_keys``).
        Binding("f7", "explain(False)", "Explain"),
        Binding("shift+f7", "explain(True)", "Explain and measure", show=False),
        Binding("ctrl+t", "transaction", "Transaction mode", show=False),
        Binding("ctrl+g", "history", "History"),
        Binding("ctrl+o", "open_file", "Open file", show=False),
        Binding("ctrl+s", "save_file", "Save file", show=False),
        Binding("ctrl+f", "format", "Format", show=False),
        Binding("ctrl+l", "toggle_focus", "Editor/results", show=False),
        # ctrl+w deletes a word in the editor: it closes a tab from the results.
        Binding("ctrl+w", "close_result", "Close result (in results)", show=False),
        Binding("ctrl+pageup", "switch_result(-1)", "Previous result", show=False),
        Binding("ctrl+pagedown", "switch_result(1)", "Next result", show=False),
        Binding("ctrl+b", "open_in_query", "Query current table", show=False),
    ]

    #: Result tabs kept (the oldest is closed and released beyond).
    max_tabs: ClassVar[int] = 10
    #: Seconds without a fetch before a result's server state is released.
    release_after: ClassVar[float] = 5.0

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.session: Session | None = None
        self.editor = QueryEditor(id="query-editor")
        self.popup = CompletionList(id="query-completion")
        self.picker = HistoryPicker(id="query-history")
        self.info = HintLine(id="query-info")
        self.results = TabbedContent(id="query-results")
        self.editor.popup = self.popup
        self.editor.interrupt = self._interrupt
        self.states: dict[int, ResultState] = {}
        self.views: dict[int, ResultView] = {}
        self._numbers = itertools.count(1)
        self.running = False
        self._run_started = 0.0
        self._running_number: int | None = None
        self._ticker: Timer | None = None
        self._stop = threading.Event()
        self.manual = False
        #: The store's language, as its class describes it until the
        #: connected backend says (``SessionReady``).
        self.language = _described(context.session.url)
        self.tx_state: TransactionState | None = (
            TransactionState.IDLE if self._transactions else None
        )
        self.page_size = context.session.page_size
        self.history = History(history_key(context.session.display_url))
        self.file_path = ""
        #: The editor's text when last loaded from or saved to ``file_path``.
        self._file_text = ""
        self._completions_loaded = False
        #: The panel's session failed with a connection error and no call
        #: has succeeded on it since (only then does ctrl+r reconnect it).
        self.session_lost = False

    def compose(self) -> ComposeResult:
        yield self.editor
        yield self.info
        yield self.results
        yield self.popup
        yield self.picker

    def on_mount(self) -> None:
        self._apply_language(self.language)
        self.set_status(location="query", window="", mode=self._mode())

    @property
    def _transactions(self) -> bool:
        """Transactions are offered: the capability, and words for them."""
        return (
            Capability.TRANSACTIONS in self.context.capabilities
            and self.language.transactions is not None
        )

    def _mode(self) -> str:
        return mode_text(self.tx_state, self.manual, self.language.transactions)

    def _apply_language(self, language: QueryLanguage) -> None:
        self.language = language
        if not self._transactions:
            self.tx_state = None
        self.editor.rules = language.completion
        highlight = language.highlight
        self.editor.language = None
        if highlight and highlight in self.editor.available_languages:
            try:
                self.editor.language = highlight
            except LanguageDoesNotExist:
                # TextArea knows the name but its grammar is not installed.
                self.editor.language = None
        self._label_keys()
        self._show_info()

    @property
    def _file_kind(self) -> str:
        """The files the editor opens, as its dialogs name them."""
        extension = self.language.extension
        return f"{extension} file" if extension else "file"

    def _label_keys(self) -> None:
        """Name the language's keys in its words: its file extension, its name."""
        language = self.language
        labels = {
            "open_file": f"Open {language.files}",
            "save_file": f"Save {language.files}",
            "format": f"Format {language.name}",
            "open_in_query": language.open_label,
            "explain(False)": language.explain.label,
            "explain(True)": language.explain.analyze_label or "",
        }
        keys = self._bindings.key_to_bindings
        for key, bindings in keys.items():
            keys[key] = [
                replace(b, description=labels[b.action]) if b.action in labels else b
                for b in bindings
            ]
        self.refresh_bindings()

    # -- hooks ------------------------------------------------------------------------

    def panel_shown(self) -> None:
        if self.session is None:
            self.session = self.context.session.clone()
            self._connect()
        if not self._completions_loaded:
            self._completions_loaded = True
            self._load_completions(self.context.session.clone())

    def focus_main(self) -> None:
        self.editor.focus()

    def reconnected(self) -> None:
        """ctrl+r: the explorer's connection is back. The panel's own session
        is left alone (with its transaction, SET and temporary tables) unless
        a call on it failed with a connection error; that loss was reported
        when it happened."""
        if self.session is None:
            return
        if self.session_lost and not self.running:
            self._reconnect()
        self._completions_loaded = True
        self._load_completions(self.context.session.clone())

    def unsaved_work(self) -> str | None:
        if self.tx_state in (TransactionState.OPEN, TransactionState.FAILED):
            return "an open transaction"
        if self.file_path and self.editor.text != self._file_text:
            return f"unsaved changes to {Path(self.file_path).name}"
        return None

    def close(self) -> list[threading.Thread]:
        self._stop.set()
        return [self.session.close()] if self.session is not None else []

    # -- connection and completion --------------------------------------------------------

    def _connect(self) -> None:
        def ready(b: Backend) -> SessionReady:
            return SessionReady(b.language, b.default_page_size)

        call_in_background(
            self,
            ready,
            done=lambda message: message,
            failed=SessionCallFailed,
            group="connects",
            session=self.session,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="connects")
    def _reconnect(self) -> None:
        session = self.session
        assert session is not None
        try:
            session.connect()
        except BackendError as e:
            self._failed(e)
            return
        self.post_message(TransactionChanged(self._state_of(session), reconnected=True))

    def _failed(self, error: BackendError) -> None:
        """From a worker: report ``error``; a connection error also marks the
        session lost (posted first, before any state read reconnects it)."""
        if isinstance(error, _CONNECTION_ERRORS):
            self.post_message(SessionLost())
        self.post_message(WorkFailed(error))

    def on_session_call_failed(self, event: SessionCallFailed) -> None:
        event.stop()
        if isinstance(event.error, _CONNECTION_ERRORS):
            self._session_lost()
        self.post_message(WorkFailed(event.error))

    def on_session_lost(self, event: SessionLost) -> None:
        event.stop()
        self._session_lost()

    def _session_lost(self) -> None:
        self.session_lost = True
        if self.tx_state in (TransactionState.OPEN, TransactionState.FAILED):
            self.tx_state = TransactionState.IDLE
            self.set_status(mode=self._mode())
            self.notify(
                "The query connection was lost with a transaction open: the server rolled"
                " it back. Nothing of it was committed.",
                title="Transaction lost",
                severity="error",
                timeout=10,
            )

    def on_session_ready(self, event: SessionReady) -> None:
        event.stop()
        self.session_lost = False
        self.page_size = event.page_size
        if event.language != self.language:
            self._apply_language(event.language)
            self.set_status(mode=self._mode())

    def _load_completions(self, session: Session) -> None:
        """Build the completion index from the names ``session`` (a clone,
        closed after) lists, in the worker; completion is a convenience, so
        a failure leaves the editor without it."""
        rules = self.language.completion

        def loaded(names: list[tuple[str, str]]) -> CompletionsLoaded:
            session.close()
            return CompletionsLoaded(CompletionIndex.build(names, rules.keywords, rules.split_name))

        def failed(error: BackendError) -> None:
            session.close()

        call_in_background(
            self,
            lambda b: b.completions(),
            done=loaded,
            failed=failed,
            group="completions",
            session=session,
        )

    def on_completions_loaded(self, event: CompletionsLoaded) -> None:
        event.stop()
        self.editor.index = event.index

    # -- running ----------------------------------------------------------------------

    def action_run(self, what: str) -> None:
        if self.running or self.session is None:
            self.app.bell()
            return
        text = self.editor.text
        selection = self.editor.selection
        offset = 0
        cursor: int | None = None
        if what == "cursor":
            start, end = sorted((selection.start, selection.end))
            if start != end:
                offset = self.editor.offset_of(start)
                text = text[offset : self.editor.offset_of(end)]
            else:
                cursor = self.editor.offset_of(self.editor.cursor_location)
        if not text.strip():
            self.app.bell()
            return
        self.popup.hide()
        self._start_running()
        self._run(text, offset, cursor, self.manual)

    def _start_running(self) -> None:
        self.running = True
        self._stop.clear()
        self._run_started = time.monotonic()
        self._ticker = self.set_interval(0.1, self._tick)
        self._show_info()

    def _tick(self) -> None:
        number = self._running_number
        if number is not None and number in self.views:
            state = self.states[number]
            self.views[number].show_running(time.monotonic() - state.started)
        self._show_info()

    def _show_info(self) -> None:
        if self.running:
            elapsed = query_results.elapsed_text(time.monotonic() - self._run_started)
            self.info.show(f"⏳ running {elapsed} · esc or ^c cancels")
            return
        lead = self.language.name
        if self.file_path:
            lead += " · " + Path(self.file_path).name
        hints: list[tuple[str, int]] = []
        if self._transactions:
            hints.append(("^t transaction", 1))
        hints += [("^o open", 3), ("^s save", 2)]
        if self.language.format is not None:
            hints.append(("^f format", 4))
        hints.append(("^l results", 0))
        self.info.show(lead, hints)

    @work(thread=True, exclusive=True, exit_on_error=False, group="statements")
    def _run(
        self,
        text: str,
        offset: int,
        cursor: int | None,
        manual: bool,
        chosen: list[Statement] | None = None,
    ) -> None:
        """Run the statements of ``text`` (the one under ``cursor`` when
        given). A run holding a destructive statement stops before running
        anything and asks (ConfirmNeeded); the answer runs it again with the
        statements ``chosen``."""
        session = self.session
        assert session is not None
        state: TransactionState | None = None
        if chosen is None:
            try:
                statements = session.call(lambda b: b.split(text))
            except BackendError as e:
                if isinstance(e, _CONNECTION_ERRORS):
                    self.post_message(SessionLost())
                self._report_failure(0, e, None)
                self.post_message(RunEnded(None))
                return
            if cursor is not None:
                statements = _under_cursor(statements, cursor)
            if not statements:
                self.post_message(RunEnded(None, "nothing to run here"))
                return
            if any(stmt.destructive for stmt in statements):
                self.post_message(ConfirmNeeded(statements, offset, manual))
                return
        else:
            statements = chosen
        transactions = self._transactions
        for stmt in statements:
            if self._stop.is_set():
                break
            number = next(self._numbers)
            self.post_message(StatementStarted(number, stmt, offset))
            try:
                if (
                    manual
                    and transactions
                    and stmt.kind is not StatementKind.TRANSACTION
                    and session.call(lambda b: b.transaction_state()) is TransactionState.IDLE
                ):
                    session.call(lambda b: b.begin())
                result = session.call(_executor(stmt.text, self.page_size))
            except BackendError as e:
                if isinstance(e, _CONNECTION_ERRORS):
                    self.post_message(SessionLost())
                state = self._state_of(session) if transactions else None
                self._report_failure(number, e, state)
                break
            state = self._state_of(session) if transactions else None
            self.post_message(StatementFinished(number, result, state))
        self.post_message(RunEnded(state))

    def on_confirm_needed(self, event: ConfirmNeeded) -> None:
        event.stop()
        statements = event.statements
        if event.explain:
            words = self.language.explain
            title = words.analyze_title
            message = words.analyze_warning + "\n\n" + one_line(statements[0].text, 200)
            confirm = "Run it"
        else:
            risky = [s for s in statements if s.destructive]
            title = "Run a destructive statement?"
            lines = "\n".join(one_line(s.text, 100) for s in risky[:5])
            rest = f"\n(and {len(risky) - 5} more)" if len(risky) > 5 else ""
            message = f"{lines}{rest}\n\nThis changes or removes data."
            first = statements.index(risky[0])
            tx_words = self.language.transactions
            begun = tx_words is not None and any(tx_words.begins(s) for s in statements[:first])
            if self.tx_state is not TransactionState.OPEN and not begun:
                message += " It runs outside a transaction and cannot be undone."
            confirm = "Run it" if len(statements) == 1 else f"Run all {len(statements)}"

        self._end_run()  # not running while the question is open

        def answered(yes: bool) -> None:
            if not yes:
                self.notify("Not run: nothing was changed.", timeout=4)
                return
            self._start_running()
            if event.explain:
                self._explain("", 0, True, statements[0])
            else:
                self._run("", event.offset, None, event.manual, statements)

        self.post_message(ConfirmRequested(title, message, answered, confirm=confirm, danger=True))

    def _report_failure(self, number: int, error: BackendError, state: Any) -> None:
        self.post_message(StatementFailed(number, error, state))
        if isinstance(error, _CONNECTION_ERRORS):
            self.post_message(WorkFailed(error))

    @staticmethod
    def _state_of(session: Session) -> TransactionState | None:
        if Capability.TRANSACTIONS not in session.capabilities:
            return None
        try:
            return session.call(lambda b: b.transaction_state())
        except BackendError:
            return None

    async def on_statement_started(self, event: StatementStarted) -> None:
        event.stop()
        state = ResultState(event.number, event.statement, event.offset, started=time.monotonic())
        self.states[event.number] = state
        self._running_number = event.number
        self.history.append(event.statement.text)
        await self._add_tab(state, kind=self.language.title_of(event.statement))
        self.views[event.number].show_running(0.0)

    async def _add_tab(self, state: ResultState, *, kind: str) -> None:
        view = ResultView(state, id=f"view-{state.number}")
        self.views[state.number] = view
        view.grid.summary_sink = lambda summary, s=state: self._summary_changed(s, summary)
        self.add_class("-has-results")
        title = Content(f"{state.number} {sanitize(kind)}")
        await self.results.add_pane(TabPane(title, view, id=state.tab_id))
        self.results.active = state.tab_id
        while len(self.states) > self.max_tabs:
            await self._close(min(self.states))

    def on_statement_finished(self, event: StatementFinished) -> None:
        event.stop()
        state = self.states.get(event.number)
        if state is None:
            self._release(event.result.handle)
            return
        result = event.result
        state.result = result
        state.finished = True
        from storescope.backends.types import Page

        state.first_page = Page(result.columns, result.rows, result.next_cursor)
        view = self.views[event.number]
        view.show()
        if result.columns:
            # Once laid out: the grid's row counter needs its height.
            self.call_after_refresh(
                view.grid.open, ("query", str(state.number)), page_size=self.page_size
            )
        self._touch(state)
        self._transaction(event.state)

    def on_statement_failed(self, event: StatementFailed) -> None:
        event.stop()
        error = event.error
        state = self.states.get(event.number)
        self._transaction(event.state)
        title, message = self.context.describe(error)
        if state is None:
            self.notify(message, title=title, severity="error", markup=False)
            return
        state.finished = True
        state.cancelled = isinstance(error, Cancelled)
        state.error = None if state.cancelled else message
        state.error_title = title
        self.views[event.number].show()
        if isinstance(error, QueryFailed) and error.position is not None and not state.cancelled:
            self.editor.select_word_at(state.offset + state.statement.start + error.position)
            self.editor.focus()

    def on_run_ended(self, event: RunEnded) -> None:
        event.stop()
        self._end_run()
        self._transaction(event.state)
        if event.note:
            self.notify(event.note, timeout=3, markup=False)

    def _end_run(self) -> None:
        self.running = False
        self._running_number = None
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self._show_info()

    def _transaction(self, state: TransactionState | None) -> None:
        if state is None or self.tx_state is None:
            return
        self.session_lost = False  # the state was read: the session works
        self.tx_state = state
        self.set_status(mode=self._mode())

    # -- cancel -----------------------------------------------------------------------

    def _interrupt(self, key: str) -> bool:
        if not self.running:
            return False
        self.action_cancel()
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "close_result":
            return not self.editor.has_focus  # there ctrl+w deletes a word
        return self._offered(action, parameters)

    def _offered(self, action: str, parameters: tuple[object, ...]) -> bool:
        """Whether this store has the key at all: its capabilities and its
        language's description say."""
        caps = self.context.capabilities
        if action == "explain":
            analyze = bool(parameters and parameters[0])
            if analyze and self.language.explain.analyze_label is None:
                return False
            return Capability.EXPLAIN in caps
        if action == "transaction":
            return self._transactions
        if action == "format":
            return self.language.format is not None
        if action == "open_in_query":
            return self.language.open_template is not None
        return True

    def key_bindings(self) -> list[Binding]:
        """The keys this store offers here, labelled in its language's words
        (for a keys help of this connection)."""
        out: list[Binding] = []
        for found in self._bindings.key_to_bindings.values():
            for binding in found:
                _, name, parameters = parse_action(binding.action)
                if self._offered(name, parameters) and binding not in out:
                    out.append(binding)
        return out

    def action_cancel(self) -> None:
        if not self.running or self.session is None:
            return
        self._stop.set()
        self._cancel(self.session)

    def action_escape(self) -> None:
        if self.running:
            self.action_cancel()
        elif self.popup.display:
            self.popup.hide()
        else:
            self.editor.focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="cancels")
    def _cancel(self, session: Session) -> None:
        try:
            session.cancel()
        except BackendError as e:
            self.post_message(WorkFailed(e))

    # -- result pages -----------------------------------------------------------------

    def _state_of_grid(self, grid: DataGrid) -> ResultState | None:
        for number, view in self.views.items():
            if view.grid is grid:
                return self.states.get(number)
        return None

    def on_data_grid_page_requested(self, event: DataGrid.PageRequested) -> None:
        event.stop()
        state = self._state_of_grid(event.grid)
        request = event.request
        if state is None or request.token != event.grid.token:
            return
        if request.index == 0 or request.cursor is None:
            if state.first_page is not None:
                event.grid.add_page(request, state.first_page)
            return
        self._touch(state)
        self.run_worker(
            lambda: self._fetch(state.number, request),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"result-pages-{state.number}",
        )

    def _fetch(self, number: int, request: PageRequest) -> None:
        session = self.session
        assert session is not None and request.cursor is not None
        cursor = request.cursor
        worker = get_current_worker()
        try:
            page = session.call(lambda b: b.fetch(cursor, limit=request.limit))
        except BackendError as e:
            if not worker.is_cancelled:
                self.post_message(ResultPageFailed(number, request, e))
            if isinstance(e, _CONNECTION_ERRORS):
                self._failed(e)
            return
        if not worker.is_cancelled:
            self.post_message(ResultPageLoaded(number, request, page))

    def on_result_page_loaded(self, event: ResultPageLoaded) -> None:
        event.stop()
        view = self.views.get(event.number)
        if view is not None:
            view.grid.add_page(event.request, event.page)
            self._touch(self.states[event.number])

    def on_result_page_failed(self, event: ResultPageFailed) -> None:
        event.stop()
        view = self.views.get(event.number)
        if view is not None:
            view.grid.page_failed(event.request, self.context.describe(event.error)[1])

    def on_data_grid_window_moved(self, event: DataGrid.WindowMoved) -> None:
        event.stop()

    def _summary_changed(self, state: ResultState, summary: str) -> None:
        view = self.views.get(state.number)
        if view is None:
            return
        if summary == state.summary:
            return
        state.summary = summary
        if view is not None and state.result is not None:
            view.show()
        if self.results.active == state.tab_id:
            self.set_status(location=f"result {state.number}", window=summary)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        pane_id = event.pane.id or ""
        number = int(pane_id.rpartition("-")[2]) if pane_id.startswith("result-") else None
        state = self.states.get(number) if number is not None else None
        if state is not None:
            # A grid filled while its tab was hidden recounts its window when
            # it is laid out (DataGrid recounts on resize).
            self.set_status(location=f"result {state.number}", window=state.summary)

    def _touch(self, state: ResultState) -> None:
        """A result was paged: release its server state after a quiet while."""
        if state.release_timer is not None:
            state.release_timer.stop()
            state.release_timer = None
        if state.handle is not None:
            state.release_timer = self.set_timer(
                self.release_after, lambda s=state: self._idle_release(s)
            )

    def _idle_release(self, state: ResultState) -> None:
        state.release_timer = None
        if self.tx_state not in (None, TransactionState.IDLE) or self.manual:
            return  # a cursor inside the user's transaction: released on close
        if self.running:
            self._touch(state)  # the session is busy: try again later
            return
        state.released = True
        self._release(state.handle)

    def _release(self, handle: str | None) -> None:
        session = self.session
        if handle is None or session is None:
            return

        call_in_background(
            self,
            lambda b: b.release(handle),
            done=lambda _: None,
            # Only a lost connection is news: a result that is gone is gone.
            failed=lambda e: SessionCallFailed(e) if isinstance(e, _CONNECTION_ERRORS) else None,
            group=f"releases-{handle}",
            session=session,
        )

    # -- tabs -------------------------------------------------------------------------

    async def _close(self, number: int) -> None:
        state = self.states.pop(number, None)
        view = self.views.pop(number, None)
        if state is None:
            return
        if state.release_timer is not None:
            state.release_timer.stop()
        if not state.released and number != self._running_number:
            self._release(state.handle)
        await self.results.remove_pane(state.tab_id)
        if view is not None and not self.states:
            self.remove_class("-has-results")
            self.set_status(location="query", window="")

    async def action_close_result(self) -> None:
        pane = self.results.active_pane
        if pane is None or pane.id is None or not pane.id.startswith("result-"):
            return
        number = int(pane.id.rpartition("-")[2])
        if number == self._running_number:
            self.app.bell()
            return
        await self._close(number)
        if not self.states:
            self.editor.focus()

    def action_switch_result(self, step: int) -> None:
        ids = [s.tab_id for s in sorted(self.states.values(), key=lambda s: s.number)]
        if not ids:
            return
        current = self.results.active
        index = ids.index(current) if current in ids else 0
        self.results.active = ids[(index + step) % len(ids)]

    def action_toggle_focus(self) -> None:
        if self.editor.has_focus:
            pane = self.results.active_pane
            if pane is None:
                return
            number = int((pane.id or "-0").rpartition("-")[2])
            view = self.views.get(number)
            target: Widget | None = None
            if view is not None:
                target = view.grid if view.grid.display else None
            if target is not None:
                target.focus()
        else:
            self.editor.focus()

    # -- transactions -----------------------------------------------------------------

    def action_transaction(self) -> None:
        if self.session is None or self.running:
            self.app.bell()
            return
        if not self.manual:
            self.manual = True
            self._transaction_command("begin")
            return
        if self.tx_state is TransactionState.IDLE:
            self.manual = False
            self.set_status(mode=self._mode())
            return

        def answered(commit: bool) -> None:
            if commit:
                self.manual = False
                self._transaction_command("commit")

        words = self.language.transactions
        undo = words.rollback if words is not None else "it"
        self.post_message(
            ConfirmRequested(
                "Leave manual transaction mode",
                f"A transaction is open. Commit it? (No keeps it open: type {undo} to undo it.)",
                answered,
                confirm="Commit",
            )
        )

    def _transaction_command(self, command: str) -> None:
        """Begin (unless one is open) or commit, then read where the session
        stands. Both outcomes are posted even when a newer command replaced
        this one: a commit's outcome must be heard."""

        def begin(b: Backend) -> TransactionState:
            if b.transaction_state() is TransactionState.IDLE:
                b.begin()
            return b.transaction_state()

        def commit(b: Backend) -> TransactionState:
            b.commit()
            return b.transaction_state()

        committing = command == "commit"
        note = "committed" if committing else ""
        call_in_background(
            self,
            commit if committing else begin,
            done=lambda state: TransactionChanged(state, note),
            failed=TransactionCommandFailed,
            group="transactions",
            session=self.session,
            abandonable=not committing,
            post_when_cancelled=True,
        )

    def on_transaction_command_failed(self, event: TransactionCommandFailed) -> None:
        """Say why (a lost connection is reported as such), then read where
        the session stands now."""
        event.stop()
        error = event.error
        if isinstance(error, _CONNECTION_ERRORS):
            self._session_lost()
            self.post_message(WorkFailed(error))
        else:
            self.notify(str(error), timeout=4, markup=False)
        call_in_background(
            self,
            lambda b: b.transaction_state(),
            done=TransactionChanged,
            failed=lambda e: None,
            group="transactions",
            session=self.session,
            post_when_cancelled=True,
        )

    def on_transaction_changed(self, event: TransactionChanged) -> None:
        event.stop()
        if event.reconnected:
            self.session_lost = False
        if event.state is not None and self.tx_state is not None:
            self.session_lost = False
            self.tx_state = event.state
        self.set_status(mode=self._mode())
        if event.note:
            self.notify(event.note, timeout=4, markup=False)

    # -- explain ----------------------------------------------------------------------

    def action_explain(self, analyze: bool) -> None:
        if self.running or self.session is None:
            self.app.bell()
            return
        text = self.editor.text
        cursor = self.editor.offset_of(self.editor.cursor_location)
        if not text.strip():
            self.app.bell()
            return
        self._start_running()
        self._explain(text, cursor, analyze)

    @work(thread=True, exclusive=True, exit_on_error=False, group="statements")
    def _explain(
        self, text: str, cursor: int, analyze: bool, chosen: Statement | None = None
    ) -> None:
        """EXPLAIN the statement under ``cursor``; with ``analyze`` a
        statement that writes asks first (ConfirmNeeded) and comes back as
        ``chosen``."""
        session = self.session
        assert session is not None
        if chosen is None:
            try:
                statements = _under_cursor(session.call(lambda b: b.split(text)), cursor)
            except BackendError as e:
                if isinstance(e, _CONNECTION_ERRORS):
                    self.post_message(SessionLost())
                self._report_failure(0, e, None)
                self.post_message(RunEnded(None))
                return
            if not statements:
                self.post_message(RunEnded(None, "nothing to explain here"))
                return
            stmt = statements[0]
            runs = analyze and self.language.explain.analyze_runs
            if runs and stmt.kind in (StatementKind.WRITE, StatementKind.DDL):
                self.post_message(ConfirmNeeded([stmt], 0, False, explain=True))
                return
        else:
            stmt = chosen
        number = next(self._numbers)
        self.post_message(StatementStarted(number, stmt, 0))
        try:
            explained = session.call(
                lambda b: b.explain(stmt.text, analyze=analyze, buffers=analyze)
            )
        except BackendError as e:
            if isinstance(e, _CONNECTION_ERRORS):
                self.post_message(SessionLost())
            state = self._state_of(session)
            self._report_failure(number, e, state)
            self.post_message(RunEnded(state))
            return
        self.post_message(ExplainReady(number, explained))
        self.post_message(RunEnded(self._state_of(session)))

    async def on_explain_ready(self, event: ExplainReady) -> None:
        event.stop()
        view = self.views.get(event.number)
        if view is None:
            return
        # Finished before the plan is mounted: the running ticker must not
        # write its label over the plan's header while the mount is awaited.
        view.state.finished = True
        explained = event.explained
        words = self.language.explain
        view.header.update(
            (words.analyze_title if explained.analyzed else words.title)
            + (
                f" · execution {explained.execution_ms:.1f} ms"
                if explained.execution_ms is not None
                else ""
            )
        )
        await view.mount(_explain_widget(explained, event.number))

    # -- history ----------------------------------------------------------------------

    def action_history(self) -> None:
        self.popup.hide()
        self.picker.open(self.history)

    def on_history_picker_chosen(self, event: HistoryPicker.Chosen) -> None:
        event.stop()
        if event.statement is not None:
            self._put_text(event.statement)
        self.editor.focus()

    def _put_text(self, text: str) -> None:
        """Replace the editor's text (undoable with ctrl+z)."""
        self.editor.replace(text, (0, 0), self.editor.document.end)
        self.editor.move_cursor(self.editor.document.end)

    # -- files ------------------------------------------------------------------------

    def action_open_file(self) -> None:
        self.post_message(
            TextRequested(
                f"Open a {self._file_kind}",
                self.open_file,
                value=self.file_path,
                placeholder="path",
            )
        )

    def open_file(self, path: str | None) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        try:
            if target.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.notify(
                f"{path}: {_os_message(e)}", title="Could not open", severity="error", markup=False
            )
            return
        self.file_path = str(target)
        self._put_text(text)
        self._file_text = self.editor.text
        self.editor.move_cursor((0, 0))
        self._show_info()

    def action_save_file(self) -> None:
        self.post_message(
            TextRequested(
                f"Save the editor to a {self._file_kind}",
                self.save_file,
                value=self.file_path,
                placeholder="path",
            )
        )

    def save_file(self, path: str | None) -> None:
        """Save the editor to ``path``; an existing file other than the one
        this editor was loaded from or saved to is overwritten only when the
        user says so."""
        if not path:
            return
        target = Path(path).expanduser()
        if target.exists() and not self._is_own_file(target):
            if target.is_dir():
                self.notify(
                    f"{path}: is a directory",
                    title="Could not save",
                    severity="error",
                    markup=False,
                )
                return

            def answered(yes: bool) -> None:
                if yes:
                    self._write(target, path)

            self.post_message(
                ConfirmRequested(
                    "Overwrite the file?",
                    f"{target} already exists. Replace its contents with the editor's?",
                    answered,
                    confirm="Overwrite",
                    danger=True,
                )
            )
            return
        self._write(target, path)

    def _is_own_file(self, target: Path) -> bool:
        if not self.file_path:
            return False
        try:
            return target.resolve() == Path(self.file_path).resolve()
        except OSError:
            return False

    def _write(self, target: Path, path: str) -> None:
        text = self.editor.text
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            self.notify(
                f"{path}: {_os_message(e)}", title="Could not save", severity="error", markup=False
            )
            return
        self.file_path = str(target)
        self._file_text = text
        self.notify(f"saved {target.name}", timeout=3, markup=False)
        self._show_info()

    # -- format -----------------------------------------------------------------------

    def action_format(self) -> None:
        format_text = self.language.format
        if format_text is None:
            self.app.bell()
            return
        editor = self.editor
        start, end = sorted((editor.selection.start, editor.selection.end))
        if start == end:
            start, end = (0, 0), editor.document.end
        text = editor.get_text_range(start, end)
        formatted = format_text(text)
        if formatted != text:
            editor.replace(formatted, start, end)

    # -- open in query ----------------------------------------------------------------

    def action_open_in_query(self) -> None:
        path = self.context.path()
        template = self.language.open_template
        if not path or template is None:
            self.app.bell()
            return
        self._put_text(template(path))
        self.set_status(location=f"query · {shown_path(path)}")

    # -- bugs -------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        if event.worker.group == "statements":
            self.post_message(RunEnded(None))
        self.post_message(WorkFailed(event.worker.error))


def _executor(text: str, limit: int) -> Callable[[Backend], Result]:
    return lambda b: b.execute(text, limit=limit)


def _under_cursor(statements: list[Statement], cursor: int) -> list[Statement]:
    """The statement the cursor is in (or just after), else the one before it."""
    before: Statement | None = None
    for stmt in statements:
        if stmt.start <= cursor <= stmt.end:
            return [stmt]
        if stmt.end <= cursor:
            before = stmt
    if before is not None:
        return [before]
    return statements[:1]


def _os_message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _explain_widget(explained: Explained, number: int) -> Widget:
    from storescope.tui.widgets.explain_view import ExplainView

    return ExplainView(explained, id=f"explain-{number}")


def _described(url: str) -> QueryLanguage:
    """The language of the backend class serving ``url`` (no connection)."""
    try:
        return backends.backend_class(url).language
    except BackendError:
        return PLAIN
