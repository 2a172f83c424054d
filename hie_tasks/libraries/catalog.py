"""Each library's catalog (`lang.validate.Catalog`): what a spec may call, for resolving calls before a run.

Built-ins declare every parameter and return type, so names, arity and literal argument types are checked.
A plugin is asked what it offers: its documentation (`library.doc` / the `library_doc` export) and, when
that lists nothing, its metadata (`library.metadata` / `library_metadata()`, names only). A plugin that
answers neither has an unknown catalog and none of its calls is judged (a note says so).
"""

from __future__ import annotations

from hie_tasks.lang.validate import Catalog, Signature
from hie_tasks.libraries.base import FunctionDoc, Library, LibraryDoc
from hie_tasks.libraries.registry import Registry
from hie_tasks.model.errors import LibraryError


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


def library_catalog(library: Library) -> Catalog:
    try:
        doc: LibraryDoc = library.documentation()
    except LibraryError:
        doc = LibraryDoc(library.name, "", "")
    builtin = library.kind == "builtin"
    if doc.functions or doc.checks:
        # A plugin's doc may omit parameters; only built-ins' parameter lists are known to be complete.
        return Catalog(library.name, _signatures(doc.functions, builtin), _signatures(doc.checks, builtin))
    metadata = getattr(library, "metadata", None)
    meta: object = None
    if callable(metadata):
        try:
            meta = metadata()
        except LibraryError:
            meta = None
    selectors, checks = _names(meta, "functions"), _names(meta, "checks")
    if selectors is None and checks is None:
        return Catalog(library.name)
    return Catalog(library.name, selectors or {}, checks or {})


def catalogs(registry: Registry) -> dict[str, Catalog]:
    return {library.name: library_catalog(library) for library in registry.libraries()}
