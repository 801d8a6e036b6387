"""The query panel's transactions (ctrl+t), for a store with
``Capability.TRANSACTIONS`` whose language names them.

``Transactions`` is a collaborator of the QueryPanel (not a base class). It
tracks where the panel's own session stands (``state``: idle, open,
failed; None for a store without transactions) and whether the user chose
manual mode (the next statement begins a transaction). The status line says
so in the store's words (``mode_text``). ctrl+t begins manual mode (and a
transaction), leaves it when nothing is open, and otherwise asks to
commit; a commit is never abandoned and its outcome is always heard. A
connection lost with a transaction open says the server rolled it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storescope.backends.types import TransactionState
from storescope.tui.background import call_in_background
from storescope.tui.messages import ConfirmRequested, WorkFailed
from storescope.tui.widgets.query.query_keys import transactions_offered
from storescope.tui.widgets.query.query_messages import (
    CONNECTION_ERRORS,
    TransactionChanged,
    TransactionCommandFailed,
)

if TYPE_CHECKING:
    from storescope.backends.base import Backend
    from storescope.backends.language import TransactionWords
    from storescope.tui.widgets.query.query_panel import QueryPanel


def mode_text(state: TransactionState | None, manual: bool, words: TransactionWords | None) -> str:
    """The status line's mode, in the store's transaction words."""
    if state is None or words is None:
        return ""
    if state is TransactionState.OPEN:
        return f"{words.begin} · {words.open}"
    if state is TransactionState.FAILED:
        return f"{words.failed} · {words.rollback}"
    return words.manual if manual else words.autocommit


class Transactions:
    """See the module docstring."""

    def __init__(self, host: QueryPanel) -> None:
        self.host = host
        self.manual = False
        self.state: TransactionState | None = TransactionState.IDLE if self.offered else None

    @property
    def offered(self) -> bool:
        """Transactions are offered: the capability, and words for them."""
        return transactions_offered(self.host.language, self.host.context.capabilities)

    def language_changed(self) -> None:
        if not self.offered:
            self.state = None

    def mode(self) -> str:
        return mode_text(self.state, self.manual, self.host.language.transactions)

    def show_mode(self) -> None:
        self.host.set_status(mode=self.mode())

    @property
    def open(self) -> bool:
        """A transaction is open (or failed and not rolled back yet)."""
        return self.state in (TransactionState.OPEN, TransactionState.FAILED)

    @property
    def holds_results(self) -> bool:
        """A result's server state may belong to the user's transaction."""
        return self.state not in (None, TransactionState.IDLE) or self.manual

    def observe(self, state: TransactionState | None) -> bool:
        """A statement's outcome read where the session stands: show it.
        True when a state was taken (so the session works)."""
        if state is None or self.state is None:
            return False
        self.state = state
        self.show_mode()
        return True

    def lost(self) -> None:
        """The session's connection is gone, and any open transaction with it."""
        if self.open:
            self.state = TransactionState.IDLE
            self.show_mode()
            self.host.notify(
                "The query connection was lost with a transaction open: the server rolled"
                " it back. Nothing of it was committed.",
                title="Transaction lost",
                severity="error",
                timeout=10,
            )

    def toggle(self) -> None:
        """ctrl+t (see the module docstring)."""
        host = self.host
        if host.session is None or host.running:
            host.app.bell()
            return
        if not self.manual:
            self.manual = True
            self._command("begin")
            return
        if self.state is TransactionState.IDLE:
            self.manual = False
            self.show_mode()
            return

        def answered(commit: bool) -> None:
            if commit:
                self.manual = False
                self._command("commit")

        words = host.language.transactions
        undo = words.rollback if words is not None else "it"
        host.post_message(
            ConfirmRequested(
                "Leave manual transaction mode",
                f"A transaction is open. Commit it? (No keeps it open: type {undo} to undo it.)",
                answered,
                confirm="Commit",
            )
        )

    def _command(self, command: str) -> None:
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
            self.host,
            commit if committing else begin,
            done=lambda state: TransactionChanged(state, note),
            failed=TransactionCommandFailed,
            group="transactions",
            session=self.host.session,
            abandonable=not committing,
            post_when_cancelled=True,
        )

    def command_failed(self, event: TransactionCommandFailed) -> None:
        """Say why (a lost connection is reported as such), then read where
        the session stands now."""
        host = self.host
        error = event.error
        if isinstance(error, CONNECTION_ERRORS):
            host.session_lost_now()
            host.post_message(WorkFailed(error))
        else:
            host.notify(str(error), timeout=4, markup=False)
        call_in_background(
            host,
            lambda b: b.transaction_state(),
            done=TransactionChanged,
            failed=lambda e: None,
            group="transactions",
            session=host.session,
            post_when_cancelled=True,
        )

    def changed(self, event: TransactionChanged) -> bool:
        """A command's outcome (or a reconnect's): show where the session
        stands. True when the session is known to work again."""
        works = event.reconnected
        if event.state is not None and self.state is not None:
            works = True
            self.state = event.state
        self.show_mode()
        if event.note:
            self.host.notify(event.note, timeout=4, markup=False)
        return works
