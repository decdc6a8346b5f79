"""The embed layer's commands, as ``kg/cli.py`` registers them (``export-triplets``,
``train``, ``models``); they live in ``kg/commands/train.py``."""

from __future__ import annotations

from kg.commands.train import COMMANDS

__all__ = ["COMMANDS"]
