"""Same-length repairs for what a grammar cannot parse although the language allows it.

tree-sitter-typescript (0.23) stops at two things TypeScript accepts, and recovers badly:
one such line in hono's ``types.ts`` turns its 2,779 lines into one error.

* A member of an interface or object type that starts with ``<`` on a new line (an overload
  with type parameters) after a member written without ``;``: the grammar reads the ``<`` as
  continuing the member before. One space of the new line's indentation becomes ``;``.
* ``export type * from "./m"`` (TypeScript 5.0): ``type`` becomes spaces.

A repair keeps every byte offset and line number, so the definitions found in the repaired
text are read from the original text unchanged. ``ingest.code`` tries it only on a file that
has syntax errors, and keeps it only when it leaves fewer.
"""

from __future__ import annotations

import re

# A line ending so is not a complete member: the next line continues it.
_CONTINUES = (b"=", b"(", b",", b"<", b"|", b"&", b":", b"{", b"[", b"?", b".")
_EXPORT_TYPE_STAR = re.compile(rb"(?m)^(\s*export\s+)type(\s+\*)")


def mend_typescript(data: bytes) -> bytes:
    """The repaired text of a TypeScript file (the same length, line for line)."""
    lines = data.split(b"\n")
    previous = b""
    for i, line in enumerate(lines):
        code = line.strip()
        indent = len(line) - len(line.lstrip(b" \t"))
        if code.startswith(b"<") and indent and previous and \
                (not previous.endswith(_CONTINUES) or previous.endswith(b">") and not previous.endswith(b"=>")):
            lines[i] = line[:indent - 1] + b";" + line[indent:]
        if code and not code.startswith((b"//", b"*", b"/*")):
            previous = code
    return _EXPORT_TYPE_STAR.sub(lambda m: m.group(1) + b"    " + m.group(2), b"\n".join(lines))
