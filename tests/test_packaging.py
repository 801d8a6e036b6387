"""What a user gets from ``pip install storescope``: one import package named
``storescope``, a core install that works without the extras against servers
that already run, and a ``--version`` that names what a bug report needs.

The wheel is built from this checkout and installed into a new virtual
environment without extras, with the versions in requirements.lock (pip's
cache makes that quick after the suite's own install)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storescope.backends import sandbox

ROOT = Path(__file__).resolve().parent.parent
#: The modules ``--version`` must not import (their import costs 30-300 ms each).
HEAVY = ("textual", "rich", "psycopg2", "psycopg", "pymongo", "redis", "boto3", "botocore")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("storescope-*.whl")
    return found


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment holding the wheel and its core dependencies only."""
    where = tmp_path_factory.mktemp("core-venv")
    venv.create(where, with_pip=True, clear=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q"]
    done = subprocess.run(
        [*pip, "--disable-pip-version-check", "-c", str(ROOT / "requirements.lock"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield where / "bin"


def _run(
    bindir: Path, *args: str, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    # Outside the checkout, so nothing can be imported from the source tree.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_the_wheel_installs_one_import_package_named_storescope(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"storescope"}
    # The three source folders are inside it, with their data files.
    for sub in ("backends/base.py", "tui/cli.py", "screens/explorer.py", "tui/styles/app.tcss"):
        assert f"storescope/{sub}" in names
    assert "storescope/__main__.py" in names
    # Nothing of the tests, the links or the checkout's tooling.
    assert not [n for n in names if n.startswith(("tests/", "storescope/tests/"))]


def test_core_install_without_extras_lists_browses_queries_and_snapshots(
    core_venv: Path,
    pg_server: sandbox.Server,
    redis_server: sandbox.Server,
    tmp_path: Path,
) -> None:
    version = _run(core_venv, "storescope", "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    lines = version.stdout.splitlines()
    assert lines[0].startswith("storescope ")
    assert [line.split()[0] for line in lines[1:]] == [
        "Python",
        "textual",
        "psycopg2",
        "pymongo",
        "redis",
        "botocore",
    ]
    assert "not installed" not in version.stdout  # every core driver is there

    # python -m storescope is the console script.
    same = _run(core_venv, "python", "-m", "storescope", "--version", cwd=tmp_path)
    assert same.stdout == version.stdout

    ls = _run(core_venv, "storescope", "ls", pg_server.url, cwd=tmp_path)
    assert ls.returncode == 0, ls.stderr
    assert "postgres" in ls.stdout.split()

    query = _run(
        core_venv,
        "storescope",
        "query",
        pg_server.url,
        "SELECT 40 + 2 AS answer",
        "--format",
        "csv",
        cwd=tmp_path,
    )
    assert query.returncode == 0, query.stderr
    assert query.stdout.splitlines() == ["answer", "42"]

    import redis

    r = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/9")
    r.set("pkg:probe", "hello")
    browse = _run(
        core_venv,
        "storescope",
        "browse",
        redis_server.url.rsplit("/", 1)[0] + "/9",
        "db9/pkg:",
        "--format",
        "jsonl",
        cwd=tmp_path,
    )
    assert browse.returncode == 0, browse.stderr
    assert "pkg:probe" in browse.stdout

    out = tmp_path / "screen.txt"
    snap = _run(
        core_venv,
        "storescope",
        "snapshot",
        redis_server.url.rsplit("/", 1)[0] + "/9",
        "--size",
        "80x24",
        "--out",
        str(out),
        cwd=tmp_path,
        timeout=120,
    )
    assert snap.returncode == 0, snap.stderr
    assert "db9" in out.read_text()
    r.delete("pkg:probe")


def test_demo_without_the_extra_says_what_to_install(core_venv: Path, tmp_path: Path) -> None:
    done = _run(core_venv, "storescope", "demo", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'storescope[demo]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_version_imports_no_driver_and_no_textual() -> None:
    code = (
        "import sys\n"
        "from storescope.tui.cli import main\n"
        "assert main(['--version']) == 0\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
