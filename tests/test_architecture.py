"""The architecture as the code must keep it: the engine's packages import without Keras, and the pages touch a
run's files only through the run store (import-linter, run by scripts/test.sh, checks the dependency direction)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["data", "networks", "store", "jobs", "study", "inspection", "presentation", "i18n"]
# Calls that read, write or look at files: the pages leave those to the store (runs) and the engine (models).
FILE_CALLS = {
    "open",
    "read_bytes",
    "read_text",
    "write_bytes",
    "write_text",
    "stat",
    "lstat",
    "exists",
    "is_file",
    "is_dir",
    "iterdir",
    "glob",
    "rglob",
    "unlink",
    "rmdir",
    "mkdir",
    "rmtree",
    "listdir",
    "scandir",
    "walk",
    "getmtime",
    "getsize",
}


@pytest.mark.parametrize("package", PACKAGES)
def test_each_engine_package_imports_without_keras_or_streamlit(package):
    code = (
        f"import sys, mnist_core.{package} as p; "
        "loaded = sorted(m for m in ('keras', 'tensorflow', 'streamlit') if m in sys.modules); "
        "assert not loaded, loaded; assert p.__doc__.strip()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def _file_calls(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in FILE_CALLS:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {name}()")
    return found


def test_pages_read_and_write_runs_only_through_the_store():
    found = [call for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))] for call in _file_calls(page)]
    assert not found, "pages must ask the run store (or the engine) instead:\n" + "\n".join(found)


def test_the_check_finds_a_page_that_reads_a_file_itself(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("from pathlib import Path\nPath('runs/x/model.keras').read_bytes()\nopen('x')\nstore.runs()\n")
    assert [call.split(": ")[1] for call in _file_calls(page, root=tmp_path)] == ["read_bytes()", "open()"]


# --- imports from several threads at once ---------------------------------------------------------------------------
PAGE_SCRIPTS = ["data", "train", "runs", "draw", "experiments"]


def engine_imports(page: str) -> list[str]:
    """A page script's imports of pages.shared and of the engine, as source lines, in the order it runs them."""
    tree = ast.parse((ROOT / "pages" / f"{page}.py").read_text())
    return [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("mnist_core", "pages.shared"))
    ]


@pytest.mark.parametrize("page", PAGE_SCRIPTS)
def test_every_page_imports_the_shared_module_before_any_part_of_the_engine(page):
    assert engine_imports(page)[0].startswith("from pages.shared import")


def test_no_engine_module_imports_its_own_package_by_name():
    """`from mnist_core.store import records` inside mnist_core/store/ waits for the package to finish its __init__;
    a thread doing that while another thread's __init__ waits for this module deadlocks (Python then hands out a
    half-made module). A module names its siblings by their full path instead."""
    offenders = []
    for path in (ROOT / "mnist_core").glob("*/*.py"):
        if path.name == "__init__.py":
            continue
        package = f"mnist_core.{path.parent.name}"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == package:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


CONCURRENT_IMPORTS = """
import sys, threading
blocks = [block.split("\\n") for block in sys.argv[1:]]
barrier = threading.Barrier(len(blocks))
errors = []
def run(lines):
    barrier.wait()
    for line in lines:
        try:
            exec(line, {})
        except Exception as error:
            errors.append(f"{line}: {type(error).__name__}: {error}")
threads = [threading.Thread(target=run, args=(lines,)) for lines in blocks]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("\\n".join(errors) or "ok")
"""


def test_the_pages_engine_imports_run_in_threads_at_once_without_a_half_made_module():
    """What a fresh server does when several tabs open at once: each page's imports, in a thread of one process,
    all started together; in fresh processes, several times (the failure it guards against came in most tries)."""
    blocks = ["\n".join(engine_imports(page)) for page in PAGE_SCRIPTS]
    blocks.append("from mnist_core.store.own_digits import OwnDigits\nfrom mnist_core.store.runs import RunStore")
    for _ in range(4):
        result = subprocess.run(
            [sys.executable, "-c", CONCURRENT_IMPORTS, *blocks], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.stdout.strip().splitlines()[-1:] == ["ok"], result.stdout + result.stderr[-2000:]
