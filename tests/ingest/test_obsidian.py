"""The Obsidian parser, rule by rule, on the fixture vault and on small inline notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.obsidian import parse_note
from ingest.types import ParsedFile
from kg.model import EdgeKind, NodeKind, block_id, check_pair, heading_id, note_id, tag_id

ROOT = "vault"


def fixture_note(fixtures_dir: Path, path: str, **kwargs: bool) -> ParsedFile:
    return parse_note(ROOT, path, (fixtures_dir / "vault" / path).read_text(encoding="utf-8"), **kwargs)


def note(text: str, path: str = "Note.md", **kwargs: bool) -> ParsedFile:
    return parse_note(ROOT, path, text, **kwargs)


def nodes_of(pf: ParsedFile, kind: NodeKind) -> dict[str, object]:
    return {n.id: n for n in pf.nodes if n.kind is kind}


def edges_of(pf: ParsedFile, kind: EdgeKind) -> set[tuple[str, str]]:
    return {(e.src, e.dst) for e in pf.edges if e.kind is kind}


def link_refs(pf: ParsedFile) -> list[tuple[str, str, str]]:
    """(target, subpath, alias) of every LINKS_TO / EMBEDS ref."""
    return [(r.target, r.props["subpath"], r.props["alias"]) for r in pf.refs
            if r.kind in (EdgeKind.LINKS_TO, EdgeKind.EMBEDS)]


def tags_of(pf: ParsedFile) -> set[str]:
    return {n.name for n in pf.nodes if n.kind is NodeKind.TAG}


# --- the note, headings and blocks ----------------------------------------------------

def test_note_node_carries_title_body_and_frontmatter(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Retry and Backoff.md")
    assert (pf.kind, pf.lang, pf.warnings) == ("note", "markdown", [])
    nid = note_id(ROOT, "Retry and Backoff.md")
    n = nodes_of(pf, NodeKind.NOTE)[nid]
    assert n.name == "Retry and Backoff"
    assert n.text.startswith("Retry and Backoff") and "thundering herd" in n.text
    assert "status: draft" not in n.text  # frontmatter is not body text
    assert n.props["status"] == "draft"
    assert n.props["aliases"] == ["Backoff", "Retry policy"]
    assert n.props["tags"] == ["engineering/resilience"]
    assert "tags" not in {k for k in n.props if k not in ("tags", "aliases")}
    assert (n.start_line, n.end_line) == (1, 38)


def test_heading_ids_follow_the_heading_path_and_nest(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Retry and Backoff.md")
    path = "Retry and Backoff.md"
    top = heading_id(ROOT, path, ["Retry and Backoff"])
    strategies = heading_id(ROOT, path, ["Retry and Backoff", "Strategies"])
    jitter = heading_id(ROOT, path, ["Retry and Backoff", "Strategies", "Jitter"])
    headings = nodes_of(pf, NodeKind.HEADING)
    assert {top, strategies, jitter} <= set(headings)
    assert headings[jitter].heading == "Jitter" and headings[jitter].name == "Jitter"
    contains = edges_of(pf, EdgeKind.CONTAINS)
    assert (note_id(ROOT, path), top) in contains
    assert (top, strategies) in contains and (strategies, jitter) in contains
    assert (note_id(ROOT, path), jitter) not in contains  # only top-level headings hang off the note


def test_heading_text_is_its_path_and_own_section(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Retry and Backoff.md")
    headings = nodes_of(pf, NodeKind.HEADING)
    strategies = headings[heading_id(ROOT, "Retry and Backoff.md", ["Retry and Backoff", "Strategies"])]
    jitter = headings[heading_id(ROOT, "Retry and Backoff.md", ["Retry and Backoff", "Strategies", "Jitter"])]
    assert jitter.text.startswith("Retry and Backoff > Strategies > Jitter")
    assert "thundering herd" in jitter.text and "doubles" not in jitter.text
    assert "doubles" not in strategies.text  # own text stops at the next heading of any level
    assert (jitter.start_line, jitter.end_line) == (22, 27)
    assert (strategies.start_line, strategies.end_line) == (15, 27)  # the span covers sub-sections


@pytest.mark.parametrize("block, section, text", [
    ("retry-rule", ["Retry and Backoff", "Strategies", "Exponential backoff"], "doubles after every failure"),
    ("budget-list", ["Retry and Backoff", "Budgets"], "Cap the total time"),
    ("idem-callout", ["Retry and Backoff", "Budgets"], "POST may already have happened"),
])
def test_blocks_after_paragraph_list_and_callout(fixtures_dir: Path, block: str, section: list[str],
                                                 text: str) -> None:
    pf = fixture_note(fixtures_dir, "Retry and Backoff.md")
    bid = block_id(ROOT, "Retry and Backoff.md", block)
    node = nodes_of(pf, NodeKind.BLOCK)[bid]
    assert text in node.text and f"^{block}" not in node.text
    assert (heading_id(ROOT, "Retry and Backoff.md", section), bid) in edges_of(pf, EdgeKind.CONTAINS)


def test_block_after_a_table_and_in_a_list_item(fixtures_dir: Path) -> None:
    table = nodes_of(fixture_note(fixtures_dir, "Embeddings.md"), NodeKind.BLOCK)
    assert "nDCG@10" in table[block_id(ROOT, "Embeddings.md", "metrics-table")].text
    daily = nodes_of(fixture_note(fixtures_dir, "Daily/2024-01-15.md"), NodeKind.BLOCK)
    assert daily[block_id(ROOT, "Daily/2024-01-15.md", "item-block")].text == "item with a block id"


def test_block_above_any_heading_hangs_off_the_note() -> None:
    pf = note("First paragraph. ^intro\n\n# Later\n")
    assert (note_id(ROOT, "Note.md"), block_id(ROOT, "Note.md", "intro")) in edges_of(pf, EdgeKind.CONTAINS)


def test_repeated_heading_path_is_one_node() -> None:
    pf = note("# A\n## Notes\none\n## Notes\ntwo\n")
    notes = [n for n in pf.nodes if n.id == heading_id(ROOT, "Note.md", ["A", "Notes"])]
    assert len(notes) == 1 and "one" in notes[0].text and "two" in notes[0].text


def test_empty_file_is_an_empty_note() -> None:
    pf = note("", "Empty.md")
    assert [n.kind for n in pf.nodes] == [NodeKind.NOTE]
    assert pf.nodes[0].text == "" and pf.warnings == [] and pf.refs == []


# --- links ------------------------------------------------------------------------------

def test_every_wikilink_form_becomes_a_ref(fixtures_dir: Path) -> None:
    refs = link_refs(fixture_note(fixtures_dir, "Link Forms.md"))
    for expected in [
        ("Glossary", "", ""), ("Glossary.md", "", ""), ("Projects/Alpha", "", ""),
        ("Embeddings", "", "vector embeddings"), ("Retry and Backoff", "Exponential backoff", ""),
        ("Retry and Backoff", "Strategies#Jitter", ""), ("Retry and Backoff", "^retry-rule", ""),
        ("", "Markdown links", ""), ("", "^forms-para", ""), ("Retry policy", "", ""),
        ("Missing Note", "", ""), ("Embeddings", "No Such Heading", ""),
        ("scripts/backoff.py", "", ""), ("diagram.png", "", "300"),
    ]:
        assert expected in refs, expected


def test_markdown_links_are_decoded_and_external_ones_ignored(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Link Forms.md")
    markdown = [(r.target, r.props["subpath"], r.props["alias"]) for r in pf.refs if r.props.get("markdown")]
    assert ("Retry and Backoff.md", "Jitter", "the jitter section") in markdown
    assert ("./Projects/Alpha.md", "", "alpha") in markdown
    assert ("Glossary.md", "Idempotency", "glossary") in markdown
    assert not any("example.com" in t or "mailto" in t for t, _, _ in markdown)


def test_embeds_are_embeds_refs(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Link Forms.md")
    embeds = [(r.target, r.props["subpath"], r.props["markdown"]) for r in pf.refs if r.kind is EdgeKind.EMBEDS]
    assert embeds == [("Embeddings", "Training", False), ("diagram.png", "", False),
                      ("assets/diagram.png", "", True), ("Glossary", "", False)]
    assert all(r.props["embed"] for r in pf.refs if r.kind is EdgeKind.EMBEDS)


def test_ref_source_is_the_innermost_section_or_block(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Link Forms.md")
    by_line = {r.line: r for r in pf.refs}
    assert by_line[7].src == heading_id(ROOT, "Link Forms.md", ["Link Forms", "Wikilinks"])
    assert by_line[7].src_kind is NodeKind.HEADING
    in_block = by_line[30]
    assert in_block.src == block_id(ROOT, "Link Forms.md", "forms-para")
    assert in_block.src_kind is NodeKind.BLOCK
    top = note("See [[Glossary]].\n# Later\n")
    assert top.refs[0].src == note_id(ROOT, "Note.md") and top.refs[0].line == 1


def test_wikilink_edge_cases_inline() -> None:
    pf = note("| a | b |\n|---|---|\n| [[Note#H1#H2\\|shown]] | x |\n\n[[ Spaced | alias ]] [[]] [[#]]\n")
    assert link_refs(pf) == [("Note", "H1#H2", "shown"), ("Spaced", "", "alias")]
    assert [r.line for r in pf.refs] == [3, 5]


def test_nothing_inside_code_or_html_becomes_a_link_or_tag(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Code in Notes.md")
    assert link_refs(pf) == [("Glossary", "", "")]
    assert tags_of(pf) == {"code-notes"}


def test_inline_code_names_become_code_mentions(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Code in Notes.md")
    mentions = {r.target for r in pf.refs if r.kind is EdgeKind.MENTIONS}
    assert mentions == {"PolicyEngine", "Flask.make_response", "utils/retry.py", "retry",
                        "retry_with_backoff", "Backoff", "PolicyEngine.evaluate"}
    mention = next(r for r in pf.refs if r.kind is EdgeKind.MENTIONS)
    assert mention.props == {"code": True}
    assert mention.src == heading_id(ROOT, "Code in Notes.md", ["Code in Notes", "Mentions"])


def test_frontmatter_links_become_refs_from_the_note(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Home.md")
    props = [(r.target, r.props["subpath"], r.props["property"], r.line) for r in pf.refs
             if "property" in r.props]
    assert props == [("Embeddings", "", "related", 5), ("Retry and Backoff", "Jitter", "see_also", 7),
                     ("Graph Theory", "", "see_also", 8)]
    assert all(r.src == note_id(ROOT, "Home.md") and r.kind is EdgeKind.LINKS_TO
               for r in pf.refs if "property" in r.props)


def test_callout_links_count_and_comments_are_ignored(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Daily/2024-01-15.md")
    targets = [t for t, _, _ in link_refs(pf)]
    assert targets == ["Projects/Alpha", "Embeddings", "Glossary"]  # the last two are in a callout
    assert not {"hidden", "hidden-too"} & tags_of(pf)


def test_links_in_comments_on_request(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Daily/2024-01-15.md", links_in_comments=True)
    targets = [t for t, _, _ in link_refs(pf)]
    assert "Hidden Link" in targets and "Hidden Too" in targets
    assert {"hidden", "hidden-too"} <= tags_of(pf)


def test_comment_markers_inside_code_do_not_start_a_comment() -> None:
    pf = note("```\n%% not a comment\n```\n\nSee [[Visible]] %%\n")
    assert [t for t, _, _ in link_refs(pf)] == ["Visible"]


# --- tags ----------------------------------------------------------------------------------

def test_inline_tag_rules(fixtures_dir: Path) -> None:
    tags = tags_of(fixture_note(fixtures_dir, "Daily/2024-01-15.md"))
    assert {"daily", "project/alpha/backend", "y1984", "café", "review"} <= tags
    assert not {"123", "b", "nope", "anchor", "frag"} & tags


def test_heading_markers_are_not_tags_and_tags_are_case_insensitive() -> None:
    pf = note("# Heading\n\n#Area and #AREA and #2024\n")
    assert tags_of(pf) == {"area"}
    assert tag_id("Area") in {n.id for n in pf.nodes}


def test_nested_tags_bring_their_parents(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Daily/2024-01-15.md")
    assert {"project/alpha/backend", "project/alpha", "project"} <= tags_of(pf)
    parents = edges_of(pf, EdgeKind.TAG_PARENT)
    assert (tag_id("project/alpha/backend"), tag_id("project/alpha")) in parents
    assert (tag_id("project/alpha"), tag_id("project")) in parents
    tagged = edges_of(pf, EdgeKind.TAGGED)
    nid = note_id(ROOT, "Daily/2024-01-15.md")
    assert (nid, tag_id("project/alpha/backend")) in tagged
    assert (nid, tag_id("project")) not in tagged  # parents come through TAG_PARENT


def test_inline_tags_also_tag_the_innermost_heading(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Retry and Backoff.md")
    jitter = heading_id(ROOT, "Retry and Backoff.md", ["Retry and Backoff", "Strategies", "Jitter"])
    assert (jitter, tag_id("engineering/resilience")) in edges_of(pf, EdgeKind.TAGGED)


@pytest.mark.parametrize("path, expected_tags, expected_aliases", [
    ("Home.md", {"moc", "area/overview", "area"}, ["Start", "Index"]),  # YAML lists
    ("Embeddings.md", {"ml", "nlp", "ml/training"}, ["Vectors", "Vector embeddings"]),  # legacy keys, strings
    ("Projects/Alpha.md", {"project/alpha", "project"}, []),  # a plain string
])
def test_frontmatter_tags_and_aliases(fixtures_dir: Path, path: str, expected_tags: set[str],
                                      expected_aliases: list[str]) -> None:
    pf = fixture_note(fixtures_dir, path)
    assert expected_tags <= tags_of(pf)
    assert nodes_of(pf, NodeKind.NOTE)[note_id(ROOT, path)].props["aliases"] == expected_aliases


def test_frontmatter_tags_with_hash_and_commas() -> None:
    pf = note("---\ntags: '#One, two/Three'\n---\nbody\n")
    assert tags_of(pf) == {"one", "two/three", "two"}


# --- frontmatter problems ------------------------------------------------------------------

def test_broken_yaml_warns_and_the_body_is_still_parsed(fixtures_dir: Path) -> None:
    pf = fixture_note(fixtures_dir, "Broken.md")
    assert len(pf.warnings) == 1 and pf.warnings[0].startswith("broken YAML frontmatter: ")
    assert [t for t, _, _ in link_refs(pf)] == ["Glossary"]
    assert tags_of(pf) == {"still-parsed"}  # the broken block's `tags: broken` is not read
    assert heading_id(ROOT, "Broken.md", ["Broken"]) in nodes_of(pf, NodeKind.HEADING)
    assert pf.refs[0].line == 7  # lines still count from the top of the file


def test_frontmatter_that_is_not_a_mapping_warns() -> None:
    pf = note("---\n- a\n- b\n---\nSee [[X]]\n")
    assert pf.warnings == ["frontmatter is not a mapping (got list); ignored"]
    assert [t for t, _, _ in link_refs(pf)] == ["X"]



@pytest.mark.parametrize("yaml_text, message", [
    ("due: 2024-02-30", "broken YAML frontmatter: day is out of range for month"),
    ("n: !!int twelve", "broken YAML frontmatter: invalid literal for int() with base 10: 'twelve'"),
])
def test_values_yaml_cannot_build_are_broken_yaml_not_a_failed_note(yaml_text: str, message: str) -> None:
    pf = note(f"---\n{yaml_text}\n---\n# H\nSee [[X]]\n")
    assert pf.warnings == [message]
    assert [t for t, _, _ in link_refs(pf)] == ["X"]


@pytest.mark.parametrize("yaml_text", [
    "a: &a [*a]",  # a list that contains itself
    "\n".join(["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]  # ten aliases a level: 10^9 values
               + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 10)]),
])
def test_aliases_that_expand_without_bound_are_ignored_quickly(yaml_text: str) -> None:
    pf = note(f"---\n{yaml_text}\n---\n# H\n")
    assert pf.warnings == ["frontmatter expands to more than 10,000 values or 50 levels (YAML aliases?); ignored"]
    assert nodes_of(pf, NodeKind.NOTE)["note:vault/Note.md"].props == {"aliases": [], "tags": []}


def test_yaml_sets_come_back_in_a_stable_order() -> None:
    pf = note("---\nkinds: !!set {zeta, alpha, mid}\n---\n")
    assert nodes_of(pf, NodeKind.NOTE)["note:vault/Note.md"].props["kinds"] == ["alpha", "mid", "zeta"]

# --- the whole vault -------------------------------------------------------------------------

def test_every_local_edge_and_ref_source_is_allowed(fixtures_dir: Path) -> None:
    vault = fixtures_dir / "vault"
    for md in sorted(vault.rglob("*.md")):
        pf = fixture_note(fixtures_dir, md.relative_to(vault).as_posix())
        ids = {n.id for n in pf.nodes}
        for edge in pf.edges:
            assert check_pair(edge.kind, edge.src_kind, edge.dst_kind), edge
            assert edge.src in ids and edge.dst in ids, edge
        for ref in pf.refs:
            assert ref.src in ids and ref.line and ref.line >= 1, ref
        assert len(ids) == len(pf.nodes)  # no duplicate node ids


def test_byte_order_mark_and_crlf_do_not_hide_frontmatter() -> None:
    pf = note("\ufeff---\r\ntags: [x]\r\n---\r\n# H\r\nSee [[Y]]\r\n")
    assert tags_of(pf) == {"x"} and pf.warnings == []
    assert [(r.target, r.line) for r in pf.refs] == [("Y", 5)]


def test_percent_signs_inside_inline_code_open_no_comment() -> None:
    text = ("The syntax: `# | ^ : %% [[ ]]` and ``a ` %% b``.\n\nThen [[One]] and [[Two]].\n\n"
            "%% a real comment [[Hidden]] %%\n\nAfter [[Three]] `%%`\n\n%% unclosed [[Gone]]\n")
    pf = note(text)
    assert [r.target for r in pf.refs if r.kind is EdgeKind.LINKS_TO] == ["One", "Two", "Three"]


def test_links_nested_deeper_than_the_parser_follows_are_read_and_warned_about() -> None:
    indented = note("".join("    " * i + f"- item [[L{i}]] #t{i}\n" for i in range(60)) + "\n" + "- " * 12 + "[[Dash]]\n")
    assert {r.target for r in indented.refs if r.kind is EdgeKind.LINKS_TO} == {f"L{i}" for i in range(60)} | {"Dash"}
    assert len(nodes_of(indented, NodeKind.TAG)) == 60
    assert len(indented.warnings) == 1 and indented.warnings[0].startswith("Note.md:60: nested deeper than")
    quotes = note("# Deep\n\n" + "> " * 200 + "[[Quote]]\n\n# After\n\nplain [[After]]\n")
    links = {r.target: r for r in quotes.refs if r.kind is EdgeKind.LINKS_TO}
    assert links["Quote"].src.endswith("#Deep") and links["Quote"].line == 3  # its own section and line
    assert links["After"].src.endswith("#After") and len(quotes.warnings) == 1
    shallow = note("- a\n    - b [[B]]\n")
    assert shallow.warnings == [] and [r.target for r in shallow.refs] == ["B"]


def test_a_stray_backtick_does_not_pair_with_one_in_another_block() -> None:
    # A code span ends with its paragraph: the real comment in the next item still hides its link.
    assert [r.target for r in note("- press the ` key\n- %% [[Private]] %%\n- run `ls` [[Shown]]\n").refs] == ["Shown"]
    assert note("[ref]: http://example.com\n").warnings == []  # no token is no loss
