"""The storescope terminal UI.

Kept free of imports: the headless CLI (``tui.cli``) must not load Textual.
"""
