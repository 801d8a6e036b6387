"""The query editor's old module name, kept while ``tui/app.py``'s help
screen imports it from here; the editor is ``query_editor.QueryEditor``."""

from __future__ import annotations

from .query_editor import QueryEditor as SqlEditor

__all__ = ["SqlEditor"]
