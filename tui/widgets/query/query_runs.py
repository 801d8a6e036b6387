"""Running statements and explaining them, for the query panel.

``StatementRunner`` is a collaborator of the QueryPanel (not a base class);
the panel hands it its run, explain and cancel keys and its workers'
messages.

**Running.** The text is split by the backend; each statement gets a result
tab. A destructive statement asks first (``ConfirmNeeded``) and a refusal
stops the run, as does an error. In manual transaction mode a statement
that is not itself a transaction command begins one when none is open.

**Explain.** The statement under the cursor is explained into a tab of its
own; measuring one that writes asks first (with the language's warning).

**Cancel.** Esc or ctrl+c while a statement runs calls ``Session.cancel()``
from a worker of another group (it does not wait for the session's lock);
the running statement ends as "Cancelled" and no further statement of the
run starts.

A run posts several messages in order (a tab per statement, its outcome,
the run's end), so its worker is a plain thread worker of the group
"statements" (one run at a time), not ``call_in_background``, whose worker
posts one. While it runs, a 0.1 s ticker refreshes the running tab's
elapsed time; a tab whose outcome shows is never marked running again.
"""

from __future__ import annotations

import itertools
import threading
import time
from functools import partial
from typing import TYPE_CHECKING

from storescope.backends.base import Capability
from storescope.backends.errors import BackendError, Cancelled, QueryFailed
from storescope.backends.types import StatementKind, TransactionState
from storescope.tui.messages import ConfirmRequested, WorkFailed
from storescope.tui.widgets.query.query_messages import (
    CONNECTION_ERRORS,
    ConfirmNeeded,
    ExplainReady,
    RunEnded,
    SessionLost,
    StatementFailed,
    StatementFinished,
    StatementStarted,
)
from storescope.tui.widgets.query.query_results import ResultState, one_line

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.timer import Timer
    from textual.widget import Widget

    from storescope.backends.base import Backend
    from storescope.backends.types import Explained, Result, Statement
    from storescope.tui.session import Session
    from storescope.tui.widgets.query.query_panel import QueryPanel

#: The worker group of runs and explains (the panel reports their crashes).
STATEMENTS = "statements"


class StatementRunner:
    """See the module docstring."""

    def __init__(self, host: QueryPanel) -> None:
        self.host = host
        self.running = False
        self.started = 0.0
        #: The number of the tab whose statement runs now.
        self.number: int | None = None
        self._ticker: Timer | None = None
        self._stop = threading.Event()
        self._numbers = itertools.count(1)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        """No further statement of the run starts (the panel closes)."""
        self._stop.set()

    # -- starting ---------------------------------------------------------------------

    def run(self, what: str) -> None:
        """F5 ("cursor": the selection, else the statement under the cursor)
        or F8 ("all")."""
        host = self.host
        if self.running or host.session is None:
            host.app.bell()
            return
        editor = host.editor
        text = editor.text
        selection = editor.selection
        offset = 0
        cursor: int | None = None
        if what == "cursor":
            start, end = sorted((selection.start, selection.end))
            if start != end:
                offset = editor.offset_of(start)
                text = text[offset : editor.offset_of(end)]
            else:
                cursor = editor.offset_of(editor.cursor_location)
        if not text.strip():
            host.app.bell()
            return
        host.popup.hide()
        self._start()
        self._worker(self._run, text, offset, cursor, host.tx.manual)

    def explain(self, analyze: bool) -> None:
        """F7 (shift+F7 measures): the plan of the statement under the cursor."""
        host = self.host
        if self.running or host.session is None:
            host.app.bell()
            return
        text = host.editor.text
        cursor = host.editor.offset_of(host.editor.cursor_location)
        if not text.strip():
            host.app.bell()
            return
        self._start()
        self._worker(self._explain, text, cursor, analyze)

    def _worker(self, work: Callable[..., None], *args: object) -> None:
        self.host.run_worker(
            partial(work, *args), thread=True, exclusive=True, exit_on_error=False, group=STATEMENTS
        )

    def _start(self) -> None:
        self.running = True
        self._stop.clear()
        self.started = time.monotonic()
        self._ticker = self.host.set_interval(0.1, self._tick)
        self.host.show_info()

    def _tick(self) -> None:
        number = self.number
        view = self.host.tabs.views.get(number) if number is not None else None
        if view is not None:
            view.show_running(time.monotonic() - view.state.started)
        self.host.show_info()

    def end(self) -> None:
        self.running = False
        self.number = None
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.host.show_info()

    # -- workers (threads) ------------------------------------------------------------

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
        host = self.host
        session = host.session
        assert session is not None
        state: TransactionState | None = None
        if chosen is None:
            try:
                statements = session.call(lambda b: b.split(text))
            except BackendError as e:
                self._split_failed(e)
                return
            if cursor is not None:
                statements = under_cursor(statements, cursor)
            if not statements:
                host.post_message(RunEnded(None, "nothing to run here"))
                return
            if any(stmt.destructive for stmt in statements):
                host.post_message(ConfirmNeeded(statements, offset, manual))
                return
        else:
            statements = chosen
        transactions = host.tx.offered
        for stmt in statements:
            if self._stop.is_set():
                break
            number = next(self._numbers)
            host.post_message(StatementStarted(number, stmt, offset))
            try:
                if (
                    manual
                    and transactions
                    and stmt.kind is not StatementKind.TRANSACTION
                    and session.call(lambda b: b.transaction_state()) is TransactionState.IDLE
                ):
                    session.call(lambda b: b.begin())
                result = session.call(_executor(stmt.text, host.page_size))
            except BackendError as e:
                if isinstance(e, CONNECTION_ERRORS):
                    host.post_message(SessionLost())
                state = state_of(session) if transactions else None
                self._report_failure(number, e, state)
                break
            state = state_of(session) if transactions else None
            host.post_message(StatementFinished(number, result, state))
        host.post_message(RunEnded(state))

    def _explain(
        self, text: str, cursor: int, analyze: bool, chosen: Statement | None = None
    ) -> None:
        """Explain the statement under ``cursor``; with ``analyze`` a
        statement that writes asks first (ConfirmNeeded) and comes back as
        ``chosen``."""
        host = self.host
        session = host.session
        assert session is not None
        if chosen is None:
            try:
                statements = under_cursor(session.call(lambda b: b.split(text)), cursor)
            except BackendError as e:
                self._split_failed(e)
                return
            if not statements:
                host.post_message(RunEnded(None, "nothing to explain here"))
                return
            stmt = statements[0]
            runs = analyze and host.language.explain.analyze_runs
            if runs and stmt.kind in (StatementKind.WRITE, StatementKind.DDL):
                host.post_message(ConfirmNeeded([stmt], 0, False, explain=True))
                return
        else:
            stmt = chosen
        number = next(self._numbers)
        host.post_message(StatementStarted(number, stmt, 0))
        try:
            explained = session.call(
                lambda b: b.explain(stmt.text, analyze=analyze, buffers=analyze)
            )
        except BackendError as e:
            if isinstance(e, CONNECTION_ERRORS):
                host.post_message(SessionLost())
            state = state_of(session)
            self._report_failure(number, e, state)
            host.post_message(RunEnded(state))
            return
        host.post_message(ExplainReady(number, explained))
        host.post_message(RunEnded(state_of(session)))

    def _split_failed(self, error: BackendError) -> None:
        if isinstance(error, CONNECTION_ERRORS):
            self.host.post_message(SessionLost())
        self._report_failure(0, error, None)
        self.host.post_message(RunEnded(None))

    def _report_failure(
        self, number: int, error: BackendError, state: TransactionState | None
    ) -> None:
        self.host.post_message(StatementFailed(number, error, state))
        if isinstance(error, CONNECTION_ERRORS):
            self.host.post_message(WorkFailed(error))

    # -- what the workers post (event loop) -------------------------------------------

    def confirm_needed(self, event: ConfirmNeeded) -> None:
        host = self.host
        statements = event.statements
        if event.explain:
            words = host.language.explain
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
            tx_words = host.language.transactions
            begun = tx_words is not None and any(tx_words.begins(s) for s in statements[:first])
            if host.tx.state is not TransactionState.OPEN and not begun:
                message += " It runs outside a transaction and cannot be undone."
            confirm = "Run it" if len(statements) == 1 else f"Run all {len(statements)}"

        self.end()  # not running while the question is open

        def answered(yes: bool) -> None:
            if not yes:
                host.notify("Not run: nothing was changed.", timeout=4)
                return
            self._start()
            if event.explain:
                self._worker(self._explain, "", 0, True, statements[0])
            else:
                self._worker(self._run, "", event.offset, None, event.manual, statements)

        host.post_message(ConfirmRequested(title, message, answered, confirm=confirm, danger=True))

    async def started_one(self, event: StatementStarted) -> None:
        host = self.host
        state = ResultState(event.number, event.statement, event.offset, started=time.monotonic())
        self.number = event.number
        host.history.append(event.statement.text)
        view = await host.tabs.add(state, kind=host.language.title_of(event.statement))
        view.show_running(0.0)

    def failed_one(self, event: StatementFailed) -> None:
        host = self.host
        error = event.error
        state = host.tabs.states.get(event.number)
        title, message = host.context.describe(error)
        if state is None:
            host.notify(message, title=title, severity="error", markup=False)
            return
        state.finished = True
        state.cancelled = isinstance(error, Cancelled)
        state.error = None if state.cancelled else message
        state.error_title = title
        host.tabs.views[event.number].show()
        if isinstance(error, QueryFailed) and error.position is not None and not state.cancelled:
            host.editor.select_word_at(state.offset + state.statement.start + error.position)
            host.editor.focus()

    async def explain_ready(self, event: ExplainReady) -> None:
        view = self.host.tabs.views.get(event.number)
        if view is None:
            return
        # Finished before the plan is mounted: the ticker must not write
        # "running" over the plan's header while the mount is awaited.
        view.state.finished = True
        explained = event.explained
        words = self.host.language.explain
        view.header.update(
            (words.analyze_title if explained.analyzed else words.title)
            + (
                f" · execution {explained.execution_ms:.1f} ms"
                if explained.execution_ms is not None
                else ""
            )
        )
        await view.mount(_explain_widget(explained, event.number))

    # -- cancel -----------------------------------------------------------------------

    def cancel(self) -> None:
        session = self.host.session
        if not self.running or session is None:
            return
        self._stop.set()
        # Not ``call_in_background``: cancel must not wait for the session's
        # lock, which the running statement holds.
        self.host.run_worker(
            partial(self._cancel, session),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group="cancels",
        )

    def _cancel(self, session: Session) -> None:
        try:
            session.cancel()
        except BackendError as e:
            self.host.post_message(WorkFailed(e))


def state_of(session: Session) -> TransactionState | None:
    """Where ``session`` stands (from a worker); None without transactions
    or when it cannot be read."""
    if Capability.TRANSACTIONS not in session.capabilities:
        return None
    try:
        return session.call(lambda b: b.transaction_state())
    except BackendError:
        return None


def _executor(text: str, limit: int) -> Callable[[Backend], Result]:
    return lambda b: b.execute(text, limit=limit)


def under_cursor(statements: list[Statement], cursor: int) -> list[Statement]:
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


def _explain_widget(explained: Explained, number: int) -> Widget:
    from storescope.tui.widgets.explain.explain_view import ExplainView

    return ExplainView(explained, id=f"explain-{number}")
