"""How code names a thing: a callee, a base class or a type as written, split into the parts
resolution looks up (``self.client.send``, ``Optional[Client]``, ``Generic[T]``), and the names
an import binds.
"""

from __future__ import annotations

import re

from ingest.languages import LANGUAGES
from ingest.types import Ref

_GO_VERSION = re.compile(r"v\d+")
_TYPE_PREFIX = re.compile(r"^(?:[&*]|(?:new|mut|const|dyn|impl|readonly)\s+|\s+)+")


def split_target(target: str) -> list[str]:
    """``self.save`` → ``["self", "save"]``; ``Self::new`` → ``["Self", "new"]``."""
    text = re.sub(r"::<[^>]*>", "", target).replace("::", ".") if ":" in target else target
    if text.startswith("super()."):
        return ["super()", *text[len("super()."):].split(".")]
    return [p for p in text.split(".") if p] if text else []


def is_name(part: str) -> bool:
    """Whether a part of a callee is a plain name (Ruby's may end in ``?`` or ``!``)."""
    return part.rstrip("?!").isidentifier()


def type_name(text: str) -> str:
    """The class a written type names: ``Optional[Client]``, ``"Client"``, ``Client | None``,
    ``*Client``, ``new Client`` → ``Client`` ("" when it names several)."""
    text = _TYPE_PREFIX.sub("", text.strip().strip("\"'"))
    if text.startswith(("Optional[", "typing.Optional[")) and text.endswith("]"):
        text = text[text.index("[") + 1:-1]
    parts = [p.strip() for p in text.split("|") if p.strip() not in ("None", "null", "undefined")]
    return base_name(parts[0].rstrip("?")) if len(parts) == 1 else ""


def base_name(target: str) -> str:
    """A base class as written, without type arguments or pointers: ``Generic[T]`` → ``Generic``."""
    text = target.strip().lstrip("*&").strip()
    text = re.split(r"[\[<(]", text, maxsplit=1)[0]
    return text.replace("::", ".").strip()


def bound_names(ref: Ref) -> dict[str, str]:
    """What names an import binds in the importing file: imported name (or module) → local name."""
    names = [n for n in ref.props.get("names", []) if n != "*"]
    alias = ref.props.get("alias", {})
    lang = LANGUAGES.get(ref.props.get("lang", ""))
    family = lang.family if lang else ""
    if names:
        return {n: alias.get(n, ref.target.rsplit("::", 1)[-1] if n == "self" else n) for n in names}
    if ref.target in alias:
        return {ref.target: alias[ref.target]} if alias[ref.target] not in (".", "_") else {}
    if family == "python":
        return {ref.target: ref.target.split(".")[0]} if not ref.target.startswith(".") else {}
    if family == "go":
        segs = ref.target.split("/")
        last = segs[-2] if len(segs) > 1 and _GO_VERSION.fullmatch(segs[-1]) else segs[-1]
        return {ref.target: last.removeprefix("go-").split(".")[0]}
    if family == "rust":
        return {ref.target: ref.target.rsplit("::", 1)[-1]}
    return {}
