"""kg: a knowledge graph over an Obsidian vault and the code beside it."""

__version__ = "0.1.0"
