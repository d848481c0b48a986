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
