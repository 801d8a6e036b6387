"""The monitor panel: metrics with history, tables with roles, and the store's actions."""
