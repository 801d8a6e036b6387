"""What the monitor panel asks before an action on a row: the backend's own
words (``MonitorAction``: title, lines, button), with the focused row's
facts filled in by the column roles the backend declares.

A fact is one sanitized line: a duration read at a glance ("4.2 s"), a
text cut to ``CONFIRM_TEXT_CHARS``, anything else as it prints. A line that
names a fact the row lacks (no such column, or an empty value) is left
out; of alternatives (a tuple of lines) the first whose facts are all there
is shown. See ``storescope.backends.types.MonitorAction``.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from storescope.backends.types import ColumnRole
from storescope.tui.widgets.grid.cells import single_line
from storescope.tui.widgets.monitor.monitor_table import format_duration

if TYPE_CHECKING:
    from storescope.backends.types import MonitorAction
    from storescope.tui.widgets.monitor.monitor_table import StatsTableView

#: Characters of a row's text quoted in a confirmation.
CONFIRM_TEXT_CHARS = 120

_FORMATTER = string.Formatter()


def _fact(role: ColumnRole, value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "total_seconds"):
        return single_line(format_duration(value))
    text = single_line(str(value))
    if role is ColumnRole.TEXT and len(text) > CONFIRM_TEXT_CHARS:
        return text[:CONFIRM_TEXT_CHARS] + "…"
    return text


def facts(view: StatsTableView, row_id: Any) -> dict[str, str]:
    """The focused row's facts by role name (``"id"`` is ``row_id``); only
    those with a value."""
    found = {role.value: _fact(role, view.fact(role)) for role in ColumnRole}
    found[ColumnRole.ID.value] = single_line(str(row_id))
    return {name: text for name, text in found.items() if text}


def fill(template: str, known: dict[str, str]) -> str | None:
    """``template`` with its ``{role}`` fields filled, or None when it names
    a fact not in ``known`` (or is not a template)."""
    try:
        names = [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
        if any(name not in known for name in names):
            return None
        return template.format_map(known)
    except (ValueError, IndexError, KeyError, AttributeError):
        return None


def _line(entry: str | tuple[str, ...], known: dict[str, str]) -> str | None:
    for template in (entry,) if isinstance(entry, str) else entry:
        if (text := fill(template, known)) is not None:
            return text
    return None


def confirmation(view: StatsTableView, action: MonitorAction, row_id: Any) -> tuple[str, str, str]:
    """(title, text, confirm button) for ``action`` on the focused row of
    ``view``, whose id is ``row_id``."""
    known = facts(view, row_id)
    title = fill(action.title, known) or single_line(action.label)
    lines = [line for entry in action.text if (line := _line(entry, known)) is not None]
    return single_line(title), "\n".join(single_line(line) for line in lines), action.confirm
