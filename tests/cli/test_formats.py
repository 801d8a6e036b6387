"""Value encoding of the output formats (pure functions, no server)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from storescope.backends.types import (
    MISSING,
    BinaryValue,
    ObjectIdValue,
    StreamEntry,
    TaggedValue,
    Truncated,
)
from storescope.tui import formats


def _row(columns: list[str], values: tuple[object, ...], *, documents: bool = False) -> str:
    return formats.record_encoder(columns, documents=documents)(values)


@pytest.mark.parametrize(
    "value,text",
    [
        (Decimal("1E-10"), "0.0000000001"),
        (Decimal("1.50E+3"), "1500"),
        (Decimal("-0.000"), "-0.000"),
        (
            Decimal("123456789012345678901234567890.123456789"),
            "123456789012345678901234567890.123456789",
        ),
        (Decimal("NaN"), '"NaN"'),
        (Decimal("-Infinity"), '"-Infinity"'),
        (float("nan"), '"NaN"'),
        (float("inf"), '"Infinity"'),
        (1e100, "1e+100"),
        (True, "true"),
        (None, "null"),
        (2**70, str(2**70)),
    ],
)
def test_numbers_are_exact_json_and_non_finite_become_strings(value: object, text: str) -> None:
    assert formats.row_json(value) == text
    json.loads(text)  # always valid JSON


@pytest.mark.parametrize(
    "value,text",
    [
        (dt.timedelta(0), "PT0S"),
        (dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000), "P1DT2H3M4.5S"),
        (dt.timedelta(seconds=-5), "-PT5S"),
        (dt.timedelta(days=400), "P400D"),
    ],
)
def test_durations_are_iso_8601(value: dt.timedelta, text: str) -> None:
    assert formats.duration_text(value) == text


def test_row_values_of_every_kind() -> None:
    line = _row(
        ["b", "d", "t", "dt", "nested", "trunc", "entry", "oid", "missing"],
        (
            b"\x00\xff",
            dt.date(2024, 2, 29),
            dt.time(12, 30, 1),
            dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
            {"a": [1, Decimal("2.50")], "z": MISSING},
            Truncated("abc", 52_428_800),
            StreamEntry("1-0", (("f", "v"),)),
            ObjectIdValue("65a1b2c3d4e5f60718293a4b"),
            MISSING,
        ),
    )
    assert json.loads(line) == {
        "b": "\\x00ff",
        "d": "2024-02-29",
        "t": "12:30:01",
        "dt": "2024-01-01T12:00:00+00:00",
        "nested": {"a": [1, 2.5]},
        "trunc": {"preview": "abc", "size": 52_428_800, "unit": "bytes"},
        "entry": {"id": "1-0", "fields": {"f": "v"}},
        "oid": "65a1b2c3d4e5f60718293a4b",
    }
    assert '"a":[1,2.50]' in line  # the Decimal's own digits


def test_missing_first_field_is_omitted_without_a_stray_comma() -> None:
    assert _row(["a", "b"], (MISSING, 1)) == '{"b":1}'
    assert _row(["a", "b"], (MISSING, MISSING)) == "{}"
    assert _row(["a", "b"], (MISSING, 1), documents=True) == '{"b":1}'


def test_odd_column_names_are_escaped_not_evaluated() -> None:
    names = ['x"}', "{y}", "a\\b", "é", "__import__('os')"]
    line = _row(names, (1, 2, 3, 4, 5))
    assert json.loads(line) == dict(zip(names, [1, 2, 3, 4, 5], strict=True))


def test_documents_are_relaxed_extended_json() -> None:
    line = _row(
        ["_id", "when", "old", "amount", "bin", "uuid", "ts", "re", "min", "code", "f", "nan"],
        (
            ObjectIdValue("65a1b2c3d4e5f60718293a4b"),
            dt.datetime(2024, 1, 2, 3, 4, 5, 678900, tzinfo=dt.UTC),
            dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
            Decimal("1.10"),
            BinaryValue(b"\x01\x02", 5),
            TaggedValue("UUID", "12345678-1234-5678-1234-567812345678"),
            TaggedValue("Timestamp", "{ t: 17, i: 3 }"),
            TaggedValue("Regex", "/^a.*/im"),
            TaggedValue("MinKey", ""),
            TaggedValue("Code", "function () {}"),
            1.0,
            float("nan"),
        ),
        documents=True,
    )
    assert json.loads(line) == {
        "_id": {"$oid": "65a1b2c3d4e5f60718293a4b"},
        "when": {"$date": "2024-01-02T03:04:05.678Z"},
        "old": {"$date": {"$numberLong": "-1000"}},
        "amount": {"$numberDecimal": "1.10"},
        "bin": {"$binary": {"base64": "AQI=", "subType": "05"}},
        "uuid": {"$binary": {"base64": "EjRWeBI0VngSNFZ4EjRWeA==", "subType": "04"}},
        "ts": {"$timestamp": {"t": 17, "i": 3}},
        "re": {"$regularExpression": {"pattern": "^a.*", "options": "im"}},
        "min": {"$minKey": 1},
        "code": {"$code": "function () {}"},
        "f": 1.0,
        "nan": {"$numberDouble": "NaN"},
    }


def test_tagged_bson_text_is_embedded_as_json() -> None:
    value = TaggedValue("BSON", '{"$symbol": "s"}')
    assert json.loads(formats.doc_json(value)) == {"$symbol": "s"}
    assert formats.doc_json(TaggedValue("Mystery", "x(1)")) == '"x(1)"'


def test_csv_row_quoting() -> None:
    line = formats.csv_row(
        ["a,b", 'say "hi"', "", None, MISSING, " pad", "x\ny", 1, Decimal("1E-3")]
    )
    assert line == '"a,b","say ""hi""","",,," pad","x\ny",1,0.001\n'


def test_table_cell_is_one_capped_line() -> None:
    cell = formats.table_cell("line1\nline2\t\x1b[2J" + "x" * 100)
    # The TUI's sanitizer: a line break is ⏎ as in the grid, a tab a space.
    assert "\n" not in cell and cell.startswith("line1⏎line2 \\x1b[2J")
    assert formats.cell_width(cell) == formats.MAX_CELL and cell.endswith("…")
    assert formats.table_cell(None) == "<null>" and formats.table_cell(MISSING) == ""
    assert formats.table_cell(b"\x00" * 10_000_000).startswith("\\x0000")


def test_undecodable_bytes_in_names_show_as_hex_escapes() -> None:
    name = b"key\xff".decode("utf-8", "surrogateescape")
    assert formats.escape_controls(name) == "key\\xff"


def test_wide_characters_count_two_cells_when_aligning() -> None:
    lines, widths = formats.aligned_lines(
        ["name", "n"], [["日本", "1"], ["abcde", "22"]], right=[False, True]
    )
    assert widths == [5, 2]
    assert lines[2] == "日本    1"
    assert lines[3] == "abcde  22"
