"""`storescope browse`: one page (or every page) of records in each format."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

from .conftest import (
    BUCKET,
    EXACT_PRICE,
    MANY_ROWS,
    MONGO_DB,
    MONGO_OID,
    PEAK_RSS_MAIN,
    PG_DB,
    REDIS_DB,
    ROOT,
    S3_KEYS,
    pg_db_url,
    run_cli,
)

ITEMS = f"{PG_DB}/public/items"
MANY = f"{PG_DB}/public/many"
PEOPLE = f"{MONGO_DB}/people"

# store fixture -> a browsable PATH with at least two records
BROWSABLE = {
    "pg_cli": ITEMS,
    "mongo_cli": PEOPLE,
    "redis_cli": f"db{REDIS_DB}",
    "s3_cli": BUCKET,
}


def _jsonl(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in stdout.splitlines()]


# -- every store, every format ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
@pytest.mark.parametrize("store", list(BROWSABLE))
def test_every_store_browses_in_every_format(
    store: str, fmt: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    r = run_cli("browse", url, BROWSABLE[store], "--format", fmt)
    assert r.returncode == 0, r.stderr
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert set(doc) == {"columns", "rows", "next_cursor"}
        assert len(doc["rows"]) >= 2 and doc["next_cursor"] is None
        assert all(isinstance(c, str) for c in doc["columns"])
    elif fmt == "jsonl":
        assert len(_jsonl(r.stdout)) >= 2
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.stdout)))
        assert len(rows) >= 3 and all(len(row) == len(rows[0]) for row in rows)
    else:
        assert r.lines[1].startswith("--") and r.lines[-1].endswith("rows)")
    assert "next cursor" not in r.stderr  # everything fitted in one page


# -- the shape of a record, per store --------------------------------------------------


def test_postgres_jsonl_keeps_numeric_exact_and_types_readable(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, ITEMS, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    # The digits themselves are on the wire, not a float's approximation.
    assert f'"price":{EXACT_PRICE}' in r.lines[0]
    first, second, third = _jsonl(r.stdout)
    assert first["price"] == EXACT_PRICE
    assert first["created"] == "2024-01-02T03:04:05.123456+00:00"
    assert first["data"] == "\\xdeadbeef"
    assert first["tags"] == {"a": [1, 2], "b": {"c": None}}
    assert first["span"] == "P1DT2H3M4.5S"
    assert first["day"] == "2024-02-29"
    assert second["name"] == 'comma, "quoted"' and second["created"] is None
    assert third["span"] == "-PT5S" and third["data"] == "\\x" and third["name"] == ""


def test_mongo_jsonl_is_relaxed_extended_json(mongo_cli: str) -> None:
    r = run_cli("browse", mongo_cli, PEOPLE, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    ada, grace = _jsonl(r.stdout)
    assert ada["_id"] == {"$oid": MONGO_OID}
    assert ada["address"] == {"city": "London", "geo": [Decimal("51.5"), Decimal("-0.12")]}
    assert ada["joined"] == {"$date": "2024-01-02T03:04:05.678Z"}
    # Before 1970 relaxed Extended JSON falls back to milliseconds.
    assert ada["born"] == {"$date": {"$numberLong": "-4861728000000"}}
    assert ada["balance"] == {"$numberDecimal": "1234567890.0123456789"}
    assert ada["blob"] == {"$binary": {"base64": "AAH/", "subType": "00"}}
    assert ada["visits"] == 12 and ada["score"] == Decimal("1.5")
    # A field a document does not have is absent, not null.
    assert set(grace) == {"_id", "name", "extra"}


def test_redis_jsonl_rows_are_key_type_ttl(redis_cli: str) -> None:
    r = run_cli("browse", redis_cli, f"db{REDIS_DB}", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = {row["key"]: row for row in _jsonl(r.stdout)}
    assert all(set(row) == {"key", "type", "ttl"} for row in rows.values())
    assert rows["user:1"]["type"] == "hash" and rows["user:1"]["ttl"] is None
    assert 0 < rows["session:abc"]["ttl"] <= 3600


def test_redis_namespace_browses_only_its_keys(redis_cli: str) -> None:
    r = run_cli("browse", redis_cli, f"db{REDIS_DB}/user:", "--format", "jsonl")
    assert sorted(row["key"] for row in _jsonl(r.stdout)) == ["user:1", "user:2"]


def test_s3_jsonl_rows_are_key_size_last_modified_etag(s3_cli: str) -> None:
    r = run_cli("browse", s3_cli, BUCKET, "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = _jsonl(r.stdout)
    assert [row["key"] for row in rows] == list(S3_KEYS)
    for row in rows:
        assert set(row) == {"key", "size", "last_modified", "etag"}
        assert row["size"] == 5 and "T" in row["last_modified"]


def test_csv_quotes_only_when_needed_and_tells_null_from_empty(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, ITEMS, "--format", "csv")
    assert r.returncode == 0, r.stderr
    header, first, second, third = r.lines
    assert header == "id,name,price,created,data,tags,span,day"
    assert first.startswith(f"1,ada,{EXACT_PRICE},2024-01-02T03:04:05.123456+00:00,\\xdeadbeef,")
    assert '"{""a"":[1,2],""b"":{""c"":null}}"' in first
    assert second == '2,"comma, ""quoted""",0.5000000000,,,,,'
    assert third.startswith('3,"",')


def test_table_is_aligned_with_null_shown(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, ITEMS)
    assert r.returncode == 0, r.stderr
    header, rule, *body, footer = r.lines
    assert header.split() == ["id", "name", "price", "created", "data", "tags", "span", "day"]
    assert footer == "(3 rows)"
    # Every column starts at the same offset on every line.
    starts = [i for i in range(1, len(rule)) if rule[i] == "-" and rule[i - 1] == " "]
    for line in body:
        for s in starts:
            assert line[s - 1] == " "
    assert "<null>" in body[1]


def test_mongo_csv_takes_the_first_pages_columns(mongo_cli: str) -> None:
    r = run_cli("browse", mongo_cli, PEOPLE, "--format", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][:3] == ["_id", "name", "address"]
    assert rows[1][0] == f"ObjectId('{MONGO_OID}')"
    assert json.loads(rows[1][2]) == {"city": "London", "geo": [51.5, -0.12]}


# -- paging ------------------------------------------------------------------------


def test_next_cursor_goes_to_stderr_and_continues_where_the_page_ended(pg_cli: str) -> None:
    first = run_cli("browse", pg_cli, MANY, "--limit", "3", "--format", "jsonl")
    assert [row["id"] for row in _jsonl(first.stdout)] == [1, 2, 3]
    (line,) = first.stderr.splitlines()
    assert line.startswith("next cursor: ")
    cursor = line.removeprefix("next cursor: ")
    second = run_cli("browse", pg_cli, MANY, "--limit", "3", "--cursor", cursor, "--format", "csv")
    assert second.returncode == 0, second.stderr
    assert second.lines == ["id,label", "4,row 4", "5,row 5", "6,row 6"]


def test_json_format_carries_the_cursor_and_stderr_stays_empty(pg_cli: str) -> None:
    first = run_cli("browse", pg_cli, MANY, "--limit", "2", "--format", "json")
    page = json.loads(first.stdout)
    assert page["columns"] == ["id", "label"]
    assert page["rows"] == [{"id": 1, "label": "row 1"}, {"id": 2, "label": "row 2"}]
    assert first.stderr == ""
    second = run_cli(
        "browse", pg_cli, MANY, "--limit", "2", "--cursor", page["next_cursor"], "--format", "json"
    )
    assert [row["id"] for row in json.loads(second.stdout)["rows"]] == [3, 4]


def test_cursor_chain_on_mongo_redis_and_s3_reaches_every_record(
    mongo_cli: str, redis_cli: str, s3_cli: str
) -> None:
    for url, path, key in [
        (mongo_cli, PEOPLE, "_id"),
        (redis_cli, f"db{REDIS_DB}", "key"),
        (s3_cli, BUCKET, "key"),
    ]:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            extra = ["--cursor", cursor] if cursor else []
            page = json.loads(
                run_cli("browse", url, path, "--limit", "1", "--format", "json", *extra).stdout
            )
            seen += [json.dumps(row[key]) for row in page["rows"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert cursor is None
        assert len(seen) == len(set(seen)) >= 2


def test_all_streams_every_row_exactly_once(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, MANY, "--all", "--format", "jsonl", "--limit", "3000")
    assert r.returncode == 0, r.stderr
    ids = [json.loads(line)["id"] for line in r.lines]
    assert len(ids) == MANY_ROWS and set(ids) == set(range(1, MANY_ROWS + 1))
    assert r.stderr == ""


def test_all_as_csv_has_one_header_and_every_row(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, MANY, "--all", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.lines[0] == "id,label" and r.lines.count("id,label") == 1
    assert len(r.lines) == MANY_ROWS + 1


def test_all_as_json_is_one_document_with_every_row(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, MANY, "--all", "--format", "json", "--limit", "7000")
    doc = json.loads(r.stdout)
    assert doc["next_cursor"] is None and len(doc["rows"]) == MANY_ROWS


def test_all_as_table_keeps_the_first_pages_alignment(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, MANY, "--all", "--limit", "9000")
    assert r.returncode == 0, r.stderr
    body = r.lines[2:-1]
    assert len(body) == MANY_ROWS and r.lines[-1] == f"({MANY_ROWS} rows)"
    assert len({line.index("row") for line in body}) == 1


HUGE_ROWS = 200_000


def test_all_memory_stays_flat_on_a_big_table(pg_cli: str) -> None:
    """200k rows streamed as jsonl: the child's peak RSS stays far below what
    holding the rows would take (psycopg2's fetchall of 2M such rows: ~880 MB)."""
    import psycopg2

    with psycopg2.connect(pg_db_url(pg_cli)) as conn, conn.cursor() as cur:
        # ~1-3 s to seed here; 200k rows of 5 columns as Python tuples would
        # hold well over 100 MiB, so the bound below means "streamed".
        cur.execute(
            """
            DROP TABLE IF EXISTS huge;
            CREATE TABLE huge (id bigint PRIMARY KEY, name text, amount numeric(12,2),
                               created timestamptz, score float8);
            INSERT INTO huge
            SELECT g, 'customer ' || g || repeat('x', 200), g / 100.0,
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g / 7.0
            FROM generate_series(1, %s) g;
            ANALYZE huge;
            """,
            (HUGE_ROWS,),
        )
    args = ["browse", pg_cli, f"{PG_DB}/public/huge", "--all", "--format", "jsonl"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PEAK_RSS_MAIN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    count = 0
    last = b""
    for line in proc.stdout:
        count += 1
        last = line
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 0, stderr
    assert count == HUGE_ROWS and json.loads(last)["id"] == HUGE_ROWS
    peak_mib = int(stderr.split()[1]) / 1024  # "VmHWM:   41234 kB"
    assert peak_mib < 100, f"peak RSS {peak_mib:.0f} MiB"


def test_all_csv_over_documents_names_fields_it_leaves_out(mongo_cli: str) -> None:
    """csv keeps the first page's columns; a later document's new field is
    named once on stderr (jsonl keeps it)."""
    r = run_cli("browse", mongo_cli, PEOPLE, "--all", "--limit", "1", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert len(rows) == 3 and rows[2][1] == "grace" and len(rows[2]) == len(rows[0])
    assert "extra" in r.stderr and "jsonl" in r.stderr
    jsonl = run_cli("browse", mongo_cli, PEOPLE, "--all", "--limit", "1", "--format", "jsonl")
    assert _jsonl(jsonl.stdout)[1]["extra"] is True
