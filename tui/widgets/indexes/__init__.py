"""The index panel: the list, the new-index form, and changes planned by the backend."""
