"""The one sanitizer for text that comes from a store, before anyone sees it.

A table, key, collection or object name, a cell value, a server's error or
notice, another session's query text: any of them may hold bytes a terminal
obeys instead of showing (``\\x1b]0;PWNED\\x07`` sets the window title,
``\\x1b[2J`` clears the screen), a line break that splits one row of a list
into two, or a bidi override that shows ``exe.txt`` for ``txt.exe``. Every
such text goes through ``sanitize`` (one line) or ``sanitize_lines`` (a
multi-line box) on its way to a widget, the headless CLI's table and ``ls``
output, or stderr. What a store gets back (paths, keys, edited values) is
always the original text, never the sanitized one.

Plain Python (no Textual, no Rich): the headless CLI uses it too.

What becomes what, decided once (``sanitize`` / ``sanitize_lines``):

- A line break (``\\n``, or ``\\r\\n``): ``⏎`` in one line; a new line in
  a multi-line box.
- A tab: one space in one line; spaces to the next 4-column stop in a
  multi-line box. Tabs are whitespace, not commands, so they are expanded
  rather than escaped.
- Every other C0 control (U+0000–U+001F, a lone ``\\r`` too), DEL (U+007F)
  and every C1 control (U+0080–U+009F): a ``\\xNN`` escape, ``\\x1b`` for
  ESC, ``\\x9b`` for the one-byte CSI (``\\r`` for a carriage return).
- Bidi marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
  U+202A–U+202E, U+2066–U+2069) and the line/paragraph separators U+2028,
  U+2029: a ``\\uNNNN`` escape, ``\\u202e`` for RIGHT-TO-LEFT OVERRIDE.
- An undecodable byte a backend kept as a lone surrogate
  (``surrogateescape``, e.g. a Redis key): ``\\xff``, the byte itself.

``⏎`` is what the grid has always shown for a line break; the escapes are
the ones the CLI's table and ``ls`` print (Python's own notation, lower-case
hex). Everything else passes unchanged: letters of any script, emoji and
their zero-width joiners, combining marks, non-breaking spaces. The result is
for people and is not meant to be parsed back (a name holding the four
characters ``\\x1b`` looks like one holding ESC); use ``--format jsonl`` or
the store's own tools for that.

Markup is the other half: ``[bold]`` or ``[link=...]`` in a name must be
shown, not interpreted. Sanitized text is still plain text, so widgets hand
it to Textual as ``Text``/``Content`` objects or with ``markup=False``,
never as a markup string (see the widgets; ``StorescopeApp.notify`` does it
for every notification).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from storescope.backends.paths import display_path

__all__ = [
    "BIDI_CONTROLS",
    "has_controls",
    "sanitize",
    "sanitize_lines",
    "shown_path",
]

LINE_BREAK = "⏎"
TAB_STOP = 4

#: Format characters that reorder or isolate the text around them.
BIDI_CONTROLS = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_SEPARATORS = (0x2028, 0x2029)

# Shared by both modes: every control but the line break and the tab.
_ESCAPES: dict[int, str] = {
    c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)
}
_ESCAPES[0x0D] = "\\r"
_ESCAPES.update({c: f"\\u{c:04x}" for c in (*sorted(BIDI_CONTROLS), *_SEPARATORS)})

_ONE_LINE: dict[int, str] = {**_ESCAPES, 0x0A: LINE_BREAK, 0x09: " "}
_LINES: dict[int, str] = dict(_ESCAPES)

# A string holding any of these needs more than the fast path.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"
    + "".join(chr(c) for c in sorted(BIDI_CONTROLS))
    + "\u2028\u2029\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def sanitize(text: str) -> str:
    """``text`` as one safe line for a terminal (see the module docstring)."""
    # str.isprintable() is False for every character changed here (and for
    # some that pass, such as U+00A0): most names and values take this exit.
    if text.isprintable():
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _surrogates(text.translate(_ONE_LINE))


def sanitize_lines(text: str) -> str:
    """``text`` as safe lines for a multi-line box: line breaks stay line
    breaks, tabs become spaces, everything else as ``sanitize`` does."""
    if text.isprintable():
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if "\t" in text:
        text = text.expandtabs(TAB_STOP)
    return _surrogates(text.translate(_LINES))


def has_controls(text: str) -> bool:
    """Whether ``text`` holds anything a terminal would obey or that needs a
    visible escape (line breaks included, tabs not): such a value cannot be
    shown as it is in a one-line editor, whose text is sent back as typed."""
    return not text.isprintable() and _UNSAFE.search(text.replace("\t", " ")) is not None


def shown_path(path: Iterable[str]) -> str:
    """A catalog path for people: ``backends.paths.display_path`` of it,
    sanitized (a status line, a title)."""
    return sanitize(display_path(tuple(path)))


def _surrogates(text: str) -> str:
    """Lone surrogates (undecodable bytes a backend kept with
    ``surrogateescape``) as ``\\xff``; any other lone surrogate as ``\\udxxx``."""
    if _SURROGATE.search(text) is None:
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
