"""storescope: one terminal UI for PostgreSQL, MongoDB, Redis and S3.

The repository keeps its three source folders at the top level (``backends/``,
``tui/``, ``screens/``); installed, they are the subpackages
``storescope.backends``, ``storescope.tui`` and ``storescope.screens``. In a
checkout the folders are reached through the symbolic links beside this file,
so the import names are the same installed, editable, or run from the clone
(pytest, mypy and ruff all see one module per file). Nothing here imports
anything: ``storescope --version`` and the headless commands stay fast.
"""

__version__ = "0.1.0"
