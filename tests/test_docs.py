"""The documentation's links: the README and the other Markdown files link
to each other's sections by heading, and a heading reworded breaks every
link to it without a word."""

import re

from conftest import REPO_DIR

LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files():
    return sorted(path for path in REPO_DIR.rglob("*.md")
                  if not any(part.startswith(".") or part == "runs" for part in path.relative_to(REPO_DIR).parts))


def heading_anchors(text):
    """The anchors GitHub gives the headings of a Markdown text: lower case,
    punctuation but hyphens dropped, spaces made hyphens, and -1, -2 added
    to a repeated one."""
    anchors, seen, in_code = set(), {}, False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (heading := re.match(r"#{1,6} (.*)", line)):
            anchor = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            anchors.add(f"{anchor}-{seen[anchor]}" if anchor in seen else anchor)
            seen[anchor] = seen.get(anchor, 0) + 1
    return anchors


def test_heading_anchors_are_made_as_github_makes_them():
    assert heading_anchors("# Long runs: resuming, failures, --watch\n## Speed\n```\n# not a heading\n```\n"
                           "### Speed\n") == {"long-runs-resuming-failures---watch", "speed", "speed-1"}


def test_every_link_between_the_markdown_files_leads_to_a_file_and_a_heading_there():
    broken = []
    for path in markdown_files():
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.relative_to(REPO_DIR)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text()):
                broken.append(f"{path.relative_to(REPO_DIR)}: {target} (no such heading)")
    assert len(markdown_files()) >= 4  # the README, models/, benchmarks/ and People_Segmentation/ ones
    assert broken == []
