"""Ingest: discovery, the Obsidian and code parsers, resolution, the incremental pipeline."""
