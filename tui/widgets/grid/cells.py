"""How a value from a backend looks in one grid cell: single-line text plus
a kind that picks its style and alignment.

Formatting is bounded: only the first ``SCAN`` characters (or bytes, or
items) of any value are ever looked at, so a 50 MB string costs no more than
a short one.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment

from storescope.backends.types import (
    MISSING,
    BinaryValue,
    ObjectIdValue,
    StreamEntry,
    TaggedValue,
    Truncated,
)
from storescope.tui.sanitize import sanitize

#: Characters (or bytes) of a value ever formatted for a cell.
SCAN = 200
#: Bytes shown as hex in a binary preview.
HEX_BYTES = 8


class CellKind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"  # right-aligned
    NULL = "null"
    MISSING = "missing"
    BOOL = "bool"
    BINARY = "binary"
    JSON = "json"
    TEMPORAL = "temporal"
    TAGGED = "tagged"
    TRUNCATED = "truncated"


def single_line(text: str) -> str:
    """The first ``SCAN`` characters of ``text`` on one safe line: the one
    sanitizer's work (``tui.sanitize``: a line break is ``⏎``, a control
    character a visible escape such as ``\\x1b``)."""
    return sanitize(text[:SCAN])


def human_size(n: int, unit: str = "bytes") -> str:
    if unit != "bytes":
        return f"{n:,} {unit}"
    size = float(n)
    for suffix in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or suffix == "TB":
            return f"{n} B" if suffix == "B" else f"{size:.1f} {suffix}"
        size /= 1024
    return f"{n} B"


def _hex_preview(data: bytes | bytearray | memoryview) -> str:
    head = bytes(data[:HEX_BYTES]).hex()
    more = "…" if len(data) > HEX_BYTES else ""
    return f"\\x{head}{more} ({human_size(len(data))})"


def _json_default(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, (bytes, bytearray)):
        return _hex_preview(value)
    if isinstance(value, BinaryValue):
        return _hex_preview(value.data)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _bounded(value: Any, depth: int = 0) -> Any:
    """``value`` with long strings, big containers and deep nesting cut, so
    dumping it costs the same whatever the document's size."""
    if isinstance(value, str):
        return value if len(value) <= SCAN else value[:SCAN] + "…"
    if isinstance(value, dict):
        if depth > 4:
            return "{…}"
        items = list(value.items())[:SCAN] if len(value) > SCAN else value.items()
        return {str(k): _bounded(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple):
        if depth > 4:
            return "[…]"
        return [_bounded(v, depth + 1) for v in value[:SCAN]] + (["…"] if len(value) > SCAN else [])
    return value


def _compact_json(value: Any) -> str:
    text = json.dumps(
        _bounded(value), separators=(",", ":"), ensure_ascii=False, default=_json_default
    )
    return single_line(text)


def format_value(value: Any, null_word: str = "NULL") -> tuple[str, CellKind]:
    """The single-line text of ``value`` and its kind. ``null_word`` is what
    the store calls no value (``StoreWords.no_value``: NULL, null, (nil)),
    shown for None."""
    if value is None:
        return null_word, CellKind.NULL
    if value is MISSING:
        return "·", CellKind.MISSING
    if isinstance(value, str):
        return single_line(value), CellKind.TEXT
    if isinstance(value, bool):
        return ("true" if value else "false"), CellKind.BOOL
    if isinstance(value, int | float):
        return repr(value), CellKind.NUMBER
    if isinstance(value, Decimal):
        return str(value), CellKind.NUMBER
    if isinstance(value, datetime):
        return value.isoformat(sep=" "), CellKind.TEMPORAL
    if isinstance(value, date | time):
        return value.isoformat(), CellKind.TEMPORAL
    if isinstance(value, timedelta):
        return str(value), CellKind.TEMPORAL
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _hex_preview(value), CellKind.BINARY
    if isinstance(value, BinaryValue):
        return _hex_preview(value.data), CellKind.BINARY
    if isinstance(value, dict | list | tuple):
        return _compact_json(value), CellKind.JSON
    if isinstance(value, Truncated):
        preview = value.preview
        head = (
            "\\x" + preview[:HEX_BYTES].hex()
            if isinstance(preview, bytes)
            else single_line(preview)
        )
        return f"{head}… ({human_size(value.total_size, value.unit)})", CellKind.TRUNCATED
    if isinstance(value, ObjectIdValue):
        return value.hex, CellKind.TAGGED
    if isinstance(value, StreamEntry):
        fields = " ".join(f"{k}={v}" for k, v in value.fields[:SCAN])
        return single_line(f"{value.id} {fields}"), CellKind.TAGGED
    if isinstance(value, TaggedValue):
        return single_line(str(value)), CellKind.TAGGED
    return single_line(str(value)), CellKind.TEXT


def fit(text: str, width: int, *, right: bool = False, keep_tail: bool = False) -> str:
    """``text`` padded or cut (with "…") to exactly ``width`` cells.

    ``keep_tail``: text ending in " (size)" is cut before that tail, so a
    preview keeps showing the value's true size.
    """
    length = len(text) if text.isascii() else cell_len(text)
    if length <= width:
        pad = " " * (width - length)
        return pad + text if right else text + pad
    if width <= 1:
        return "…"[:width]
    if keep_tail and (split := text.rfind(" (")) > 0:
        tail = text[split:]
        room = width - text_width(tail) - 1
        if room >= 3:
            return set_cell_size(text[:split].removesuffix("…"), room) + "…" + tail
    return set_cell_size(text, width - 1) + "…"


def slice_cells(text: str, start: int, end: int) -> str:
    """Cells [start, end) of ``text`` (a wide character cut in half becomes a space)."""
    if text.isascii():
        return text[start:end]
    return Segment(text).split_cells(start)[1].split_cells(end - start)[0].text


def text_width(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)
