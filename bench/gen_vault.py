"""Generate a synthetic Obsidian vault: N notes in nested folders with wikilinks of every form.

    python bench/gen_vault.py OUT_DIR [--notes 5000] [--links 50000] [--seed 0]

Links are spread over plain, aliased, heading, block, embed and markdown forms; a few
percent point at notes that do not exist (they become Unresolved nodes). Deterministic
for a given seed.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

WORDS = ("retry backoff cache queue graph vector index search embed note link heading block tag "
         "parser token schema query cypher store batch commit merge node edge model train encoder "
         "loss metric rank fusion expand neighbour session token config deploy server client "
         "async thread lock timeout budget latency memory disk file folder vault repo function "
         "class method import call inherit mention alias frontmatter callout comment").split()


def _sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def generate(out: Path, notes: int = 5000, links: int = 50000, seed: int = 0) -> list[Path]:
    """Write the vault and return the note paths."""
    rng = random.Random(seed)
    folders = [f"area{a}/topic{t}" for a in range(10) for t in range(10)]
    names = [f"{folders[i % len(folders)]}/Note {i}" for i in range(notes)]
    per_note = max(1, links // max(1, notes))
    paths = []
    for i, name in enumerate(names):
        lines = ["---", f"aliases: [N{i}]", f"tags: [gen, area{i % 10}]", "---", f"# Note {i}", "",
                 _sentence(rng), ""]
        for h in range(3):
            lines += [f"## Section {h}", _sentence(rng, 20) + f" ^b{i}x{h}", ""]
        body = []
        for _ in range(per_note):
            j = rng.randrange(notes)
            form = rng.random()
            if form < 0.03:
                target = f"[[Missing {rng.randrange(1000)}]]"
            elif form < 0.45:
                target = f"[[Note {j}]]"
            elif form < 0.6:
                target = f"[[Note {j}|see {j}]]"
            elif form < 0.75:
                target = f"[[Note {j}#Section {rng.randrange(3)}]]"
            elif form < 0.85:
                target = f"[[Note {j}#^b{j}x{rng.randrange(3)}]]"
            elif form < 0.92:
                target = f"![[Note {j}#Section {rng.randrange(3)}]]"
            else:
                target = f"[{j}]({names[j].replace(' ', '%20')}.md)"
            body.append(f"- {rng.choice(WORDS)} {target} #topic/t{j % 20}")
        lines += ["## Links", *body, ""]
        path = out / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--links", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.out, args.notes, args.links, args.seed)
    print(f"wrote {len(paths)} notes to {args.out}")


if __name__ == "__main__":
    main()
