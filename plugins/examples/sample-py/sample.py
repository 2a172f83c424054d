"""Upstream's sample external plugin (tests/plugins_py/sample_plugin.py) migrated to a sandboxed
WebAssembly component with the Python SDK: the same four functions, verdicts and messages as the external
process and as the C `sample` (plugins/examples/sample). Needs fs = "read": simple_selector lists the
workspace, which a component only sees when it is granted.

What changed from the external plugin: no JSON-RPC loop, no hand-written tagged-value decoding (the SDK
decodes arguments by their annotations), and `hielements.toml` points at build/sample.wasm instead of
running python3.
"""

from __future__ import annotations

from typing import Any

from hielements import Context, Error, Fail, Pass, Plugin, Scope, WitWorld, decode  # noqa: F401 (WitWorld: entry)

plugin = Plugin(
    "sample",
    version="0.1.0",
    description="The upstream sample plugin as a Python component: a folder selector and three checks",
)


@plugin.selector(example="scope src = sample.simple_selector('src')", params={"path": "Folder relative to the workspace"})
def simple_selector(ctx: Context, path: Any) -> Scope | Error:
    """Selects every regular file below a folder, recursively."""
    # Decoded by hand only to keep the C plugin's wording; `path: str` would say "requires a string as
    # first argument".
    ok, folder = decode(path, str)
    if not ok:
        return Error("simple_selector requires a string path argument")
    # A missing folder is an empty scope, not an error, as with files.folder_selector.
    return Scope.folder(folder, ctx.walk_files(folder))


@plugin.check(
    example="check sample.file_count_check(src, 3)",
    params={"scope": "Files to count", "n": "Minimum number of files"},
)
def file_count_check(scope: Scope, n: int) -> Pass | Fail:
    """Passes when the scope holds at least n files."""
    if len(scope.paths) >= n:
        return Pass()
    return Fail(f"Expected at least {n} files, found {len(scope.paths)}")


@plugin.check(example="check sample.always_pass()")
def always_pass() -> Pass:
    """Always passes."""
    return Pass()


@plugin.check(example="check sample.always_fail()")
def always_fail() -> Fail:
    """Always fails."""
    return Fail("This check always fails")
