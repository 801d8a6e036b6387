"""The top of the monitor panel: one line per metric (name, sparkline of its
history, current value), laid out in as many columns as fit; and the
one-line bar naming the panel's tables.

At 80 columns the panel is ~55 cells wide: two columns of ~26 cells, each
line "name (≤13) sparkline (≥4) value (7)". Long names are cut in the
middle of the name, never in the "/s" that says the value is a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from storescope.tui.sanitize import sanitize
from storescope.tui.widgets.label_bar import Label, LabelBar
from storescope.tui.widgets.monitor.monitor_history import MetricSeries, format_metric

if TYPE_CHECKING:
    from textual.app import ComposeResult

VALUE_WIDTH = 7
MIN_SPARK = 4
#: Cells of one metric column, at least (more columns only when they fit).
COLUMN_WIDTH = 34
GUTTER = 2


def cut_label(label: str, width: int) -> str:
    """``label`` in ``width`` cells, cut with "…" before a "/s" suffix."""
    label = sanitize(label)
    if cell_len(label) <= width:
        return label
    suffix = "/s" if label.endswith("/s") else ""
    head = label[: len(label) - len(suffix)]
    room = max(1, width - len(suffix) - 1)
    return head[:room].rstrip() + "…" + suffix


class MetricLine(Horizontal):
    """One metric: name, sparkline, current value."""

    DEFAULT_CSS: ClassVar[str] = """
    MetricLine {
        height: 1;
        width: 1fr;
        & > .metric-name { width: 13; text-wrap: nowrap; text-overflow: ellipsis; }
        & > Sparkline { width: 1fr; min-width: 4; margin: 0 1 0 1; }
        & > .metric-value { width: 7; text-align: right; }
    }
    """

    def __init__(self, series: MetricSeries) -> None:
        super().__init__()
        self.series = series
        self._label_widget = Static(sanitize(series.label), classes="metric-name", markup=False)
        self._spark = Sparkline([])
        self._value = Static("…", classes="metric-value", markup=False)
        self._shown_value = "…"
        self._label_width = 0  # set by the grid's first fit

    def compose(self) -> ComposeResult:
        yield self._label_widget
        yield self._spark
        yield self._value

    def set_name_width(self, width: int) -> None:
        if width != self._label_width:
            self._label_width = width
            self._label_widget.styles.width = width
            self._label_widget.update(cut_label(self.series.label, width))

    def update_values(self) -> None:
        """Show the series' latest value and history (no redraw when unchanged)."""
        series = self.series
        text = format_metric(series.current, series.unit)
        if text != self._shown_value:
            self._shown_value = text
            self._value.update(text)
        # The sparkline buckets the whole history (10 minutes) into its width.
        # One point would fill it with full blocks: shown flat until a second.
        values = series.values()
        self._spark.data = values * 2 if len(values) == 1 else values


class MetricGrid(Widget):
    """The metric lines, in columns sized to the panel's width."""

    DEFAULT_CSS: ClassVar[str] = """
    MetricGrid {
        layout: grid;
        grid-size: 2;
        grid-gutter: 0 2;
        grid-rows: 1;
        height: auto;
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: dict[str, MetricLine] = {}
        self._columns = 2

    def add_series(self, series: list[MetricSeries]) -> None:
        new = [MetricLine(s) for s in series]
        for line in new:
            self.lines[line.series.name] = line
        if new:
            self.mount(*new)
            self._fit(self.content_size.width)

    def update_values(self) -> None:
        for line in self.lines.values():
            line.update_values()

    def on_resize(self) -> None:
        self._fit(self.content_size.width)

    def _fit(self, width: int) -> None:
        if width <= 0:
            return
        columns = max(1, min(3, (width + GUTTER) // (COLUMN_WIDTH + GUTTER)))
        if width >= 2 * (VALUE_WIDTH + MIN_SPARK + 8) + GUTTER:
            columns = max(columns, 2)  # two narrow columns beat one tall list
        if columns != self._columns:
            self._columns = columns
            self.styles.grid_size_columns = columns
        column_width = (width - GUTTER * (columns - 1)) // columns
        longest = max((cell_len(line.series.label) for line in self.lines.values()), default=8)
        name_width = max(6, min(longest, column_width - VALUE_WIDTH - MIN_SPARK - 2))
        for line in self.lines.values():
            line.set_name_width(name_width)


class StoppedLine(Widget):
    """ "polling stopped: <reason> · r retries", the reason cut to fit so the
    way out always shows."""

    DEFAULT_CSS: ClassVar[str] = """
    StoppedLine {
        height: 1;
        width: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reason = ""

    def show(self, reason: str) -> None:
        self.reason = sanitize(reason)
        self.refresh()

    def render(self) -> Content:
        head, tail = " polling stopped: ", " · r retries"
        room = self.size.width - cell_len(head) - cell_len(tail)
        reason = self.reason
        if cell_len(reason) > room:
            reason = reason[: max(0, room - 1)] + "…"
        return Content.assemble(head, reason, (tail, "bold"))


@dataclass(frozen=True, slots=True)
class TableTab:
    name: str
    count: int | None  # shown for tables the user acts on (sessions)


class TableBar(LabelBar):
    """One line naming the tables, the shown one highlighted (keys 1-9, t)."""

    DEFAULT_CSS: ClassVar[str] = """
    TableBar {
        height: 1;
        width: 1fr;
    }
    """

    @dataclass
    class Chosen(Message):
        index: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs: tuple[TableTab, ...] = ()
        self.active = 0

    def set_tabs(self, tabs: tuple[TableTab, ...], active: int) -> None:
        if tabs != self.tabs or active != self.active:
            self.tabs = tabs
            self.active = active
            self.refresh()

    def labels(self) -> list[Label]:
        out: list[Label] = []
        for i, tab in enumerate(self.tabs):
            text = f" {sanitize(tab.name)}"
            if tab.count is not None:
                text += f" {tab.count}"
            style = "bold $foreground on $primary-muted" if i == self.active else "$text-muted"
            out.append([(f"{text} ", style)])
        return out

    def label_clicked(self, index: int) -> None:
        self.post_message(self.Chosen(index))
