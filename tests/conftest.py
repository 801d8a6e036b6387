"""Session-wide fixtures: the real local servers (started lazily, once per
test session, stopped at the end even when tests fail)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from storescope.backends import sandbox

# Never let a developer's real AWS profile leak into tests against moto.
for _k, _v in sandbox.S3_DUMMY_ENV.items():
    os.environ[_k] = _v
os.environ.pop("AWS_PROFILE", None)


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
