"""Exports never lose data silently (issue 8, item 6): csv, json and jsonl write
every value whole, on the real servers, whatever the store cuts for its own
previews (PostgreSQL 4,096 characters, Redis 64 KB). ``--preview`` asks for
the cut form on purpose, and the table format, which always previews, says
so on stderr."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from storescope.backends import sandbox
from tests.pg_helpers import admin_connection

from .conftest import PEAK_RSS_MAIN, ROOT, CliResult, pg_db_url

DB = "cliwhole"
REDIS_DB = 5  # of the CLI tests' own Redis server; db 3 is the listing tests'
#: Over every store's preview bound, and full of what CSV and JSON must
#: escape: commas, quotes, line breaks, tabs, backslashes, non-ASCII.
UNIT = 'row, "quoted" ünï ✓\ttab \\ back\r\nnext line; '
BIG_TEXT = (UNIT * (6 * 1024 * 1024 // len(UNIT) + 1))[: 6 * 1024 * 1024]
BIG_BYTES = bytes(range(256)) * 400  # 102,400 bytes
csv.field_size_limit(sys.maxsize)  # the csv module refuses fields over 128 KB by default

NOTE = "values cut to previews; --format csv/json/jsonl writes them whole"


def run_cli(*args: str) -> CliResult:
    """``python -m storescope ARGS``, its output decoded without newline
    translation (``run_cli`` of conftest reads text, which turns ``\\r\\n``
    into ``\\n``: not byte-identical)."""
    done = subprocess.run(
        [sys.executable, "-m", "storescope", *args],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return CliResult(done.returncode, done.stdout.decode(), done.stderr.decode(), 0.0)


def _csv_rows(stdout: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(stdout, newline="")))


def _same(got: Any, expected: Any) -> None:
    """``got == expected``, failing with a short message: pytest's own diff
    of two 6 MB strings takes minutes."""
    if got == expected:
        return
    if isinstance(got, str | bytes) and isinstance(expected, str | bytes):
        at = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b), None)
        raise AssertionError(
            f"got {type(got).__name__} of length {len(got)}, expected {len(expected)};"
            f" first difference at {at}: {got[:80]!r}"
        )
    raise AssertionError(f"got {str(got)[:200]!r}")


def _whole_text_from(fmt: str, stdout: str, column: str = "body") -> Any:
    """The value of ``column`` in the first record of ``stdout``."""
    if fmt == "csv":
        header, row = _csv_rows(stdout)[:2]
        return row[header.index(column)]
    if fmt == "jsonl":
        return json.loads(stdout.split("\n")[0])[column]
    return json.loads(stdout)["rows"][0][column]


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url(pg_server: sandbox.Server) -> Iterator[str]:
    """Database ``cliwhole``: ``big`` (a 6 MB text, a 100 KB bytea and a big
    jsonb, with a primary key), ``big_nokey`` (the same text, no key: paged by
    ctid) and the view ``big_view`` (paged by a held cursor)."""
    with admin_connection(pg_server, DB) as conn:
        conn.cursor().execute(
            """
            DROP VIEW IF EXISTS big_view;
            DROP TABLE IF EXISTS big, big_nokey;
            CREATE TABLE big (id int PRIMARY KEY, body text, data bytea, doc jsonb);
            INSERT INTO big VALUES (1, %s, %s, %s), (2, 'short', '\\x00', '{}');
            CREATE TABLE big_nokey (id int, body text);
            INSERT INTO big_nokey VALUES (1, %s), (2, 'short');
            CREATE VIEW big_view AS SELECT id, body FROM big;
            """,
            (
                BIG_TEXT,
                BIG_BYTES,
                json.dumps({"items": list(range(20_000))}),
                BIG_TEXT,
            ),
        )
    yield pg_db_url(pg_server.url, DB)


@pytest.fixture(scope="module")
def redis_url(redis_cli: str) -> Iterator[str]:
    """db 5: ``big:str`` (a 6 MB string) and ``big:hash`` (a field of 100 KB)."""
    import redis

    base = redis_cli.rsplit("/", 1)[0]
    client = redis.Redis.from_url(f"{base}/{REDIS_DB}")
    client.flushdb()
    client.set("big:str", BIG_TEXT.encode())
    client.hset("big:hash", mapping={"f": "v" * 100_000, "small": "s"})
    client.close()
    yield f"{base}/{REDIS_DB}"


@pytest.fixture(scope="module")
def mongo_url(mongo_server: sandbox.Server) -> Iterator[str]:
    """``cliwhole.docs``: one document with a 6 MB string field."""
    from pymongo import MongoClient

    client: Any = MongoClient(mongo_server.url)
    client[DB].docs.drop()
    client[DB].docs.insert_one({"_id": 1, "body": BIG_TEXT})
    client.close()
    yield mongo_server.url


# -- browse -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["public/big", "public/big_nokey", "public/big_view"])
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_pg_browse_writes_a_6mb_text_whole(pg_url: str, fmt: str, path: str) -> None:
    """Keyset, ctid and held-cursor paging alike (a table with a key, one
    without, a view)."""
    r = run_cli("browse", pg_url, f"{DB}/{path}", "--format", fmt)
    assert r.returncode == 0, r.stderr
    _same(_whole_text_from(fmt, r.stdout), BIG_TEXT)
    assert "preview" not in r.stderr


def test_pg_browse_writes_bytea_and_jsonb_whole(pg_url: str) -> None:
    r = run_cli("browse", pg_url, f"{DB}/public/big", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout.split("\n")[0])
    _same(first["data"], "\\x" + BIG_BYTES.hex())
    _same(first["doc"], {"items": list(range(20_000))})
    r = run_cli("browse", pg_url, f"{DB}/public/big", "--format", "csv")
    _same(_csv_rows(r.stdout)[1][2], "\\x" + BIG_BYTES.hex())


def test_pg_browse_all_in_small_pages_stays_whole(pg_url: str) -> None:
    r = run_cli("browse", pg_url, f"{DB}/public/big", "--all", "--limit", "1", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = _csv_rows(r.stdout)
    assert [row[0] for row in rows] == ["id", "1", "2"]
    _same(rows[1][1], BIG_TEXT)
    assert rows[2][1] == "short"


def test_pg_preview_writes_the_cut_form_marked(pg_url: str) -> None:
    r = run_cli("browse", pg_url, f"{DB}/public/big", "--format", "csv", "--preview")
    assert r.returncode == 0, r.stderr
    cell = _csv_rows(r.stdout)[1][1]
    _same(cell, BIG_TEXT[:4096] + f"… ({len(BIG_TEXT)} chars)")
    r = run_cli("browse", pg_url, f"{DB}/public/big", "--format", "jsonl", "--preview")
    body = json.loads(r.stdout.split("\n")[0])["body"]
    _same(body, {"preview": BIG_TEXT[:4096], "size": len(BIG_TEXT), "unit": "chars"})


def test_table_format_says_it_previews(pg_url: str) -> None:
    r = run_cli("browse", pg_url, f"{DB}/public/big")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count(NOTE) == 1
    assert len(r.stdout) < 10_000


def test_table_format_of_short_values_has_no_note(pg_url: str) -> None:
    r = run_cli("query", pg_url, "SELECT 1 AS n, 'short' AS s")
    assert r.returncode == 0, r.stderr
    assert NOTE not in r.stderr


def test_redis_string_over_64kb_is_written_whole(redis_url: str) -> None:
    for fmt in ("csv", "json", "jsonl"):
        r = run_cli("browse", redis_url, f"db{REDIS_DB}/big:str", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _same(_whole_text_from(fmt, r.stdout, "value"), BIG_TEXT)
    r = run_cli("browse", redis_url, f"db{REDIS_DB}/big:hash", "--format", "jsonl")
    values = {row["field"]: row["value"] for row in map(json.loads, r.stdout.split("\n")[:-1])}
    _same(values, {"f": "v" * 100_000, "small": "s"})


def test_redis_preview_gives_the_cut_form(redis_url: str) -> None:
    r = run_cli("browse", redis_url, f"db{REDIS_DB}/big:str", "--format", "jsonl", "--preview")
    assert r.returncode == 0, r.stderr
    value = json.loads(r.stdout)["value"]
    assert value["size"] == len(BIG_TEXT.encode()) and value["unit"] == "bytes"
    assert BIG_TEXT.startswith(value["preview"]) and len(value["preview"]) < 64 * 1024
    r = run_cli("browse", redis_url, f"db{REDIS_DB}/big:str")
    assert r.returncode == 0 and NOTE in r.stderr


def test_mongo_big_field_is_written_whole(mongo_url: str) -> None:
    for fmt in ("csv", "json", "jsonl"):
        r = run_cli("browse", mongo_url, f"{DB}/docs", "--format", fmt)
        assert r.returncode == 0, r.stderr
        _same(_whole_text_from(fmt, r.stdout), BIG_TEXT)


# -- query ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_query_writes_a_6mb_text_whole(pg_url: str, fmt: str) -> None:
    r = run_cli("query", pg_url, "SELECT id, body FROM big ORDER BY id", "--format", fmt)
    assert r.returncode == 0, r.stderr
    _same(_whole_text_from(fmt, r.stdout), BIG_TEXT)


def test_query_writes_a_10mb_server_made_text_whole(pg_url: str) -> None:
    r = run_cli(
        "query", pg_url, "SELECT repeat('ab,\"c' || chr(10), 2000000) AS t", "--format", "csv"
    )
    assert r.returncode == 0, r.stderr
    _same(_csv_rows(r.stdout)[1][0], 'ab,"c\n' * 2_000_000)


def test_query_writes_a_million_element_array_whole(pg_url: str) -> None:
    r = run_cli(
        "query",
        pg_url,
        "SELECT array_agg(g) AS a FROM generate_series(1, 1000000) g",
        "--format",
        "jsonl",
    )
    assert r.returncode == 0, r.stderr
    _same(json.loads(r.stdout)["a"], list(range(1, 1_000_001)))


def test_query_preview_gives_the_cut_form(pg_url: str) -> None:
    r = run_cli(
        "query", pg_url, "SELECT body FROM big WHERE id = 1", "--format", "csv", "--preview"
    )
    assert r.returncode == 0, r.stderr
    _same(_csv_rows(r.stdout)[1][0], BIG_TEXT[:4096] + f"… ({len(BIG_TEXT)} chars)")
    r = run_cli("query", pg_url, "SELECT body FROM big WHERE id = 1")
    assert r.returncode == 0 and NOTE in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["browse", f"{DB}/public/many_big", "--all"],  # keyset pages
        ["browse", f"{DB}/public/many_big_view", "--all"],  # a held cursor
        ["query", "SELECT * FROM many_big ORDER BY id"],
    ],
    ids=["browse-table", "browse-view", "query"],
)
def test_whole_export_of_big_values_stays_bounded_in_memory(pg_url: str, args: list[str]) -> None:
    """A page of whole values is cut short by their size, not only by its
    row count: 30 rows of 6 MB (180 MB) written whole, in pages of up to
    5,000 (browse) or 1,000 (query) rows, stay far below 180 MB of memory."""
    conn = psycopg2.connect(pg_url)
    conn.autocommit = True
    conn.cursor().execute(
        "DROP VIEW IF EXISTS many_big_view; DROP TABLE IF EXISTS many_big;"
        " CREATE TABLE many_big AS SELECT g AS id, repeat(md5(g::text), 196608) AS body"
        " FROM generate_series(1, 30) g; ALTER TABLE many_big ADD PRIMARY KEY (id);"
        " CREATE VIEW many_big_view AS SELECT * FROM many_big"
    )
    conn.close()
    command, *rest = args
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_MAIN, command, pg_url, *rest, "--format", "csv"],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    rows = _csv_rows(proc.stdout.decode())
    assert len(rows) == 31
    assert [len(r[1]) for r in rows[1:]] == [32 * 196608] * 30
    peak_mib = int(stderr.split("VmHWM:")[1].split()[0]) / 1024  # "VmHWM:   41234 kB"
    assert peak_mib < 150, f"peak RSS {peak_mib:.0f} MiB"


# -- a preview where a whole value was asked for: refused, never written -----------------


def test_encoders_for_whole_values_refuse_a_preview() -> None:
    from storescope.backends.types import Truncated
    from storescope.tui import formats

    cut = Truncated("abc", 52_428_800)
    for documents in (False, True):
        encode = formats.record_encoder(["id", "body"], documents=documents, whole=True)
        assert encode((1, "whole")) == '{"id":1,"body":"whole"}'
        with pytest.raises(formats.CutValue):
            encode((1, cut))
    with pytest.raises(formats.CutValue):
        formats.csv_row([1, cut], whole=True)
    # --preview: the marked preview, as before
    assert formats.csv_row([1, cut]) == "1,abc… (52428800 bytes)\n"
    assert '"preview":"abc"' in formats.record_encoder(["id", "body"], documents=False)((1, cut))


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_a_preview_in_a_whole_page_stops_the_command_naming_record_and_field(
    fmt: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    from storescope.backends.errors import BackendError
    from storescope.backends.types import Column, Page, Truncated
    from storescope.tui.cli import Output, PageWriter

    page = Page(
        (Column("id", "integer", primary_key=True), Column("body", "text")),
        ((1, "fine"), (7, Truncated("abc", 6_000_000, "chars"))),
        None,
    )
    writer = PageWriter(Output(), fmt, documents=False, streaming=False, where="db/public/t")
    assert writer.whole
    with pytest.raises(BackendError) as info:
        writer.page(page)
    message = str(info.value)
    assert info.value.title == "Value not whole"
    assert "db/public/t" in message and "'body'" in message and "id=7" in message
    assert "6000000 chars" in message and "--preview" in message
    assert b"abc" not in capsysbinary.readouterr().out  # the preview was not written
