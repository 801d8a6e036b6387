"""Bad input on the command line (issue 8, items 5 and 11): bytes that are not
UTF-8, things that are not URLs or not commands, numbers out of range, paths
typed like file paths, unknown options and keys. Each gives one clear line on
stderr and exit status 2 (bad usage) or 1 (the store said no), never a
traceback.

Arguments holding a byte that is not UTF-8 are passed as Python passes them
on: a ``str`` with the byte as a lone surrogate (``surrogateescape``), which
``subprocess`` turns back into the same raw byte for the child's argv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storescope.backends import sandbox

from .conftest import BUCKET, MONGO_DB, PG_DB, REDIS_DB, ROOT, CliResult, run_cli

#: A byte that is not UTF-8, as Python hands it over in sys.argv.
BAD = "\udcff"
MANY = f"{PG_DB}/public/many"


def _error_line(r: CliResult) -> str:
    """The one error line (after argparse's usage lines, if any)."""
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines, r
    assert lines[-1].startswith("storescope"), r.stderr
    assert not any(line.lstrip().startswith("File ") for line in lines), r.stderr
    return lines[-1]


def _usage_error(r: CliResult) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    return _error_line(r)


# -- item 5: bytes that are not UTF-8 --------------------------------------------------


@pytest.mark.parametrize(
    "store,args,what",
    [
        ("pg_cli", ["ls", "{url}", f"{PG_DB}/x{BAD}"], "PATH"),
        ("pg_cli", ["ls", "{url}" + BAD], "the URL"),
        ("pg_cli", ["browse", "{url}", f"{PG_DB}/public/x{BAD}"], "PATH"),
        ("pg_cli", ["browse", "{url}" + BAD, MANY], "the URL"),
        ("pg_cli", ["query", "{url}", f"SELECT '{BAD}'"], "TEXT"),
        ("mongo_cli", ["ls", "{url}", f"{MONGO_DB}{BAD}"], "PATH"),
        ("mongo_cli", ["ls", "{url}" + BAD], "the URL"),
        ("mongo_cli", ["browse", "{url}", f"{MONGO_DB}/people{BAD}"], "PATH"),
        ("s3_cli", ["ls", "{url}", f"{BUCKET}{BAD}"], "PATH"),
        ("redis_cli", ["ls", "{url}" + BAD], "the URL"),
        (
            None,
            ["snapshot", "fake://demo", "--keys", f"down{BAD}", "--out", "{tmp}/x.txt"],
            "--keys",
        ),
        (None, [f"fake://demo{BAD}"], "the URL"),
        (None, ["snapshot", f"fake://demo{BAD}", "--out", "{tmp}/x.txt"], "the URL"),
    ],
)
def test_bytes_that_are_not_utf8_are_bad_usage_in_one_line(
    store: str | None,
    args: list[str],
    what: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    url = request.getfixturevalue(store) if store else ""
    argv = [a.replace("{url}", url).replace("{tmp}", str(tmp_path)) for a in args]
    r = run_cli(*argv, timeout=60)
    line = _usage_error(r)
    assert f"{what} is not valid UTF-8 (byte 0xff at character" in line
    assert sandbox.PG_PASSWORD not in r.stderr
    assert not list(tmp_path.iterdir())  # no snapshot was taken


def test_query_text_on_stdin_that_is_not_utf8_is_bad_usage(pg_cli: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "storescope", "query", pg_cli, "-"],
        input=b"SELECT '\xff\xfe'",
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith("storescope query: error: TEXT is not valid UTF-8")


def test_redis_names_are_bytes_so_such_a_path_is_looked_up(redis_cli: str) -> None:
    """Redis and S3 already coped; Redis keys are bytes, so the path is
    passed on (and the key is not there: exit 1, one line)."""
    r = run_cli("browse", redis_cli, f"db{REDIS_DB}/no{BAD}such")
    assert r.returncode == 1, r.stderr
    assert "Not found" in _error_line(r)


# -- item 11: exit codes and messages ----------------------------------------------------


def test_an_unknown_command_is_bad_usage_naming_the_commands() -> None:
    r = run_cli("frobnicate")
    line = _usage_error(r)
    assert "unknown command 'frobnicate'" in line
    for command in ("demo", "ls", "browse", "query", "snapshot", "postgresql://"):
        assert command in line


@pytest.mark.parametrize("command", ["ls", "browse", "query"])
def test_text_that_is_not_a_url_is_bad_usage_naming_the_schemes(command: str) -> None:
    r = run_cli(command, "not a url", "x")
    line = _usage_error(r)
    assert "not a URL" in line
    for scheme in ("postgresql://", "mongodb://", "redis://", "s3://"):
        assert scheme in line


@pytest.mark.parametrize(
    "args,bound",
    [
        (["browse", "{pg}", MANY, "--limit", "99999999999999999999999"], "1 to 1,000,000"),
        (["browse", "{pg}", MANY, "--limit", "-5"], "1 to 1,000,000"),
        (["browse", "{pg}", MANY, "--limit", "9" * 5000], "1 to 1,000,000"),
        (["query", "{pg}", "SELECT 1", "--limit", "99999999999999999999999"], "1 to 1,000,000,000"),
    ],
)
def test_a_limit_out_of_range_is_bad_usage_saying_the_range(
    args: list[str], bound: str, pg_cli: str
) -> None:
    r = run_cli(*[a.replace("{pg}", pg_cli) for a in args])
    line = _usage_error(r)
    assert "--limit" in line and bound in line
    assert len(line) < 300  # the 5000 digits are not echoed back
    assert "bigint" not in r.stderr


@pytest.mark.parametrize("path", ["abc", "0/x", "1a"])
def test_a_redis_database_that_is_not_a_number_is_bad_usage(redis_cli: str, path: str) -> None:
    url = redis_cli.rsplit("/", 1)[0] + "/" + path
    r = run_cli("ls", url)
    line = _usage_error(r)
    assert "database number" in line and r.stdout == ""


@pytest.mark.parametrize(
    "store,upper",
    [
        ("pg_cli", "POSTGRESQL"),
        ("mongo_cli", "MONGODB"),
        ("redis_cli", "REDIS"),
        ("s3_cli", "S3"),
    ],
)
def test_schemes_are_case_insensitive(
    store: str, upper: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(store)
    scheme, rest = url.split("://", 1)
    lower = run_cli("ls", url)
    shouted = run_cli("ls", f"{upper}://{rest}")
    assert lower.returncode == 0, lower.stderr
    assert shouted.returncode == 0, shouted.stderr
    assert shouted.stdout == lower.stdout


@pytest.mark.parametrize(
    "command,path",
    [("ls", "../"), ("browse", "../../etc/passwd"), ("ls", "./"), ("browse", "../x")],
)
def test_s3_paths_typed_like_file_paths_get_a_clear_message(
    s3_cli: str, command: str, path: str
) -> None:
    r = run_cli(command, s3_cli, path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    line = _error_line(r)
    assert "not a valid S3 bucket name" in line and "as 'storescope ls' prints it" in line
    assert "…" not in line and "etcpasswd" not in line


def test_an_s3_prefix_written_without_its_encoded_slash_is_named_whole(s3_cli: str) -> None:
    r = run_cli("browse", s3_cli, f"{BUCKET}/etc/passwd")
    assert r.returncode == 1, r.stderr
    line = _error_line(r)
    assert f"not an S3 path: '{BUCKET}/etc/passwd'" in line and "%2F" in line
    assert "etcpasswd" not in line


def test_an_unknown_mongo_url_option_is_one_clear_line(mongo_cli: str) -> None:
    r = run_cli("ls", mongo_cli + "&foo=bar")
    line = _usage_error(r)
    assert "unknown MongoDB URL option 'foo'" in line
    assert "UserWarning" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_malformed_mongo_url_option_is_named(mongo_cli: str) -> None:
    r = run_cli("ls", mongo_cli.replace("directConnection=true", "directConnection=ture"))
    line = _usage_error(r)
    assert "MongoDB URL option 'directConnection'" in line
    assert "UserWarning" not in r.stderr


def test_a_snapshot_whose_connection_failed_exits_1_after_saving_the_error(
    pg_cli: str, tmp_path: Path
) -> None:
    secret = "Wr0ng-Sn4p-Sentinel"
    url = pg_cli.replace(f":{sandbox.PG_PASSWORD}@", f":{secret}@")
    out = tmp_path / "shot.txt"
    r = run_cli("snapshot", url, "--out", str(out))
    assert r.returncode == 1, r.stderr
    line = _error_line(r)
    assert len(r.stderr.strip().splitlines()) == 1
    assert "password authentication failed" in line and str(out) in line
    assert secret not in r.stderr and secret not in out.read_text()
    assert "password authentication failed" in " ".join(out.read_text().split())


def test_a_snapshot_that_connected_still_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "shot.txt"
    r = run_cli("snapshot", "fake://demo", "--keys", "down wait:10 ctrl+r", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.exists()


@pytest.mark.parametrize("keys,bad", [("f99", "'f99'"), ("down bogus-key up", "'bogus-key'")])
def test_unknown_key_names_are_bad_usage_naming_them(keys: str, bad: str, tmp_path: Path) -> None:
    out = tmp_path / "shot.txt"
    r = run_cli("snapshot", "fake://demo", "--keys", keys, "--out", str(out))
    line = _usage_error(r)
    assert "unknown key name in --keys" in line and bad in line
    assert not out.exists()
