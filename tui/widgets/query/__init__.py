"""The query panel: editor, completion, files, transactions, runs and result tabs."""
