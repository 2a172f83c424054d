"""Built-in libraries `files`, `python` and `rust`, served in-process.

`builtin_libraries()` is what the registry starts from; a `hielements.toml` entry with one of these names
replaces the built-in, as upstream's registry does.
"""

from __future__ import annotations

from hie_tasks.libraries.base import Library
from hie_tasks.libraries.builtin.files import FilesLibrary
from hie_tasks.libraries.builtin.python import PythonLibrary
from hie_tasks.libraries.builtin.rust import RustLibrary

__all__ = ["FilesLibrary", "PythonLibrary", "RustLibrary", "builtin_libraries"]


def builtin_libraries(workspace_text: str | None = None) -> list[Library]:
    """Fresh instances of the three built-in libraries, in name order; `workspace_text` is the workspace as
    the user named it, which messages spell file paths from (None: absolute paths)."""
    return [FilesLibrary(workspace_text=workspace_text), PythonLibrary(), RustLibrary()]
