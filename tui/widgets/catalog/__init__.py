"""The catalog tree: one level of the store at a time, and each node's actions."""
