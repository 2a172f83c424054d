"""`hielements.toml`: the configured libraries of a workspace.

The data classes are the contract between the loader and the library kinds; `load_config` parses and
validates the file. It is parsed with tomli (TOML 1.1), never the standard library's tomllib, because the WASM
guide's multi-line inline `capabilities = { ... }` block must load.

Diagnostic codes (upstream's E510-E514, the rest are hie-tasks additions; upstream ignored such mistakes):

- E510 the file exists but cannot be read (or is not UTF-8)
- E511 TOML syntax error, at the parser's line and column
- E512 cannot infer a library's type
- E513 an external library without `executable` or `path`
- E514 a wasm library without `path`
- E515 an unknown key (top level, library entry or capability)
- E516 a value of the wrong type or outside the allowed set (`args = "x"`, `timeout_ms = -1`, `fs = "rw"`)
- E517 a key that belongs to the other kind of library (`capabilities` on an external entry)
- E518 a wasm `path` whose file does not exist
- E519 a `capabilities.write` list that is not allowed: not a list of workspace-relative directories, one that
  escapes the workspace or names a protected place (the workspace root, `.git/`, `.hie-cache/`, a directory
  holding a configured `.wasm`), or `fs = "write"` without a `write` list (and the reverse)
- E515/E516 also cover the `[cache]` table (the remote verdict cache, see `hie_tasks/remote/`)
- W510 (warning) a configured library replaces a built-in one (`files`, `python`, `rust`)
- W511 (warning) a library name that is not an identifier and so cannot be called from a .hie file
"""

from __future__ import annotations

import enum
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import tomli

from hie_tasks.diagnostics import Diagnostic, Span, error, warning

CONFIG_FILE = "hielements.toml"


class FsAccess(str, enum.Enum):
    NONE = "none"
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Capabilities:
    fs: FsAccess = FsAccess.NONE
    workspace_only: bool = True
    #: False = empty environment, True = the whole host environment, a tuple = only those variables
    env_access: bool | tuple[str, ...] = False
    #: workspace-relative directories (normalised, '/'-separated) preopened writable over a read-only
    #: workspace; the only places a plugin may modify (requires fs = "write")
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class WasmLibraryConfig:
    name: str
    #: absolute path of the .wasm file
    path: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    timeout_ms: int = 10_000
    max_memory_mb: int = 256
    max_output_mb: int = 16
    #: bounds of compiling a large module (a child process; see libraries/wasm/compiler.py)
    compile_timeout_ms: int = 60_000
    max_compile_memory_mb: int = 2048
    #: timeouts/crashes in a row after which the library's remaining calls fail at once
    max_consecutive_failures: int = 3
    #: longest check message kept (KiB); the rest is cut with a note
    max_message_kb: int = 64
    #: `type = "component"`: the file must be a WebAssembly component (libraries/wasm/component.py);
    #: otherwise the file's header decides between a core module and a component
    component: bool = False


@dataclass(frozen=True)
class ExternalLibraryConfig:
    name: str
    #: the program: an absolute path when the entry named a path, else the bare name looked up on PATH
    executable: str
    args: tuple[str, ...] = ()
    timeout_ms: int = 30_000
    max_output_mb: int = 64
    max_consecutive_failures: int = 3
    max_message_kb: int = 64


LibraryConfig = WasmLibraryConfig | ExternalLibraryConfig


@dataclass(frozen=True)
class CacheConfig:
    """The `[cache]` table: the shared remote verdict cache. Secrets are never here (see remote/settings.py)."""

    remote: str | None = None
    instance: str = ""
    mode: str | None = None
    token_env: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    timeout_ms: int = 10_000


@dataclass(frozen=True)
class WorkspaceConfig:
    #: absolute path of hielements.toml, or None when the workspace has none
    file: str | None
    libraries: tuple[LibraryConfig, ...] = ()
    cache: CacheConfig = field(default_factory=CacheConfig)


# ---------------------------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------------------------

BUILTIN_LIBRARIES = frozenset({"files", "python", "rust"})

_WASM_SUFFIX = ".wasm"
_MAX_WASM_MEMORY_MB = 4096  # wasm32 linear memory cannot grow past 4 GiB

_COMMON_KEYS = frozenset(
    {"type", "path", "timeout_ms", "max_output_mb", "max_consecutive_failures", "max_message_kb"}
)
_EXTERNAL_KEYS = _COMMON_KEYS | {"executable", "args"}
_WASM_KEYS = _COMMON_KEYS | {"capabilities", "max_memory_mb", "compile_timeout_ms", "max_compile_memory_mb"}
_ALL_KEYS = _EXTERNAL_KEYS | _WASM_KEYS
_CAPABILITY_KEYS = ("fs", "workspace_only", "env_access", "write")
#: Never writable by a plugin, whatever its `write` list says (workspace-relative).
PROTECTED_DIRS = (".git", ".hie-cache")
_LIBRARY_TYPES = ("external", "wasm", "component")
_KIND_NOUN = {"external": "an external library", "wasm": "a wasm library"}
_CACHE_KEYS = ("remote", "instance", "mode", "token_env", "ca_file", "cert_file", "key_file", "timeout_ms")
_CACHE_MODES = ("read-write", "read-only", "off")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ConfigError(Exception):
    """`hielements.toml` is unusable; `diagnostics` holds every problem found (errors and warnings)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.is_error]
        lines = [f"{d.file}:{d.line}:{d.column}: {d.severity.value}[{d.code}]: {d.message}" for d in errors]
        super().__init__(f"{len(errors)} error(s) in configuration:\n" + "\n".join(lines))


def load_config(workspace: str) -> tuple[WorkspaceConfig, list[Diagnostic]]:
    """Read `<workspace>/hielements.toml`.

    Returns the configuration and its warnings; raises `ConfigError` carrying every error of the file (not
    only the first) plus the warnings. A missing file is not an error: the workspace uses built-ins only.
    """
    workspace = os.path.abspath(workspace)
    file = os.path.join(workspace, CONFIG_FILE)
    if not os.path.lexists(file):
        return WorkspaceConfig(file=None), []
    try:
        with open(file, "rb") as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            [error("E510", f"Cannot read {CONFIG_FILE}: {reason}", Span.point(file, 1, 1),
                   help="make it a readable UTF-8 text file, or remove it to use the built-in libraries only")]
        ) from None
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        # tomli >= 2.1 carries the position; older ones only put it into the text.
        line = getattr(exc, "lineno", 1) or 1
        column = getattr(exc, "colno", 1) or 1
        raise ConfigError(
            [error("E511", f"TOML syntax error in {CONFIG_FILE}: {getattr(exc, 'msg', str(exc))}",
                   Span.point(file, line, column))]
        ) from None
    loader = _Loader(workspace, file, text)
    config = loader.load(data)
    if any(d.is_error for d in loader.diagnostics):
        raise ConfigError(loader.diagnostics)
    return config, loader.diagnostics


def _describe(value: object) -> str:
    """A value as TOML would call it, with a short rendering, for 'found …' in messages."""
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        kind = "array"
    elif isinstance(value, dict):
        kind = "table"
    else:
        kind = type(value).__name__  # dates and times
    text = json.dumps(value, ensure_ascii=False, default=str)
    return f"{kind} {text if len(text) <= 60 else text[:60] + '…'}"


def _inside(path: str, top: str) -> bool:
    """Whether `path` is `top` or below it (both absolute, normalised)."""
    path, top = os.path.normpath(path), os.path.normpath(top)
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def _write_problem(item: str) -> str | None:
    """Why `item` cannot be a write directory, judged on its text (the sandbox re-checks real paths)."""
    if os.path.isabs(item) or item.startswith("~"):
        return "is not workspace-relative"
    rel = os.path.normpath(item)
    if rel == os.curdir:
        return "is the workspace root (that would make hielements.toml and every plugin writable)"
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return "leaves the workspace"
    first = rel.split(os.sep, 1)[0]
    if first in PROTECTED_DIRS:
        return f"is inside {first}/, which is never writable"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Locator:
    """Best-effort positions of libraries and keys in the TOML text, so diagnostics point at the culprit.

    tomli returns plain dicts without positions; scanning the text for the entry's header (or `name =` line)
    and then for `key =` inside the entry's extent is enough for every layout the docs show.
    """

    _HEADER = re.compile(r"\s*\[\s*([^\]]*?)\s*\]")

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()

    @staticmethod
    def _name(name: str) -> str:
        return "(?:" + "|".join([re.escape(name), '"' + re.escape(name) + '"', "'" + re.escape(name) + "'"]) + ")"

    def _header_index(self, dotted: str) -> int | None:
        want = re.compile(r"\s*\[\s*" + dotted + r"\s*\]")
        for i, line in enumerate(self.lines):
            if want.match(line):
                return i
        return None

    def _section_end(self, header: int) -> int:
        end = header + 1
        while end < len(self.lines) and not self._HEADER.match(self.lines[end]):
            end += 1
        return end

    def _entry_extent(self, name: str) -> tuple[int, int, int, int] | None:
        """(first line, column of the entry, offset where its keys start, end line exclusive), or None."""
        lib = r"libraries\s*\.\s*" + self._name(name)
        header = self._header_index(lib)
        if header is not None:
            text = self.lines[header]
            return header, text.index("[") + 1, text.index("]") + 1, self._section_end(header)
        section = self._header_index("libraries")
        inline = re.compile(r"\s*" + self._name(name) + r"\s*=")
        start = section + 1 if section is not None else 0
        for i in range(start, len(self.lines)):
            if section is not None and self._HEADER.match(self.lines[i]):
                break
            match = inline.match(self.lines[i])
            if match:
                indent = len(self.lines[i]) - len(self.lines[i].lstrip())
                return i, indent + 1, match.end(), self._inline_end(i)
        return None

    def _inline_end(self, first: int) -> int:
        # An inline table may span lines (TOML 1.1); it ends where its braces balance.
        depth = 0
        for i in range(first, len(self.lines)):
            code = re.sub(r'"(?:\\.|[^"\\])*"|\'[^\']*\'', '""', self.lines[i]).split("#", 1)[0]
            depth += code.count("{") + code.count("[") - code.count("}") - code.count("]")
            if depth <= 0:
                return i + 1
        return len(self.lines)

    def cache_key(self, key: str) -> Span:
        """The `key =` line inside `[cache]` (the header when the key is not found)."""
        header = self._header_index("cache")
        if header is None:
            return Span.point(self.file, 1, 1)
        pattern = re.compile(r"\s*" + self._name(key) + r"\s*=")
        for i in range(header + 1, self._section_end(header)):
            match = pattern.match(self.lines[i])
            if match:
                column = len(self.lines[i]) - len(self.lines[i].lstrip()) + 1
                return Span(self.file, i + 1, column, i + 1, column + len(key))
        return Span(self.file, header + 1, 1, header + 1, len(self.lines[header]) + 1)

    def entry(self, name: str) -> Span:
        extent = self._entry_extent(name)
        if extent is None:
            return Span.point(self.file, 1, 1)
        line, column, _, _ = extent
        return Span(self.file, line + 1, column, line + 1, column + len(name))

    def key(self, name: str, *path: str) -> Span:
        """The span of `path` (e.g. `("capabilities", "fs")`) inside library `name`; the entry when not found."""
        extent = self._entry_extent(name)
        if extent is None:
            return Span.point(self.file, 1, 1)
        line, _, offset, end = extent
        if len(path) > 1:
            # The `[libraries.name.capabilities]` sub-table form.
            sub = self._header_index(r"libraries\s*\.\s*" + self._name(name) + r"\s*\.\s*" + re.escape(path[0]))
            if sub is not None:
                line, offset, end = sub, self.lines[sub].index("]") + 1, self._section_end(sub)
                path = path[1:]
        found = self.entry(name)
        for part in path:
            pattern = re.compile(r"(?<![\w\"'-])" + self._name(part) + r"\s*=")
            for i in range(line, end):
                match = pattern.search(self.lines[i], offset if i == line else 0)
                if match:
                    found = Span(self.file, i + 1, match.start() + 1, i + 1, match.start() + 1 + len(part))
                    line, offset = i, match.end()
                    break
            else:
                break
        return found


class _Loader:
    """Validates the parsed TOML, collecting every problem instead of stopping at the first."""

    def __init__(self, workspace: str, file: str, text: str) -> None:
        self.workspace = workspace
        self.file = file
        self.where = _Locator(file, text)
        self.diagnostics: list[Diagnostic] = []

    # -- reporting --------------------------------------------------------------------------------------------

    def _error(self, code: str, library: str | None, keys: tuple[str, ...], message: str, help: str) -> None:
        if library is None:
            span = Span.point(self.file, 1, 1)
        elif keys:
            span = self.where.key(library, *keys)
        else:
            span = self.where.entry(library)
        self.diagnostics.append(error(code, message, span, help))

    def _bad_value(self, library: str, keys: tuple[str, ...], found: object, allowed: str) -> None:
        self._error(
            "E516", library, keys,
            f"library '{library}': '{'.'.join(keys)}' must be {allowed}, found {_describe(found)}",
            f"in {CONFIG_FILE}, set '{'.'.join(keys)}' of library '{library}' to {allowed}",
        )

    # -- top level ----------------------------------------------------------------------------------------------

    def load(self, data: dict[str, Any]) -> WorkspaceConfig:
        for key in data:
            if key not in ("libraries", "cache"):
                self._error(
                    "E515", None, (),
                    f"unknown top-level key '{key}' in {CONFIG_FILE}",
                    "the top-level tables are [libraries] and [cache]",
                )
        cache = self._cache(data.get("cache", {}))
        libraries = data.get("libraries", {})
        if not isinstance(libraries, dict):
            self._error(
                "E516", None, (),
                f"'libraries' in {CONFIG_FILE} must be a table, found {_describe(libraries)}",
                "write [libraries.NAME] tables or a [libraries] table of NAME = { ... } entries",
            )
            libraries = {}
        loaded: list[LibraryConfig] = []
        for name, entry in libraries.items():
            lib = self._library(name, entry)
            if lib is not None:
                loaded.append(lib)
        self._write_over_plugins(loaded)
        return WorkspaceConfig(file=self.file, libraries=tuple(loaded), cache=cache)

    def _cache(self, raw: object) -> CacheConfig:
        def say(code: str, key: str, message: str, help: str) -> None:
            self.diagnostics.append(error(code, message, self.where.cache_key(key), help))

        def bad(key: str, found: object, allowed: str) -> None:
            say("E516", key, f"[cache] '{key}' in {CONFIG_FILE} must be {allowed}, found {_describe(found)}",
                f"in {CONFIG_FILE}, set [cache] {key} to {allowed}")

        if not isinstance(raw, dict):
            bad("cache", raw, 'a table such as [cache] remote = "grpc://HOST:PORT"')
            return CacheConfig()
        strings: dict[str, str] = {}
        for key, value in raw.items():
            if key in ("token", "secret", "password"):
                say("E515", key, f"[cache] '{key}' in {CONFIG_FILE}: secrets are never read from the repository",
                    "put the token in an environment variable ($HIE_TASKS_REMOTE_TOKEN, or the one named by"
                    " token_env) and the signing key in $HIE_TASKS_REMOTE_SECRET")
            elif key not in _CACHE_KEYS:
                say("E515", key, f"[cache]: unknown key '{key}' in {CONFIG_FILE}",
                    "allowed keys: " + ", ".join(_CACHE_KEYS))
            elif key == "timeout_ms":
                if not _is_int(value) or value <= 0:
                    bad(key, value, "a positive integer")
            elif not isinstance(value, str) or (key != "instance" and not value.strip()):
                bad(key, value, "a string" if key == "instance" else "a non-empty string")
            else:
                strings[key] = value
        remote = strings.get("remote")
        if remote is not None and remote != "off" and not remote.startswith(("grpc://", "grpcs://")):
            bad("remote", remote, '"grpc://HOST:PORT", "grpcs://HOST:PORT" or "off"')
            remote = None
        mode = strings.get("mode")
        if mode is not None and mode not in _CACHE_MODES:
            bad("mode", mode, " or ".join(f'"{m}"' for m in _CACHE_MODES))
            mode = None
        timeout = raw.get("timeout_ms", 10_000)
        return CacheConfig(
            remote=remote, instance=strings.get("instance", ""), mode=mode, token_env=strings.get("token_env"),
            ca_file=strings.get("ca_file"), cert_file=strings.get("cert_file"), key_file=strings.get("key_file"),
            timeout_ms=timeout if _is_int(timeout) and timeout > 0 else 10_000,
        )

    def _write_over_plugins(self, libraries: list[LibraryConfig]) -> None:
        """A write directory must not hold any configured plugin: a plugin could rewrite another one (or
        itself), and with it what every later run executes."""
        wasm = [lib.path for lib in libraries if isinstance(lib, WasmLibraryConfig)]
        for lib in libraries:
            if not isinstance(lib, WasmLibraryConfig):
                continue
            for rel in lib.capabilities.write:
                top = os.path.join(self.workspace, rel)
                for path in wasm:
                    if _inside(path, top):
                        self._error(
                            "E519", lib.name, ("capabilities", "write"),
                            f"library '{lib.name}': capabilities.write entry '{rel}' contains the configured "
                            f"plugin {os.path.relpath(path, self.workspace)}; plugins are never writable",
                            "write to a directory of its own, e.g. write = [\"out/\"], and keep .wasm files elsewhere",
                        )

    def _library(self, name: str, entry: object) -> LibraryConfig | None:
        if not isinstance(entry, dict):
            self._error(
                "E516", name, (),
                f"library '{name}' must be a table, found {_describe(entry)}",
                f'write {name} = {{ path = "plugins/{name}.wasm" }} or {name} = {{ executable = "..." }}',
            )
            return None
        if name in BUILTIN_LIBRARIES:
            self.diagnostics.append(warning(
                "W510", f"library '{name}' in {CONFIG_FILE} replaces the built-in '{name}' library",
                self.where.entry(name), help="rename the entry unless replacing the built-in is intended",
            ))
        elif not _IDENTIFIER.match(name):
            self.diagnostics.append(warning(
                "W511", f"library name '{name}' is not an identifier, so no .hie file can call it",
                self.where.entry(name), help="use letters, digits and underscores, starting with a letter",
            ))
        errors_before = sum(1 for d in self.diagnostics if d.is_error)
        for key in entry:
            if key not in _ALL_KEYS:
                self._error(
                    "E515", name, (key,),
                    f"library '{name}': unknown key '{key}'",
                    "allowed keys: " + ", ".join(sorted(_ALL_KEYS)),
                )
        kind = self._kind(name, entry)
        if kind is None:
            return None
        allowed = _WASM_KEYS if kind == "wasm" else _EXTERNAL_KEYS
        for key in entry:
            if key in _ALL_KEYS and key not in allowed:
                self._error(
                    "E517", name, (key,),
                    f"library '{name}': key '{key}' does not apply to {_KIND_NOUN[kind]}",
                    f"keys of {_KIND_NOUN[kind]}: " + ", ".join(sorted(allowed)),
                )
        lib: LibraryConfig | None
        lib = self._wasm(name, entry) if kind == "wasm" else self._external(name, entry)
        if sum(1 for d in self.diagnostics if d.is_error) > errors_before:
            return None
        return lib

    def _kind(self, name: str, entry: dict[str, Any]) -> str | None:
        """Upstream's inference order: `type`, then a `.wasm` path, then `executable`, then any `path`."""
        declared = entry.get("type")
        if declared is not None:
            if declared in _LIBRARY_TYPES:
                # A component is a wasm library with the same keys and sandbox.
                return "wasm" if declared == "component" else str(declared)
            self._bad_value(name, ("type",), declared, '"external", "wasm" or "component"')
            return None
        path = entry.get("path")
        if isinstance(path, str) and path.endswith(_WASM_SUFFIX):
            return "wasm"
        if "executable" in entry:
            return "external"
        if "path" in entry:
            return "external"
        self._error(
            "E512", name, (),
            f"library '{name}': Cannot infer library type: specify 'type', 'executable', or 'path' with .wasm extension",
            'add type = "wasm" with a path, or executable = "program" for an external plugin',
        )
        return None

    # -- typed fields -------------------------------------------------------------------------------------------

    def _string(self, name: str, entry: dict[str, Any], key: str) -> str | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self._bad_value(name, (key,), value, "a non-empty string")
            return None
        return value

    def _positive_int(self, name: str, entry: dict[str, Any], key: str, default: int, maximum: int | None = None) -> int:
        value = entry.get(key, default)
        if not _is_int(value) or value <= 0 or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self._bad_value(name, (key,), value, f"a positive integer{upper}")
            return default
        return int(value)

    def _resolve(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.workspace, os.path.expanduser(path)))

    # -- kinds --------------------------------------------------------------------------------------------------

    def _external(self, name: str, entry: dict[str, Any]) -> ExternalLibraryConfig | None:
        executable = self._string(name, entry, "executable")
        path = self._string(name, entry, "path")
        program = executable if executable is not None else path
        if program is None:
            if "executable" not in entry and "path" not in entry:
                self._error(
                    "E513", name, (),
                    f"library '{name}': No executable or path specified",
                    'add executable = "python3" (looked up on PATH) or path = "plugins/tool" (relative to the workspace)',
                )
            return None
        # A bare program name is looked up on PATH when spawned; anything with a separator is a path.
        if os.sep in program or (os.altsep and os.altsep in program) or "/" in program or program.startswith("~"):
            program = self._resolve(program)
        args: tuple[str, ...] = ()
        raw_args = entry.get("args", [])
        if isinstance(raw_args, list) and all(isinstance(a, str) for a in raw_args):
            args = tuple(raw_args)
        else:
            self._bad_value(name, ("args",), raw_args, 'a list of strings, e.g. ["plugin.py"]')
        timeout = self._positive_int(name, entry, "timeout_ms", ExternalLibraryConfig.timeout_ms)
        max_output = self._positive_int(name, entry, "max_output_mb", ExternalLibraryConfig.max_output_mb)
        failures, message_kb = self._run_bounds(name, entry)
        return ExternalLibraryConfig(name, program, args, timeout, max_output, failures, message_kb)

    def _run_bounds(self, name: str, entry: dict[str, Any]) -> tuple[int, int]:
        return (
            self._positive_int(name, entry, "max_consecutive_failures", WasmLibraryConfig.max_consecutive_failures),
            self._positive_int(name, entry, "max_message_kb", WasmLibraryConfig.max_message_kb),
        )

    def _wasm(self, name: str, entry: dict[str, Any]) -> WasmLibraryConfig | None:
        path = self._string(name, entry, "path")
        capabilities = self._capabilities(name, entry.get("capabilities", {}))
        timeout = self._positive_int(name, entry, "timeout_ms", WasmLibraryConfig.timeout_ms)
        memory = self._positive_int(name, entry, "max_memory_mb", WasmLibraryConfig.max_memory_mb, _MAX_WASM_MEMORY_MB)
        max_output = self._positive_int(name, entry, "max_output_mb", WasmLibraryConfig.max_output_mb)
        compile_timeout = self._positive_int(name, entry, "compile_timeout_ms", WasmLibraryConfig.compile_timeout_ms)
        compile_memory = self._positive_int(
            name, entry, "max_compile_memory_mb", WasmLibraryConfig.max_compile_memory_mb
        )
        if path is None:
            if "path" not in entry:
                self._error(
                    "E514", name, (),
                    f"library '{name}': No path specified for WASM library",
                    f'add path = "plugins/{name}.wasm" (relative to the workspace)',
                )
            return None
        resolved = self._resolve(path)
        if not os.path.isfile(resolved):
            what = "is not a file" if os.path.exists(resolved) else "does not exist"
            self._error(
                "E518", name, ("path",),
                f"library '{name}': 'path' names {resolved}, which {what}",
                "build the plugin first, or fix the path (it is relative to the workspace root)",
            )
            return None
        failures, message_kb = self._run_bounds(name, entry)
        return WasmLibraryConfig(
            name, resolved, capabilities, timeout, memory, max_output, compile_timeout, compile_memory,
            failures, message_kb, component=entry.get("type") == "component",
        )

    def _capabilities(self, name: str, raw: object) -> Capabilities:
        if not isinstance(raw, dict):
            self._bad_value(name, ("capabilities",), raw, 'a table such as { fs = "read", env_access = false }')
            return Capabilities()
        for key in raw:
            if key not in _CAPABILITY_KEYS:
                self._error(
                    "E515", name, ("capabilities", key),
                    f"library '{name}': unknown capability '{key}'",
                    "allowed capabilities: " + ", ".join(_CAPABILITY_KEYS),
                )
        fs = FsAccess.NONE
        raw_fs = raw.get("fs", "none")
        if isinstance(raw_fs, str) and raw_fs in {a.value for a in FsAccess}:
            fs = FsAccess(raw_fs)
        else:
            self._bad_value(name, ("capabilities", "fs"), raw_fs, '"none", "read" or "write"')
        workspace_only = raw.get("workspace_only", True)
        if not isinstance(workspace_only, bool):
            self._bad_value(name, ("capabilities", "workspace_only"), workspace_only, "true or false")
            workspace_only = True
        env: bool | tuple[str, ...] = False
        raw_env = raw.get("env_access", False)
        if isinstance(raw_env, bool):
            env = raw_env
        elif isinstance(raw_env, list) and all(isinstance(v, str) and v for v in raw_env):
            env = tuple(raw_env)
        else:
            self._bad_value(
                name, ("capabilities", "env_access"), raw_env,
                'true, false, or a list of variable names such as ["HOME"]',
            )
        write = self._write_list(name, raw.get("write"), fs, "fs" in raw)
        return Capabilities(fs, workspace_only, env, write)

    def _write_list(self, name: str, raw: object, fs: FsAccess, fs_given: bool) -> tuple[str, ...]:
        keys = ("capabilities", "write")
        if raw is None:
            if fs is FsAccess.WRITE:
                self._error(
                    "E519", name, ("capabilities", "fs"),
                    f"library '{name}': fs = \"write\" needs a 'write' list naming the directories the plugin "
                    "may modify (the workspace itself, hielements.toml, .git/ and the caches are never writable)",
                    'add write = ["out/"] to its capabilities (workspace-relative directories), or use fs = "read"',
                )
            return ()
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v.strip() for v in raw):
            self._bad_value(name, keys, raw, 'a non-empty list of workspace-relative directories, e.g. ["out/"]')
            return ()
        if fs is not FsAccess.WRITE:
            self._error(
                "E519", name, keys,
                f"library '{name}': capabilities.write is given but fs is \"{fs.value}\"",
                'set fs = "write" next to write = [...] (the rest of the workspace stays read-only)',
            )
            return ()
        out: list[str] = []
        for item in raw:
            problem = _write_problem(item)
            if problem is not None:
                self._error(
                    "E519", name, keys, f"library '{name}': capabilities.write entry '{item}' {problem}",
                    'list directories inside the workspace that the plugin owns, e.g. write = ["out/", "build/reports"]',
                )
                continue
            rel = os.path.normpath(item).replace(os.sep, "/")
            if rel not in out:
                out.append(rel)
        return tuple(out)


def library_span(config: WorkspaceConfig, name: str, *key: str) -> Span | None:
    """Where library `name` (or its `key` path, e.g. `("capabilities", "fs")`) is written in hielements.toml,
    for messages that tell the user which line to edit; None without a config file."""
    if config.file is None:
        return None
    try:
        with open(config.file, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    where = _Locator(config.file, text)
    return where.key(name, *key) if key else where.entry(name)
