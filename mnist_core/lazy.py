"""Package exports that import their module on first use (PEP 562), so that importing a package stays cheap: a
package can name Keras-backed functions among its public names without importing Keras until one is used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping


def lazy_exports(package: str, modules: Mapping[str, Iterable[str]]) -> tuple[Callable, Callable]:
    """`{module: names}` -> the package's `__getattr__` and `__dir__`."""
    where = {name: module for module, names in modules.items() for name in names}

    def attribute(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    def names() -> list[str]:
        return sorted({*where, *importlib.import_module(package).__dict__})

    return attribute, names
