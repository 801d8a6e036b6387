"""Fuzzing the command line's argument handling with hypothesis (issue 8,
item 5): whatever the arguments, ``storescope`` answers with an exit status of
0, 1 or 2 and at most a message on stderr, never a traceback and never the
password of a URL.

The examples mix the real sandbox servers (tests/conftest.py) with garbage:
subcommands, flags, URLs of every scheme (upper case, closed ports, junk
paths and options, unknown schemes, text that is no URL), catalog paths,
statements, cursors (a zlib bomb among them), huge numbers, and bytes that are
not UTF-8, given the way Python hands them over in ``sys.argv`` (lone
surrogates, ``surrogateescape``). ``main(argv)`` runs in-process with stdout
and stderr captured: an exception escaping it is the in-process traceback. A
few examples run in a subprocess too, with the raw bytes in the child's argv.

No example opens the TUI: only ``ls``, ``browse``, ``query`` and (a few)
``snapshot``, which runs the TUI headless, are generated. Hosts are always
loopback ones, so no example waits on DNS."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storescope.backends import sandbox
from storescope.tui.cli import main

from .conftest import BUCKET, MONGO_DB, PG_DB, REDIS_DB, ROOT

pytestmark = pytest.mark.timeout(600)

#: Bytes 0x80-0xff that are not UTF-8, as sys.argv holds them.
ESCAPED_BYTES = [chr(0xDC00 + b) for b in range(0x80, 0x100)]
#: Text as an argument can hold it: any character but NUL (argv strings are
#: NUL-terminated) and the surrogates no byte maps to.
ARG_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        st.sampled_from(ESCAPED_BYTES),
    ),
    max_size=40,
)
HUGE_NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["0", "-1", "1e9", "nan", "inf", "0x10", "9" * 400, "１２", "1_000", " 7 "]),
)
# 126 KB of base64 that inflate to 95 MB: the issue's crafted cursor.
BOMB = base64.urlsafe_b64encode(
    zlib.compress(b'{"v":1,"f":"x","pending":["' + b"a" * (95 * 1024 * 1024) + b'"]}', 9)
).decode()
CURSORS = st.one_of(
    ARG_TEXT,
    st.sampled_from(["", "=", "eJw", "e30", "s3:", "s3:" + "A" * 100, BOMB, "0", "-1"]),
)


@pytest.fixture(scope="module")
def servers(pg_cli: str, mongo_cli: str, redis_cli: str, s3_cli: str) -> dict[str, str]:
    redis_db = redis_cli.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    return {"postgres": pg_cli, "mongo": mongo_cli, "redis": redis_db, "s3": s3_cli}


@pytest.fixture(scope="module")
def urls(servers: dict[str, str]) -> st.SearchStrategy[str]:
    return _urls(servers)


def _rarely(draw: st.DrawFn) -> bool:
    """True about one time in ten. (Not ``== 0``: hypothesis favours the
    bounds of a range, and most examples should get past argument parsing
    and reach a server, where the bugs hide.)"""
    return bool(draw(st.integers(0, 9)) == 7)


def _often(draw: st.DrawFn, usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """``usual`` most of the time, else ``odd``."""
    return draw(odd if _rarely(draw) or _rarely(draw) else usual)


def _urls(servers: dict[str, str]) -> st.SearchStrategy[str]:
    real = list(servers.values())
    shouted = [u.split("://", 1)[0].upper() + "://" + u.split("://", 1)[1] for u in real]
    closed = sandbox.free_port()
    dead = [
        f"postgresql://postgres:{sandbox.PG_PASSWORD}@127.0.0.1:{closed}/postgres",
        f"mongodb://127.0.0.1:{closed}/?directConnection=true",
        f"redis://127.0.0.1:{closed}/0",
        f"s3://?endpoint=http://127.0.0.1:{closed}",
    ]
    odd = st.one_of(
        st.sampled_from(dead),
        # A real server with junk after it: path, database, options.
        st.builds(lambda u, junk: u + junk, st.sampled_from(real), ARG_TEXT),
        st.builds(
            lambda u, key, value: u + ("&" if "?" in u else "?") + f"{key}={value}",
            st.sampled_from(real),
            st.sampled_from(["foo", "db", "directConnection", "region", "sslmode", "x"]),
            ARG_TEXT,
        ),
        # Junk where the port and the database go, on loopback only.
        st.builds(
            lambda scheme, port, rest: f"{scheme}://127.0.0.1:{port}/{rest}",
            st.sampled_from(
                ["postgresql", "mongodb", "redis", "rediss", "s3", "REDIS", "Postgres"]
            ),
            st.one_of(HUGE_NUMBERS, ARG_TEXT.filter(lambda t: not any(c in t for c in "/?#@["))),
            ARG_TEXT,
        ),
        # Unknown schemes and text that is no URL at all.
        st.builds(lambda s, rest: f"{s}://{rest}", st.sampled_from(["foo", "http", ""]), ARG_TEXT),
        ARG_TEXT.filter(lambda t: "://" not in t),
    )
    return st.one_of(st.sampled_from(real + shouted), st.sampled_from(real), odd)


PATHS = st.one_of(
    st.sampled_from(
        [
            "",
            PG_DB,
            f"{PG_DB}/public",
            f"{PG_DB}/public/items",
            f"{PG_DB}/public/a%2Fb%25c",
            MONGO_DB,
            f"{MONGO_DB}/people",
            f"db{REDIS_DB}",
            f"db{REDIS_DB}/user:",
            f"db{REDIS_DB}/plain",
            BUCKET,
            f"{BUCKET}/logs%2F",
        ]
    ),
    st.sampled_from(["../", "../../etc/passwd", "a//b", "%", "/", f"{PG_DB}/public/items/x"]),
    ARG_TEXT,
)
STATEMENTS = st.one_of(
    st.sampled_from(
        ["SELECT 1", "select * from items", "SELECT 1; SELECT 2", "", " ", ";", "SELECT 'é'"]
    ),
    ARG_TEXT.filter(lambda t: t.strip() != "-"),
)


@st.composite
def argvs(draw: st.DrawFn, urls: st.SearchStrategy[str]) -> list[str]:
    command = draw(st.sampled_from(["ls", "browse", "query"]))
    argv: list[str] = [command]
    if draw(st.booleans()):
        argv.insert(0, "--read-only")
    if _rarely(draw):
        argv += ["--profile", draw(ARG_TEXT)]
    else:
        argv.append(draw(urls))
    if command == "query":
        argv.append(draw(STATEMENTS))
    elif command == "browse" or draw(st.booleans()):
        argv.append(draw(PATHS))
    if _rarely(draw):
        argv.append(draw(ARG_TEXT))  # one argument too many
    flags: list[list[str]] = []
    if command in ("browse", "query") and draw(st.booleans()):
        flags.append(["--limit", _often(draw, st.integers(1, 300).map(str), HUGE_NUMBERS)])
    if command == "browse" and _rarely(draw):
        flags.append(["--cursor", draw(CURSORS)])
    if command == "browse" and _rarely(draw):
        flags.append(["--all"])
    if command in ("browse", "query") and draw(st.booleans()):
        formats = st.sampled_from(["table", "json", "jsonl", "csv"])
        flags.append(["--format", _often(draw, formats, ARG_TEXT)])
    if command == "ls" and draw(st.booleans()):
        flags.append(["--json"])
    if _rarely(draw):
        seconds = _often(
            draw, st.sampled_from(["2", "0.5"]), st.sampled_from(["-1", "nan", "1e999"])
        )
        flags.append(["--connect-timeout", seconds])
    if _rarely(draw):
        flags.append([draw(st.sampled_from(["--nope", "-x", "--", "--limit", "--cursor"]))])
    for flag in draw(st.permutations(flags)):
        argv += flag
    return argv


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b"SELECT 1"), encoding="utf-8")
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch.object(sys, "stdin", stdin),
    ):
        yield out, err


def _check(code: Any, stdout: str, stderr: str, argv: list[str]) -> None:
    shown = [a[:80] for a in argv]
    assert code in (0, 1, 2), (code, shown, stderr)
    assert "Traceback" not in stderr, (shown, stderr)
    assert sandbox.PG_PASSWORD not in stderr, (shown, stderr)
    if code != 0:
        assert stderr.strip(), (shown, "failed without saying why")
        # split("\n"), not splitlines(): an argument echoed back may hold a
        # \x1e or \x0c, which splitlines() would take for a line break.
        lines = stderr.strip().split("\n")
        assert any(line.startswith("storescope") for line in lines[-2:]), (shown, stderr)


@pytest.fixture(scope="module")
def empty_config() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text("")
        yield str(path)


def _issue_examples(servers: dict[str, str]) -> list[list[str]]:
    """The issue's own findings, always tried (the random search may miss
    them in a given run)."""
    pg, mongo, redis, s3 = (servers[k] for k in ("postgres", "mongo", "redis", "s3"))
    bad = ESCAPED_BYTES[-1]  # the byte 0xff
    return [
        ["ls", pg, f"{PG_DB}/x{bad}"],
        ["ls", pg + bad],
        ["browse", pg, f"{PG_DB}/public/x{bad}"],
        ["ls", mongo, f"{MONGO_DB}{bad}"],
        ["ls", mongo + bad],
        ["browse", mongo, f"{MONGO_DB}/people{bad}"],
        ["query", pg, f"SELECT '{bad}'"],
        ["frobnicate"],
        ["ls", "not a url"],
        ["browse", pg, f"{PG_DB}/public/items", "--limit", "99999999999999999999999"],
        ["ls", redis.rsplit("/", 1)[0] + "/abc"],
        ["ls", "POSTGRESQL://" + pg.split("://", 1)[1]],
        ["ls", s3, "../"],
        ["browse", s3, "../../etc/passwd"],
        ["ls", mongo + "&foo=bar"],
        ["ls", redis + "?foo=0"],
        ["browse", redis, f"db{REDIS_DB}", "--cursor", BOMB],
    ]


def test_no_argument_list_gives_a_traceback(
    servers: dict[str, str], urls: st.SearchStrategy[str], empty_config: str
) -> None:
    def run(argv: list[str]) -> None:
        with (
            mock.patch.dict(os.environ, {"STORESCOPE_CONFIG": empty_config}),
            _captured() as (out, err),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            code = main(argv)
        _check(code, out.getvalue(), err.getvalue(), argv)
        # A driver's warning would be a raw line on the user's stderr.
        assert not [w for w in caught if issubclass(w.category, UserWarning)], (argv, caught)

    for example in _issue_examples(servers):
        run = hypothesis.example(argv=example)(run)
    settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(given(argv=argvs(urls))(run))()


@st.composite
def snapshot_argvs(
    draw: st.DrawFn, servers: dict[str, str], urls: st.SearchStrategy[str]
) -> list[str]:
    url = draw(
        st.one_of(
            st.just("fake://demo"),
            st.just(servers["postgres"].replace(sandbox.PG_PASSWORD, "wrong")),
            urls.filter(lambda u: "127.0.0.1" not in u),  # only fast failures
        )
    )
    keys = draw(
        st.one_of(
            st.lists(
                st.sampled_from(["down", "enter", "tab", "f99", "bogus-key", "wait", "ctrl+r"])
            ).map(" ".join),
            ARG_TEXT,
        )
    )
    suffix = draw(st.sampled_from([".txt", ".svg", ".png", ""]))
    argv = ["snapshot", url, "--keys", keys, "--out", "{out}" + suffix]
    if draw(st.booleans()):
        argv += ["--size", draw(st.one_of(st.sampled_from(["80x24", "1x1", "99999x9"]), ARG_TEXT))]
    return argv


def test_no_snapshot_argument_list_gives_a_traceback(
    servers: dict[str, str], urls: st.SearchStrategy[str]
) -> None:
    """Few examples: a snapshot whose arguments pass runs the TUI headless."""

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(argv=snapshot_argvs(servers, urls))
    def run(argv: list[str]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            argv = [a.replace("{out}", os.path.join(folder, "shot")) for a in argv]
            with _captured() as (out, err):
                code = main(argv)
        _check(code, out.getvalue(), err.getvalue(), argv)

    run()


def test_raw_bytes_in_a_childs_argv_give_no_traceback(urls: st.SearchStrategy[str]) -> None:
    """A few examples as a user's shell would pass them: the child's argv
    holds the raw bytes (subprocess re-encodes the lone surrogates)."""

    @settings(max_examples=8, deadline=None, database=None)
    @given(argv=argvs(urls))
    def run(argv: list[str]) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "storescope", *argv],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "STORESCOPE_CONFIG": os.devnull},
            timeout=60,
        )
        stderr = done.stderr.decode("utf-8", "replace")
        _check(done.returncode, "", stderr, argv)

    run()
