"""Session-wide fixtures: the real local servers (started lazily, once per
test session, stopped at the end even when tests fail)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storescope.backends import sandbox

# Never let a developer's real AWS profile leak into tests against moto.
for _k, _v in sandbox.S3_DUMMY_ENV.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)

# Query history and profiles go to a directory of this process's own (each
# xdist worker has one), never to the developer's home, where parallel
# workers would share one history file. Tests that need a particular
# directory still set XDG_DATA_HOME / XDG_CONFIG_HOME themselves.
_HOME = tempfile.mkdtemp(prefix="storescope-tests-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """With ``-p no:xdist`` the ``-n auto --dist loadgroup`` of pyproject's
    addopts would be unknown arguments: accept them, and run serially."""
    if pluginmanager.is_blocked("xdist") or not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist (disabled)")
        # _addoption: a conftest may not claim a lowercase short option otherwise.
        group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)
        group.addoption("--dist", dest="dist", default="no")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """What ``-n auto`` means here: one worker more than the cores. Many
    tests wait rather than compute (a stall's 10 s promise, idle bounds, a TUI
    waiting on its workers, a CLI subprocess), so a spare worker fills those
    gaps; more than one spare starves the tests that time themselves (a
    reconnect within 1.5 s). Measured on 2 cores, tests/backends: 2 workers
    88 s, 3 workers 74 s, 4 workers 69 s, and with 4 a timed TUI test failed.
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cpus or 1) + 1


#: Files whose tests run longest, most of them one worker group each (a venv
#: built from the wheel, TUI record editing and query sessions on PostgreSQL,
#: exports of big values, the demo's four servers, waits of a stall's 10 s
#: promise): under xdist they are handed out first, so no worker starts one
#: near the end while the others have nothing left to do.
LONGEST_FIRST = (
    "tests/test_packaging.py",
    "tests/tui/test_records.py",
    "tests/cli/test_whole_values.py",
    "tests/tui/test_query_panel.py",
    "tests/cli/test_demo.py",
    "tests/backends/test_stall.py",
    "tests/backends/test_demo.py",
)


def _xdist_group(item: pytest.Item) -> str | None:
    """The worker group of ``item`` under ``--dist loadgroup``: tests using a
    module- or class-scoped fixture (a seeded bucket, a built wheel, a venv)
    stay together per file, so the fixture is built once; tests on a store's
    conformance harness stay together per store, so its data is seeded once;
    the rest spread over the workers one by one."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    scopes = {defs[-1].scope for defs in info.name2fixturedefs.values() if defs}
    if scopes & {"module", "class", "package"}:
        return item.nodeid.split("::", 1)[0]
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "harness" in callspec.params:
        return f"harness-{callspec.params['harness']}"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker (pyproject's addopts): group the tests as
    _xdist_group says, and move the LONGEST_FIRST files to the front, whole,
    in their own order. A serial run (-p no:xdist, -n 0) keeps pytest's order."""
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    for item in items:
        group = _xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order


def pytest_configure(config: pytest.Config) -> None:
    """With PYTHONDONTWRITEBYTECODE set (as on some dev machines), every
    worker and every ``python -m storescope`` a CLI test starts would compile
    the package from source again: compile it once here, in the controller,
    before any worker or subprocess starts. Without the variable Python
    writes these caches itself."""
    if not sys.flags.dont_write_bytecode or hasattr(config, "workerinput"):
        return
    import compileall

    root = Path(__file__).resolve().parent.parent
    for folder in ("storescope", "backends", "tui", "screens"):
        compileall.compile_dir(root / folder, quiet=2)


def pytest_report_header() -> list[str]:
    """The versions this run tests on: a red run after a new release of a
    library, server or emulator says at the top which one moved."""
    from storescope.tui.cli import version_report

    servers = [f"{name} {text}" for name, text in sandbox.versions().items()]
    return ["versions: " + " | ".join([*version_report().splitlines(), *servers])]


def _server(kind: str) -> Iterator[sandbox.Server]:
    server = sandbox.STARTERS[kind]()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[sandbox.Server]:
    yield from _server("postgres")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[sandbox.Server]:
    yield from _server("redis")


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[sandbox.Server]:
    yield from _server("mongo")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[sandbox.Server]:
    yield from _server("s3")
