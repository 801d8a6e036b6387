"""The query editor's files (ctrl+o open, ctrl+s save) and its text edits
that need no server (ctrl+f format, putting a statement in).

``QueryFiles`` is a collaborator of the QueryPanel (not a base class): it
asks for a path through the panel's messages (``TextRequested``,
``ConfirmRequested``), reads and writes the file on the event loop (a file
is at most ``MAX_FILE_BYTES``), and remembers which file the editor holds
so quitting can say its changes are unsaved. Its dialogs name the files
with the language's extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storescope.tui.messages import ConfirmRequested, TextRequested

if TYPE_CHECKING:
    from collections.abc import Callable

    from storescope.backends.language import QueryLanguage
    from storescope.tui.widgets.panel import Panel
    from storescope.tui.widgets.query.query_editor import QueryEditor

#: Largest file opened into the editor.
MAX_FILE_BYTES = 5 * 1024 * 1024


def put_text(editor: QueryEditor, text: str) -> None:
    """Replace the editor's text (undoable with ctrl+z), cursor at the end."""
    editor.replace(text, (0, 0), editor.document.end)
    editor.move_cursor(editor.document.end)


def format_selection(editor: QueryEditor, format_text: Callable[[str], str]) -> None:
    """Rewrite the selection (or the whole text) with the language's
    formatter, as one undoable edit; nothing when it is already neat."""
    start, end = sorted((editor.selection.start, editor.selection.end))
    if start == end:
        start, end = (0, 0), editor.document.end
    text = editor.get_text_range(start, end)
    formatted = format_text(text)
    if formatted != text:
        editor.replace(formatted, start, end)


def file_kind(language: QueryLanguage) -> str:
    """The files the editor opens, as its dialogs name them."""
    return f"{language.extension} file" if language.extension else "file"


class QueryFiles:
    """See the module docstring. ``changed`` is called when the file the
    editor holds changed (its name is in the hint line)."""

    def __init__(
        self,
        host: Panel,
        editor: QueryEditor,
        language: Callable[[], QueryLanguage],
        *,
        changed: Callable[[], None],
    ) -> None:
        self.host = host
        self.editor = editor
        self._language = language
        self._changed = changed
        self.path = ""
        #: The editor's text when last loaded from or saved to ``path``.
        self._saved_text = ""

    def unsaved(self) -> str | None:
        if self.path and self.editor.text != self._saved_text:
            return f"unsaved changes to {Path(self.path).name}"
        return None

    def ask_open(self) -> None:
        self.host.post_message(
            TextRequested(
                f"Open a {file_kind(self._language())}",
                self.open,
                value=self.path,
                placeholder="path",
            )
        )

    def open(self, path: str | None) -> None:
        if not path:
            return
        target = Path(path).expanduser()
        try:
            if target.stat().st_size > MAX_FILE_BYTES:
                raise OSError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            text = target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.host.notify(
                f"{path}: {os_message(e)}", title="Could not open", severity="error", markup=False
            )
            return
        self.path = str(target)
        put_text(self.editor, text)
        self._saved_text = self.editor.text
        self.editor.move_cursor((0, 0))
        self._changed()

    def ask_save(self) -> None:
        self.host.post_message(
            TextRequested(
                f"Save the editor to a {file_kind(self._language())}",
                self.save,
                value=self.path,
                placeholder="path",
            )
        )

    def save(self, path: str | None) -> None:
        """Save the editor to ``path``; an existing file other than the one
        this editor was loaded from or saved to is overwritten only when the
        user says so."""
        if not path:
            return
        target = Path(path).expanduser()
        if target.exists() and not self._is_own_file(target):
            if target.is_dir():
                self.host.notify(
                    f"{path}: is a directory",
                    title="Could not save",
                    severity="error",
                    markup=False,
                )
                return

            def answered(yes: bool) -> None:
                if yes:
                    self._write(target, path)

            self.host.post_message(
                ConfirmRequested(
                    "Overwrite the file?",
                    f"{target} already exists. Replace its contents with the editor's?",
                    answered,
                    confirm="Overwrite",
                    danger=True,
                )
            )
            return
        self._write(target, path)

    def _is_own_file(self, target: Path) -> bool:
        if not self.path:
            return False
        try:
            return target.resolve() == Path(self.path).resolve()
        except OSError:
            return False

    def _write(self, target: Path, path: str) -> None:
        text = self.editor.text
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as e:
            self.host.notify(
                f"{path}: {os_message(e)}", title="Could not save", severity="error", markup=False
            )
            return
        self.path = str(target)
        self._saved_text = text
        self.host.notify(f"saved {target.name}", timeout=3, markup=False)
        self._changed()


def os_message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
