"""ABI 1 of hie-tasks WASM plugins: which imports and exports a module may/must have, with which types.

Checked on the compiled module's declared types, before any instance exists, so a wrong plugin is
rejected with every problem listed at once instead of failing somewhere inside the first call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import wasmtime

ABI_VERSION = 1
WASI_MODULE = "wasi_snapshot_preview1"

EXPORT_MEMORY = "memory"
EXPORT_ALLOC = "alloc"
EXPORT_DEALLOC = "dealloc"
EXPORT_CALL = "library_call"
EXPORT_CHECK = "library_check"
EXPORT_METADATA = "library_metadata"
EXPORT_DOC = "library_doc"
EXPORT_INITIALIZE = "_initialize"
EXPORT_ABI_VERSION = "hielements_abi_version"


class ReturnStyle(str, enum.Enum):
    """How a `(ptr, len)` answer comes back."""

    PACKED = "i64"  # (ptr << 32) | len
    MULTI = "i32,i32"  # multi-value ptr, len


#: Bumped whenever ModuleShape's JSON form changes, so facts cached by another version are re-derived.
_SHAPE_FORMAT = 1

_PACKED_ENTRY = (("i32", "i32"), ("i64",))
_MULTI_ENTRY = (("i32", "i32"), ("i32", "i32"))
_PACKED_GETTER = ((), ("i64",))
_MULTI_GETTER = ((), ("i32", "i32"))

# Fixed signatures of the exports that have exactly one legal type.
_FIXED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    EXPORT_ALLOC: (("i32",), ("i32",)),
    EXPORT_DEALLOC: (("i32", "i32"), ()),
    EXPORT_INITIALIZE: ((), ()),
    EXPORT_ABI_VERSION: ((), ("i32",)),
}


def _render(sig: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    params, results = sig
    res = results[0] if len(results) == 1 else "(" + ", ".join(results) + ")"
    return f"({', '.join(params)}) -> {res}" if results else f"({', '.join(params)})"


def _signature(ty: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ty.params), tuple(str(r) for r in ty.results)


def _describe(ty: object) -> str:
    if isinstance(ty, wasmtime.FuncType):
        return "function " + _render(_signature(ty))
    if isinstance(ty, wasmtime.MemoryType):
        return "memory"
    if isinstance(ty, wasmtime.GlobalType):
        return "global"
    if isinstance(ty, wasmtime.TableType):
        return "table"
    return type(ty).__name__


@dataclass(frozen=True)
class ModuleShape:
    """What a module declares, and what is wrong with it with respect to ABI 1."""

    #: (name, description) per export, in declaration order
    exports: tuple[tuple[str, str], ...]
    #: (module, name, description) per import
    imports: tuple[tuple[str, str, str], ...]
    call_style: ReturnStyle | None
    check_style: ReturnStyle | None
    metadata_style: ReturnStyle | None
    doc_style: ReturnStyle | None
    has_dealloc: bool
    has_initialize: bool
    has_abi_version: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """A JSON form stored with the compiled module (modcache facts); `from_json` reverses it."""
        return {
            "format": _SHAPE_FORMAT,
            "exports": [list(e) for e in self.exports],
            "imports": [list(i) for i in self.imports],
            "styles": [s.value if s is not None else None for s in self._styles()],
            "flags": [self.has_dealloc, self.has_initialize, self.has_abi_version],
            "problems": list(self.problems),
        }

    def _styles(self) -> tuple[ReturnStyle | None, ...]:
        return (self.call_style, self.check_style, self.metadata_style, self.doc_style)

    @classmethod
    def from_json(cls, data: object) -> ModuleShape | None:
        """The shape stored by `to_json`, or None when `data` is not one (another format, damaged)."""
        if not isinstance(data, dict) or data.get("format") != _SHAPE_FORMAT:
            return None
        try:
            call, check, meta, doc = (ReturnStyle(s) if s is not None else None for s in data["styles"])
            dealloc, init, version = (bool(f) for f in data["flags"])
            return cls(
                exports=tuple((str(n), str(d)) for n, d in data["exports"]),
                imports=tuple((str(m), str(n), str(d)) for m, n, d in data["imports"]),
                call_style=call,
                check_style=check,
                metadata_style=meta,
                doc_style=doc,
                has_dealloc=dealloc,
                has_initialize=init,
                has_abi_version=version,
                problems=tuple(str(p) for p in data["problems"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def _entry_style(
    name: str, sig: tuple[tuple[str, ...], tuple[str, ...]] | None, getter: bool, problems: list[str]
) -> ReturnStyle | None:
    if sig is None:
        return None
    packed, multi = (_PACKED_GETTER, _MULTI_GETTER) if getter else (_PACKED_ENTRY, _MULTI_ENTRY)
    if sig == packed:
        return ReturnStyle.PACKED
    if sig == multi:
        return ReturnStyle.MULTI
    problems.append(
        f"export '{name}' has type {_render(sig)}; expected {_render(packed)} or {_render(multi)}"
    )
    return None


def analyze(module: wasmtime.Module) -> ModuleShape:
    problems: list[str] = []
    imports: list[tuple[str, str, str]] = []
    for imp in module.imports:
        desc = _describe(imp.type)
        imports.append((imp.module, imp.name or "", desc))
        if imp.module != WASI_MODULE:
            problems.append(
                f"imports '{imp.module}.{imp.name}' ({desc}); only '{WASI_MODULE}' imports are allowed"
            )

    exports: list[tuple[str, str]] = []
    funcs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    memory_kind: str | None = None
    for exp in module.exports:
        exports.append((exp.name, _describe(exp.type)))
        if isinstance(exp.type, wasmtime.FuncType):
            funcs[exp.name] = _signature(exp.type)
        elif exp.name == EXPORT_MEMORY:
            memory_kind = "memory" if isinstance(exp.type, wasmtime.MemoryType) else _describe(exp.type)

    if memory_kind is None and EXPORT_MEMORY not in funcs:
        problems.append(f"missing required export '{EXPORT_MEMORY}' (linear memory)")
    elif memory_kind != "memory":
        problems.append(f"export '{EXPORT_MEMORY}' must be a linear memory, found {memory_kind or 'a function'}")

    if EXPORT_ALLOC not in funcs:
        problems.append(f"missing required export '{EXPORT_ALLOC}' {_render(_FIXED[EXPORT_ALLOC])}")
    for name, want in _FIXED.items():
        got = funcs.get(name)
        if got is not None and got != want:
            problems.append(f"export '{name}' has type {_render(got)}; expected {_render(want)}")

    call_style = _entry_style(EXPORT_CALL, funcs.get(EXPORT_CALL), False, problems)
    check_style = _entry_style(EXPORT_CHECK, funcs.get(EXPORT_CHECK), False, problems)
    if EXPORT_CALL not in funcs and EXPORT_CHECK not in funcs:
        problems.append(
            f"exports neither '{EXPORT_CALL}' nor '{EXPORT_CHECK}' (ptr: i32, len: i32) -> i64; at least one is required"
        )
    return ModuleShape(
        exports=tuple(exports),
        imports=tuple(imports),
        call_style=call_style,
        check_style=check_style,
        metadata_style=_entry_style(EXPORT_METADATA, funcs.get(EXPORT_METADATA), True, problems),
        doc_style=_entry_style(EXPORT_DOC, funcs.get(EXPORT_DOC), True, problems),
        has_dealloc=funcs.get(EXPORT_DEALLOC) == _FIXED[EXPORT_DEALLOC],
        has_initialize=funcs.get(EXPORT_INITIALIZE) == _FIXED[EXPORT_INITIALIZE],
        has_abi_version=funcs.get(EXPORT_ABI_VERSION) == _FIXED[EXPORT_ABI_VERSION],
        problems=tuple(problems),
    )
