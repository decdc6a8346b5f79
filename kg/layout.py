"""The database folder's layout, declared once: every file and folder kg keeps under ``--db``.

The composition root (``app.workspace``) builds objects from these paths and passes them
down; no other module spells a name inside the database folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Where each part of one database lives (``Layout.of(settings.db)``)."""

    root: Path
    graph: Path  # the embedded LadybugDB database
    search: Path  # the search index folder: index.sqlite, vectors.npy, the vector cache
    models: Path  # the model registry: one folder per trained model, registry.json
    ingest_state: Path  # parsed files and the mirror of what the store holds (SQLite)
    feedback: Path  # what users opened after a search (SQLite)
    server: Path  # the running server's address and token (JSON, owner-only permissions)
    model_versions: Path  # each model directory's version, while its files stay (JSON)

    @classmethod
    def of(cls, root: Path) -> Layout:
        root = Path(root)
        return cls(root=root, graph=root / "graph", search=root / "search", models=root / "models",
                   ingest_state=root / "ingest.sqlite", feedback=root / "feedback.sqlite",
                   server=root / "server.json", model_versions=root / "model_versions.json")
