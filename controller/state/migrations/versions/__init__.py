"""The state's revisions, oldest first (see controller/state/migrations/__init__.py)."""
