"""The hie-tasks Python plugin SDK: write selectors and checks as typed Python functions, build a sandboxed
WebAssembly component with `hie-tasks plugins build` (componentize-py), never touch WIT.

    from hielements import Context, Fail, Pass, Plugin, Scope, WitWorld  # WitWorld: the component's entry

    plugin = Plugin("mylib", version="0.1.0", description="My checks")

    @plugin.selector(example="scope src = mylib.files('src')")
    def files(ctx: Context, path: str) -> Scope:
        "Regular files below a folder."
        return Scope.folder(path, ctx.walk_files(path))

    @plugin.check(example="check mylib.min_files(src, 1)")
    def min_files(scope: Scope, n: int) -> Pass | Fail:
        "At least n files."
        if len(scope.paths) >= n:
            return Pass()
        return Fail(f"Expected at least {n} files, found {len(scope.paths)}")

Arguments are decoded from the host's tagged values by each parameter's annotation: `str`, `int` (a Float
is truncated, as the built-in libraries do), `float`, `bool`, `Scope`, `list` (items as plain Python
values), `Any`/no annotation (the tagged JSON as it came). A parameter annotated `Context` (first) gets the
call's context: the workspace, helpers that read files and record them as deps, a walker. A wrong argument
is an Error verdict "<fn> requires a scope as first argument", as in the C SDK. An exception escaping a
function becomes an Error verdict naming it (its traceback goes to stderr, shown under the check).

Selectors return a `Scope`, `str`, `int`, `float`, `bool`, a list of those, or `Error("message")`. Checks
return `Pass()`, `Fail(message)`, `Error(message)` or a bool. The component runs with a fresh interpreter
state per call: module globals do not survive between calls.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Context",
    "Error",
    "Fail",
    "Pass",
    "Plugin",
    "PluginError",
    "Scope",
    "WitWorld",
    "decode",
    "encode",
]

# ---- the value model -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A set of files: `kind` is "File", "Folder" or "Glob", `text` what the selector was given."""

    kind: str
    text: str
    paths: tuple[str, ...] = ()
    resolved: bool = True

    @staticmethod
    def folder(text: str, paths: list[str] | tuple[str, ...]) -> Scope:
        return Scope("Folder", text, tuple(sorted(paths)))

    @staticmethod
    def file(text: str, paths: list[str] | tuple[str, ...]) -> Scope:
        return Scope("File", text, tuple(sorted(paths)))

    @staticmethod
    def glob(text: str, paths: list[str] | tuple[str, ...]) -> Scope:
        return Scope("Glob", text, tuple(sorted(paths)))


@dataclass(frozen=True)
class Pass:
    pass


@dataclass(frozen=True)
class Fail:
    message: str


@dataclass(frozen=True)
class Error:
    message: str


class PluginError(Exception):
    """Raise it anywhere in a function to answer with an Error verdict carrying just `message`."""


def _scope_from(tagged: Any) -> Scope | None:
    inner = tagged.get("Scope") if isinstance(tagged, dict) else None
    if not isinstance(inner, dict):
        return None
    kind = inner.get("kind")
    kind_name, text = next(iter(kind.items())) if isinstance(kind, dict) and kind else ("Folder", "")
    paths = inner.get("paths") or []
    return Scope(str(kind_name), str(text), tuple(str(p) for p in paths), bool(inner.get("resolved", True)))


def _untag(tagged: Any) -> Any:
    """A tagged value as plain Python: strings, numbers, bools, None, lists, Scope."""
    if isinstance(tagged, dict) and len(tagged) == 1:
        tag, inner = next(iter(tagged.items()))
        if tag in ("String", "Int", "Float", "Bool"):
            return inner
        if tag == "List":
            return [_untag(v) for v in inner] if isinstance(inner, list) else []
        if tag == "Scope":
            return _scope_from(tagged)
    return tagged


def decode(tagged: Any, want: Any) -> tuple[bool, Any]:
    """(ok, value): `tagged` as the Python type `want`; tolerant like the host (bare JSON accepted)."""
    plain = _untag(tagged)
    if want in (Any, inspect.Parameter.empty, object):
        return True, tagged
    if want is Scope:
        return isinstance(plain, Scope), plain
    if want is bool:
        return isinstance(plain, bool), plain
    if want is int:
        if isinstance(plain, bool) or not isinstance(plain, (int, float)) or not math.isfinite(plain):
            return False, None
        return True, int(plain)
    if want is float:
        ok = isinstance(plain, (int, float)) and not isinstance(plain, bool)
        return ok, float(plain) if ok else None
    if want is str:
        return isinstance(plain, str), plain
    if want is list or typing.get_origin(want) is list:
        return isinstance(plain, list), plain
    return True, plain


def encode(value: Any) -> Any:
    """A Python value as the host's tagged JSON."""
    if isinstance(value, Scope):
        return {
            "Scope": {"kind": {value.kind: value.text}, "paths": sorted(value.paths), "resolved": value.resolved}
        }
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"Int": value}
    if isinstance(value, float):
        return {"Float": value}
    if isinstance(value, str):
        return {"String": value}
    if isinstance(value, (list, tuple)):
        return {"List": [encode(v) for v in value]}
    if isinstance(value, dict):
        return value  # already tagged
    raise TypeError(f"cannot return a {type(value).__name__} to hie-tasks")


# ---- the call context ------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a function may know about its call, and how it reports files it read (deps)."""

    workspace: str
    function: str
    deps: list[str] = field(default_factory=list)

    def path(self, rel: str) -> str:
        """`rel` relative to the workspace (an absolute path stays as it is)."""
        return os.path.normpath(os.path.join(self.workspace, rel))

    def depend(self, path: str) -> None:
        """Record that the answer depends on `path` (which may not exist: creating it reruns the check)."""
        full = self.path(path)
        if full not in self.deps:
            self.deps.append(full)

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        """Read a workspace file and record it as a dep. Needs fs = "read" in hielements.toml."""
        self.depend(path)
        with open(self.path(path), encoding=encoding, errors="replace") as f:
            return f.read()

    def read_bytes(self, path: str) -> bytes:
        self.depend(path)
        with open(self.path(path), "rb") as f:
            return f.read()

    def walk_files(self, folder: str) -> list[str]:
        """Every regular file below `folder` (recursive, hidden included, symlinks skipped), sorted and
        absolute. An unreadable or missing folder gives []: without fs = "read" nothing is visible."""
        found: list[str] = []
        stack = [self.path(folder)]
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    found.append(entry.path)
        return sorted(found)

    def relative(self, path: str) -> str:
        """`path` relative to the workspace, for messages."""
        return os.path.relpath(path, self.workspace) if os.path.isabs(path) else path


# ---- registration ----------------------------------------------------------------------------------------

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_NOUNS = {Scope: "a scope", str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list"}
_TYPE_NAMES = {Scope: "Scope", str: "String", int: "Int", float: "Float", bool: "Bool", list: "List"}


@dataclass
class _Param:
    name: str
    annotation: Any
    description: str


@dataclass
class _Function:
    name: str
    func: Callable[..., Any]
    description: str
    example: str
    wants_context: bool
    params: list[_Param]
    returns: str


class Plugin:
    """The library a module defines. Create exactly one; decorate functions with `selector` / `check`."""

    def __init__(self, name: str, version: str = "0.1.0", description: str = "") -> None:
        global _PLUGIN
        self.name = name
        self.version = version
        self.description = description
        self.selectors: dict[str, _Function] = {}
        self.checks: dict[str, _Function] = {}
        _PLUGIN = self

    def selector(self, func: Callable[..., Any] | None = None, *, example: str = "", params: dict[str, str] | None = None) -> Any:
        """Register a selector (`scope s = lib.fn(...)`). `params` describes parameters for `hie-tasks doc`."""
        return self._register(self.selectors, "Scope", func, example, params)

    def check(self, func: Callable[..., Any] | None = None, *, example: str = "", params: dict[str, str] | None = None) -> Any:
        """Register a check (`check lib.fn(...)`)."""
        return self._register(self.checks, "CheckResult", func, example, params)

    def _register(
        self,
        table: dict[str, _Function],
        returns: str,
        func: Callable[..., Any] | None,
        example: str,
        params: dict[str, str] | None,
    ) -> Any:
        def add(f: Callable[..., Any]) -> Callable[..., Any]:
            hints = typing.get_type_hints(f)
            sig = inspect.signature(f)
            names = list(sig.parameters)
            wants_context = bool(names) and hints.get(names[0]) is Context
            described = params or {}
            table[f.__name__] = _Function(
                name=f.__name__,
                func=f,
                description=(inspect.getdoc(f) or "").split("\n\n")[0].replace("\n", " "),
                example=example,
                wants_context=wants_context,
                params=[
                    _Param(n, hints.get(n, Any), described.get(n, ""))
                    for n in names[1 if wants_context else 0 :]
                ],
                returns=returns,
            )
            return f

        return add(func) if func is not None else add

    # -- dispatch (pure Python: the component entry points below only convert to and from WIT types) --

    def _decode_args(self, fn: _Function, args: list[Any]) -> list[Any] | Error:
        values: list[Any] = []
        for i, param in enumerate(fn.params):
            if i >= len(args):
                return Error(f"{fn.name} requires {len(fn.params)} argument(s), got {len(args)}")
            ok, value = decode(args[i], param.annotation)
            if not ok:
                noun = _NOUNS.get(param.annotation, "another value")
                where = f"{_ORDINALS[i]} argument" if i < len(_ORDINALS) else f"argument {i + 1}"
                return Error(f"{fn.name} requires {noun} as {where}")
            values.append(value)
        return values

    def _run(self, fn: _Function, request: dict[str, Any]) -> tuple[Any, list[str]]:
        ctx = Context(str(request.get("workspace", "")), fn.name)
        decoded = self._decode_args(fn, list(request.get("args") or []))
        if isinstance(decoded, Error):
            return decoded, ctx.deps
        try:
            result = fn.func(ctx, *decoded) if fn.wants_context else fn.func(*decoded)
        except PluginError as exc:
            return Error(str(exc)), ctx.deps
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return Error(f"{self.name}.{fn.name} raised {type(exc).__name__}: {exc}"), ctx.deps
        return result, ctx.deps

    def call(self, request: dict[str, Any]) -> tuple[Any, list[str]]:
        """(value or Error, deps) for a selector request."""
        fn = self.selectors.get(str(request.get("function")))
        if fn is None:
            return Error(f"Unknown function: {self.name}.{request.get('function')}"), []
        return self._run(fn, request)

    def run_check(self, request: dict[str, Any]) -> tuple[Pass | Fail | Error, list[str]]:
        """(verdict, deps) for a check request."""
        fn = self.checks.get(str(request.get("function")))
        if fn is None:
            return Error(f"Unknown check function: {self.name}.{request.get('function')}"), []
        result, deps = self._run(fn, request)
        if result is True:
            result = Pass()
        elif result is False:
            result = Fail(f"{fn.name} failed")
        if not isinstance(result, (Pass, Fail, Error)):
            result = Error(f"{self.name}.{fn.name} returned {type(result).__name__}, not Pass(), Fail(...) or Error(...)")
        return result, deps

    def describe(self) -> dict[str, Any]:
        def doc(fn: _Function) -> dict[str, Any]:
            return {
                "name": fn.name,
                "description": fn.description,
                "params": [
                    {"name": p.name, "ty": _TYPE_NAMES.get(p.annotation, "Value"), "description": p.description}
                    for p in fn.params
                ],
                "returns": fn.returns,
                "example": fn.example,
            }

        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "selectors": [doc(f) for f in self.selectors.values()],
            "checks": [doc(f) for f in self.checks.values()],
        }


_PLUGIN: Plugin | None = None


def _plugin() -> Plugin:
    if _PLUGIN is None:
        raise RuntimeError("the plugin module defines no hielements.Plugin(...)")
    return _PLUGIN


# ---- the component's entry points (the `plugin` world of plugins/sdk/wit/plugin.wit) --------------------


def _request(req: Any) -> dict[str, Any]:
    args: list[Any] = []
    for raw in req.args:
        try:
            args.append(json.loads(raw))
        except ValueError:
            args.append(raw)
    return {"function": req.function, "args": args, "workspace": req.workspace}


class WitWorld:
    """componentize-py instantiates this class from the plugin's module (import it there)."""

    def abi_version(self) -> int:
        return 1

    def describe(self) -> Any:
        from wit_world.imports import types as t

        info = _plugin().describe()

        def fdoc(d: dict[str, Any]) -> Any:
            params = [t.ParamDoc(p["name"], p["ty"], p["description"]) for p in d["params"]]
            return t.FunctionDoc(d["name"], d["description"], params, d["returns"], d["example"])

        return t.LibraryInfo(
            info["name"],
            info["version"],
            info["description"],
            [fdoc(d) for d in info["selectors"]],
            [fdoc(d) for d in info["checks"]],
        )

    def call(self, req: Any) -> Any:
        from wit_world.imports import types as t

        result, deps = _plugin().call(_request(req))
        if isinstance(result, Error):
            return t.CallAnswer(t.CallValue_Error(result.message), deps)
        try:
            text = json.dumps(encode(result), ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            return t.CallAnswer(t.CallValue_Error(f"{_plugin().name}.{req.function}: {exc}"), deps)
        return t.CallAnswer(t.CallValue_Value(text), deps)

    def check(self, req: Any) -> Any:
        from wit_world.imports import types as t

        verdict, deps = _plugin().run_check(_request(req))
        if isinstance(verdict, Pass):
            return t.CheckAnswer(t.Verdict_Pass(), deps)
        if isinstance(verdict, Fail):
            return t.CheckAnswer(t.Verdict_Fail(str(verdict.message)), deps)
        return t.CheckAnswer(t.Verdict_Error(str(verdict.message)), deps)
