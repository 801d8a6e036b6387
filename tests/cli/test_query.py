"""`storescope query`: statements run in order on one session, rows streamed in
every format, command tags on stderr, and a failing statement reported where
it fails."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from storescope.backends import sandbox
from tests.processes import default_signals

from .conftest import ROOT, pg_db_url, run_cli

DB = "cliquery"


@pytest.fixture(scope="module")
def url(pg_server: sandbox.Server) -> Iterator[str]:
    """A database of this module's own, with a small table ``people``."""
    admin = psycopg2.connect(pg_server.url)
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,))
    if cur.fetchone() is None:
        cur.execute(f"CREATE DATABASE {DB}")
    admin.close()
    conn = psycopg2.connect(pg_db_url(pg_server.url, DB))
    conn.autocommit = True
    conn.cursor().execute(
        """
        DROP TABLE IF EXISTS people, made_after_failure;
        CREATE TABLE people (id int PRIMARY KEY, name text, "Nick Name" text);
        INSERT INTO people VALUES (1, 'ada', 'countess'), (2, 'grace, "amazing"', NULL);
        """
    )
    conn.close()
    yield pg_db_url(pg_server.url, DB)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_statements_run_in_order_on_one_session(url: str) -> None:
    r = run_cli(
        "query",
        url,
        "CREATE TEMP TABLE t (id int, label text);\n"
        "INSERT INTO t VALUES (1, 'one'), (2, 'two');\n"
        "SELECT * FROM t ORDER BY id;",
        "--format",
        "jsonl",
    )
    assert r.returncode == 0, r.stderr
    assert [json.loads(line) for line in r.lines] == [
        {"id": 1, "label": "one"},
        {"id": 2, "label": "two"},
    ]
    assert r.stderr.splitlines() == ["CREATE TABLE", "INSERT 0 2", "SELECT 2"]


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
def test_rows_print_in_every_format(url: str, fmt: str) -> None:
    r = run_cli(
        "query", url, 'SELECT id, name, "Nick Name" FROM people ORDER BY id', "--format", fmt
    )
    assert r.returncode == 0, r.stderr
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["columns"] == ["id", "name", "Nick Name"]
        assert doc["rows"][1] == {"id": 2, "name": 'grace, "amazing"', "Nick Name": None}
        assert doc["status"] == "SELECT 2"
    elif fmt == "jsonl":
        assert json.loads(r.lines[0]) == {"id": 1, "name": "ada", "Nick Name": "countess"}
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.stdout)))
        assert rows == [
            ["id", "name", "Nick Name"],
            ["1", "ada", "countess"],
            ["2", 'grace, "amazing"', ""],
        ]
    else:
        assert r.lines[0].split() == ["id", "name", "Nick", "Name"]
        assert r.lines[-1] == "(2 rows)"
    assert r.stderr.strip() == "SELECT 2"


def test_several_results_print_one_block_each(url: str) -> None:
    r = run_cli("query", url, "SELECT 1 AS a; SELECT 'x' AS b, 2 AS c", "--format", "json")
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.lines]
    assert [d["columns"] for d in docs] == [["a"], ["b", "c"]]
    r = run_cli("query", url, "SELECT 1 AS a; SELECT 2 AS b", "--format", "csv")
    assert r.stdout == "a\n1\n\nb\n2\n"


def test_limit_prints_at_most_n_rows_of_each_statement(url: str) -> None:
    r = run_cli(
        "query",
        url,
        "SELECT g FROM generate_series(1, 100000) g; SELECT 'after' AS x",
        "--limit",
        "3",
        "--format",
        "csv",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == "g\n1\n2\n3\n\nx\nafter\n"
    assert "SELECT 3 (stopped at --limit 3" in r.stderr


def test_a_big_result_streams_in_flat_memory(url: str) -> None:
    """The rows are fetched page by page: printing 400,000 rows takes about
    the memory of printing ten (a fetchall would hold ~100 MB of them)."""

    def peak_rss_kb(text: str) -> int:
        # A fresh parent whose only child is the CLI: RUSAGE_CHILDREN is then
        # the CLI's own peak, not that of anything this test process ran.
        code = (
            "import resource, subprocess, sys\n"
            "done = subprocess.run([sys.executable, '-m', 'storescope', 'query', sys.argv[1],"
            " sys.argv[2], '--format', 'jsonl'], stdout=subprocess.DEVNULL,"
            " stderr=subprocess.PIPE, text=True)\n"
            "assert done.returncode == 0, done.stderr\n"
            "sys.stderr.write(done.stderr)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, url, text],
            capture_output=True,
            text=True,
            env=_env(),
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout.strip())

    small = peak_rss_kb("SELECT g, md5(g::text) FROM generate_series(1, 10) g")
    big = peak_rss_kb("SELECT g, md5(g::text) FROM generate_series(1, 400000) g")
    assert big - small < 25_000, (small, big)


def test_failed_statement_exits_1_with_the_server_message_and_where(url: str) -> None:
    r = run_cli(
        "query",
        url,
        "SELECT 1 AS a;\nSELECT 'é', * FORM people;\nCREATE TABLE made_after_failure (id int)",
    )
    assert r.returncode == 1
    assert r.lines[0] == "a"  # the first statement's rows were printed
    last = r.stderr.strip().splitlines()[-1]
    assert last == (
        'storescope: Query failed: syntax error at or near "FORM" '
        "at character 30 (LINE 2: SELECT 'é', * FORM people;)"
    )
    check = run_cli("query", url, "SELECT to_regclass('made_after_failure') IS NULL AS gone")
    assert check.lines[2].strip() == "true"  # nothing after the failure ran


def test_constraint_violation_names_the_constraint(url: str) -> None:
    r = run_cli("query", url, "INSERT INTO people VALUES (1, 'again', NULL)")
    assert r.returncode == 1
    assert 'duplicate key value violates unique constraint "people_pkey"' in r.stderr
    assert "Key (id)=(1) already exists" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_notices_go_to_stderr(url: str) -> None:
    r = run_cli("query", url, "DROP TABLE IF EXISTS no_such_table")
    assert r.returncode == 0 and r.stdout == ""
    assert r.stderr.splitlines() == [
        'NOTICE: table "no_such_table" does not exist, skipping',
        "DROP TABLE",
    ]


def test_read_only_refuses_writes(url: str) -> None:
    r = run_cli("query", url, "DELETE FROM people", "--read-only")
    assert r.returncode == 1
    assert "read-only" in r.stderr
    assert run_cli("query", url, "SELECT count(*) AS n FROM people", "--format", "jsonl").lines == [
        '{"n":2}'
    ]


def test_text_from_standard_input(url: str, tmp_path: Path) -> None:
    script = tmp_path / "script.sql"
    script.write_text("SELECT name FROM people WHERE id = 1;\n")
    with script.open() as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "storescope", "query", url, "-", "--format", "jsonl"],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=_env(),
            cwd=ROOT,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"name":"ada"}\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query"], "URL or --profile"),
        (["query", "postgresql://localhost/x"], "TEXT is required"),
        (["query", "postgresql://localhost/x", "SELECT 1", "SELECT 2"], "quote TEXT"),
    ],
)
def test_bad_usage_exits_2(args: list[str], message: str) -> None:
    r = run_cli(*args)
    assert r.returncode == 2
    assert message in r.stderr


def test_text_without_statements_exits_2(url: str) -> None:
    r = run_cli("query", url, "-- just a comment")
    assert r.returncode == 2
    assert "no statement" in r.stderr


def test_ctrl_c_cancels_the_running_statement_and_exits_130(
    url: str, pg_server: sandbox.Server
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "storescope", "query", url, "SELECT 'cli-sleeper', pg_sleep(60)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
        preexec_fn=default_signals,
    )
    watcher = psycopg2.connect(pg_server.url)
    watcher.autocommit = True
    cur = watcher.cursor()
    # The rows of a streamed statement are produced by FETCH from its
    # cursor, which is what pg_stat_activity shows (as with psql's FETCH_COUNT).
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
        f" AND state = 'active' AND datname = '{DB}' AND pid <> pg_backend_pid()"
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            cur.execute(query)
            if cur.fetchone() == (1,):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the statement never started")
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert time.monotonic() - start < 3
        assert proc.stderr is not None and "Traceback" not in proc.stderr.read().decode()
        cur.execute(query)
        assert cur.fetchone() == (0,)  # cancelled on the server, not left running
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()


# -- read-only against hostile statements (issue 8, items 1 and 2) ------------------------

_ATTACKS = (
    "NOTIFY x /* /* */ ' */ ; COMMIT; BEGIN READ WRITE; "
    "INSERT INTO victim VALUES (9, $$x$$); COMMIT; /* ' */",
    "SELECT 1 /* /* */ ' */ ; COMMIT; BEGIN READ WRITE; "
    "INSERT INTO victim VALUES (9, $$x$$); COMMIT; /* ' */",
    "SET standard_conforming_strings = off; NOTIFY x, '\\'; COMMIT; BEGIN READ WRITE; "
    "INSERT INTO victim VALUES (9, $$x$$); COMMIT; /* ' */",
    "SELECT lo_import('/etc/hostname')",
    "SELECT lo_create(0)",
    "SELECT pg_create_physical_replication_slot('s')",
    "SELECT pg_stat_reset()",
    "SELECT pg_reload_conf()",
    "SELECT pg_switch_wal()",
    "SELECT pg_create_restore_point('x')",
    "NOTIFY x",
    "PREPARE p AS SELECT 1",
    "SELECT * FROM (SELECT lo_create(0)) s",
    "WITH c AS (SELECT lo_create(0)) SELECT * FROM c",
    'SELECT "pg_catalog"."lo_create"(0)',
)


def test_read_only_query_writes_nothing_whatever_the_text(url: str) -> None:
    """Every attack of the fault probe through ``storescope query --read-only``:
    refused (exit 1, no traceback), and another session sees nothing written,
    no large object, slot or notification, statistics and configuration as
    they were."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS victim")
    cur.execute("CREATE TABLE victim (id int, v text)")
    cur.execute("LISTEN x")

    def traces() -> tuple[object, ...]:
        cur.execute(
            "SELECT (SELECT count(*) FROM victim),"
            " (SELECT count(*) FROM pg_largeobject_metadata),"
            " (SELECT count(*) FROM pg_replication_slots),"
            " (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),"
            " pg_conf_load_time(), pg_walfile_name(pg_current_wal_insert_lsn())"
        )
        return tuple(cur.fetchone() or ())

    try:
        before = traces()
        for text in _ATTACKS:
            r = run_cli("query", url, "--read-only", text)
            assert r.returncode == 1, (text, r.stdout, r.stderr)
            assert "Traceback" not in r.stderr
            assert "read-only" in r.stderr or "multiple" in r.stderr, r.stderr
            assert traces() == before, text
        conn.poll()
        assert conn.notifies == []
    finally:
        conn.close()
