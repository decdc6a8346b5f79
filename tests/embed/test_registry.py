"""The model registry: folders with metadata, listing and promotion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embed.registry import Registry
from kg.errors import ModelError


class FakeModel:
    """Writes a marker file the way a SentenceTransformer writes its directory."""

    def save(self, path: str) -> None:
        Path(path).mkdir(parents=True)
        (Path(path) / "modules.json").write_text("[]")


def _add(registry: Registry, mrr: float, name: str | None = None):
    return registry.add(FakeModel(), kind="static", fingerprint="abcdef123456", name=name,
                        metrics={"mrr@10": mrr, "triplet_accuracy": 0.9},
                        curve=[{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}],
                        config={"lr": 0.05}, baseline={"mrr@10": 0.1})


def test_add_list_get_and_curve(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    assert registry.list() == [] and registry.promoted() is None
    first = _add(registry, 0.5, name="first")
    second = _add(registry, 0.7)
    assert second.name.startswith("static-") and "abcdef" in second.name
    assert [r.name for r in registry.list()] == ["first", second.name]
    got = registry.get("first")
    assert got.metrics["mrr@10"] == 0.5 and got.config == {"lr": 0.05} and got.fingerprint == "abcdef123456"
    assert (first.path / "modules.json").is_file()
    assert registry.curve("first")[-1] == {"step": 2, "loss": 1.0}
    assert json.loads((first.path / "kg_model.json").read_text())["kind"] == "static"


def test_promote_records_the_choice(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    _add(registry, 0.5, name="a")
    _add(registry, 0.6, name="b")
    registry.promote("b")
    assert registry.promoted() == tmp_path / "models" / "b"
    assert [r.promoted for r in registry.list()] == [False, True]
    assert Registry(tmp_path / "models").promoted_record().name == "b"


def test_unknown_or_bad_names_are_model_errors(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    _add(registry, 0.5, name="a")
    with pytest.raises(ModelError, match="known models: a"):
        registry.get("nope")
    with pytest.raises(ModelError):
        registry.promote("../etc")
    with pytest.raises(ModelError, match="already exists"):
        _add(registry, 0.5, name="a")
