"""What a reference resolver said about one edge, and how its answer is compared with ours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kg.model import Node, NodeKind

AGREE, DISAGREE, UNCONFIRMED = "agree", "disagree", "unconfirmed"
# Methods a constructor call may land on instead of the class itself.
_CONSTRUCTORS = ("__init__", "__new__", "constructor", "new")

Innermost = Callable[[str, int], Node | None]


@dataclass(frozen=True)
class Place:
    """A definition the reference resolver pointed at: a file (relative to the root when it is
    inside it, absolute or a library name otherwise) and a 1-based line (0 for a whole module)."""

    path: str
    line: int
    inside: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Outcome:
    """The verdict on one edge, with the reference's answer.

    ``outside`` marks an unconfirmed edge whose reference named only definitions outside the
    tree (builtins, the standard library, a dependency): usually our edge is wrong there, but
    the reference's inference is weakest there too, so it is counted apart.
    """

    verdict: str
    reference: list[Place] = field(default_factory=list)
    note: str = ""
    outside: bool = False


def matches(place: Place, dst: Node, innermost: Innermost) -> bool:
    """Whether a reference definition is our destination.

    For a File, any place in that file. For a Class or Function, the innermost definition
    around the place must be ``dst`` itself (a method inside a class we named is not the
    class), or, for a class, its constructor.
    """
    if not place.inside or place.path != dst.path:
        return False
    if dst.kind is NodeKind.FILE:
        return True
    inner = innermost(place.path, place.line)
    if inner is None:
        return False
    if inner.id == dst.id:
        return True
    return dst.kind is NodeKind.CLASS and inner.qualname in {f"{dst.qualname}.{c}" for c in _CONSTRUCTORS}


def judge(places: list[Place], dst: Node, innermost: Innermost, note: str = "") -> Outcome:
    """Agree when any place is ``dst``; disagree when the reference names another place inside
    the tree; unconfirmed when it found nothing or only places outside the tree."""
    if any(matches(p, dst, innermost) for p in places):
        return Outcome(AGREE, places, note)
    if any(p.inside for p in places):
        return Outcome(DISAGREE, places, note)
    return Outcome(UNCONFIRMED, places, note or ("outside the tree" if places else "no definition"), bool(places))
