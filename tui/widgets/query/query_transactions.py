"""The query panel's transactions (ctrl+t), for a store with
``Capability.TRANSACTIONS`` whose language names them.

``Transactions`` is a collaborator of the QueryPanel (not a base class). It
tracks where the panel's own session stands (``state``: idle, open,
failed; None for a store without transactions) and whether the user chose
manual mode (the next statement begins a transaction). The status line says
so in the store's words (``mode_text``). ctrl+t begins manual mode (and a
transaction), leaves it when nothing is open, and otherwise asks what to
do with the open one: commit it, roll it back, or keep it open (Esc). When
it failed, the highlighted (Enter) answer is the safe one, rolling back. A
commit or rollback is never abandoned and its outcome is always heard. A
connection lost with a transaction open says the server rolled it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from storescope.backends.types import TransactionState
from storescope.tui.background import call_in_background
from storescope.tui.messages import WorkFailed
from storescope.tui.sanitize import sanitize, sanitize_lines
from storescope.tui.widgets.query.query_keys import transactions_offered
from storescope.tui.widgets.query.query_messages import (
    CONNECTION_ERRORS,
    TransactionChanged,
    TransactionCommandFailed,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import ComposeResult

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


#: The answers of the leave-transaction dialog, in the order it lists them.
COMMIT, ROLLBACK, KEEP_OPEN = "commit", "rollback", "keep"


class LeaveTransactionScreen(ModalScreen[str | None]):
    """Leaving manual mode with a transaction open: commit, roll back or keep
    it open (Esc too). Answers COMMIT, ROLLBACK or KEEP_OPEN (None on Esc).

    It lives here, not in ``screens``, because widgets never import screens
    and the explorer has no generic three-way question to ask for (a
    ``ChoiceRequested`` message would let ``screens.dialogs`` own it)."""

    DEFAULT_CSS: ClassVar[str] = """
    LeaveTransactionScreen OptionList, LeaveTransactionScreen OptionList:focus {
        height: auto;
        width: auto;
        min-width: 24;
        border: none;
        padding: 0;
        margin-bottom: 1;
        background: $surface;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "keep", "Keep open")]

    def __init__(
        self, title: str, message: str, choices: list[tuple[str, str]], default: str
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._title = sanitize(title)
        self._message = sanitize_lines(message)
        self.choices = [(answer, sanitize(label)) for answer, label in choices]
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._title, classes="dialog-title", markup=False)
            yield Static(self._message, classes="dialog-body", markup=False)
            yield OptionList(
                *(Option(label, id=answer) for answer, label in self.choices),
                markup=False,
                id="choices",
            )
            yield Static("↑↓ choose   ⏎ do it   Esc keep open", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = [answer for answer, _ in self.choices].index(self.default)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_keep(self) -> None:
        self.dismiss(KEEP_OPEN)


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

        self.ask_to_leave()

    def ask_to_leave(self) -> None:
        """Commit, roll back or keep open the open transaction (see the
        module docstring); the safe answer is the default when it failed."""
        host = self.host
        words = host.language.transactions
        if words is None:
            return
        failed = self.state is TransactionState.FAILED
        if failed:
            message = (
                "A statement failed inside the open transaction:"
                " none of its work can be kept. {words.commit} would end it as"
                f" {words.rollback} does. {words.rollback} it?"
            )
        else:
            message = f"A transaction is open. {words.commit} it, or {words.rollback} it?"
        choices = [
            (COMMIT, f"{words.commit}" + (" (rolls back: it failed)" if failed else "")),
            (ROLLBACK, words.rollback),
            (KEEP_OPEN, "Keep open"),
        ]

        def answered(answer: str | None) -> None:
            if answer == COMMIT:
                self.manual = False
                self._command("commit", failed=failed)
            elif answer == ROLLBACK:
                self.manual = False
                self._command("rollback")

        screen = LeaveTransactionScreen(
            "Leave manual transaction mode",
            message,
            choices,
            default=ROLLBACK if failed else COMMIT,
        )
        host.app.push_screen(screen, answered)

    def _command(self, command: str, *, failed: bool = False) -> None:
        """Begin (unless one is open), commit or roll back, then read where
        the session stands. Both outcomes are posted even when a newer
        command replaced this one: a commit's or rollback's outcome must be
        heard. ``failed``: the transaction being committed had failed, so
        the commit rolled it back, and the note says so."""

        def begin(b: Backend) -> TransactionState:
            if b.transaction_state() is TransactionState.IDLE:
                b.begin()
            return b.transaction_state()

        def commit(b: Backend) -> TransactionState:
            b.commit()
            return b.transaction_state()

        def rollback(b: Backend) -> TransactionState:
            b.rollback()
            return b.transaction_state()

        calls: dict[str, Callable[[Backend], TransactionState]] = {
            "begin": begin,
            "commit": commit,
            "rollback": rollback,
        }
        notes = {
            "commit": "rolled back: the transaction had failed" if failed else "committed",
            "rollback": "rolled back",
        }
        note = notes.get(command, "")
        call_in_background(
            self.host,
            calls[command],
            done=lambda state: TransactionChanged(state, note),
            failed=TransactionCommandFailed,
            group="transactions",
            session=self.host.session,
            abandonable=command == "begin",
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
