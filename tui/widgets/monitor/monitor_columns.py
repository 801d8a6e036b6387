"""Which columns of a monitor table to show first, for the width there is.

A backend lists a table's columns in its own order (who, where, from which
client, ...). In a narrow terminal that order pushes what matters when
watching a server (how long an operation runs, its state, what it waits
for, its text) past the right edge. Like
pg_activity, the panel picks the order itself, from the column *roles* the
backend declares (``StatsTable.roles``), so one rule serves every store:

- narrow: the row's id, its duration, state, wait, the text; then the other
  columns while the text keeps room; the rest after (scroll right);
- wide (everything fits): id, the other columns (user, database...), state,
  duration, wait, text last.

Columns without a role keep the backend's order. A narrow layout gives
every shown column a fixed width (long states and waits are cut with "…")
and the text what is left, so nothing moves when a value grows by a
character; the detail line under the table shows the focused row's text
whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from storescope.backends.types import ColumnRole

#: Cells of a non-text column in a narrow layout (more is cut with "…"):
#: the first that leaves the text TEXT_ROOM, else the last.
NARROW_CELLS = (12, 10)
#: Cells the text keeps at least in a narrow layout before more columns show.
TEXT_ROOM = 24
#: Cells a narrow layout always leaves the text (if less, it runs off the edge).
TEXT_MIN = 12
#: A chain (``ColumnRole.CHAIN``: "412 ← 398 ← 377") is what its table is
#: for: in a narrow layout it keeps this many cells, not NARROW_CELLS (three
#: 5-digit ids and their arrows).
CHAIN_CELLS = 22


class Role(IntEnum):
    """What a column is about; the value is its rank in a narrow layout."""

    KEY = 0
    DURATION = 1
    STATE = 2
    WAIT = 3
    DETAIL = 4
    OTHER = 5


#: A narrow layout's label for a long name with one of these words.
_SHORT_LABELS = ("duration", "wait", "state")


def words(name: str) -> list[str]:
    """Lowercased words of a column name: "query duration", "wait_event"
    and "waitingForLock" all split."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-z0-9%]+", spaced.lower()) if w]


#: A declared role's place in the layout (CHAIN is a wait kept wider).
_LAYOUT_ROLES = (
    (ColumnRole.WAIT, Role.WAIT),
    (ColumnRole.CHAIN, Role.WAIT),
    (ColumnRole.STATE, Role.STATE),
    (ColumnRole.TEXT, Role.DETAIL),
)

#: Columns by declared role (``StatsTable.roles``, the id included).
Declared = Mapping[ColumnRole, tuple[int, ...]]


def roles(n: int, declared: Declared) -> list[Role]:
    """The layout role of each of ``n`` columns. Only one column is the KEY
    (the first declared id) and one the DURATION (the first declared
    duration): other columns without a layout role count as OTHER."""
    found = [Role.OTHER] * n
    for declared_role, role in _LAYOUT_ROLES:
        for i in declared.get(declared_role, ()):
            if 0 <= i < n:
                found[i] = role
    for declared_role, role in ((ColumnRole.DURATION, Role.DURATION), (ColumnRole.ID, Role.KEY)):
        first = next((i for i in declared.get(declared_role, ()) if 0 <= i < n), None)
        if first is not None:
            found[first] = role
    return found


def short_label(name: str) -> str:
    """The label of a column in a narrow layout: "query duration" reads
    "duration", "wait event" "wait"; one-word names stay."""
    ws = words(name)
    if len(ws) > 1:
        for word in _SHORT_LABELS:
            if word in ws:
                return word
    return name


@dataclass(frozen=True, slots=True)
class ColumnLayout:
    """Columns to show, in order (positions in the source's columns), with
    fixed widths for some (the others fit their content); ``narrow`` says
    labels are shortened."""

    order: tuple[int, ...]
    widths: tuple[tuple[int, int], ...] = ()
    narrow: bool = False


_WIDE_RANK = {Role.KEY: 0, Role.OTHER: 1, Role.STATE: 2, Role.DURATION: 3, Role.WAIT: 4}


def plan(
    columns: tuple[str, ...],
    declared: Declared,
    content: list[int],
    available: int,
    *,
    padding: int = 2,
    mark: int = 2,
) -> ColumnLayout:
    """The layout for ``available`` cells, given the width of each column's
    longest cell (``content``); a label takes its name plus ``mark`` cells
    (the sort mark), a column ``padding`` more. See the module docstring."""
    n = len(columns)
    role = roles(n, declared)
    chains = set(declared.get(ColumnRole.CHAIN, ()))
    wide = sorted(range(n), key=lambda i: (_WIDE_RANK.get(role[i], 5), i))
    natural = [max(content[i], len(columns[i]) + mark) for i in range(n)]
    if available <= 0 or sum(natural) + padding * n <= available:
        return ColumnLayout(tuple(wide))
    ranked = sorted(range(n), key=lambda i: (role[i], i))
    details = [i for i in ranked if role[i] is Role.DETAIL]
    detail = details[0] if details else None
    room = TEXT_ROOM + padding if detail is not None else 0
    core = [i for i in ranked if role[i] < Role.DETAIL]
    for cells in NARROW_CELLS:
        widths = {
            i: max(
                min(content[i], CHAIN_CELLS if i in chains else cells),
                len(short_label(columns[i])) + mark,
            )
            for i in range(n)
            if i != detail
        }
        used = sum(widths[i] + padding for i in core)
        if used + room <= available:
            break
    extras: list[int] = []
    for i in ranked:
        if role[i] < Role.DETAIL or i == detail:
            continue
        if used + widths[i] + padding + room > available:
            break
        extras.append(i)
        used += widths[i] + padding
    shown = [*core, *extras]
    if detail is not None:
        widths[detail] = min(natural[detail], max(available - used - padding, TEXT_MIN))
        shown.append(detail)
    if any(role[i] is Role.OTHER for i in extras):
        # Room for who and where too: read like the wide layout.
        shown.sort(key=lambda i: (_WIDE_RANK.get(role[i], 5), i))
    rest = [i for i in ranked if i not in shown]
    return ColumnLayout(
        tuple(shown + rest),
        tuple((i, widths[i]) for i in shown),
        narrow=True,
    )
