"""The README leads with the product and stays short; every relative link in it and in docs/ points at a file."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 150
START_COMMANDS = ["bash scripts/start.sh", "bash scripts/test.sh"]
# [text](target) and ![alt](target); a target ends at a space (before a "title") or at the closing parenthesis.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def relative_links(path: Path) -> list[str]:
    """The link targets of a markdown file that point into the repository (code blocks left out)."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    targets = [match.group(1) for match in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE) and not t.startswith("#")]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_readme_is_at_most_150_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_readme_starts_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    first_block = FENCE.search(text)
    assert first_block, "README.md has no code block"
    before = text[: first_block.start()]
    assert not re.search(r"^##", before, re.MULTILINE), "the two commands come before any section"
    commands = [line.split("#")[0].strip() for line in first_block.group(0).splitlines()[1:-1]]
    assert commands == START_COMMANDS


README_ZH = ROOT / "README.zh-CN.md"


def _commands(text: str) -> list[str]:
    """Every command in a README's code blocks, comments dropped: what a reader would type."""
    return [
        line.split("#")[0].strip()
        for block in FENCE.findall(text)
        for line in block.splitlines()[1:-1]
        if line.split("#")[0].strip()
    ]


def test_the_chinese_readme_starts_with_the_same_two_commands():
    first_block = FENCE.search(README_ZH.read_text(encoding="utf-8"))
    commands = [line.split("#")[0].strip() for line in first_block.group(0).splitlines()[1:-1]]
    assert commands == START_COMMANDS


def test_every_command_of_the_chinese_readme_is_one_the_english_readme_or_the_cli_has():
    """Kept in step: the Chinese README shows a subset of the English one's commands (or the same command with the
    Chinese options), never a command the English README does not know."""
    english = set(_commands(README.read_text(encoding="utf-8")))
    for command in _commands(README_ZH.read_text(encoding="utf-8")):
        without_lang = command.replace(" --lang zh", "")
        assert without_lang in english or without_lang.split(" -o ")[0] in {c.split(" -o ")[0] for c in english}, (
            command
        )


def test_the_readmes_link_to_each_other():
    assert "README.zh-CN.md" in README.read_text(encoding="utf-8").split("\n## ")[0]
    assert "README.md" in README_ZH.read_text(encoding="utf-8").split("\n## ")[0]


@pytest.mark.parametrize("path", [README, README_ZH, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file(path):
    assert DOCS, "docs/ holds no markdown"
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = unquote(target).partition("#")
        linked = (path.parent / file_part).resolve()
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{path.name}: broken links {broken}"


def test_the_readme_picture_is_in_the_repository_and_small():
    pictures = [t for t in relative_links(README) if t.endswith(".png")]
    assert pictures, "README.md shows no picture of the dashboard"
    for picture in pictures:
        assert (README.parent / picture).stat().st_size < 300_000, f"{picture}: optimise it (256 colours)"


API_PACKAGES = ("data", "networks", "store", "jobs", "study", "inspection", "i18n")


@pytest.mark.parametrize("package", API_PACKAGES)
def test_the_api_page_lists_exactly_what_each_package_exports(package):
    import importlib

    module = importlib.import_module(f"mnist_core.{package}")
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split(f"## `mnist_core.{package}`", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(\w+)`", section.split("\n\n", 2)[2]))
    assert listed == set(module.__all__), f"docs/api.md vs mnist_core.{package}.__all__"
    for name in module.__all__:
        assert getattr(module, name) is not None  # every exported name resolves (lazy ones load here)
