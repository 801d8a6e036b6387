"""One executed statement's result as a tab of the query panel shows it.

A header line (status tag, elapsed time, rows so far), the server's notices,
then either the rows in a ``DataGrid`` (paged from the result's cursor by the
panel) or a message (rows affected, the server's error, "Cancelled").

Everything shown comes from the server or quotes it (statuses, notices raised
with data in them, errors, the rows): it goes through the one sanitizer
(``tui.sanitize``; the grid's cells already do) and no Static parses markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from storescope.backends.types import Record
from storescope.tui.messages import RecordViewRequested
from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.grid.data_grid import DataGrid

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.timer import Timer

    from storescope.backends.types import Page, Result, Statement


def format_elapsed(seconds: float) -> str:
    """ "12 ms", "3.4 s", "2 min 05 s". Tests replace it for pictures."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


#: What the panel calls to show a duration (a hook, so snapshots are stable).
elapsed_text: Callable[[float], str] = format_elapsed


def one_line(text: str, width: int = 120) -> str:
    line = sanitize(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass(eq=False)
class ResultState:
    """What the panel knows of one result tab."""

    number: int
    statement: Statement
    offset: int  # the statement's offset in the editor text when it ran
    started: float = 0.0
    result: Result | None = None
    first_page: Page | None = None
    error: str | None = None
    error_title: str | None = None
    cancelled: bool = False
    #: The outcome is known (rows, an error, cancelled, a plan): the
    #: "running" label never shows again.
    finished: bool = False
    summary: str = ""
    release_timer: Timer | None = None
    released: bool = False
    extra: list[str] = field(default_factory=list)

    @property
    def tab_id(self) -> str:
        return f"result-{self.number}"

    @property
    def handle(self) -> str | None:
        return self.result.handle if self.result is not None else None


class ResultView(Vertical):
    """The body of one result tab (see module docstring)."""

    DEFAULT_CSS: ClassVar[str] = """
    ResultView { height: 1fr; }
    ResultView > .result-header { height: 1; padding: 0 1; }
    ResultView > .result-notices { height: auto; max-height: 3; padding: 0 1; color: $warning; }
    ResultView > .result-message { height: auto; padding: 0 1; }
    ResultView > .result-message.-error { color: $error; }
    ResultView > DataGrid { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "view_row", "View row", show=False),
    ]

    def __init__(self, state: ResultState, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = state
        self.header = Static("", classes="result-header", markup=False)
        self.notices = Static("", classes="result-notices", markup=False)
        self.message = Static("", classes="result-message", markup=False)
        self.grid = DataGrid(id=f"grid-{state.number}", max_pages=12)
        self.grid.placeholder = ""
        self.notices.display = False
        self.message.display = False
        self.grid.display = False

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.notices
        yield self.message
        yield self.grid

    def action_view_row(self) -> None:
        """Enter on a row: the record view shows it whole, read-only (a
        result's row has no key to fetch or edit it by), as the data panel
        shows a browsed row without a key."""
        grid = self.grid
        if not grid.display or not grid.has_focus:
            return
        row = grid.row(grid.cursor_row)
        if row is None:
            return
        names = [c.name for c in grid.columns]
        record_word = grid.words.record
        reason = f"a query result's {record_word} is shown as it was read"
        self.post_message(
            RecordViewRequested(
                record=Record(
                    path=("query", str(self.state.number)),
                    key=(),
                    fields=tuple(zip(names, row, strict=False)),
                ),
                schema=None,
                staged={},
                stage=lambda _name, _value: reason,
                read_only_reason=reason,
                title=f"result {self.state.number} · {record_word} {grid.cursor_row + 1}",
            )
        )

    def show_running(self, elapsed: float) -> None:
        """The "running" header, unless the outcome already shows (the
        panel's ticker may fire once more before it hears the run ended)."""
        if self.state.finished:
            return
        text = one_line(self.state.statement.text, 60)
        self.header.update(
            Content.assemble(
                ("⏳ running ", "bold $warning"),
                (elapsed_text(elapsed), "$text-muted"),
                (" · Esc or ctrl+c cancels · ", "$text-muted"),
                text,
            )
        )

    def show(self) -> None:
        """Show what the state holds now (a result, an error, cancelled)."""
        state = self.state
        result = state.result
        if state.cancelled or state.error is not None:
            style = "bold $warning" if state.cancelled else "bold $error"
            mark = "⊘ Cancelled" if state.cancelled else f"✗ {state.error_title or 'Error'}"
            self.header.update(
                Content.assemble((mark, style), "  ", (one_line(state.statement.text, 70), "dim"))
            )
            self.message.update(sanitize(state.error or ""))
            self.message.set_class(not state.cancelled, "-error")
            self.message.display = bool(state.error)
            return
        if result is None:
            return
        parts: list[str | tuple[str, str]] = [
            ("✓ ", "bold $success"),
            (sanitize(result.status) or "OK", "bold"),
            (f" · {elapsed_text(result.elapsed)}", "$text-muted"),
        ]
        if result.columns and state.summary:
            parts.append((f" · {state.summary}", "$text-muted"))
        self.header.update(Content.assemble(*parts))
        notices = list(result.notices) + state.extra
        self.notices.update("\n".join(one_line(n, 200) for n in notices))
        self.notices.display = bool(notices)
        if result.columns:
            self.message.display = False
            self.grid.display = True
        else:
            self.grid.display = False
            if result.rowcount is not None:
                rows = "row" if result.rowcount == 1 else "rows"
                self.message.update(f"{result.rowcount:,} {rows} affected")
            else:
                self.message.update(sanitize(result.status) or "done")
            self.message.display = True
