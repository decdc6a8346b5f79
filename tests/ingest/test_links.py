"""Obsidian link resolution: each link form lands on the right target, like Obsidian."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.links import LinkIndex, LinkResolution, resolve_links
from ingest.obsidian import parse_note
from ingest.types import ParsedFile
from kg.model import (Edge, EdgeKind, Node, NodeKind, attachment_id, block_id, check_pair, file_id,
                      heading_id, note_id, unresolved_id)

ROOT = "vault"
FORMS = "Link Forms.md"
WIKI = heading_id(ROOT, FORMS, ["Link Forms", "Wikilinks"])
BROKEN = heading_id(ROOT, FORMS, ["Link Forms", "Broken links"])
EMBEDS = heading_id(ROOT, FORMS, ["Link Forms", "Embeds"])
PARA = block_id(ROOT, FORMS, "forms-para")
RETRY = "Retry and Backoff.md"


def code_file(root: str, path: str) -> ParsedFile:
    """A parsed code file as the code parser would give it: a File node."""
    return ParsedFile(root, path, "code", "python",
                      nodes=[Node(file_id(root, path), NodeKind.FILE, path.rsplit("/", 1)[-1], root, path)])


def resolve_vault(vault: Path) -> LinkResolution:
    files = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*")
                   if p.is_file() and ".obsidian" not in p.parts and not p.name.startswith("."))
    notes = [parse_note(ROOT, f, (vault / f).read_text(encoding="utf-8")) for f in files if f.endswith(".md")]
    parsed = notes + [code_file(ROOT, "scripts/backoff.py")]
    return resolve_links(parsed, LinkIndex.build(parsed, {ROOT: files}, {ROOT: vault}))


@pytest.fixture(scope="module")
def vault_links() -> LinkResolution:
    return resolve_vault(Path(__file__).parents[1] / "fixtures" / "vault")


def edge(res: LinkResolution, src: str, line: int, dst_prefix: str = "") -> Edge:
    """The one edge made from the link at ``line`` (whose target id starts with ``dst_prefix``)."""
    found = [e for e in res.edges if e.src == src and e.line == line and e.dst.startswith(dst_prefix)]
    assert len(found) == 1, (src, line, found)
    return found[0]


def resolve_notes(notes: dict[str, str], extra: list[ParsedFile] = (), files: list[str] = (),
                  root_dirs: dict[str, Path] | None = None, root: str = ROOT) -> LinkResolution:
    parsed = [parse_note(root, p, t) for p, t in notes.items()] + list(extra)
    by_root = {root: sorted(set(notes) | set(files))}
    for pf in extra:
        by_root.setdefault(pf.root, []).append(pf.path)
    return resolve_links(parsed, LinkIndex.build(parsed, by_root, root_dirs or {}))


# --- every link form in the fixture vault ------------------------------------------------

@pytest.mark.parametrize("src, line, dst, how", [
    (WIKI, 7, note_id(ROOT, "Glossary.md"), "path"),  # [[Glossary]] (and [[Glossary.md]], merged)
    (WIKI, 9, note_id(ROOT, "Projects/Alpha.md"), "path"),
    (WIKI, 10, note_id(ROOT, "Embeddings.md"), "path"),
    (WIKI, 11, heading_id(ROOT, RETRY, ["Retry and Backoff", "Strategies", "Exponential backoff"]), "path"),
    (WIKI, 12, heading_id(ROOT, RETRY, ["Retry and Backoff", "Strategies", "Jitter"]), "path"),
    (WIKI, 13, block_id(ROOT, RETRY, "retry-rule"), "path"),
    (WIKI, 14, heading_id(ROOT, FORMS, ["Link Forms", "Markdown links"]), "path"),
    (WIKI, 15, PARA, "path"),
    (WIKI, 16, note_id(ROOT, RETRY), "alias"),
    (WIKI, 18, note_id(ROOT, "Concepts/Graph Theory.md"), "shortest"),
    (WIKI, 19, file_id(ROOT, "scripts/backoff.py"), "path"),
    (WIKI, 20, attachment_id(ROOT, "assets/diagram.png"), "shortest"),
    (PARA, 30, heading_id(ROOT, RETRY, ["Retry and Backoff", "Strategies", "Jitter"]), "relative"),
    (PARA, 31, note_id(ROOT, "Projects/Alpha.md"), "relative"),
    (PARA, 31, heading_id(ROOT, "Glossary.md", ["Glossary", "Idempotency"]), "relative"),
    (EMBEDS, 36, heading_id(ROOT, "Embeddings.md", ["Embeddings", "Training"]), "path"),
    (EMBEDS, 39, note_id(ROOT, "Glossary.md"), "path"),
])
def test_link_form_lands_on_its_target(vault_links: LinkResolution, src: str, line: int, dst: str,
                                       how: str) -> None:
    found = edge(vault_links, src, line, dst)
    assert (found.how, found.resolved) == (how, True)


def test_alias_and_subpath_are_kept_on_the_edge(vault_links: LinkResolution) -> None:
    assert edge(vault_links, WIKI, 10).alias == "vector embeddings"
    assert edge(vault_links, WIKI, 12).subpath == "Strategies#Jitter"
    assert edge(vault_links, PARA, 31, "heading:").alias == "glossary"
    assert edge(vault_links, PARA, 30).alias == "the jitter section"


def test_duplicate_links_merge_into_one_counted_edge(vault_links: LinkResolution) -> None:
    glossary = edge(vault_links, WIKI, 7)
    assert glossary.props["count"] == 2  # [[Glossary]] and [[Glossary.md]]
    keys = [e.key for e in vault_links.edges]
    assert len(keys) == len(set(keys))


def test_alias_resolution_has_lower_confidence(vault_links: LinkResolution) -> None:
    assert edge(vault_links, WIKI, 16).confidence == pytest.approx(0.8)
    assert edge(vault_links, WIKI, 7).confidence == 1.0


def test_a_name_in_two_folders_links_to_the_shorter_path(vault_links: LinkResolution) -> None:
    found = edge(vault_links, WIKI, 17)  # [[Meeting]]: Archive/Meeting.md, not Projects/Meeting.md
    assert (found.dst, found.how, found.ambiguous) == (note_id(ROOT, "Archive/Meeting.md"), "shortest", False)
    assert vault_links.stats["ambiguous"] == 0


def test_a_note_in_the_source_folder_wins(vault_links: LinkResolution) -> None:
    alpha = heading_id(ROOT, "Projects/Alpha.md", ["Alpha"])
    found = edge(vault_links, alpha, 7, "note:vault/Projects/M")  # [[Meeting]] from Projects/
    assert (found.dst, found.how, found.ambiguous) == (note_id(ROOT, "Projects/Meeting.md"), "folder", False)


def test_markdown_links_resolve_relative_to_the_note(vault_links: LinkResolution) -> None:
    links = heading_id(ROOT, "Projects/Alpha.md", ["Alpha", "Links"])
    assert edge(vault_links, links, 11).dst == note_id(ROOT, "Glossary.md")  # ../Glossary.md
    assert edge(vault_links, links, 12).dst == note_id(ROOT, "Projects/Meeting.md")  # Meeting.md
    assert edge(vault_links, links, 13).dst == note_id(ROOT, "Home.md")  # /Home.md


def test_links_to_code_files_become_mentions(vault_links: LinkResolution) -> None:
    links = heading_id(ROOT, "Projects/Alpha.md", ["Alpha", "Links"])
    found = edge(vault_links, links, 14)
    assert (found.kind, found.dst, found.dst_kind) == (EdgeKind.MENTIONS, file_id(ROOT, "scripts/backoff.py"),
                                                       NodeKind.FILE)
    assert found.props["count"] == 2  # the markdown link and the wikilink on that line
    assert edge(vault_links, WIKI, 19).kind is EdgeKind.MENTIONS


def test_code_file_link_inside_a_block_comes_from_its_section() -> None:
    res = resolve_notes({"N.md": "# Sec\nSee [code](src/app.py). ^b\n"}, extra=[code_file(ROOT, "src/app.py")])
    [found] = res.edges
    assert (found.src, found.src_kind, found.kind) == (heading_id(ROOT, "N.md", ["Sec"]), NodeKind.HEADING,
                                                       EdgeKind.MENTIONS)


def test_missing_heading_or_block_points_at_the_note(vault_links: LinkResolution) -> None:
    heading = edge(vault_links, BROKEN, 25)
    assert (heading.dst, heading.subpath, heading.resolved) == (note_id(ROOT, "Embeddings.md"),
                                                                "No Such Heading", True)
    block = edge(vault_links, BROKEN, 26)
    assert (block.dst, block.subpath) == (note_id(ROOT, "Glossary.md"), "^no-such-block")
    assert vault_links.stats["missing_subpath"] == 2
    assert f"{ROOT}/{FORMS}:25: no heading 'No Such Heading' in Embeddings.md" in " ".join(vault_links.warnings)
    assert any(f"{FORMS}:26" in w and "^no-such-block" in w for w in vault_links.warnings)


def test_missing_note_becomes_one_unresolved_node(vault_links: LinkResolution) -> None:
    found = edge(vault_links, BROKEN, 24)
    uid = unresolved_id(ROOT, "Missing Note")
    assert (found.dst, found.dst_kind, found.resolved) == (uid, NodeKind.UNRESOLVED, False)
    assert found.props["count"] == 2  # [[Missing Note]] and [[missing note.md]]
    unresolved = [n for n in vault_links.nodes if n.kind is NodeKind.UNRESOLVED]
    assert [(n.id, n.name) for n in unresolved] == [(uid, "Missing Note")]
    assert vault_links.stats["unresolved"] == 2


def test_attachments_are_created_once_and_embeds_counted(vault_links: LinkResolution) -> None:
    aid = attachment_id(ROOT, "assets/diagram.png")
    attachments = [n for n in vault_links.nodes if n.kind is NodeKind.ATTACHMENT]
    assert [(n.id, n.path, n.name) for n in attachments] == [(aid, "assets/diagram.png", "diagram.png")]
    embed = edge(vault_links, EMBEDS, 37)
    assert (embed.kind, embed.dst, embed.alias, embed.props["count"]) == (EdgeKind.EMBEDS, aid, "300", 2)
    assert vault_links.stats["embeds"] == 4


def test_frontmatter_links_resolve_from_the_note(vault_links: LinkResolution) -> None:
    home = note_id(ROOT, "Home.md")
    found = edge(vault_links, home, 7)
    assert found.dst == heading_id(ROOT, RETRY, ["Retry and Backoff", "Strategies", "Jitter"])
    assert found.props["property"] == "see_also"
    assert edge(vault_links, home, 8).dst == note_id(ROOT, "Concepts/Graph Theory.md")


def test_stats_add_up(vault_links: LinkResolution) -> None:
    stats = vault_links.stats
    assert stats["links"] == stats["resolved"] + stats["unresolved"]
    assert stats["links"] > 40 and stats["resolved"] > 0


def test_every_edge_is_an_allowed_pair(vault_links: LinkResolution) -> None:
    for found in vault_links.edges:
        assert check_pair(found.kind, found.src_kind, found.dst_kind), found


def test_hidden_and_ignored_notes_are_only_linked_if_ingested(vault_links: LinkResolution) -> None:
    # The fixture's comments hold links; they must not be resolved (not even as Unresolved).
    assert unresolved_id(ROOT, "Hidden Link") not in {n.id for n in vault_links.nodes}


# --- rules on small vaults -------------------------------------------------------------------

def test_exact_path_wins_over_shorter_names() -> None:
    res = resolve_notes({"a/Note.md": "", "Note.md": "", "b/c/Src.md": "[[a/Note]] [[NOTE]]"})
    dsts = sorted((e.dst, e.how) for e in res.edges)
    assert dsts == [(note_id(ROOT, "Note.md"), "path"), (note_id(ROOT, "a/Note.md"), "path")]


def test_among_namesakes_the_shortest_path_string_wins() -> None:
    # Obsidian's tie-break: the source's own folder, then the shortest path *string*, so a
    # deeper but shorter path beats a shallower, longer one (Plugin/onload over Component/onload).
    res = resolve_notes({"zzzz/Note.md": "", "a/b/Note.md": "", "Src.md": "[[Note]]",
                         "api/Component/onload.md": "", "api/Plugin/onload.md": "", "S2.md": "[[onload]]"})
    dsts = sorted((e.dst, e.ambiguous) for e in res.edges)
    assert dsts == [(note_id(ROOT, "a/b/Note.md"), False), (note_id(ROOT, "api/Plugin/onload.md"), False)]


def test_namesakes_of_one_length_are_ambiguous() -> None:
    res = resolve_notes({"ab/Note.md": "", "cd/Note.md": "", "x/Src.md": "[[Note]]"})
    [found] = res.edges
    assert (found.dst, found.ambiguous, found.confidence) == (note_id(ROOT, "ab/Note.md"), True, 0.5)
    assert found.props["candidates"] == [note_id(ROOT, "ab/Note.md"), note_id(ROOT, "cd/Note.md")]


def test_partial_folder_path_matches_the_path_suffix() -> None:
    res = resolve_notes({"x/a/Note.md": "", "y/b/Note.md": "", "Src.md": "[[a/Note]]"})
    [found] = res.edges
    assert (found.dst, found.ambiguous) == (note_id(ROOT, "x/a/Note.md"), False)


def test_nested_heading_link_uses_earlier_headings_to_disambiguate() -> None:
    target = "# A\n## Notes\none\n# B\n## Notes\ntwo\n"
    res = resolve_notes({"T.md": target, "S.md": "[[T#B#Notes]]\n\n[[T#Notes]]\n\n[[T#b#notes]]"})
    dsts = [e.dst for e in sorted(res.edges, key=lambda e: e.line)]
    assert dsts == [heading_id(ROOT, "T.md", ["B", "Notes"]), heading_id(ROOT, "T.md", ["A", "Notes"])]
    assert res.edges[0].props["count"] == 2  # case-insensitive: [[T#b#notes]] is the same heading


def test_markdown_heading_slugs_match() -> None:
    res = resolve_notes({"T.md": "# Exponential Backoff!\n", "S.md": "[x](T.md#exponential-backoff)"})
    assert res.edges[0].dst == heading_id(ROOT, "T.md", ["Exponential Backoff!"])


def test_ambiguous_alias_is_flagged() -> None:
    res = resolve_notes({"A.md": "---\naliases: [Same]\n---\n", "B.md": "---\naliases: Same\n---\n",
                         "S.md": "[[same]]"})
    [found] = res.edges
    assert (found.how, found.ambiguous, found.dst) == ("alias", True, note_id(ROOT, "A.md"))
    assert res.stats["ambiguous"] == 1 and res.stats["alias"] == 1


def test_a_note_name_beats_an_alias() -> None:
    res = resolve_notes({"Same.md": "", "B.md": "---\naliases: Same\n---\n", "S.md": "[[Same]]"})
    assert res.edges[0].dst == note_id(ROOT, "Same.md")


def test_markdown_links_may_leave_the_root_for_another_root(tmp_path: Path) -> None:
    dirs = {"notes": tmp_path / "notes", "repo": tmp_path / "repo"}
    parsed = [parse_note("notes", "docs/Design.md", "[app](../../repo/src/app.py) [img](../../repo/logo.png)"),
              code_file("repo", "src/app.py")]
    index = LinkIndex.build(parsed, {"notes": ["docs/Design.md"], "repo": ["src/app.py", "logo.png"]}, dirs)
    res = resolve_links(parsed, index)
    by_dst = {e.dst: e for e in res.edges}
    assert by_dst[file_id("repo", "src/app.py")].kind is EdgeKind.MENTIONS
    assert by_dst[attachment_id("repo", "logo.png")].how == "relative"
    assert res.stats["unresolved"] == 0


def test_links_never_cross_roots_by_name() -> None:
    parsed = [parse_note("a", "S.md", "[[Other]]"), parse_note("b", "Other.md", "")]
    res = resolve_links(parsed, LinkIndex.build(parsed, {"a": ["S.md"], "b": ["Other.md"]}, {}))
    assert res.edges[0].dst == unresolved_id("a", "Other") and res.stats["unresolved"] == 1


def test_code_mentions_are_left_to_the_code_resolver() -> None:
    res = resolve_notes({"S.md": "Uses `PolicyEngine` and `retry()`."})
    assert res.edges == [] and res.stats["links"] == 0
    assert {"links", "resolved", "unresolved", "ambiguous", "missing_subpath", "embeds"} <= set(res.stats)


def test_html_headings_are_sections_and_their_names_are_anchors() -> None:
    faq = ("## FAQ\n\n* [Completion?](#complete)\n\n<h3 name=\"complete\">\nDoes it have shell\n"
           "<em>auto-completion</em>?\n</h3>\n\nYes, `rg --generate complete-bash`.\n\n"
           "<h3 id='order'>How can I get results in a consistent order?</h3>\n\nUse `--sort path`.\n\n"
           "<h3 data-id=\"x\" name=\"a\">Alpha</h3>\n<h3 name=\"b\">Beta</h3>\nBeta's text.\n")
    res = resolve_notes({"FAQ.md": faq, "README.md": "See [the FAQ](FAQ.md#complete), [[FAQ#order]], [[FAQ#a]], [[FAQ#b]]."})
    complete = heading_id(ROOT, "FAQ.md", ["FAQ", "Does it have shell auto-completion?"])
    order = heading_id(ROOT, "FAQ.md", ["FAQ", "How can I get results in a consistent order?"])
    alpha, beta = (heading_id(ROOT, "FAQ.md", ["FAQ", name]) for name in ("Alpha", "Beta"))
    assert {e.dst for e in res.edges if e.src == note_id(ROOT, "README.md")} == {complete, order, alpha, beta}
    assert [e.dst for e in res.edges if e.src.startswith(heading_id(ROOT, "FAQ.md", ["FAQ"]))] == [complete]
    assert res.stats["missing_subpath"] == 0
    sections = {n.id: n for n in parse_note(ROOT, "FAQ.md", faq).nodes if n.kind is NodeKind.HEADING}
    assert "rg --generate complete-bash" in sections[complete].text
    assert "--sort path" not in sections[complete].text and sections[order].props["anchor"] == "order"
    assert "Beta's text." in sections[beta].text and "Beta" not in sections[alpha].text.split("\n", 1)[-1]
