"""The plan view: a tree of plan nodes, the costliest marked by what the store measures."""
