"""CLI command groups (part of the composition root, see kg/cli.py)."""
