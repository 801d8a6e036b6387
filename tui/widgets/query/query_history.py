"""The query editor's history: every statement run, per connection, kept across
runs, and the picker that searches it.

One file per connection under ``$XDG_DATA_HOME/storescope/history/`` (or
``~/.local/share/...``), named by a hash of the *redacted* URL: no password or
token ever reaches the file name or the file. A statement that mentions a
password (``ALTER ROLE ... PASSWORD '...'``) is not kept either. Each line is
one JSON object; the file is cut back to the newest ``max_entries`` when it
grows to twice that, so it stays small and a read stays bounded. A line
holds the statement under ``"text"``; lines written by earlier versions,
under ``"sql"``, are read too.

Statements can hold data worth keeping private, so the files are ``0600`` in
a ``0700`` directory: created so (``os.open`` with the mode, never a window
where they are readable), and files or a directory left looser by an earlier
version are tightened when the history is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from storescope.tui.widgets.query.query_results import one_line

if TYPE_CHECKING:
    from textual.app import ComposeResult

_SECRET = re.compile(r"\bpassword\b", re.IGNORECASE)
#: Most bytes read of a history file (its tail): the file is capped anyway.
_MAX_READ = 4 * 1024 * 1024
FILE_MODE = 0o600
#: Where a line keeps its statement, and where earlier versions kept it.
_KEY, _OLD_KEY = "text", "sql"
DIR_MODE = 0o700


def history_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "storescope" / "history"


def history_key(redacted_url: str) -> str:
    """The file name stem for a connection: a hash, never the URL itself."""
    return hashlib.sha256(redacted_url.encode()).hexdigest()[:20]


class History:
    """The statements run on one connection, oldest first."""

    def __init__(self, key: str, *, max_entries: int = 1000, directory: Path | None = None) -> None:
        self.path = (directory or history_dir()) / f"{key}.jsonl"
        self.max_entries = max_entries
        self._entries: list[str] | None = None
        self._lines = 0
        self._tighten_existing()

    def _tighten_existing(self) -> None:
        """Make a history left readable by an earlier version private now,
        when the query panel opens, not only once it is next read or written
        (two stat calls when nothing needs fixing)."""
        for path, mode in ((self.path.parent, DIR_MODE), (self.path, FILE_MODE)):
            try:
                if path.stat().st_mode & 0o077:
                    path.chmod(mode)
            except OSError:
                continue  # not there yet (created private), or not ours

    def entries(self) -> list[str]:
        """Every statement kept, oldest first (read once, then kept up to date)."""
        if self._entries is None:
            self._entries = self._read()
            self._lines = len(self._entries)
        return self._entries

    def _read(self) -> list[str]:
        try:
            with self.path.open("rb") as f:
                _tighten(f.fileno(), FILE_MODE)
                _private_dir(self.path.parent)
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _MAX_READ))
                data = f.read()
        except FileNotFoundError:
            return []
        except OSError:
            return []  # unreadable history is no reason to stop the editor
        out: list[str] = []
        for raw in data.decode("utf-8", errors="replace").splitlines():
            try:
                item = json.loads(raw)
            except ValueError:
                continue  # a line cut by the tail read, or a torn write
            if not isinstance(item, dict):
                continue
            text = item.get(_KEY, item.get(_OLD_KEY))
            if isinstance(text, str):
                out.append(text)
        return out[-self.max_entries :]

    def append(self, statement: str) -> None:
        """Remember ``statement`` (unless it repeats the last one or mentions a
        password). Never raises: a history that cannot be written is skipped."""
        text = statement.strip()
        if not text or _SECRET.search(text):
            return
        entries = self.entries()
        if entries and entries[-1] == text:
            return
        entries.append(text)
        line = json.dumps({"t": round(time.time()), _KEY: text}) + "\n"
        try:
            _private_dir(self.path.parent)
            self._lines += 1
            if self._lines > 2 * self.max_entries:
                del entries[: -self.max_entries]
                tmp = self.path.with_suffix(".tmp")
                text = "".join(json.dumps({_KEY: e}) + "\n" for e in entries)
                _write_private(tmp, text, os.O_TRUNC)
                tmp.replace(self.path)
                self._lines = len(entries)
            else:
                _write_private(self.path, line, os.O_APPEND)
        except OSError:
            return

    def search(self, text: str, *, limit: int = 200) -> list[str]:
        """Statements containing every word of ``text``, newest first."""
        words = text.lower().split()
        out: list[str] = []
        seen: set[str] = set()
        for entry in reversed(self.entries()):
            if entry in seen:
                continue
            low = entry.lower()
            if all(w in low for w in words):
                seen.add(entry)
                out.append(entry)
                if len(out) >= limit:
                    break
        return out


def _tighten(fd: int, mode: int) -> None:
    """Drop the group and other bits of an open file or directory (ours)."""
    if os.fstat(fd).st_mode & 0o077:
        os.fchmod(fd, mode)


def _private_dir(directory: Path) -> None:
    """``directory`` (the history folder) exists and is 0700; a parent we
    create on the way (``storescope/``) is 0700 too."""
    if not directory.parent.exists():
        directory.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    directory.mkdir(mode=DIR_MODE, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _tighten(fd, DIR_MODE)
    finally:
        os.close(fd)


def _write_private(path: Path, text: str, flag: int) -> None:
    """Write ``text`` to ``path`` (appending or truncating, per ``flag``),
    creating it 0600 and tightening it when it was looser."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flag, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        _tighten(f.fileno(), FILE_MODE)
        f.write(text)


class HistoryPicker(Vertical):
    """An overlay inside the query panel: a filter and the matching statements.
    Enter puts the highlighted statement into the editor; Esc closes."""

    DEFAULT_CSS: ClassVar[str] = """
    HistoryPicker {
        overlay: screen;
        position: absolute;
        offset: 2 1;
        width: 90%;
        max-height: 80%;
        height: auto;
        border: round $primary;
        background: $panel;
        display: none;
    }
    HistoryPicker > Input { border: none; height: 1; padding: 0 1; }
    HistoryPicker > OptionList { height: auto; max-height: 16; border: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close history", show=True),
        Binding("down", "move(1)", "Next statement", show=False),
        Binding("up", "move(-1)", "Previous statement", show=False),
        Binding("enter", "choose", "Use statement", show=True),
    ]

    @dataclass
    class Chosen(Message):
        picker: HistoryPicker
        statement: str | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: History | None = None
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search history (words, any order)")
        yield OptionList()

    def open(self, history: History) -> None:
        self.history = history
        self.display = True
        box = self.query_one(Input)
        box.value = ""
        self._fill("")
        box.focus()

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        self._shown = self.history.search(text) if self.history is not None else []
        # Content, not str: an option's str is parsed as markup, and a
        # statement such as SELECT '[/]' is not markup.
        options.add_options(
            [Option(Content(one_line(s, 200))) for s in self._shown] or [Option("(nothing)")]
        )
        options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_choose()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose()

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_choose(self) -> None:
        index = self.query_one(OptionList).highlighted
        chosen = self._shown[index] if index is not None and index < len(self._shown) else None
        self.display = False
        self.post_message(self.Chosen(self, chosen))

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Chosen(self, None))
