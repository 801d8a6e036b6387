"""What the monitor panel asks before a session action (cancel, terminate):
who the session is, how long its query has run, the query itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storescope.tui.widgets.cells import single_line
from storescope.tui.widgets.monitor_table import format_duration

if TYPE_CHECKING:
    from storescope.tui.widgets.monitor_table import StatsTableView

#: Characters of a query quoted in a confirmation.
CONFIRM_QUERY_CHARS = 120


def confirmation(view: StatsTableView, action: str, session_id: Any) -> tuple[str, str, str]:
    """(title, text, confirm button) for ``action`` on the focused row of
    ``view``, from the columns it has (named as in any store)."""
    values = view.focused_values or ()

    def value(*names: str) -> Any:
        index = view.column_index(*names)
        return values[index] if index is not None and index < len(values) else None

    user = value("user", "usename", "client user")
    database = value("database", "db", "datname")
    who = ", ".join(
        part for part in (f"user {user}" if user else "", database and f"db {database}") if part
    )
    running = value("query duration", "running", "duration", "secs_running")
    started = value("query start", "query started")
    query = value("query", "command", "blocked query")
    # Names and the query come from the server: one sanitized line each.
    lines = [single_line(f"Session {session_id}" + (f" ({who})" if who else ""))]
    if started is not None:
        lines.append(single_line(f"query started {started}"))
    elif running is not None:
        shown = format_duration(running) if hasattr(running, "total_seconds") else running
        lines.append(single_line(f"query running for {shown}"))
    if query:
        text = single_line(str(query))
        cut = text[:CONFIRM_QUERY_CHARS] + ("…" if len(text) > CONFIRM_QUERY_CHARS else "")
        lines.append(cut)
    shown_id = single_line(str(session_id))
    if action == "terminate":
        title = f"Terminate session {shown_id}?"
        lines.append("Ends the session; its open transaction rolls back.")
        confirm = "Terminate"
    elif action == "cancel":
        title = f"Cancel the query of session {shown_id}?"
        confirm = "Cancel query"
    else:
        title, confirm = f"{action.capitalize()} session {shown_id}?", action.capitalize()

    return title, "\n".join(lines), confirm
