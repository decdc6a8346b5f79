"""Encoding without torch: the two kinds of model kg ships and trains, run on numpy.

A sentence-transformers directory whose modules are a BERT transformer, mean pooling and
normalisation (all-MiniLM-L6-v2, and every model ``kg train`` fine-tunes from it), or one
static embedding (``kg train --static``), is read here from its ``model.safetensors`` and
``tokenizer.json``. Importing sentence-transformers and torch takes about 4 s on 2 cores;
this takes a fraction of a second, so a command that embeds one query or one edited note
answers at once. The vectors are sentence-transformers' own to float32 rounding (the tests
compare them); any other directory, or a GPU, goes through sentence-transformers.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def numpy_model(path: Path, max_seq_length: int) -> BertModel | StaticModel | None:
    """The model in ``path`` as numpy, or None when it is not one this module runs.

    Args:
        path: a sentence-transformers directory.
        max_seq_length: the encoder's token limit (the directory's own, if lower, wins).
    """
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
        if _json(path / "config_sentence_transformers.json").get("default_prompt_name"):
            return None  # sentence-transformers puts a prompt before every text
        if kinds == ["StaticEmbedding"]:
            return StaticModel(path)
        # kg normalises every vector itself: a Normalize module changes nothing.
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) \
                or not _mean_pooling(path / modules[1]["path"] / "config.json"):
            return None
        config = _json(path / "config.json")
        own = _json(path / "sentence_bert_config.json")
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu" or own.get("do_lower_case") \
                or config.get("position_embedding_type") not in (None, "absolute"):
            return None
        tokenizer_config = _json(path / "tokenizer_config.json")
        if not _normaliser_agrees(path, tokenizer_config):
            return None
        limits = [max_seq_length, own.get("max_seq_length"), config.get("max_position_embeddings"),
                  tokenizer_config.get("model_max_length")]
        return BertModel(path, config, int(min(n for n in limits if isinstance(n, int) and n > 0)))
    except Exception:  # noqa: BLE001 (whatever numpy cannot read, sentence-transformers may: it decides)
        log.debug("%s does not run on numpy", path, exc_info=True)
        return None


# tokenizer_config.json's words for what tokenizer.json's BertNormalizer calls otherwise
_NORMALISER_KEYS = {"do_lower_case": "lowercase", "tokenize_chinese_chars": "handle_chinese_chars",
                    "strip_accents": "strip_accents"}


def _normaliser_agrees(path: Path, tokenizer_config: dict[str, Any]) -> bool:
    """Whether ``tokenizer.json`` normalises text as transformers will: it rebuilds a BERT
    normaliser from ``tokenizer_config.json`` when the two files disagree."""
    said = {k: tokenizer_config[k] for k in _NORMALISER_KEYS if k in tokenizer_config}
    if not said:
        return True
    normaliser = _json(path / "tokenizer.json").get("normalizer") or {}
    if normaliser.get("type") != "BertNormalizer":
        return False
    return all(normaliser.get(_NORMALISER_KEYS[k]) == v for k, v in said.items())


def _json(file: Path) -> dict[str, Any]:
    """A JSON object file; empty when there is none."""
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}


def _mean_pooling(config_file: Path) -> bool:
    """Whether a Pooling module averages the token vectors and nothing else (either way
    sentence-transformers has written that down)."""
    config = _json(config_file)
    if "pooling_mode" in config:
        return config["pooling_mode"] == "mean" and config.get("include_prompt", True)
    modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
    return modes == ["pooling_mode_mean_tokens"] and config.get("include_prompt", True)


def _tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_padding()
    return tokenizer


_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}


def _weights(path: Path) -> dict[str, np.ndarray]:
    """The tensors of ``model.safetensors``, mapped from the file rather than read (a query
    touches a few rows of the 47 MB word embeddings); a tensor of a type numpy has no word for
    (bfloat16) is left out, so a model that needs one is not run here."""
    file = path / "model.safetensors"
    with file.open("rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(size))
    data = np.memmap(file, dtype=np.uint8, mode="r", offset=8 + size)
    return {name: data[t["data_offsets"][0]:t["data_offsets"][1]].view(_DTYPES[t["dtype"]]).reshape(t["shape"])
            for name, t in header.items() if name != "__metadata__" and t["dtype"] in _DTYPES}


class StaticModel:
    """A static embedding: the mean of the text's token vectors, normalised."""

    def __init__(self, path: Path) -> None:
        self.tokenizer = _tokenizer(path)
        self.table = _weights(path)["embedding.weight"].astype(np.float32)
        self.dim = int(self.table.shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            if encoding.ids:
                out[i] = self.table[encoding.ids].mean(axis=0)
        return _normalised(out)


class BertModel:
    """A BERT encoder (post-norm, GELU, absolute positions) with mean pooling, normalised."""

    def __init__(self, path: Path, config: dict[str, Any], max_tokens: int) -> None:
        self.tokenizer = _tokenizer(path)
        self.tokenizer.enable_truncation(max_length=max_tokens)
        weights = _weights(path)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        w = {k[len(prefix):]: v.astype(np.float32, copy=False) for k, v in weights.items() if k.startswith(prefix)}
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            at = f"encoder.layer.{i}."

            def dense(name: str) -> tuple[np.ndarray, np.ndarray]:  # (in, out): a view, BLAS reads it as it is
                return w[at + name + ".weight"].T, w[at + name + ".bias"]

            def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
                return w[at + name + ".LayerNorm.weight"], w[at + name + ".LayerNorm.bias"]

            q, k, v = (dense(f"attention.self.{n}") for n in ("query", "key", "value"))
            qkv = (np.concatenate([q[0], k[0], v[0]], axis=1), np.concatenate([q[1], k[1], v[1]]))
            self.layers.append((qkv, dense("attention.output.dense"), norm("attention.output"),
                                dense("intermediate.dense"), dense("output.dense"), norm("output")))
        self.dim = int(self.word.shape[1])

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        encodings = self.tokenizer.encode_batch([t.strip() for t in texts])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))  # batches pad little
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return _normalised(out)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, width = ids.shape
        h = self.word[ids] + self.position[:width] + self.token_type
        h = _layer_norm(h, *self.embed_norm, self.eps)
        head = self.dim // self.heads
        blocked = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for (qkv_w, qkv_b), (out_w, out_b), norm1, (in_w, in_b), (down_w, down_b), norm2 in self.layers:
            qkv = h @ qkv_w + qkv_b
            q, k, v = (qkv[..., n * self.dim:(n + 1) * self.dim].reshape(batch, width, self.heads, head)
                       .transpose(0, 2, 1, 3) for n in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            context = (scores / scores.sum(axis=-1, keepdims=True)) @ v
            context = context.transpose(0, 2, 1, 3).reshape(batch, width, self.dim)
            h = _layer_norm(context @ out_w + out_b + h, *norm1, self.eps)
            h = _layer_norm(_gelu(h @ in_w + in_b) @ down_w + down_b + h, *norm2, self.eps)
        summed = (h * mask[..., None]).sum(axis=1)
        return summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU with the exact error function (as BERT's "gelu"), to float32 precision."""
    return x * np.float32(0.5) * (np.float32(1.0) + _erf(x / np.float32(math.sqrt(2.0))))


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), odd in x.
    t = 1.0 / (1.0 + np.float32(0.3275911) * np.abs(x))
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (
        np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def _normalised(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)
