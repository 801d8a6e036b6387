"""`storescope demo` end to end: four real servers start, the shop is seeded,
the TUI opens one tab per store, and leaving stops every server."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from tests.cli.conftest import run_cli


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_demo_opens_the_four_stores_and_stops_them_on_exit(tmp_path: Path) -> None:
    out = tmp_path / "demo.txt"
    # Open the orders table in the PostgreSQL tab, as README's screenshot does.
    keys = "down enter down down enter down down down down down down enter tab"
    result = run_cli("demo", "--keys", keys, "--size", "120x32", "--out", str(out), timeout=180)
    assert result.returncode == 0, result.stderr
    screen = out.read_text()
    tabs = screen.splitlines()[0]
    for label in ("PG", "Mongo", "Redis", "S3"):
        assert label in tabs
    assert "***" in tabs and "sandbox-pw" not in screen, "the PG password must be redacted"
    assert "shop/public/orders" in screen and "est. 120,000" in screen
    assert re.search(r"^\s*\S.*▕\s+1\s+1\s", screen, re.MULTILINE), "the first order row is shown"
    ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", tabs)}
    assert len(ports) == 4
    assert not [p for p in ports if _listening(p)], "a demo server is still running"
