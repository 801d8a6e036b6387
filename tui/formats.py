"""Output formats of the headless CLI and the encoding of backend values.

Everything here is plain Python (no Textual, no Rich, no driver): ``storescope
ls`` and ``storescope browse`` must start fast and run on a server without a
terminal.

Value encoding, decided once for every format:

- JSON of row stores (PostgreSQL rows, Redis and S3 listings): ``Decimal`` is
  written as an exact JSON number with its own digits (never through a float);
  non-finite numbers (``NaN``, ``Infinity``), which JSON cannot hold, become
  strings. ``datetime``/``date``/``time`` are ISO-8601 strings; ``timedelta``
  is an ISO-8601 duration (``P1DT2H3M4.5S``, ``-P...`` when negative); ``bytes``
  are PostgreSQL's hex text (``"\\xdeadbeef"``); a ``Truncated`` big value is
  ``{"preview": ..., "size": N, "unit": "bytes"}``; a field absent from a
  document (``MISSING``) is omitted. ObjectId/Binary/tagged values that show up
  in a row store are written as their text.
- JSON of document stores (MongoDB, ``record_style == "documents"``): relaxed
  MongoDB Extended JSON, as ``mongoexport`` writes it: ``{"$oid": hex}``,
  ``{"$date": "...Z"}``, ``{"$numberDecimal": "..."}``,
  ``{"$binary": {"base64": ..., "subType": "00"}}``, plain ints and floats.
- CSV: RFC 4180 quoting, ``\\n`` line ends, a NULL (or missing field) is an
  empty unquoted cell and an empty string is ``""`` (PostgreSQL's
  ``COPY ... CSV`` convention, so the two stay distinguishable); nested values
  (lists, documents) are compact JSON; other values as in the table format.
- Whole values: csv, json and jsonl write every value whole (the CLI asks the
  backend for whole pages). The encoders made with ``whole=True``
  (``record_encoder``, ``csv_row``) refuse a ``Truncated`` cell by raising
  ``CutValue`` instead of writing its preview as if it were the value; only
  ``--preview`` writes previews, in the forms above.
- Table: for humans. Aligned columns capped at ``MAX_CELL`` characters (longer
  values end in ``…``), control characters shown escaped by the one
  sanitizer (``tui.sanitize``: ``⏎``, ``\\x1b``...), NULL as ``<null>``.
  Not meant to be parsed: use ``--format jsonl`` or ``csv`` for that.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

from storescope.backends.types import (
    MISSING,
    BinaryValue,
    ObjectIdValue,
    StreamEntry,
    TaggedValue,
    Truncated,
)
from storescope.tui.sanitize import sanitize

Encoder = Callable[[Any], str]

#: Widest a table cell gets, in terminal cells.
MAX_CELL = 40
#: Bytes shown (as hex) in a table or csv cell before the value is cut: a
#: 50 MB value must not become a 100 MB string just to be truncated.
_BYTES_SHOWN = 64

_UTC = dt.UTC


class CutValue(ValueError):
    """A ``Truncated`` preview reached an encoder that writes values whole."""

    def __init__(self, value: Truncated) -> None:
        super().__init__(f"a value came as a preview ({value.total_size} {value.unit})")
        self.value = value


def _refuse_cut(value: Truncated) -> str:
    raise CutValue(value)


# -- scalar helpers ------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """Exact digits of a finite Decimal without an exponent (``1E-10`` ->
    ``0.0000000001``), as PostgreSQL prints numeric; non-finite as ``NaN`` etc."""
    text = str(value)
    # str() already gives plain digits for the usual scales (and is the
    # cheapest call); only an exponent form or a non-finite value needs more.
    if "E" not in text and text[-1:].isdigit():
        return text
    return _decimal_text_slow(value)


def _decimal_text_slow(value: Decimal) -> str:
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("-Infinity" if value.is_signed() else "Infinity")
    # Keep an exponent for absurd magnitudes instead of writing thousands of zeros.
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and abs(exponent) > 1000:
        return str(value)
    return format(value, "f")


def duration_text(value: dt.timedelta) -> str:
    """ISO-8601 duration of a timedelta: ``P1DT2H3M4.5S``; ``PT0S`` for zero."""
    if not value:
        return "PT0S"
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    days = value.days
    seconds = value.seconds
    micro = value.microseconds
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = [sign, "P"]
    if days:
        out.append(f"{days}D")
    if hours or minutes or secs or micro:
        out.append("T")
        if hours:
            out.append(f"{hours}H")
        if minutes:
            out.append(f"{minutes}M")
        if secs or micro:
            out.append(f"{secs}.{micro:06d}".rstrip("0").rstrip(".") + "S")
    return "".join(out)


def hex_bytes(value: bytes, limit: int | None = None) -> str:
    """PostgreSQL's bytea hex text, optionally cut after ``limit`` bytes."""
    if limit is not None and len(value) > limit:
        return "\\x" + value[:limit].hex() + f"… ({len(value)} bytes)"
    return "\\x" + value.hex()


def _float_json(value: float) -> str:
    text = float.__repr__(value)
    if text[-1] not in "fn":  # "inf", "-inf", "nan": not JSON numbers
        return text
    return '"NaN"' if math.isnan(value) else ('"Infinity"' if value > 0 else '"-Infinity"')


def _decimal_json(value: Decimal) -> str:
    text = str(value)
    if "E" not in text and text[-1:].isdigit():
        return text
    text = _decimal_text_slow(value)
    return text if value.is_finite() else f'"{text}"'


def _bool_json(value: bool) -> str:
    return "true" if value else "false"


def _null_json(_value: None) -> str:
    return "null"


def _iso_json(value: dt.date | dt.time) -> str:
    return '"' + value.isoformat() + '"'


def _bytes_json(value: bytes) -> str:
    # The hex text's backslash is escaped for JSON: "\\xdead" reads back as \xdead.
    return '"\\\\x' + value.hex() + '"'


def _duration_json(value: dt.timedelta) -> str:
    return '"' + duration_text(value) + '"'


# -- JSON for row stores ---------------------------------------------------------

# Exact types only: ``bool`` is a subclass of ``int`` and ``datetime`` of
# ``date``, so a lookup on ``type(v)`` is both faster and correct where an
# isinstance chain would need careful ordering.
_ROW_FAST: dict[type, Encoder] = {
    str: encode_basestring,
    int: int.__repr__,
    float: _float_json,
    bool: _bool_json,
    type(None): _null_json,
    Decimal: _decimal_json,
    dt.datetime: _iso_json,
    dt.date: _iso_json,
    dt.time: _iso_json,
    dt.timedelta: _duration_json,
    bytes: _bytes_json,
}


def row_json(value: Any) -> str:
    """JSON text of one value of a row store (see the module docstring)."""
    fast = _ROW_FAST.get(type(value))
    if fast is not None:
        return fast(value)
    return _row_json_slow(value)


def _row_json_slow(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                encode_basestring(str(k)) + ":" + row_json(v)
                for k, v in value.items()
                if v is not MISSING
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(row_json(v) for v in value) + "]"
    if isinstance(value, bool):
        return _bool_json(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_json(value)
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes_json(bytes(value))
    if isinstance(value, dt.timedelta):
        return _duration_json(value)
    if isinstance(value, dt.date | dt.time):
        return _iso_json(value)
    if isinstance(value, Decimal):
        return _decimal_json(value)
    if isinstance(value, Truncated):
        preview = value.preview
        shown = hex_bytes(preview) if isinstance(preview, bytes) else preview
        return (
            '{"preview":'
            + encode_basestring(shown)
            + ',"size":'
            + str(value.total_size)
            + ',"unit":'
            + encode_basestring(value.unit)
            + "}"
        )
    if isinstance(value, StreamEntry):
        return (
            '{"id":'
            + encode_basestring(value.id)
            + ',"fields":'
            + row_json(dict(value.fields))
            + "}"
        )
    if isinstance(value, ObjectIdValue):
        return encode_basestring(value.hex)
    if isinstance(value, BinaryValue):
        return row_json(value.data)
    if isinstance(value, TaggedValue):
        return encode_basestring(value.text)
    if value is MISSING:
        return "null"
    return encode_basestring(str(value))


# -- relaxed Extended JSON for document stores ------------------------------------


def _ejson_date(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(_UTC).replace(tzinfo=None)
    if 1970 <= value.year <= 9999:
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        millis = value.microsecond // 1000
        if millis:
            text += f".{millis:03d}"
        return '{"$date":"' + text + 'Z"}'
    # Relaxed Extended JSON keeps ISO text for years 1970..9999 only.
    epoch = dt.datetime(1970, 1, 1)
    ms = (value - epoch) // dt.timedelta(milliseconds=1)
    return '{"$date":{"$numberLong":"' + str(ms) + '"}}'


def _ejson_binary(data: bytes, subtype: int = 0) -> str:
    return (
        '{"$binary":{"base64":"'
        + base64.b64encode(data).decode("ascii")
        + '","subType":"'
        + f"{subtype:02x}"
        + '"}}'
    )


def _ejson_float(value: float) -> str:
    if math.isfinite(value):
        return float.__repr__(value)
    text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return '{"$numberDouble":"' + text + '"}'


def _ejson_tagged(value: TaggedValue) -> str:
    """The ``$``-form of a Mongo type the backend keeps as tagged text (see
    ``backends.mongo.bson_to_neutral``); a tag we do not know is written as its
    text, which a reader can still use."""
    tag = value.tag.lower()
    text = value.text
    if tag in ("bson", "dbref"):
        # Already Extended JSON (canonical / relaxed) made by the backend.
        try:
            json.loads(text)
        except ValueError:
            return encode_basestring(text)
        return text
    if tag == "uuid":
        try:
            raw = uuid.UUID(text).bytes
        except ValueError:
            return encode_basestring(text)
        return _ejson_binary(raw, 4)
    if tag == "date" and _is_int_text(text):
        return '{"$date":{"$numberLong":"' + text + '"}}'
    if tag in ("decimal128", "numberdecimal"):
        return '{"$numberDecimal":' + encode_basestring(text) + "}"
    if tag == "minkey":
        return '{"$minKey":1}'
    if tag == "maxkey":
        return '{"$maxKey":1}'
    if tag in ("int64", "long", "numberlong") and _is_int_text(text):
        return text
    if tag == "code":
        return '{"$code":' + encode_basestring(text) + "}"
    if tag == "timestamp":
        numbers: list[str] = re.findall(r"\d+", text)
        if len(numbers) == 2:
            return '{"$timestamp":{"t":' + numbers[0] + ',"i":' + numbers[1] + "}}"
    if tag in ("regex", "regularexpression") and text.startswith("/") and text.count("/") >= 2:
        pattern, _, options = text[1:].rpartition("/")
        return (
            '{"$regularExpression":{"pattern":'
            + encode_basestring(pattern)
            + ',"options":'
            + encode_basestring(options)
            + "}}"
        )
    return encode_basestring(text)


def _is_int_text(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _ejson_decimal(value: Decimal) -> str:
    return '{"$numberDecimal":"' + str(value) + '"}'


_DOC_FAST: dict[type, Encoder] = {
    str: encode_basestring,
    int: int.__repr__,
    float: _ejson_float,
    bool: _bool_json,
    type(None): _null_json,
    Decimal: _ejson_decimal,
    dt.datetime: _ejson_date,
    ObjectIdValue: lambda v: '{"$oid":"' + v.hex + '"}',
}


def doc_json(value: Any) -> str:
    """Relaxed Extended JSON text of one value of a document store."""
    fast = _DOC_FAST.get(type(value))
    if fast is not None:
        return fast(value)
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                encode_basestring(str(k)) + ":" + doc_json(v)
                for k, v in value.items()
                if v is not MISSING
            )
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(doc_json(v) for v in value) + "]"
    if isinstance(value, BinaryValue):
        return _ejson_binary(value.data, value.subtype)
    if isinstance(value, bytes | bytearray | memoryview):
        return _ejson_binary(bytes(value))
    if isinstance(value, TaggedValue):
        return _ejson_tagged(value)
    if isinstance(value, dt.datetime):
        return _ejson_date(value)
    if isinstance(value, ObjectIdValue):
        return '{"$oid":"' + value.hex + '"}'
    if isinstance(value, Decimal):
        return _ejson_decimal(value)
    return row_json(value)


# -- whole records -----------------------------------------------------------------


def record_encoder(
    columns: Sequence[str], *, documents: bool, whole: bool = False
) -> Callable[[Sequence[Any]], str]:
    """A function turning one row (aligned with ``columns``) into a JSON
    object's text, ``MISSING`` fields left out. With ``whole``, a
    ``Truncated`` cell raises ``CutValue`` (found by the same type lookup as
    every other value: it costs the hot path nothing).

    This is the hot path of ``browse --all`` (millions of rows): the column keys
    are encoded once and each value goes through one dict lookup on its exact
    type. For row stores the function is generated for the column count, so a
    row is unpacked once and the object is built by a single f-string, with no
    per-row zip, list or join.
    """
    keys = tuple(encode_basestring(c) + ":" for c in columns)
    generic = _generic_record_encoder(keys, documents=documents, whole=whole)
    if documents or not keys or len(keys) > 200:
        # Documents often lack fields, so the MISSING check belongs in the loop.
        return generic
    return _compiled_record_encoder(keys, generic, whole=whole)


def _generic_record_encoder(
    keys: tuple[str, ...], *, documents: bool, whole: bool = False
) -> Callable[[Sequence[Any]], str]:
    fast = _DOC_FAST if documents else _ROW_FAST
    if whole:
        fast = {**fast, Truncated: _refuse_cut}
    slow = doc_json if documents else _row_json_slow
    get = fast.get
    missing = MISSING

    def encode(row: Sequence[Any]) -> str:
        return (
            "{"
            + ",".join(
                [
                    k + (get(type(v)) or slow)(v)
                    for k, v in zip(keys, row, strict=True)
                    if v is not missing
                ]
            )
            + "}"
        )

    return encode


class _MissingField(Exception):
    """Raised by the compiled encoder on a MISSING value: that (rare, for a row
    store) row is encoded again by the generic encoder, which omits it."""


def _raise_missing(_value: Any) -> str:
    raise _MissingField


_ROW_FAST_COMPILED = {**_ROW_FAST, type(MISSING): _raise_missing}
_ROW_FAST_COMPILED_WHOLE = {**_ROW_FAST_COMPILED, Truncated: _refuse_cut}


def _compiled_record_encoder(
    keys: tuple[str, ...], generic: Callable[[Sequence[Any]], str], *, whole: bool = False
) -> Callable[[Sequence[Any]], str]:
    # Generated source holds only identifiers; the key texts are passed in the
    # namespace (K0, K1...), so no column name is ever parsed as code.
    n = len(keys)
    names = [f"v{i}" for i in range(n)]
    namespace: dict[str, Any] = {
        "G": (_ROW_FAST_COMPILED_WHOLE if whole else _ROW_FAST_COMPILED).get,
        "S": _row_json_slow,
        "generic": generic,
        "_MissingField": _MissingField,
    }
    fields = []
    for i, key in enumerate(keys):
        namespace[f"K{i}"] = ("{" if i == 0 else ",") + key
        fields.append(f"{{K{i}}}{{(G(type(v{i})) or S)(v{i})}}")
    source = (
        "def encode(row):\n"
        "    try:\n"
        f"        {', '.join(names)}, = row\n"
        f'        return f"{"".join(fields)}}}}}"\n'
        "    except _MissingField:\n"
        "        return generic(row)\n"
    )
    exec(compile(source, "<storescope record encoder>", "exec"), namespace)
    encode: Callable[[Sequence[Any]], str] = namespace["encode"]
    return encode


# -- text (table, csv, ls) -----------------------------------------------------------


def escape_controls(text: str) -> str:
    """``text`` for a terminal, on one line: ``tui.sanitize.sanitize``, the
    one sanitizer the TUI uses too (``⏎`` for a line break, ``\\x1b`` for
    ESC, ``\\u202e`` for a bidi override, ``\\xff`` for an undecodable
    byte a backend kept as a lone surrogate)."""
    return sanitize(text)


def plain_text(value: Any, *, documents: bool = False) -> str:
    """A value as one piece of text for csv and table cells (not escaped)."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return duration_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return hex_bytes(bytes(value))
    if isinstance(value, ObjectIdValue | TaggedValue | Truncated):
        return str(value)
    if isinstance(value, BinaryValue):
        return hex_bytes(value.data)
    if isinstance(value, dict | list | tuple | StreamEntry):
        return doc_json(value) if documents else row_json(value)
    return str(value)


def csv_row(values: Iterable[Any], *, documents: bool = False, whole: bool = False) -> str:
    """One CSV line (with its ``\\n``): RFC 4180 quoting; NULL is an empty
    unquoted cell, the empty string a quoted ``""``. With ``whole``, a
    ``Truncated`` cell raises ``CutValue``."""
    cells = []
    for value in values:
        if value is None or value is MISSING:
            cells.append("")
            continue
        if whole and type(value) is Truncated:
            raise CutValue(value)
        text = plain_text(value, documents=documents)
        if text == "" or any(c in text for c in ',"\n\r') or text != text.strip():
            text = '"' + text.replace('"', '""') + '"'
        cells.append(text)
    return ",".join(cells) + "\n"


def cell_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide East Asian characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells, ending in ``…`` when cut."""
    if cell_width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def table_cell(value: Any, *, documents: bool = False) -> str:
    """A value as a table cell: one line, at most ``MAX_CELL`` cells wide
    (``table_cell_cut`` also says whether it was cut)."""
    return table_cell_cut(value, documents=documents)[0]


def table_cell_cut(value: Any, *, documents: bool = False) -> tuple[str, bool]:
    """``table_cell`` and whether the cell shows less than the value: a
    ``Truncated`` preview, or text cut to fit."""
    if value is None:
        return "<null>", False
    if value is MISSING:
        return "", False
    cut = isinstance(value, Truncated)
    if isinstance(value, bytes | bytearray | memoryview):
        text = hex_bytes(bytes(value), _BYTES_SHOWN)
    elif isinstance(value, BinaryValue):
        text = hex_bytes(value.data, _BYTES_SHOWN)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    else:
        text = plain_text(value, documents=documents)
    if len(text) > MAX_CELL * 4:
        text, cut = text[: MAX_CELL * 4], True
    shown = escape_controls(text)
    cell = fit(shown, MAX_CELL)
    return cell, cut or cell != shown


def is_numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def pad(text: str, width: int, *, right: bool = False) -> str:
    gap = width - cell_width(text)
    if gap <= 0:
        return text
    return (" " * gap + text) if right else (text + " " * gap)


def aligned_lines(
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[bool] = (),
    widths: Sequence[int] | None = None,
) -> tuple[list[str], list[int]]:
    """Lines of an aligned table (two spaces between columns; a dashed line
    under the header) and the widths used. ``widths`` fixes the widths, e.g.
    to keep later pages of ``--all`` aligned with the first."""
    ncols = len(header) if header is not None else (len(rows[0]) if rows else 0)
    if widths is None:
        computed = [0] * ncols
        for line in ([header] if header is not None else []) + list(rows):
            for i, cell in enumerate(line):
                computed[i] = max(computed[i], cell_width(cell))
        widths = computed
    else:
        widths = list(widths)
    lines: list[str] = []

    def render(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            w = widths[i] if i < len(widths) else cell_width(cell)
            cell = fit(cell, w)
            parts.append(pad(cell, w, right=bool(i < len(right) and right[i])))
        return "  ".join(parts).rstrip()

    if header is not None:
        lines.append(render(header))
        lines.append("  ".join("-" * w for w in widths))
    lines.extend(render(r) for r in rows)
    return lines, list(widths)


def tsv_field(text: str) -> str:
    """A field of tab-separated output: tabs and line breaks escaped so one
    record stays one line (``--json`` is the lossless form)."""
    if "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def dumps(value: Any) -> str:
    """Compact JSON of plain data (CLI metadata, not store values)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
