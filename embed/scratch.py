"""Encoders from random weights: a WordPiece tokenizer trained on the corpus, then either a
small BERT-style encoder with mean pooling or a static (embedding-bag) model.

Both come back as sentence-transformers models, so training, saving and loading work the
same way as for a fine-tuned general model. Nothing here downloads anything.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 8000,
                    min_frequency: int = 2) -> Tokenizer:
    """Train a lower-casing WordPiece tokenizer (BERT conventions) on the corpus's own texts.

    Args:
        texts: The training texts (node texts; repeated passes are not needed).
        vocab_size: Upper bound on the vocabulary, special tokens included.
        min_frequency: Pieces seen fewer times are not added.

    Returns:
        A ``tokenizers.Tokenizer`` that adds ``[CLS] ... [SEP]`` around each text.
    """
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=SPECIAL_TOKENS, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    log.info("tokenizer: %d pieces", tokenizer.get_vocab_size())
    return tokenizer


def build_bert(tokenizer: Tokenizer, workdir: Path, *, layers: int = 2, hidden: int = 128,
               max_seq_length: int = 256, seed: int = 0):  # -> SentenceTransformer
    """A randomly initialised BERT-style encoder with mean pooling, as a sentence-transformers model.

    Args:
        tokenizer: The corpus-trained tokenizer.
        workdir: Where the initial weights and tokenizer files are written (sentence-transformers
            builds its Transformer module from a directory).
        layers: Transformer layers.
        hidden: Hidden size; attention heads are ``hidden // 64`` (at least 2, at most 12).
        max_seq_length: Longest input in tokens; longer texts are cut.
        seed: Seeds the random initialisation.

    Raises:
        ConfigError: ``hidden`` is not divisible by the number of heads.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from kg.errors import ConfigError

    heads = max(2, min(12, hidden // 64))
    if hidden % heads:
        raise ConfigError(f"--hidden {hidden} must be divisible by {heads} attention heads")
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=4 * hidden, max_position_embeddings=max(512, max_seq_length),
                        pad_token_id=tokenizer.token_to_id("[PAD]"))
    workdir.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(str(workdir))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=max_seq_length)
    fast.save_pretrained(str(workdir))
    transformer = Transformer(str(workdir), max_seq_length=max_seq_length)
    pooling = Pooling(hidden, "mean")
    return SentenceTransformer(modules=[transformer, pooling], device="cpu")


def build_static(tokenizer: Tokenizer, *, dim: int = 256, seed: int = 0):  # -> SentenceTransformer
    """A static embedding-bag model over the corpus tokenizer: trains in seconds on a CPU.

    Args:
        tokenizer: The corpus-trained tokenizer (its special tokens are not used).
        dim: Embedding dimension.
        seed: Seeds the random initialisation.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    torch.manual_seed(seed)
    weights = torch.randn(tokenizer.get_vocab_size(), dim) * 0.1
    static = StaticEmbedding(Tokenizer.from_str(tokenizer.to_str()), embedding_weights=weights)
    return SentenceTransformer(modules=[static], device="cpu")


KINDS = ("scratch", "static", "finetune")
DEFAULT_LR = {"scratch": 5e-4, "static": 0.05, "finetune": 3e-5}


@dataclass
class ModelSpec:
    """What to train: a BERT from scratch, a static model, or a fine-tuned base model."""

    kind: str = "scratch"
    layers: int = 2
    hidden: int = 128
    dim: int = 256  # static models
    vocab_size: int = 8000
    max_seq_length: int = 128
    base: str = ""  # finetune: a sentence-transformers directory ("" for the general model)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_model(spec: ModelSpec, texts: Iterable[str], workdir: Path, *, seed: int = 0):  # -> SentenceTransformer
    """Build the model ``spec`` names, on the CPU (training moves it).

    Args:
        spec: The kind and size.
        texts: Corpus texts for the tokenizer (ignored when fine-tuning).
        workdir: Scratch space for the initial BERT files.
        seed: Seeds tokenizer-independent random initialisation.

    Raises:
        ConfigError: an unknown kind or bad sizes.
        ModelError: the base model cannot be loaded.
    """
    from kg.errors import ConfigError

    if spec.kind == "finetune":
        return load_base(spec.base, spec.max_seq_length)
    if spec.kind not in KINDS:
        raise ConfigError(f"model kind must be one of {', '.join(KINDS)}, not {spec.kind!r}")
    if spec.layers < 1 or spec.hidden < 8 or spec.dim < 2 or spec.vocab_size < 100:
        raise ConfigError("--layers must be >= 1, --hidden >= 8, --dim >= 2 and --vocab-size >= 100")
    tokenizer = train_tokenizer(texts, vocab_size=spec.vocab_size)
    if spec.kind == "static":
        return build_static(tokenizer, dim=spec.dim, seed=seed)
    return build_bert(tokenizer, workdir, layers=spec.layers, hidden=spec.hidden,
                      max_seq_length=spec.max_seq_length, seed=seed)


def load_base(base: str | Path = "", max_seq_length: int = 128):  # -> SentenceTransformer
    """Load a sentence-transformers directory to fine-tune ("" for the general model), offline.

    Raises:
        ModelError: the directory is missing or is not a model.
    """
    import os

    from sentence_transformers import SentenceTransformer

    from embed.encoder import model_path, quiet_loading
    from kg.errors import ModelError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    path = model_path(base)
    if not (path / "modules.json").is_file():
        raise ModelError(f"{path} is not a sentence-transformers model directory (no modules.json)")
    quiet_loading()
    try:
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(f"cannot load the model in {path}: {exc}") from exc
    current = model.max_seq_length or 0
    if max_seq_length and math.isfinite(current) and current > max_seq_length:
        model.max_seq_length = max_seq_length  # static models have no length limit to cap
    return model
