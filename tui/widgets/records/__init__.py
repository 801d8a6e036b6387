"""The data panel: browsing, staging record changes, and committing them through a plan."""
