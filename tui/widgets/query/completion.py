"""Completion for the query editor: an index of names built once in a worker,
and the popup (an ``OptionList`` overlay inside the panel) that shows matches.

The index keeps every name lower-cased in a sorted list, so the names starting
with what was typed are found with a binary search and read in order: opening
the popup costs the same with 10 tables or 10,000, and at most ``limit`` items
are ever shown. Qualified names (``table.column``, split by the language's
``split_name``) are also filed under their qualifier, for completion after a
dot. What to offer where (the word typed, its qualifier, the kinds that fit)
is the backend's to say (``CompletionRules.context``); the index only ranks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from rich.cells import cell_len
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from storescope.backends.language import plain_split
from storescope.tui.sanitize import has_controls, sanitize

_Entry = tuple[str, str, str]  # (match key, name as inserted, kind)

#: Quote characters a typed or qualified name may start or end with; they
#: are not part of the name when matching.
_QUOTES = "\"'`["
_CLOSING = "\"'`]"


def _key(name: str) -> str:
    return name.lower().lstrip(_QUOTES)


@dataclass
class CompletionIndex:
    """Names to complete, searchable by prefix (see module docstring)."""

    top: list[_Entry] = field(default_factory=list)
    members: dict[str, list[_Entry]] = field(default_factory=dict)
    _top_keys: list[str] = field(default_factory=list)
    _member_keys: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        names: list[tuple[str, str]],
        keywords: tuple[str, ...] = (),
        split_name: Callable[[str], tuple[str, str] | None] = plain_split,
    ) -> CompletionIndex:
        top: dict[tuple[str, str], str] = {}
        members: dict[str, dict[str, _Entry]] = {}
        for word in keywords:
            top[(word, "keyword")] = "keyword"
        for name, kind in names:
            if has_controls(name):
                # Completing it would write its control characters into
                # the editor, which shows them raw: such a name is typed
                # as a quoted identifier instead.
                continue
            parts = split_name(name)
            if parts is None:
                top[(name, kind)] = kind
                continue
            qualifier, member = parts
            members.setdefault(_key(qualifier), {})[member] = (_key(member), member, kind)
            # A member (a column) is also offered on its own.
            top[(member, kind)] = kind
        index = cls()
        index.top = sorted((_key(n), n, k) for (n, k) in top)
        index._top_keys = [e[0] for e in index.top]
        for qualifier, found in members.items():
            entries = sorted(found.values())
            index.members[qualifier] = entries
            index._member_keys[qualifier] = [e[0] for e in entries]
        return index

    def __len__(self) -> int:
        return len(self.top)

    def matches(
        self,
        prefix: str,
        qualifier: str | None = None,
        *,
        limit: int = 50,
        prefer: tuple[str, ...] = (),
    ) -> list[_Entry]:
        """Names starting with ``prefix`` (case-insensitive), below
        ``qualifier`` when given; at most ``limit``. The kinds in ``prefer``
        come first, in that order, each kind in alphabetical order."""
        scan = limit * 4 if prefer else limit
        if qualifier is None:
            entries, keys = self.top, self._top_keys
        else:
            q = _key(qualifier).rstrip(_CLOSING)
            entries = self.members.get(q, [])
            keys = self._member_keys.get(q, [])
        p = _key(prefix)
        out: list[_Entry] = []
        i = bisect.bisect_left(keys, p)
        while i < len(keys) and keys[i].startswith(p) and len(out) < scan:
            if keys[i] != p or entries[i][1] != prefix:
                out.append(entries[i])
            i += 1
        if prefer:
            last = len(prefer)
            out.sort(key=lambda e: prefer.index(e[2]) if e[2] in prefer else last)
        return out[:limit]


class CompletionList(OptionList):
    """The popup: shown under the editor's cursor while the editor keeps focus."""

    DEFAULT_CSS: ClassVar[str] = """
    CompletionList {
        overlay: screen;
        position: absolute;
        width: 20;
        height: auto;
        max-height: 10;
        border: none;
        padding: 0;
        background: $panel;
        display: none;
    }
    """

    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[_Entry] = []
        #: Characters of the word typed so far (replaced on accept).
        self.typed = 0

    def show(self, entries: list[_Entry], typed: int) -> None:
        self.entries = entries
        self.typed = typed
        self.set_options(
            [
                Option(Content.assemble(sanitize(name), (f"  {kind}", "$text-muted")))
                for _, name, kind in entries
            ]
        )
        self.highlighted = 0
        # A fixed width: "auto" would measure every option on each keystroke.
        widest = max(
            (cell_len(sanitize(name)) + len(kind) for _, name, kind in entries), default=10
        )
        self.styles.width = min(60, max(20, widest + 4))
        self.display = True

    def hide(self) -> None:
        self.display = False

    def move(self, step: int) -> None:
        if self.option_count:
            current = self.highlighted or 0
            self.highlighted = (current + step) % self.option_count

    @property
    def chosen(self) -> str | None:
        index = self.highlighted
        if index is None or index >= len(self.entries):
            return None
        return self.entries[index][1]
