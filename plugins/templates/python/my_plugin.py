"""A hie-tasks plugin in Python, built into a sandboxed WebAssembly component.

Build: hie-tasks plugins build .      (needs pip install 'hie-tasks[python-plugins]')
Try:   hie-tasks check example.hie    (uses hielements.toml next to this file)

Each function's annotations say how its arguments are decoded (str, int, float, bool, list, Scope); a
Context first parameter gives the workspace and file helpers that record deps. Return Pass(), Fail(msg)
or Error(msg) from checks, a Scope (or str/int/bool/list) from selectors. Guide: docs/wasm-plugins.md.
"""

from __future__ import annotations

from hielements import Context, Fail, Pass, Plugin, Scope, WitWorld  # noqa: F401 (WitWorld: the entry point)

plugin = Plugin("my_plugin", version="0.1.0", description="A hie-tasks plugin written in Python")


@plugin.selector(example="scope src = my_plugin.files('src')", params={"path": "Folder"})
def files(ctx: Context, path: str) -> Scope:
    """Regular files below a folder (needs fs = "read")."""
    return Scope.folder(path, ctx.walk_files(path))


@plugin.check(example="check my_plugin.min_files(src, 1)", params={"scope": "Files", "n": "Minimum"})
def min_files(scope: Scope, n: int) -> Pass | Fail:
    """At least n files."""
    if len(scope.paths) >= n:
        return Pass()
    return Fail(f"Expected at least {n} files, found {len(scope.paths)}")
