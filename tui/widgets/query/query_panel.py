"""QueryPanel (F3): an editor for the store's query language and a tab per result.

Store-neutral: everything goes through the QUERY contract (``split``,
``execute``, ``fetch``, ``release``, ``completions``) and what the
capabilities add (CANCEL, TRANSACTIONS, EXPLAIN). Every word and rule of the
language (its name, file extension, highlighting, completion, formatter, the
text "open in query" writes, the explain and transaction words, a result
tab's title) is the backend's ``QueryLanguage`` (``backends.language``): the
keys a description leaves out are hidden (``query_keys``).

**Connections.** Statements run on the panel's own session (a clone of the
explorer's), so SET, temporary tables and a manual transaction live there and
never on the connection the data grid browses with. Completion names are
loaded once (and after a reconnect) on a second clone that is closed after.

**Running.** F5 (or ctrl+j, or ctrl+enter where the terminal sends it) runs
the selection, or else the statement under the cursor; F8 runs every
statement; F7 explains the one under the cursor; Esc or ctrl+c cancels
(``query_runs``). Each statement gets a result tab (the newest selected, at
most ``max_tabs``), whose rows page from the server and whose server state
is released after ``release_after`` quiet seconds (``query_tabs``). ctrl+t
switches manual transaction mode (``query_transactions``); ctrl+o / ctrl+s
open and save a file, ctrl+f formats (``query_files``).

The panel composes those collaborators (none is a base class): it owns the
widgets and the session, and hands them its keys and its workers' messages
(``query_messages``).

**Errors** show in their tab with the server's message, and the error
position is selected in the editor. Only connection errors are reported as
``WorkFailed`` (the explorer tracks the connection from them); a rejected
statement is the user's business, shown where it happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import TabbedContent
from textual.widgets.text_area import LanguageDoesNotExist
from textual.worker import Worker, WorkerState

from storescope.backends.base import Capability
from storescope.backends.errors import BackendError
from storescope.tui.background import call_in_background
from storescope.tui.messages import WorkFailed
from storescope.tui.sanitize import shown_path
from storescope.tui.widgets.grid.data_grid import DataGrid
from storescope.tui.widgets.panel import Panel, PanelContext
from storescope.tui.widgets.query import query_keys, query_results
from storescope.tui.widgets.query.completion import CompletionIndex, CompletionList
from storescope.tui.widgets.query.query_editor import QueryEditor
from storescope.tui.widgets.query.query_files import QueryFiles, format_selection, put_text
from storescope.tui.widgets.query.query_history import History, HistoryPicker, history_key
from storescope.tui.widgets.query.query_keys import HintLine
from storescope.tui.widgets.query.query_messages import (
    CONNECTION_ERRORS,
    CompletionsLoaded,
    ConfirmNeeded,
    ExplainReady,
    ResultPageFailed,
    ResultPageLoaded,
    RunEnded,
    SessionCallFailed,
    SessionLost,
    SessionReady,
    StatementFailed,
    StatementFinished,
    StatementStarted,
    TransactionChanged,
    TransactionCommandFailed,
)
from storescope.tui.widgets.query.query_runs import STATEMENTS, StatementRunner
from storescope.tui.widgets.query.query_tabs import ResultTabs
from storescope.tui.widgets.query.query_transactions import Transactions, mode_text

if TYPE_CHECKING:
    import threading

    from textual.app import ComposeResult

    from storescope.backends.base import Backend
    from storescope.backends.language import QueryLanguage
    from storescope.backends.types import TransactionState
    from storescope.tui.session import Session
    from storescope.tui.widgets.query.query_results import ResultState, ResultView

__all__ = ["HintLine", "QueryPanel", "mode_text"]


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

    #: The labels of keys that depend on the language are the store's own
    #: (``_label_keys``); keys it does not have are hidden (``check_action``).
    BINDINGS: ClassVar[list[BindingType]] = query_keys.BINDINGS

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
        #: The store's language, as its class describes it until the
        #: connected backend says (``SessionReady``).
        self.language: QueryLanguage = query_keys.language_of(context.session.url)
        self.page_size = context.session.page_size
        self.history = History(history_key(context.session.display_url))
        self.tx = Transactions(self)
        self.tabs = ResultTabs(self)
        self.runner = StatementRunner(self)
        self.files = QueryFiles(self, self.editor, lambda: self.language, changed=self.show_info)
        self._completions_loaded = False
        #: The panel's session failed with a connection error and no call
        #: has succeeded on it since (only then does ctrl+r reconnect it).
        self.session_lost = False

    # What the tests and the explorer read.

    @property
    def running(self) -> bool:
        return self.runner.running

    @property
    def states(self) -> dict[int, ResultState]:
        return self.tabs.states

    @property
    def views(self) -> dict[int, ResultView]:
        return self.tabs.views

    @property
    def file_path(self) -> str:
        return self.files.path

    def compose(self) -> ComposeResult:
        yield self.editor
        yield self.info
        yield self.results
        yield self.popup
        yield self.picker

    def on_mount(self) -> None:
        self._apply_language(self.language)
        self.set_status(location="query", window="", mode=self.tx.mode())

    def _apply_language(self, language: QueryLanguage) -> None:
        self.language = language
        self.tx.language_changed()
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
        self.show_info()

    def _label_keys(self) -> None:
        """Name the language's keys in its words: its file extension, its name."""
        keys = self._bindings.key_to_bindings
        for key, bindings in keys.items():
            keys[key] = query_keys.labelled(bindings, self.language)
        # Called from on_mount too, where Textual does not count the panel as
        # mounted yet and drops refresh_bindings(): the footer would keep the
        # class's labels until something else refreshed it. Ask the screen.
        if self.is_attached:
            self.screen.refresh_bindings()

    def show_info(self) -> None:
        """The hint line: what runs, or the language, the file and key hints."""
        if self.running:
            elapsed = query_results.elapsed_text(self.runner.elapsed)
            self.info.show(f"⏳ running {elapsed} · esc or ^c cancels")
            return
        name = Path(self.files.path).name if self.files.path else ""
        self.info.show(*query_keys.hints(self.language, name, self.tx.offered))

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
        if self.tx.open:
            return "an open transaction"
        return self.files.unsaved()

    def close(self) -> list[threading.Thread]:
        self.runner.stop()
        return [self.session.close()] if self.session is not None else []

    # -- connection and completion ----------------------------------------------------

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

    def _reconnect(self) -> None:
        """ctrl+r after the session lost its connection: the next call on it
        opens a new one (``Session.call``); reading where it stands is that
        call."""

        def state(b: Backend) -> TransactionState | None:
            return b.transaction_state() if Capability.TRANSACTIONS in b.capabilities else None

        call_in_background(
            self,
            state,
            done=lambda state: TransactionChanged(state, reconnected=True),
            failed=SessionCallFailed,
            group="connects",
            session=self.session,
        )

    def on_session_call_failed(self, event: SessionCallFailed) -> None:
        event.stop()
        if isinstance(event.error, CONNECTION_ERRORS):
            self.session_lost_now()
        self.post_message(WorkFailed(event.error))

    def on_session_lost(self, event: SessionLost) -> None:
        event.stop()
        self.session_lost_now()

    def session_lost_now(self) -> None:
        """A call on the panel's session failed with a connection error."""
        self.session_lost = True
        self.tx.lost()

    def on_session_ready(self, event: SessionReady) -> None:
        event.stop()
        self.session_lost = False
        self.page_size = event.page_size
        if event.language != self.language:
            self._apply_language(event.language)
            self.tx.show_mode()

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

    # -- keys -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "close_result":
            return not self.editor.has_focus  # there ctrl+w deletes a word
        return query_keys.offers(action, parameters, self.language, self.context.capabilities)

    def key_bindings(self) -> list[Binding]:
        """The keys this store offers here, labelled in its language's words
        (for a keys help of this connection)."""
        return query_keys.offered_keys(self.language, self.context.capabilities)

    def _interrupt(self, key: str) -> bool:
        if not self.running:
            return False
        self.action_cancel()
        return True

    def action_run(self, what: str) -> None:
        self.runner.run(what)

    def action_explain(self, analyze: bool) -> None:
        self.runner.explain(analyze)

    def action_cancel(self) -> None:
        self.runner.cancel()

    def action_escape(self) -> None:
        if self.running:
            self.action_cancel()
        elif self.popup.display:
            self.popup.hide()
        else:
            self.editor.focus()

    def action_transaction(self) -> None:
        self.tx.toggle()

    async def action_close_result(self) -> None:
        await self.tabs.close_active()

    def action_switch_result(self, step: int) -> None:
        self.tabs.switch(step)

    def action_toggle_focus(self) -> None:
        if not self.editor.has_focus:
            self.editor.focus()
        elif (target := self.tabs.focus_target()) is not None:
            target.focus()

    def action_history(self) -> None:
        self.popup.hide()
        self.picker.open(self.history)

    def on_history_picker_chosen(self, event: HistoryPicker.Chosen) -> None:
        event.stop()
        if event.statement is not None:
            put_text(self.editor, event.statement)
        self.editor.focus()

    def action_open_file(self) -> None:
        self.files.ask_open()

    def open_file(self, path: str | None) -> None:
        self.files.open(path)

    def action_save_file(self) -> None:
        self.files.ask_save()

    def save_file(self, path: str | None) -> None:
        self.files.save(path)

    def action_format(self) -> None:
        if self.language.format is None:
            self.app.bell()
            return
        format_selection(self.editor, self.language.format)

    def action_open_in_query(self) -> None:
        path = self.context.path()
        template = self.language.open_template
        if not path or template is None:
            self.app.bell()
            return
        put_text(self.editor, template(path))
        self.set_status(location=f"query · {shown_path(path)}")

    # -- what the workers post --------------------------------------------------------

    def on_confirm_needed(self, event: ConfirmNeeded) -> None:
        event.stop()
        self.runner.confirm_needed(event)

    async def on_statement_started(self, event: StatementStarted) -> None:
        event.stop()
        await self.runner.started_one(event)

    def on_statement_finished(self, event: StatementFinished) -> None:
        event.stop()
        if self.tabs.show_result(event.number, event.result):
            self._transaction(event.state)

    def on_statement_failed(self, event: StatementFailed) -> None:
        event.stop()
        self._transaction(event.state)
        self.runner.failed_one(event)

    async def on_explain_ready(self, event: ExplainReady) -> None:
        event.stop()
        await self.runner.explain_ready(event)

    def on_run_ended(self, event: RunEnded) -> None:
        event.stop()
        self.runner.end()
        self._transaction(event.state)
        if event.note:
            self.notify(event.note, timeout=3, markup=False)

    def _transaction(self, state: TransactionState | None) -> None:
        if self.tx.observe(state):
            self.session_lost = False  # the state was read: the session works

    def on_transaction_command_failed(self, event: TransactionCommandFailed) -> None:
        event.stop()
        self.tx.command_failed(event)

    def on_transaction_changed(self, event: TransactionChanged) -> None:
        event.stop()
        if self.tx.changed(event):
            self.session_lost = False

    def on_data_grid_page_requested(self, event: DataGrid.PageRequested) -> None:
        event.stop()
        self.tabs.page_requested(event)

    def on_result_page_loaded(self, event: ResultPageLoaded) -> None:
        event.stop()
        self.tabs.page_loaded(event)

    def on_result_page_failed(self, event: ResultPageFailed) -> None:
        event.stop()
        self.tabs.page_failed(event)
        if isinstance(event.error, CONNECTION_ERRORS):
            self.session_lost_now()
            self.post_message(WorkFailed(event.error))

    def on_data_grid_window_moved(self, event: DataGrid.WindowMoved) -> None:
        event.stop()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self.tabs.activated(event.pane.id)

    # -- bugs -------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        if event.worker.group == STATEMENTS:
            self.post_message(RunEnded(None))
        self.post_message(WorkFailed(event.worker.error))
