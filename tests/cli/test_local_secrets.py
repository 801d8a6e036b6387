"""What other local users and processes can see (issue 8, items 7, 8, 9): the
password of a URL in ``ps``, a ``password_command`` that never ends, and the
query history's file modes."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storescope.tui.config import Profile, SecretError, fetch_password, run_password_command

from .conftest import ROOT, run_cli

SECRET = "Ps-V1s1ble-Sentinel"


# -- item 7: the process title -------------------------------------------------------


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: connecting to
    it stalls, so the process is still running when we look at it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode("utf-8", "replace")


def _title_once_started(pid: int, timeout: float = 5.0) -> str:
    """The process's command line once storescope has rewritten it (or as it
    is when ``timeout`` runs out)."""
    deadline = time.monotonic() + timeout
    line = _cmdline(pid)
    # Empty until the kernel shows the exec'd command line; then the original
    # argv, with the secret; then storescope's title.
    while (not line.strip() or SECRET in line) and time.monotonic() < deadline:
        time.sleep(0.02)
        line = _cmdline(pid)
    return line


@contextlib.contextmanager
def _started(argv: list[str], **options: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "storescope", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"},
        **options,  # type: ignore[call-overload]
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "{url}", "--connect-timeout", "20"],
        ["browse", "{url}", "db/public/t", "--connect-timeout", "20"],
        ["query", "{url}", "SELECT 1", "--connect-timeout", "20"],
        ["snapshot", "{url}", "--out", "{tmp}/shot.txt"],
        ["--read-only", "{url}?sslmode=disable&password={secret}"],  # the TUI; see below
    ],
    ids=["ls", "browse", "query", "snapshot", "tui-query-password"],
)
def test_the_password_leaves_the_process_title_at_start_up(
    argv: list[str], stalled_port: int, tmp_path: Path
) -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:{stalled_port}/db"
    args = [
        a.replace("{url}", url).replace("{tmp}", str(tmp_path)).replace("{secret}", SECRET)
        for a in argv
    ]
    if argv[0] == "--read-only":  # the TUI needs a terminal
        leader, follower = os.openpty()
        try:
            with _started(args, stdin=follower, stdout=follower, stderr=follower) as proc:
                title = _title_once_started(proc.pid)
                still_running = proc.poll() is None
        finally:
            os.close(follower)
            os.close(leader)
    else:
        with _started(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        ) as proc:
            title = _title_once_started(proc.pid)
            still_running = proc.poll() is None
    assert still_running  # the stalled server held it: we looked while it ran
    assert SECRET not in title
    assert title.startswith(f"storescope {args[0]}") and "app:***@127.0.0.1" in title


def test_a_command_line_without_secrets_keeps_its_title(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from storescope.tui.cli import hide_passwords_from_ps as h; "
            "print(h(['ls', 'redis://127.0.0.1:1/0']), h(['ls', 'redis://:pw@127.0.0.1:1/0']))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.stdout.split() == ["False", "True"], done.stderr


# -- item 8: password_command is stopped on time -------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _stat(int(entry))) is not None and info[1] == pid:
            found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[0] != "Z"  # a zombie has exited


def test_a_password_command_that_hangs_is_stopped_on_time(tmp_path: Path) -> None:
    """The issue's command, `sleep 100; echo x`: killing only the shell left
    its `sleep` child running, holding our stderr open for the full 100 s
    (a caller reading it waited that long). Now the whole group goes."""
    pid_file = tmp_path / "shell.pid"
    profile = Profile(
        "slow",
        "postgresql://app@127.0.0.1:1/db",
        password_command=f"echo $$ > {pid_file}; sleep 100; echo x",
        password_timeout=0.5,
    )
    failures: list[BaseException] = []

    def fetch() -> None:
        try:
            fetch_password(profile)
        except BaseException as e:
            failures.append(e)

    start = time.monotonic()
    worker = threading.Thread(target=fetch)
    worker.start()
    seen: set[int] = set()  # the shell and its sleep, seen while they run
    while worker.is_alive():
        if pid_file.exists() and pid_file.read_text().strip():
            shell = int(pid_file.read_text())
            seen |= {shell} | _children(shell)
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    assert elapsed < 0.5 + 1.0
    assert len(failures) == 1 and isinstance(failures[0], SecretError)
    assert "did not finish within 0.5 s" in str(failures[0])
    assert len(seen) == 2, seen  # the shell and the sleep it started
    deadline = time.monotonic() + 2
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in seen if _alive(pid)]


def test_the_cli_reports_a_hanging_password_command_promptly(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[profiles.slow]\nurl = "postgresql://app@127.0.0.1:1/db"\n'
        'password_command = "sleep 100; echo x"\npassword_timeout = 1\n'
    )
    r = run_cli("ls", "--profile", "slow", env={"STORESCOPE_CONFIG": str(config)}, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "password_command did not finish within 1 s" in r.stderr
    assert "Traceback" not in r.stderr
    assert r.seconds < 1 + 4  # interpreter start-up included


def test_the_default_password_timeout_is_30_seconds() -> None:
    from storescope.tui import config

    assert config.DEFAULT_PASSWORD_TIMEOUT == 30
    assert Profile("p", "postgresql://h/db").password_timeout == config.DEFAULT_PASSWORD_TIMEOUT


def test_a_password_command_can_still_ask_on_the_terminal() -> None:
    """It runs in a process group of its own (so it can be killed whole), and
    is handed the terminal while it runs: a prompt that reads the terminal
    (read -s, ssh, sudo) is not stopped as a background job."""
    code = (
        "from storescope.tui.config import run_password_command\n"
        "code, out = run_password_command('read -r x; echo got-$x', 10)\n"
        "print('RESULT', code, out.decode().strip(), flush=True)\n"
    )
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,  # its own session, whose terminal is the pty
        preexec_fn=lambda: _take_terminal(follower),
    )
    os.close(follower)
    try:
        time.sleep(1.0)
        os.write(leader, b"typed\n")
        output = b""
        deadline = time.monotonic() + 20
        while b"RESULT" not in output or not output.endswith(b"\n"):
            if time.monotonic() > deadline:
                break
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
        assert proc.wait(timeout=20) == 0, output
        assert b"RESULT 0 got-typed" in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)


def _take_terminal(fd: int) -> None:
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


def test_run_password_command_returns_status_and_output() -> None:
    assert run_password_command("printf 'pw\\nrest'", 5) == (0, b"pw\nrest")
    assert run_password_command("exit 3", 5)[0] == 3


# -- item 9: history files are private ------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 0: the modes must come from storescope, not from the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_history_files_are_0600_in_a_0700_directory(tmp_path: Path, open_umask: None) -> None:
    from storescope.tui.widgets.query.query_history import History

    folder = tmp_path / "share" / "storescope" / "history"
    history = History("k", directory=folder, max_entries=2)
    history.append("SELECT 1")
    assert _mode(folder) == 0o700
    assert _mode(folder.parent) == 0o700  # storescope/, created on the way
    assert _mode(history.path) == 0o600
    for i in range(6):  # past twice max_entries: the file is rewritten through a .tmp
        history.append(f"SELECT {i + 2}")
    assert _mode(history.path) == 0o600
    assert '"SELECT 1"' not in history.path.read_text()  # it was cut back


def test_history_files_left_readable_are_tightened_when_opened(tmp_path: Path) -> None:
    from storescope.tui.widgets.query.query_history import History

    folder = tmp_path / "history"
    folder.mkdir()
    folder.chmod(0o755)
    path = folder / "k.jsonl"
    path.write_text('{"sql": "SELECT 1"}\n')
    path.chmod(0o644)
    history = History("k", directory=folder)  # as the query panel opens
    assert _mode(path) == 0o600 and _mode(folder) == 0o700
    assert history.entries() == ["SELECT 1"]
