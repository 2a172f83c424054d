"""Each library's catalog (`lang.validate.Catalog`): what a spec may call, for resolving calls before a run.

- Built-ins declare every parameter and return type: names, arity and literal argument types are checked.
- A WASM plugin is already loaded for the run: its documentation export, else `library_metadata()`.
- An external plugin is a process: it is asked `library.metadata` (names only) on the process the run's calls
  then use (its timeout is the plugin's `timeout_ms`). A run that replays everything would otherwise start no
  process at all, so the answer — or the lack of one — is kept in
  `<store>/catalogs.json` keyed by the library's identity (executable and script digests, arguments), so a
  run — above all a no-op run — asks again only when the plugin changed. Without a store directory (the
  upstream drop-in, `--no-cache`) `run` does not ask external plugins at all; `validate` always does.
A library that answers neither has an unknown catalog and none of its calls is judged.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hie_tasks.lang.validate import Catalog, Signature
from hie_tasks.libraries.base import FunctionDoc, Library, LibraryDoc
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.errors import LibraryError

CATALOG_FILE = "catalogs.json"


def _signatures(functions: tuple[FunctionDoc, ...], declared: bool) -> dict[str, Signature]:
    return {
        f.name: Signature(tuple(p.param_type for p in f.parameters) if declared else None,
                          f.return_type or None)
        for f in functions
    }


def _names(meta: object, key: str) -> dict[str, Signature] | None:
    if not isinstance(meta, dict) or not isinstance(meta.get(key), list):
        return None
    return {name: Signature() for name in meta[key] if isinstance(name, str)}


def _from_metadata(name: str, meta: object) -> Catalog:
    selectors, checks = _names(meta, "functions"), _names(meta, "checks")
    if selectors is None and checks is None:
        return Catalog(name)
    return Catalog(name, selectors or {}, checks or {})


def _metadata(library: Library) -> object:
    metadata = getattr(library, "metadata", None)
    if not callable(metadata):
        return None
    try:
        return metadata()
    except LibraryError:
        return None


def library_catalog(library: Library) -> Catalog:
    if library.kind == "external":
        return _from_metadata(library.name, _metadata(library))
    try:
        doc: LibraryDoc = library.documentation()
    except LibraryError:
        doc = LibraryDoc(library.name, "", "")
    if doc.functions or doc.checks:
        # A plugin's doc may omit parameters; only built-ins' parameter lists are known to be complete.
        builtin = library.kind == "builtin"
        return Catalog(library.name, _signatures(doc.functions, builtin), _signatures(doc.checks, builtin))
    return _from_metadata(library.name, _metadata(library))


def _read_cache(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: str, data: dict[str, Any]) -> None:
    partial = f"{path}.{os.getpid()}.partial"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(partial, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(partial, path)
    except OSError:
        pass  # the next run asks the plugin again


def catalogs(
    registry: Registry, *, cache_dir: str | None = None, ask_external: bool = True, names: set[str] | None = None
) -> dict[str, Catalog]:
    """Every library's catalog. External plugins: from `cache_dir`'s catalog file when their identity is
    unchanged, else asked (and remembered) when `ask_external`, else unknown. Libraries outside `names`
    (when given: those the spec imports) are unknown, so a configured plugin nobody uses is never loaded."""
    path = os.path.join(cache_dir, CATALOG_FILE) if cache_dir else None
    cached = _read_cache(path) if path else {}
    changed = False
    out: dict[str, Catalog] = {}
    for library in registry.libraries():
        if names is not None and library.name not in names:
            out[library.name] = Catalog(library.name)
            continue
        if library.kind != "external":
            out[library.name] = library_catalog(library)
            continue
        try:
            key = f"{library.name}\n{library.identity()}"
        except LibraryError:
            key = ""
        if key and key in cached:
            out[library.name] = _from_metadata(library.name, cached[key])
        elif ask_external:
            meta = _metadata(library)
            out[library.name] = _from_metadata(library.name, meta)
            if key and path:
                cached[key] = meta if isinstance(meta, dict) else None
                changed = True
        else:
            out[library.name] = Catalog(library.name)
    if changed and path:
        _write_cache(path, cached)
    return out
