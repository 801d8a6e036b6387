"""What the monitor panel remembers between samples: a bounded history per
metric, with counters turned into rates per second.

A COUNTER (commits, blocks read...) only ever grows, so its level says
nothing; the panel shows the difference between two samples divided by the
seconds between them. A counter that went *down* means the server restarted
or its statistics were reset: that interval has no meaningful rate and is
skipped (the next one starts from the new level). GAUGEs are kept as they
come. Everything here is plain Python (no Textual), so it is cheap and
testable on its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from storescope.backends.types import Metric, MetricKind, Stats
from storescope.tui.widgets.grid.cells import human_size

#: Seconds of history kept per metric (at most ``MAX_POINTS`` points).
HISTORY_SECONDS = 600.0
MAX_POINTS = 600


@dataclass(slots=True)
class MetricSeries:
    """One metric's shown values (rates for counters), oldest first."""

    name: str
    kind: MetricKind
    unit: str
    points: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_POINTS))
    # The counter's last raw reading and when it was taken.
    last_raw: float | None = None
    last_at: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.name}/s" if self.kind is MetricKind.COUNTER else self.name

    @property
    def current(self) -> float | None:
        return self.points[-1][1] if self.points else None

    def values(self) -> list[float]:
        return [v for _, v in self.points]

    def add(self, metric: Metric, taken_at: float) -> None:
        if metric.kind is MetricKind.COUNTER:
            previous, previous_at = self.last_raw, self.last_at
            self.last_raw, self.last_at = metric.value, taken_at
            if previous is None:
                return
            elapsed = taken_at - previous_at
            if elapsed <= 0 or metric.value < previous:
                return  # a reset or a clock step: no rate for this interval
            self.points.append((taken_at, (metric.value - previous) / elapsed))
        else:
            self.points.append((taken_at, metric.value))
        horizon = taken_at - HISTORY_SECONDS
        while self.points and self.points[0][0] < horizon:
            self.points.popleft()


class MetricHistory:
    """Every metric's series, in the order the backend first reported them."""

    def __init__(self) -> None:
        self.series: dict[str, MetricSeries] = {}
        self.samples = 0

    def add(self, stats: Stats) -> list[str]:
        """Record one sample; returns the names of metrics seen for the first time."""
        new: list[str] = []
        for metric in stats.metrics:
            series = self.series.get(metric.name)
            if series is None or series.kind is not metric.kind:
                series = MetricSeries(metric.name, metric.kind, metric.unit)
                self.series[metric.name] = series
                new.append(metric.name)
            series.unit = metric.unit
            series.add(metric, stats.taken_at)
        self.samples += 1
        return new


def compact_number(value: float) -> str:
    """A short number: 7, 12.5, 0.25, 1.2k, 3.4M."""
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if abs(scaled) < 100 else f"{scaled:.0f}{suffix}"
    if value == int(value):
        return str(int(value))
    if magnitude >= 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_metric(value: float | None, unit: str) -> str:
    """The value shown beside a sparkline ("12.5", "99.2 %", "1.2 MB")."""
    if value is None:
        return "…"
    if unit == "bytes":
        return human_size(round(value))
    if unit == "%":
        return f"{value:.1f} %"
    return compact_number(value)
