"""`storescope snapshot`: the TUI run headless, saved as SVG or plain text."""

from __future__ import annotations

from pathlib import Path

from .conftest import run_cli


def test_snapshot_txt_holds_the_screen_text_after_the_keys(tmp_path: Path) -> None:
    out = tmp_path / "screen.txt"
    r = run_cli(
        "snapshot", "fake://demo", "--keys", "down enter", "--size", "100x30", "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 30 and max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    # The catalog shows the fake server's databases; "down enter" expanded one.
    for name in ("analytics", "postgres", "shop"):
        assert name in text
    assert "public" in text


def test_snapshot_svg_is_an_svg_of_the_requested_size(tmp_path: Path) -> None:
    out = tmp_path / "screen.svg"
    r = run_cli("snapshot", "fake://demo", "--size", "80x24", "--read-only", "--out", str(out))
    assert r.returncode == 0, r.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "shop" in svg


def test_snapshot_of_an_unknown_scheme_fails_before_starting_the_app(tmp_path: Path) -> None:
    out = tmp_path / "x.svg"
    r = run_cli("snapshot", "foo://x", "--out", str(out))
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.startswith("storescope: Unknown URL scheme:")
