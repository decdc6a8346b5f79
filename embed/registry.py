"""The model registry: every trained model in its own folder, and which one is promoted.

Layout under ``<db>/models``::

    registry.json             {"promoted": "<name>" | null}
    <name>/                   a sentence-transformers model directory, plus
        kg_model.json         name, created, kind, base, config, data fingerprint, metrics
        curve.json            the training loss per step

Promotion only records the choice; whoever encodes (the search index) reads
``promoted()`` (``app.workspace.Workspace.promote`` re-embeds at once). Writes go through a temporary file and a
rename, so a crash never leaves a half-written registry.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from embed.encoder import LINEAGE_FILE
from kg.errors import ModelError, ModelNotFound

log = logging.getLogger(__name__)

META = LINEAGE_FILE  # the record beside the weights (the encoder reads its lineage)
CURVE = "curve.json"
INDEX = "registry.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class ModelRecord:
    """One registered model, as ``kg models`` lists it."""

    name: str
    path: Path
    created: str
    kind: str
    base: str = ""
    fingerprint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    lineage: list[str] = field(default_factory=list)  # encoder keys (name@version) it was fine-tuned from
    promoted: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


class Registry:
    """Trained models under one folder (normally ``settings.db / "models"``).

    Args:
        path: The registry folder; created on first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def new_name(self, kind: str, fingerprint: str = "") -> str:
        """A fresh, sortable name: ``<kind>-<UTC time>[-<fingerprint>]``, unique in this registry."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        base = "-".join(p for p in (kind, stamp, fingerprint[:6]) if p)
        name, n = base, 1
        while (self.path / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def add(self, model: Any, *, kind: str, fingerprint: str, metrics: dict[str, Any],
            curve: list[dict[str, float]], config: dict[str, Any] | None = None,
            baseline: dict[str, Any] | None = None, base: str = "",
            lineage: Sequence[str] = (), name: str | None = None) -> ModelRecord:
        """Save ``model`` (anything with ``save(path)``, e.g. a SentenceTransformer) as a new entry.

        Args:
            model: The trained model.
            kind: ``scratch``, ``static`` or ``finetune``.
            fingerprint: Hash of the triplet set it was trained on.
            metrics: Its held-out metrics.
            curve: Training loss per step.
            config: Training configuration, for the record.
            baseline: The current model's metrics on the same held-out set.
            base: What it started from (a model path or ``random``).
            lineage: The encoder keys it descends from, its base's first (fine-tuned models;
                what was learned for those encoders, like the ranker, applies to it too).
            name: Its name (default: ``new_name``).

        Raises:
            ModelError: the name is not a valid folder name or is taken.
        """
        name = name or self.new_name(kind, fingerprint)
        folder = self._folder(name)
        if folder.exists():
            raise ModelError(f"model {name!r} already exists in {self.path} (pick another name)")
        model.save(str(folder))
        record = ModelRecord(name=name, path=folder, kind=kind, base=base, fingerprint=fingerprint,
                             created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             metrics=metrics, baseline=baseline or {}, config=config or {},
                             lineage=list(lineage))
        meta = record.as_dict()
        del meta["path"], meta["promoted"]
        _write_json(folder / META, meta)
        _write_json(folder / CURVE, curve)
        log.info("registered model %s at %s", name, folder)
        return record

    def annotate(self, name: str, **fields: Any) -> ModelRecord:
        """Record more of what is known of a model (e.g. its ``metrics`` once evaluated).

        Raises:
            ModelError: no such model, or a field a record does not have.
        """
        record = self.get(name)
        unknown = sorted(set(fields) - (set(ModelRecord.__dataclass_fields__) - {"path", "promoted"}))
        if unknown:
            raise ModelError(f"a model record has no field {', '.join(unknown)}")
        meta = json.loads((record.path / META).read_text(encoding="utf-8"))
        _write_json(record.path / META, {**meta, **fields})
        return self.get(name)

    def list(self) -> builtins.list[ModelRecord]:
        """Every registered model, oldest first."""
        if not self.path.is_dir():
            return []
        promoted = self._index().get("promoted")
        records = [self._read(p, promoted) for p in self.path.iterdir() if (p / META).is_file()]
        return sorted(records, key=lambda r: (r.created, r.name))

    def get(self, name: str) -> ModelRecord:
        """The model called ``name``.

        Raises:
            ModelError: no such model.
        """
        folder = self._folder(name)
        if not (folder / META).is_file():
            known = ", ".join(r.name for r in self.list()) or "none yet (run `kg train`)"
            raise ModelNotFound(f"no model {name!r} in {self.path}; known models: {known}")
        return self._read(folder, self._index().get("promoted"))

    def curve(self, name: str) -> builtins.list[dict[str, float]]:
        """The training curve of ``name``."""
        return json.loads((self.get(name).path / CURVE).read_text(encoding="utf-8"))

    def promote(self, name: str) -> ModelRecord:
        """Record ``name`` as the model search uses.

        Raises:
            ModelError: no such model.
        """
        record = self.get(name)
        index = self._index()
        index["promoted"] = name
        index["promoted_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_json(self.path / INDEX, index)
        record.promoted = True
        log.info("promoted model %s", name)
        return record

    def promoted(self) -> Path | None:
        """The promoted model's folder (a sentence-transformers directory), or None."""
        name = self._index().get("promoted")
        if not name or not (self.path / name / META).is_file():
            return None
        return self.path / name

    def promoted_record(self) -> ModelRecord | None:
        """The promoted model's record, or None."""
        path = self.promoted()
        return self.get(path.name) if path else None

    def _folder(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ModelNotFound(f"bad model name {name!r}: use letters, digits, '.', '_' and '-'")
        return self.path / name

    def _index(self) -> dict[str, Any]:
        path = self.path / INDEX
        if not path.is_file():
            return {}
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path} is unreadable ({exc}); delete it to reset promotion") from exc

    def _read(self, folder: Path, promoted: str | None) -> ModelRecord:
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{folder / META} is unreadable ({exc})") from exc
        known = {k: v for k, v in meta.items() if k in ModelRecord.__dataclass_fields__}
        return ModelRecord(**{**known, "path": folder, "promoted": folder.name == promoted})


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)
