"""The dependency direction of DESIGN.md: tui.app -> screens -> tui.widgets ->
backends. Backends and the headless CLI never load Textual, so `storescope ls`
stays fast and the store layer stays testable without a terminal."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Module names imported anywhere in ``path`` (top level or in functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _forbidden(package: str, banned: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in banned or any(
                name == b or name.startswith(b + ".") for b in banned
            ):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_backends_never_import_the_ui() -> None:
    assert _forbidden("backends", ("textual", "rich", "storescope.tui", "storescope.screens")) == []


def test_widgets_never_import_screens_or_the_app() -> None:
    assert _forbidden("tui/widgets", ("storescope.screens", "storescope.tui.app")) == []


def test_screens_never_import_the_app() -> None:
    assert _forbidden("screens", ("storescope.tui.app",)) == []


def test_backends_and_headless_cli_load_no_textual_at_runtime() -> None:
    code = (
        "import sys\n"
        "import storescope.backends, storescope.backends.base, storescope.backends.types\n"
        "import storescope.backends.paths, storescope.backends.sandbox\n"
        "for m in ('postgres', 'mongo', 'redis', 's3', 'fake'):\n"
        "    __import__('storescope.backends.' + m)\n"
        "import storescope.demo\n"
        "import storescope.tui.cli, storescope.tui.formats\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')\n"
        "                or m.startswith('storescope.screens'))\n"
        "assert not loaded, loaded\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_import_uses_the_storescope_namespace() -> None:
    """A bare ``import backends`` would load a second copy of every module
    (and clash with PyPI's unrelated ``backends`` and ``tui`` packages)."""
    # storescope/ itself only at its top: its links lead to the folders read here.
    paths = [p for f in ("backends", "tui", "screens", "tests") for p in (ROOT / f).rglob("*.py")]
    paths += (ROOT / "storescope").glob("*.py")
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted(paths)
        for name in _imports(path)
        if name.split(".")[0] in ("backends", "tui", "screens")
    ]
    assert bad == []
