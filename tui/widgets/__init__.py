"""The widgets: catalog tree, data grid, status line, connection tabs.

Imported lazily by name (``from tui.widgets import DataGrid`` works): the
first frame needs only the tab bar and the status line, so the tree and the
grid (and what they import) load after it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog.catalog_tree import CatalogTree
    from .connection_tabs import ConnectionTabs
    from .grid.data_grid import DataGrid
    from .status_line import StatusLine

_MODULES = {
    "CatalogTree": "catalog.catalog_tree",
    "ConnectionTabs": "connection_tabs",
    "DataGrid": "grid.data_grid",
    "StatusLine": "status_line",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = ["CatalogTree", "ConnectionTabs", "DataGrid", "StatusLine"]
