"""Screens and per-connection views built from ``tui.widgets``."""
