"""MonitorPanel (F6): the server's numbers as sparklines and its sessions,
locks... as tables, sampled every couple of seconds while the panel shows.

Polling runs on the panel's own connection (a clone of the explorer's
session), never the interactive one, and only while the panel is on screen:
``panel_shown`` samples at once and starts the timer, ``panel_hidden``
pauses it. Each tick starts a short thread worker calling ``stats()``; a
tick that comes while the previous sample is still running is skipped, not
queued, so a slow server gets fewer samples instead of a backlog.

A failed sample stops polling (one notification, not one every 2 s) and the
panel says "polling stopped: <reason> · r retries"; ``r`` or a reconnect
(ctrl+r) resumes it.

Actions on the focused row are the shown table's ``actions``, described by
the backend (``MonitorAction``: its key, its label in the footer, the words
of its confirmation, how dangerous it is); the panel binds their keys while
that table shows. Unless the backend calls it safe, an action is confirmed
first (in red when it throws work away); it runs on the panel's connection
(``session_action`` with the action's id and the row's id) and is followed
by a sample at once so the table shows its effect. An action whose key is
one of the panel's own is not offered.

Samples and actions run through ``call_in_background`` on the panel's
connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import ContentSwitcher, DataTable, Input, Static
from textual.worker import Worker, WorkerState

from storescope.backends.types import ActionDanger, ColumnRole
from storescope.tui.background import call_in_background
from storescope.tui.messages import ConfirmRequested, WorkFailed
from storescope.tui.sanitize import sanitize_lines
from storescope.tui.widgets.grid.cells import single_line
from storescope.tui.widgets.monitor.monitor_actions import confirmation
from storescope.tui.widgets.monitor.monitor_history import MetricHistory
from storescope.tui.widgets.monitor.monitor_metrics import (
    MetricGrid,
    StoppedLine,
    TableBar,
    TableTab,
)
from storescope.tui.widgets.monitor.monitor_table import StatsTableView
from storescope.tui.widgets.panel import Panel, PanelContext

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.timer import Timer

    from storescope.backends.types import MonitorAction, Stats, StatsTable


class MonitorPanel(Panel):
    """See the module docstring."""

    #: Seconds between two samples (tests make it short).
    POLL_INTERVAL: ClassVar[float] = 2.0

    DEFAULT_CSS: ClassVar[str] = """
    MonitorPanel {
        layout: vertical;
        & > #monitor-stopped {
            height: 1;
            color: $text-error;
            text-style: bold;
            display: none;
        }
        & > #monitor-metrics {
            padding: 0 1 0 1;
        }
        & > #monitor-tabs {
            margin: 1 0 0 0;
            background: $panel;
        }
        & > #monitor-note {
            color: $text-muted;
            text-style: italic;
            padding: 0 1;
            display: none;
        }
        & > #monitor-tables {
            height: 1fr;
        }
        & > #monitor-tables > StatsTableView {
            height: 1fr;
        }
        & > #monitor-tables > #monitor-waiting {
            color: $text-muted;
            text-style: italic;
            padding: 1 1;
        }
        & > #monitor-detail {
            height: auto;
            max-height: 3;
            padding: 0 1;
            background: $panel;
            display: none;
        }
        & > #monitor-filter-row {
            height: 1;
            display: none;
            & > #monitor-filter-label {
                width: auto;
                padding: 0 0 0 1;
                color: $text-muted;
            }
            & > Input {
                height: 1;
                border: none;
                padding: 0 1;
            }
        }
        &.-no-metrics > #monitor-metrics {
            display: none;
        }
        &.-no-metrics > #monitor-tabs {
            margin: 0;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("t", "next_table", "Table"),  # the next one; short for 80 columns
        # The shown table's actions come here (see _offer_actions).
        Binding("r", "retry", "Retry"),
        Binding("m", "toggle_metrics", "Show / hide graphs", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        # One row in the help ("1…9 Show table n"): the other digits have no
        # description, so they are keys without a row of their own.
        Binding("1", "show_table(0)", "Show table n", show=False, key_display="1…9"),
        *(Binding(str(n), f"show_table({n - 1})", "", show=False) for n in range(2, 10)),
    ]

    # -- messages (posted by the workers) --------------------------------------------

    @dataclass
    class StatsSampled(Message):
        stats: Stats

    @dataclass
    class StatsFailed(WorkFailed):
        pass

    @dataclass
    class ActionDone(Message):
        outcome: str

    @dataclass
    class ActionFailed(WorkFailed):
        pass

    def __init__(self, context: PanelContext, *, id: str | None = None) -> None:
        super().__init__(context, id=id)
        self.can_focus = True  # keys work before the first sample builds the tables
        self._session = context.session.clone()
        self.history = MetricHistory()
        self.views: list[StatsTableView] = []
        self.active_table = 0
        #: Why polling stopped (shown, and ``r`` retries), or None.
        self.stopped: str | None = None
        #: Ticks skipped because the previous sample was still running.
        self.skipped = 0
        self._shown = False
        self._timer: Timer | None = None
        self._poll_worker: Worker[None] | None = None
        self._sample_pending = False
        self._detail_text = ""
        #: The actions whose keys are bound now (the shown table's).
        self.offered: tuple[MonitorAction, ...] = ()
        self._metrics = MetricGrid(id="monitor-metrics")
        self._tabs = TableBar(id="monitor-tabs")
        self._switcher = ContentSwitcher(id="monitor-tables", initial="monitor-waiting")

    def compose(self) -> ComposeResult:
        yield StoppedLine(id="monitor-stopped")
        yield self._metrics
        yield self._tabs
        yield Static("", id="monitor-note", markup=False)
        with self._switcher:
            yield Static("Sampling…", id="monitor-waiting")
        yield Static("", id="monitor-detail", markup=False)
        with Horizontal(id="monitor-filter-row"):
            yield Static("filter /", id="monitor-filter-label")
            yield Input(placeholder="text in any column", id="monitor-filter")

    # -- panel hooks -----------------------------------------------------------------

    def panel_shown(self) -> None:
        self._shown = True
        self._show_status()
        if self.is_mounted:
            self._start_polling()

    def on_mount(self) -> None:
        if self._shown:
            self._start_polling()

    def panel_hidden(self) -> None:
        self._shown = False
        if self._timer is not None:
            self._timer.pause()

    def reconnected(self) -> None:
        self._resume()

    def focus_main(self) -> None:
        view = self.view
        if view is not None:
            view.focus()
        else:
            self.focus()

    def close(self) -> list[Any]:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        return [self._session.close()]

    # -- polling ---------------------------------------------------------------------

    def _start_polling(self) -> None:
        if self.stopped is not None:
            return
        if self._timer is None:
            self._timer = self.set_interval(self.POLL_INTERVAL, self._tick)
        else:
            self._timer.resume()
        self._tick()

    def _resume(self) -> None:
        self.stopped = None
        self.query_one("#monitor-stopped").display = False
        self._show_status()
        self.refresh_bindings()
        if self._shown and self.is_mounted:
            self._start_polling()

    @property
    def polling(self) -> bool:
        """A sample is being taken right now."""
        worker = self._poll_worker
        return worker is not None and not worker.is_finished

    def _tick(self) -> None:
        if not self._shown or self.stopped is not None:
            return
        if self.polling:
            self.skipped += 1
            return
        self._poll_worker = self._sample()

    def sample_now(self) -> None:
        """Take a sample at once (after an action), or right after the
        one running now."""
        if self.polling:
            self._sample_pending = True
        elif self.stopped is None:
            self._poll_worker = self._sample()

    def _sample(self) -> Worker[None]:
        """One sample of the backend's ``stats()`` on the panel's connection."""
        return call_in_background(
            self,
            lambda b: b.stats(),
            done=self.StatsSampled,
            failed=self.StatsFailed,
            group="stats_pollers",
            session=self._session,
        )

    def on_monitor_panel_stats_sampled(self, event: MonitorPanel.StatsSampled) -> None:
        event.stop()
        self.show_stats(event.stats)
        if self._sample_pending:
            self._sample_pending = False
            self.call_later(self.sample_now)

    @on(StatsFailed)
    def _stats_failed(self, event: MonitorPanel.StatsFailed) -> None:
        # Not stopped: the explorer tracks the connection, the App notifies.
        self._stop(self.context.describe(event.error)[1])

    def _stop(self, reason: str) -> None:
        self.stopped = reason
        self._sample_pending = False
        if self._timer is not None:
            self._timer.pause()
        line = self.query_one("#monitor-stopped", StoppedLine)
        line.show(reason)
        line.display = True
        self._show_status()
        self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Backend errors are reported by the workers; an ERROR state is a bug,
        # reported the same way so the app keeps going.
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        event.stop()
        if event.worker.group == "stats_pollers":
            self._stop(self.context.describe(event.worker.error)[1])
        self.post_message(WorkFailed(event.worker.error))

    # -- showing a sample ------------------------------------------------------------

    @property
    def view(self) -> StatsTableView | None:
        return self.views[self.active_table] if self.active_table < len(self.views) else None

    def show_stats(self, stats: Stats) -> None:
        """Record a sample and show it (cheaply: see monitor_table)."""
        new = self.history.add(stats)
        if new:
            self._metrics.add_series([self.history.series[name] for name in new])
        self._metrics.update_values()
        first = not self.views
        for table in stats.tables:
            view = self._view_for(table)
            view.set_source(table, visible=view is self.view)
        self._offer_actions()
        if first and self.views:
            self._switcher.current = self.views[self.active_table].id
            if self.has_focus:
                self.views[self.active_table].focus()
            self.refresh_bindings()
        self._after_change()

    def _view_for(self, table: StatsTable) -> StatsTableView:
        for view in self.views:
            if view.table_name == table.name:
                return view
        view = StatsTableView(table.name, id=f"monitor-table-{len(self.views)}")
        view.display = False  # the switcher shows only its current child
        self.views.append(view)
        self._switcher.mount(view)
        return view

    def _after_change(self) -> None:
        """Tabs, note, detail line and status for what is shown now."""
        self._tabs.set_tabs(
            tuple(
                TableTab(v.table_name, v.total if v.source.actions else None) for v in self.views
            ),
            self.active_table,
        )
        view = self.view
        note = self.query_one("#monitor-note", Static)
        text = view.source.note if view is not None else ""
        note.display = bool(text)
        if text:
            note.update(sanitize_lines(text))
        self._show_detail()
        self._show_status()

    def _show_detail(self) -> None:
        view = self.view
        text = ""
        if view is not None and (values := view.focused_values) is not None:
            columns = view.source.columns
            picked = [
                (columns[i], values[i])
                for i in view.source.columns_of(ColumnRole.TEXT)
                if i < len(values)
            ]
            if len(picked) == 1:
                text = single_line(str(picked[0][1] or ""))
            else:
                text = " · ".join(
                    f"{single_line(name)}: {single_line(str(v))}" for name, v in picked if v
                )
        if text != self._detail_text:
            self._detail_text = text
            detail = self.query_one("#monitor-detail", Static)
            detail.update(text)
            detail.display = bool(text)

    def _show_status(self) -> None:
        view = self.view
        location = f"Monitor · {view.table_name}" if view is not None else "Monitor"
        window = ""
        if view is not None:
            shown, total = len(view.shown), view.total
            # Rows of the monitor's own table (sessions, operations), not
            # the store's records: not ``StoreWords`` ("3 documents" would
            # be wrong for memdocs' operations).
            rows = "row" if total == 1 else "rows"
            window = f"{shown} of {total} {rows}" if view.filter_text else f"{total} {rows}"
        mode = "polling stopped" if self.stopped is not None else ""
        self.set_status(location=location, window=window, mode=mode)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.data_table is self.view:
            self._show_detail()

    @on(TableBar.Chosen)
    def _tab_chosen(self, event: TableBar.Chosen) -> None:
        event.stop()
        self.action_show_table(event.index)

    # -- keys ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.view
        if action == "monitor_action":
            index = parameters[0]
            return (
                view is not None
                and isinstance(index, int)
                and index < len(self.offered)
                and self.offered[index] in view.source.described_actions
            )
        if action == "retry":
            return self.stopped is not None
        if action in ("sort", "reverse_sort", "filter", "next_table"):
            return view is not None
        if action == "clear_filter":
            return view is not None and (
                bool(view.filter_text) or self.query_one("#monitor-filter-row").display
            )
        return True

    def action_show_table(self, index: int) -> None:
        if not 0 <= index < len(self.views):
            self.app.bell()
            return
        had_focus = self.view is not None and self.view.has_focus
        self.active_table = index
        view = self.views[index]
        if view.stale:
            view.refresh_rows()
        self._switcher.current = view.id
        filter_input = self.query_one("#monitor-filter", Input)
        filter_input.value = view.filter_text
        self.query_one("#monitor-filter-row").display = bool(view.filter_text)
        if had_focus or self.has_focus:
            view.focus()
        self._offer_actions()
        self._after_change()
        self.refresh_bindings()

    def action_next_table(self) -> None:
        if self.views:
            self.action_show_table((self.active_table + 1) % len(self.views))

    def action_sort(self) -> None:
        if self.view is not None:
            self.view.cycle_sort()
            self._show_detail()

    def action_reverse_sort(self) -> None:
        if self.view is not None:
            self.view.reverse_sort()
            self._show_detail()

    def action_filter(self) -> None:
        self.query_one("#monitor-filter-row").display = True
        self.query_one("#monitor-filter", Input).focus()
        self.refresh_bindings()

    @on(Input.Changed, "#monitor-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.view is not None:
            self.view.set_filter(event.value)
            self._show_detail()
            self._show_status()

    @on(Input.Submitted, "#monitor-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#monitor-filter-row").display = bool(event.value)
        self.focus_main()

    def action_clear_filter(self) -> None:
        filter_input = self.query_one("#monitor-filter", Input)
        filter_input.value = ""  # Input.Changed clears the view's filter
        if self.view is not None:
            self.view.set_filter("")
        self.query_one("#monitor-filter-row").display = False
        self.focus_main()
        self._show_status()
        self.refresh_bindings()

    def action_toggle_metrics(self) -> None:
        self.toggle_class("-no-metrics")

    def action_retry(self) -> None:
        self._resume()

    # -- actions on a row ------------------------------------------------------------

    def _offer_actions(self) -> None:
        """Bind the keys of the shown table's actions, in the footer after
        the panel's table keys (the first action of a key; none that takes
        one of the panel's own keys)."""
        view = self.view
        taken = {key for b in self.BINDINGS if isinstance(b, Binding) for key in b.key.split(",")}
        offered: list[MonitorAction] = []
        for action in view.source.described_actions if view is not None else ():
            if action.key and action.key not in taken:
                taken.add(action.key)
                offered.append(action)
        if tuple(offered) == self.offered:
            return
        self.offered = tuple(offered)
        at = next(i for i, b in enumerate(self.BINDINGS) if getattr(b, "action", "") == "retry")
        own = list(self.BINDINGS)
        self._bindings = BindingsMap(
            [
                *own[:at],
                *(
                    Binding(a.key, f"monitor_action({i})", a.label)
                    for i, a in enumerate(self.offered)
                ),
                *own[at:],
            ]
        )
        self.refresh_bindings()

    def key_bindings(self) -> list[Binding]:
        """The panel's keys as they are now, the shown table's actions
        included, in footer order (for a keys help of this connection)."""
        return [b for found in self._bindings.key_to_bindings.values() for b in found]

    def action_monitor_action(self, index: int) -> None:
        view = self.view
        if view is None or not 0 <= index < len(self.offered):
            self.app.bell()
            return
        action = self.offered[index]
        row_id = view.focused_id()
        if action not in view.source.described_actions or row_id is None:
            self.app.bell()
            return
        if action.danger is ActionDanger.SAFE:
            self._act(action, row_id)
            return
        title, text, confirm = confirmation(view, action, row_id)

        def done(answer: bool) -> None:
            if answer:
                self._act(action, row_id)

        self.post_message(
            ConfirmRequested(
                title,
                text,
                done,
                confirm=confirm,
                danger=action.danger is ActionDanger.DESTRUCTIVE,
            )
        )

    def _act(self, action: MonitorAction, row_id: Any) -> Worker[None]:
        """Run ``action`` on the row ``row_id`` on the panel's connection."""
        action_id = action.id
        return call_in_background(
            self,
            lambda b: b.session_action(action_id, row_id),
            done=self.ActionDone,
            failed=self.ActionFailed,
            group="session_actions",
            session=self._session,
        )

    def on_monitor_panel_action_done(self, event: MonitorPanel.ActionDone) -> None:
        event.stop()
        self.notify(self._session.scrub(event.outcome), markup=False)
        self.sample_now()

    @on(ActionFailed)
    def _action_failed(self, event: MonitorPanel.ActionFailed) -> None:
        # Not stopped: the App notifies; polling goes on.
        self.sample_now()
