"""Page cursors are untrusted input (issue 8, item 10): one bounded decoder
(backends/cursors.py) for every backend, so a crafted cursor, such as 126 KB
of zlib that inflates to 95 MB, is refused quickly as an invalid page cursor
without the memory ever being used."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from storescope.backends import cursors, sandbox
from storescope.backends.errors import QueryFailed

ROOT = Path(__file__).resolve().parents[2]


def _bomb(megabytes: int = 95) -> str:
    """The issue's attack: a Redis-shaped payload of ``megabytes`` MB, zlib'd."""
    payload = b'{"v":1,"f":"x","pending":["' + b"a" * (megabytes * 1024 * 1024) + b'"]}'
    return base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")


BOMB = _bomb()


def test_the_bomb_is_the_issues_size() -> None:
    assert 120_000 < len(BOMB) < 131_072  # under Linux's limit for one argument


def test_cursors_read_back_what_was_written() -> None:
    for payload in (b"", b'{"a":1}', bytes(range(256)) * 100):
        for compress in (False, True):
            text = cursors.encode_cursor(payload, compress=compress, prefix="x:")
            assert text.isascii() and text.startswith("x:")
            assert cursors.decode_cursor(text, compressed=compress, prefix="x:") == payload


def test_a_zlib_bomb_stops_at_the_limit_quickly() -> None:
    start = time.monotonic()
    with pytest.raises(cursors.CursorError, match="inflates to more than"):
        cursors.decode_cursor(BOMB, compressed=True)
    assert time.monotonic() - start < 1.0


def test_an_overlong_cursor_is_refused_before_decoding() -> None:
    with pytest.raises(cursors.CursorError, match="too long"):
        cursors.decode_cursor("A" * (cursors.MAX_CURSOR_CHARS + 1), compressed=True)


def test_a_payload_at_the_limit_still_reads_back() -> None:
    payload = os.urandom(cursors.MAX_CURSOR_BYTES)  # incompressible: the longest text
    text = cursors.encode_cursor(payload, compress=True)
    assert len(text) <= cursors.MAX_CURSOR_CHARS
    assert cursors.decode_cursor(text, compressed=True) == payload


def test_the_encoder_refuses_what_the_decoder_would() -> None:
    with pytest.raises(cursors.CursorError, match="at most"):
        cursors.encode_cursor(b"x" * (cursors.MAX_CURSOR_BYTES + 1), compress=True)


@pytest.mark.parametrize("text", ["é", "\udcff", "!!!", "eJw", "=" * 3])
def test_garbage_is_a_cursor_error_and_nothing_else(text: str) -> None:
    for compressed in (False, True):
        with contextlib.suppress(cursors.CursorError):
            cursors.decode_cursor(text, compressed=compressed)


@pytest.mark.parametrize(
    "cursor",
    [BOMB, "A" * (cursors.MAX_CURSOR_CHARS + 1), "\udcff", "%"],
    ids=["zlib-bomb", "overlong", "not-utf8", "not-base64"],
)
def test_every_backend_refuses_a_crafted_cursor_as_invalid(cursor: str) -> None:
    from storescope.backends import mongo, s3
    from storescope.backends import redis as redis_backend
    from storescope.backends.postgres import core

    decoders: dict[str, Callable[[], object]] = {
        "redis": lambda: redis_backend._decode_cursor(cursor, "x"),
        "postgres": lambda: core._decode_cursor(cursor),
        "mongo": lambda: mongo.decode_cursor(cursor),
        "s3": lambda: s3.decode_cursor(s3._CURSOR_PREFIX + cursor),
    }
    for store, decode in decoders.items():
        start = time.monotonic()
        with pytest.raises(QueryFailed, match="(?i)invalid|not valid") as info:
            decode()
        assert time.monotonic() - start < 1.0, store
        assert len(str(info.value)) < 300, store


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="needs /usr/bin/time (GNU time)")
def test_the_crafted_redis_cursor_does_not_raise_peak_memory(
    redis_server: sandbox.Server,
) -> None:
    """Before the fix: 246 MB peak RSS against 49 MB for a plain page, and the
    error only after inflating all 95 MB. Now: within a few MB of a plain page."""

    def run(*extra: str) -> tuple[int, str, int, float]:
        start = time.monotonic()
        done = subprocess.run(
            [shutil.which("time") or "/usr/bin/time", "-f", "peak-kb %M"]
            + [sys.executable, "-m", "storescope", "browse", redis_server.url, "db0", *extra],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        lines = done.stderr.strip().splitlines()
        peak = int(next(line for line in lines if line.startswith("peak-kb")).split()[1])
        message = "\n".join(line for line in lines if not line.startswith(("peak-kb", "Command")))
        return done.returncode, message, peak, time.monotonic() - start

    code, _, plain_peak, _ = run("--limit", "1")
    assert code == 0
    code, message, bomb_peak, seconds = run("--cursor", BOMB)
    assert code == 1
    assert message.startswith("storescope: Query failed: invalid page cursor")
    assert "Traceback" not in message
    assert bomb_peak < plain_peak + 30 * 1024, (plain_peak, bomb_peak)
    assert seconds < 10
