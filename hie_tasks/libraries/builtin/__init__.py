"""Built-in libraries `files`, `python` and `rust`, served in-process.

`builtin_libraries()` is what the registry starts from; a `hielements.toml` entry with one of these names
replaces the built-in, as upstream's registry does. Each library's module is imported when it is first
named, so that a run of `files` checks alone (the run memo's partial rerun) never loads the others.
"""

from __future__ import annotations

import importlib

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from hie_tasks.libraries.base import Library
    from hie_tasks.libraries.builtin.files import FilesLibrary
    from hie_tasks.libraries.builtin.python import PythonLibrary
    from hie_tasks.libraries.builtin.rust import RustLibrary

__all__ = ["FilesLibrary", "PythonLibrary", "RustLibrary", "builtin_libraries"]

#: class name → the module defining it
_MODULES = {
    "FilesLibrary": "hie_tasks.libraries.builtin.files",
    "PythonLibrary": "hie_tasks.libraries.builtin.python",
    "RustLibrary": "hie_tasks.libraries.builtin.rust",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


#: built-in library name → its class name
CLASSES = {"files": "FilesLibrary", "python": "PythonLibrary", "rust": "RustLibrary"}


def builtin_library(name: str, workspace_text: str | None = None) -> Library:
    """A fresh instance of the built-in `name`, importing only its module."""
    factory = __getattr__(CLASSES[name])
    library: Library = factory(workspace_text=workspace_text) if name == "files" else factory()
    return library


def builtin_libraries(workspace_text: str | None = None) -> list[Library]:
    """Fresh instances of the three built-in libraries, in name order; `workspace_text` is the workspace as
    the user named it, which messages spell file paths from (None: absolute paths)."""
    return [builtin_library(name, workspace_text) for name in sorted(CLASSES)]
