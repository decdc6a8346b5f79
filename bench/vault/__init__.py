"""Benchmarks over real Obsidian vaults: an independent link reference and how kg compares."""
