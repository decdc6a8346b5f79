"""Every setting, declared once: a name, a default, an environment variable and a help text.

CLI options and environment variables map onto these declarations; nothing reads the
environment at import time. Build a ``Settings`` with ``Settings.load(os.environ, **overrides)``
in the composition root (``kg/cli.py``, ``web.create_app``) and pass it down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kg.errors import ConfigError


def _setting(default: Any, env: str, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    db: Path = _setting(Path(".kg"), "KG_DB", "Database folder (graph, search index, models, logs).")
    backend: str = _setting("ladybug", "KG_BACKEND", "Graph store: 'ladybug' (embedded) or 'neo4j'.")
    neo4j_uri: str = _setting("bolt://localhost:7687", "NEO4J_URI", "Bolt URI of the Neo4j server.")
    neo4j_user: str = _setting("neo4j", "NEO4J_USER", "Neo4j user name.")
    neo4j_password: str = _setting("", "NEO4J_PASSWORD", "Neo4j password (environment only, never a CLI option).")
    neo4j_database: str = _setting("", "NEO4J_DATABASE", "Neo4j database name (empty: the server's default).")
    query_timeout_ms: int = _setting(10_000, "KG_QUERY_TIMEOUT_MS", "Time limit for console Cypher queries.")
    max_rows: int = _setting(1_000, "KG_MAX_ROWS", "Row cap for console Cypher queries.")
    max_result_bytes: int = _setting(4_000_000, "KG_MAX_RESULT_BYTES",
                                     "Byte cap for one console answer (its rows as JSON).")
    max_file_bytes: int = _setting(2_000_000, "KG_MAX_FILE_BYTES", "Files larger than this are skipped.")
    batch_size: int = _setting(2_000, "KG_BATCH_SIZE", "Rows per write batch (one transaction each).")
    links_in_comments: bool = _setting(False, "KG_LINKS_IN_COMMENTS", "Count links inside %%comments%%.")
    follow_symlinks: bool = _setting(False, "KG_FOLLOW_SYMLINKS",
                                     "Ingest symlinks that lead outside a vault or repository root "
                                     "(off: they are skipped and named in the summary).")
    model: str = _setting("", "KG_MODEL", "Encoder: a sentence-transformers directory (empty: promoted or general model).")
    device: str = _setting("", "KG_DEVICE", "Torch device for encoding and training (empty: automatic).")
    torch_threads: int = _setting(0, "KG_TORCH_THREADS", "Torch CPU threads (0: automatic).")
    host: str = _setting("127.0.0.1", "KG_HOST", "Address `kg serve` binds.")
    port: int = _setting(5000, "KG_PORT", "Port `kg serve` listens on.")
    token: str = _setting("", "KG_TOKEN", "Access token, required when serving beyond 127.0.0.1.")
    editor_url: str = _setting("vscode://file{path}:{line}", "KG_EDITOR_URL",
                               "'Open in editor' link: {path} is the absolute file path (always starting "
                               "with /), {line} the line (e.g. idea://open?file={path}&line={line}; "
                               "empty: no link).")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then environment variables, then explicit overrides (None means unset).

        Raises:
            ConfigError: a value cannot be converted to the setting's type.
        """
        values: dict[str, Any] = {}
        env = env or {}
        for f in fields(cls):
            raw = overrides.get(f.name)
            source = f"--{f.name.replace('_', '-')}"
            if raw is None and env.get(f.metadata["env"]) not in (None, ""):
                raw, source = env[f.metadata["env"]], f.metadata["env"]
            if raw is None:
                continue
            values[f.name] = _convert(f.default, raw, source)
        settings = cls(**values)
        if settings.backend not in ("ladybug", "neo4j"):
            raise ConfigError(f"backend must be 'ladybug' or 'neo4j', not {settings.backend!r}")
        return settings

    @classmethod
    def describe(cls) -> list[tuple[str, str, Any, str]]:
        """(name, environment variable, default, help) for every setting."""
        return [(f.name, f.metadata["env"], f.default, f.metadata["help"]) for f in fields(cls)]

    def with_(self, **changes: Any) -> Settings:
        return type(self)(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})


def _convert(default: Any, raw: Any, source: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, Path):
            return Path(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: cannot read {raw!r} as {type(default).__name__}") from exc
