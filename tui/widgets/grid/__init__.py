"""The virtual data grid: a bounded window of pages, cells fitted to their columns."""
