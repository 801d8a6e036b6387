"""How the CLI fails: exit status, one line on stderr, no traceback, no secret;
and what it never does (load Textual for a headless command)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from storescope.backends import sandbox
from tests.processes import default_signals

from .conftest import PG_DB, ROOT, run_cli

MANY = f"{PG_DB}/public/many"


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- bad usage: 2 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["browse", "postgresql://h/db"],  # no PATH
        ["browse", "postgresql://h/db", "a/b/c", "--limit", "0"],
        ["browse", "postgresql://h/db", "a/b/c", "--format", "xml"],
        ["browse", "postgresql://h/db", "a/b/c", "--all", "--cursor", "x"],
        ["ls"],
        ["ls", "postgresql://h/db", "a", "b"],
        ["ls", "--profile", "p", "postgresql://h/db"],
        ["snapshot", "fake://demo", "--out", "shot.png"],
        ["snapshot", "fake://demo", "--out", "shot.svg", "--size", "big"],
        ["snapshot", "fake://demo"],  # no --out
        ["--nope"],
    ],
)
def test_bad_usage_exits_2_without_touching_a_server(args: list[str]) -> None:
    r = run_cli(*args, timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert "usage" in r.stderr.lower() or "storescope" in r.stderr


def test_no_arguments_hints_at_the_demo() -> None:
    r = run_cli()
    assert r.returncode == 2
    assert "storescope demo" in r.stderr


def test_help_exits_0_and_lists_the_commands() -> None:
    r = run_cli("--help")
    assert r.returncode == 0
    for word in ("demo", "ls", "browse", "snapshot", "--read-only"):
        assert word in r.stdout


# -- backend errors: 1, one line (and an unknown scheme: 2) ----------------------------


def test_unknown_scheme_is_bad_usage_in_one_line() -> None:
    for args in (["ls", "foo://x"], ["browse", "foo://x", "a"], ["foo://x"]):
        r = run_cli(*args)
        assert r.returncode == 2, r.stderr
        line = _one_line(r.stderr)
        assert line.startswith("storescope: Unknown URL scheme: unknown URL scheme 'foo'")
        assert "postgresql://" in line


def test_wrong_postgres_password_fails_without_echoing_it(pg_cli: str) -> None:
    secret = "Wr0ng-P4ss-Sentinel"
    url = pg_cli.replace(f":{sandbox.PG_PASSWORD}@", f":{secret}@")
    assert secret in url
    r = run_cli("ls", url)
    assert r.returncode == 1
    line = _one_line(r.stderr)
    assert line.startswith("storescope: Connection failed:")
    assert secret not in r.stderr and secret not in r.stdout
    assert sandbox.PG_PASSWORD not in r.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:pw@127.0.0.1:{port}/postgres",
        "mongodb://127.0.0.1:{port}/?directConnection=true",
        "redis://127.0.0.1:{port}/0",
        "s3://?endpoint=http://127.0.0.1:{port}",
    ],
    ids=["postgres", "mongo", "redis", "s3"],
)
def test_closed_port_fails_fast_with_one_line(url: str) -> None:
    port = sandbox.free_port()  # bound then released: nothing listens there
    r = run_cli("ls", url.format(port=port))
    assert r.returncode == 1
    assert _one_line(r.stderr).startswith("storescope: Connection failed:")
    assert r.seconds < 5  # interpreter start-up included


@pytest.mark.parametrize(
    "store,path",
    [
        ("pg_cli", f"{PG_DB}/public/no_such_table"),
        ("pg_cli", "no_such_db/public/t"),
        ("mongo_cli", "no_such_db/no_such_collection"),
        ("redis_cli", "db3/no_such_namespace:"),
        ("s3_cli", "no-such-bucket"),
    ],
)
def test_missing_path_exits_1_with_one_line(
    store: str, path: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    r = run_cli("browse", url, path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert _one_line(r.stderr).startswith("storescope: ")
    assert r.stdout == ""


def test_invalid_cursor_exits_1(pg_cli: str) -> None:
    r = run_cli("browse", pg_cli, MANY, "--cursor", "garbage")
    assert r.returncode == 1
    _one_line(r.stderr)


def test_unwritable_snapshot_out_fails_before_rendering() -> None:
    r = run_cli("snapshot", "fake://demo", "--out", "/nonexistent-dir/x.svg")
    assert r.returncode == 1
    assert "/nonexistent-dir" in _one_line(r.stderr)


# -- pipes and interrupts -----------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_closed_pipe_ends_quietly(pg_cli: str) -> None:
    """`storescope browse ... --all | head -1` stops early without a traceback."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "storescope",
            "browse",
            pg_cli,
            MANY,
            "--all",
            "--format",
            "jsonl",
            "--limit",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["id"] == 1
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""


def test_ctrl_c_exits_130_without_a_traceback(pg_cli: str) -> None:
    proc = subprocess.Popen(
        # One row per page: slow enough to be interrupted half-way.
        [
            sys.executable,
            "-m",
            "storescope",
            "browse",
            pg_cli,
            MANY,
            "--all",
            "--format",
            "jsonl",
            "--limit",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
        preexec_fn=default_signals,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        proc.stdout.read(65536)
    assert proc.wait(timeout=30) == 130
    assert "Traceback" not in proc.stderr.read().decode()


# -- import hygiene -----------------------------------------------------------------------


def test_ls_and_browse_never_load_textual(pg_cli: str) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from storescope.tui.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    assert main(['ls', {pg_cli!r}, {PG_DB!r}]) == 0\n"
        f"    assert main(['browse', {pg_cli!r}, {MANY!r}, '--limit', '5', '--format', 'jsonl']) == 0\n"
        f"    assert main(['browse', {pg_cli!r}, {MANY!r}, '--limit', '5']) == 0\n"
        "assert out.getvalue().count('row ') >= 10, out.getvalue()\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "assert not loaded, loaded\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", ["ls", "browse"])
def test_missing_s3_prefix_exits_1_with_one_line(s3_cli: str, command: str) -> None:
    r = run_cli(command, s3_cli, "clitest/nosuch%2F")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "no objects under s3://clitest/nosuch/" in _one_line(r.stderr)
    assert r.stdout == ""
