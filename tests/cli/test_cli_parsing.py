"""Command-line parsing details that need no server."""

from __future__ import annotations

import os
import subprocess
import sys

from storescope.tui.cli import _ordered_targets, _split_command, scrub

from .conftest import ROOT


def test_a_url_needs_no_verb_and_global_read_only_comes_first() -> None:
    assert _split_command(["postgresql://h/db"]) == ("open", ["postgresql://h/db"], False)
    assert _split_command(["--read-only", "ls", "redis://h"]) == ("ls", ["redis://h"], True)
    assert _split_command(["--profile", "p"]) == ("open", ["--profile", "p"], False)
    assert _split_command([]) == (None, [], False)


def test_tabs_open_in_command_line_order() -> None:
    argv = ["redis://a", "--profile", "prod", "s3://", "--read-only", "--profile=dev"]
    assert _ordered_targets(argv, ["redis://a", "s3://"]) == [
        ("url", "redis://a"),
        ("profile", "prod"),
        ("url", "s3://"),
        ("profile", "dev"),
    ]


def test_scrub_removes_secrets_and_url_passwords() -> None:
    text = "could not connect to postgresql://app:hunter2@db/x (password hunter2)"
    assert (
        scrub(text, ["hunter2"]) == "could not connect to postgresql://app:***@db/x (password ***)"
    )
    assert scrub("redis://:tok@h:6379/0 refused", []) == "redis://:***@h:6379/0 refused"


def test_ls_on_a_terminal_prints_aligned_columns_under_a_header() -> None:
    leader, follower = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "storescope", "ls", "fake://demo", "shop/public"],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0, proc.stderr
    lines = b"".join(chunks).decode().replace("\r\n", "\n").splitlines()
    assert lines[0].split() == ["PATH", "KIND", "ESTIMATE", "DETAIL"]
    assert set(lines[1]) <= {"-", " "}
    kind_col = lines[0].index("KIND")
    assert all(line[kind_col - 2 : kind_col] == "  " for line in lines[2:])
    assert any(line.startswith("shop/public/customers ") for line in lines)
    assert "\t" not in "".join(lines)
