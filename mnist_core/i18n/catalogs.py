"""Where the translations live and how they become what Python's gettext reads.

The catalogs are GNU gettext `.po` files kept in the repository beside this module (package data), with the
template `mnist_lab.pot` extracted from the code by Babel (`pybabel extract`, configured in pyproject.toml). The
`.mo` files gettext reads are build products (git-ignored): scripts/setup.sh compiles them, and `compiled()` below
compiles a missing or stale one at first use, so a fresh checkout works without the setup and an edited `.po` is
picked up. Where the package folder is read-only (an installed package), the compiled catalog stays in memory.
"""

from __future__ import annotations

import gettext
import io
import threading
from pathlib import Path

DOMAIN = "mnist_lab"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"

_lock = threading.Lock()


def po_path(catalog: str) -> Path:
    return LOCALE_DIR / catalog / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogs() -> list[str]:
    """The catalogs kept in the repository, by their gettext locale name (e.g. "zh_CN")."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_po(po: Path) -> bytes:
    """A .po file as .mo bytes (Babel's compiler: the same as `pybabel compile`). Fuzzy entries are left out, as
    msgfmt does: a translation a translator marked unsure is not shown."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as file:
        catalog = read_po(file)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[Path]:
    """Compile every catalog whose .mo is missing or older than its .po (the setup runs this); the .mo written."""
    return [mo for mo in (_write_mo(po_path(c)) for c in catalogs()) if mo is not None]


def _write_mo(po: Path) -> Path | None:
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return None
    data = compile_po(po)
    tmp = mo.with_name(f".{mo.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(mo)  # atomic: a process reading the catalog meanwhile sees the old one or the new one, whole
    return mo


def load(catalog: str) -> gettext.NullTranslations:
    """The compiled catalog for a gettext locale name, compiled first if it is missing or stale; English (the
    message ids themselves) for a catalog that does not exist."""
    po = po_path(catalog)
    if not po.exists():
        return gettext.NullTranslations()
    with _lock:
        try:
            _write_mo(po)
        except OSError:  # a read-only install: compile into memory instead
            return gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    # Read as gettext.translation() reads it, but not from its process-wide cache, which would keep an .mo
    # compiled again above in its old state. (mnist_core.i18n.translator caches the result per language.)
    with po.with_suffix(".mo").open("rb") as file:
        return gettext.GNUTranslations(file)
