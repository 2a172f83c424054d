"""WebAssembly components as hie-tasks libraries: the `hielements:plugin` world (plugins/sdk/wit/plugin.wit).

A `.wasm` whose header says "component" (layer 1), or any library declared `type = "component"`, is served
here instead of by `library.WasmLibrary`. The contract is ABI 1's, spelled as WIT: the same request fields,
the same tagged JSON values, the same verdicts and deps; the host needs no alloc/ptr/len protocol because
wasmtime's component runtime lifts and lowers strings, records and variants.

The sandbox is the core modules' one: the WASI configuration comes from `sandbox.sandbox_config` (fs
none/read/write as preopens, workspace_only, env_access), a store limit caps linear memory, an epoch
deadline caps time, stdout/stderr go to an `OutputCapture` shown under the check, and every call gets a
fresh store and instance. Components have their own engine (`ComponentEngine`): on-demand allocation,
because a componentize-py component holds several core instances, memories and tables and the pooling
allocator measured 3x slower per call for them (≈3.3 vs ≈1.1 ms). Compiled components go through the same
`ModuleCache` (its integrity checks included) as serialized components; compiling one takes seconds (an
18 MB CPython component: ≈7–14 s), so the first compile is announced on stderr with elapsed time.

Error codes are those of `hie_tasks.libraries.wasm` (E600–E617), plus:
  E618 the file's header is not a component although hielements.toml says type = "component"
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

import wasmtime
import wasmtime.component as wc

from hie_tasks.config import Capabilities, FsAccess, WasmLibraryConfig
from hie_tasks.libraries.base import CallContext, Library, LibraryDoc, Purity
from hie_tasks.libraries.jsonrpc import decode_bounded, parse_json
from hie_tasks.libraries.limits import cap_error, cap_message
from hie_tasks.libraries.wasm.engine import WasmEngine
from hie_tasks.libraries.wasm.library import (
    MIB,
    SandboxedPlugin,
    WasmLibrary,
    doc_from_json,
    read_wasm,
    sandbox_purity,
    sandbox_settings,
)
from hie_tasks.libraries.wasm.modcache import ArtifactKind, ModuleCache, default_module_cache
from hie_tasks.libraries.wasm.sandbox import OutputCapture, sandbox_config
from hie_tasks.model.codec import decode_check_result, decode_value, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Value

T = TypeVar("T")

#: The contract version `abi-version` must return (the same number as the core ABI's).
ABI_VERSION = 1
WORLD = "hielements:plugin"
EXPORTS = ("abi-version", "describe", "call", "check")
#: What a plugin component may import: WASI 0.2 and the world's own types-only interface.
_ALLOWED_IMPORTS = ("wasi:", "hielements:plugin/")
_MAGIC = b"\0asm"
#: Bytes 6–7 of the preamble: layer 0 = core module, 1 = component (the component-model binary format).
_COMPONENT_LAYER = b"\x01\x00"
_CORE_LAYER = b"\x00\x00"


def is_component(header: bytes) -> bool:
    return len(header) >= 8 and header[:4] == _MAGIC and header[6:8] == _COMPONENT_LAYER


def sniff_component(path: str) -> bool:
    """True when `path` starts like a component; unreadable or short files are left to the loader."""
    try:
        with open(path, "rb") as f:
            return is_component(f.read(8))
    except OSError:
        return False


def make_wasm_library(
    config: WasmLibraryConfig,
    workspace: str,
    module_cache: ModuleCache | None = None,
    *,
    protected: tuple[str, ...] = (),
) -> Library:
    """The registry's factory: a component or a core-module library for one wasm entry. Not prefetched:
    the caller prefetches what its plan imports (`Registry.prefetch`)."""
    if config.component or sniff_component(config.path):
        return ComponentLibrary(config, workspace, module_cache, prefetch=False, protected=protected)
    return WasmLibrary(config, workspace, module_cache, prefetch=False, protected=protected)


# ---- engine -------------------------------------------------------------------------------------------


class ComponentEngine(WasmEngine):
    """A WasmEngine without pooling, plus a component linker with WASI 0.2 (built once per process)."""

    def __init__(self) -> None:
        super().__init__(pooling=False)
        self.component_linker = wc.Linker(self.engine)
        self.component_linker.add_wasip2()
        # Serialized components and modules never share a key (the cache checks artifacts by kind).
        self.settings += ";component=1"


_shared: ComponentEngine | None = None
_shared_lock = threading.Lock()


def shared_component_engine() -> ComponentEngine:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ComponentEngine()
        return _shared


# ---- first-compile progress ---------------------------------------------------------------------------


class CompileProgress:
    """Says on stderr that a component is being compiled, and when it is done.

    Compiling an 18 MB CPython component takes seconds with no other sign of life, so a terminal gets a
    line with the elapsed time updated twice a second; a log (not a terminal) gets a start and an end line.
    """

    def __init__(self, label: str, size: int, stream: TextIO | None = None) -> None:
        self._label = label
        self._size = size
        self._stream = stream if stream is not None else sys.stderr
        self._done = threading.Event()
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())

    def _line(self, seconds: float) -> str:
        return (
            f"compiling {self._label} ({self._size / MIB:.1f} MiB; first use, cached afterwards) "
            f"… {seconds:.0f} s"
        )

    def _tick(self, started: float) -> None:
        while not self._done.wait(0.5):
            self._stream.write("\r" + self._line(time.monotonic() - started))
            self._stream.flush()

    def run(self, compile_: Callable[[], T]) -> T:
        started = time.monotonic()
        if self._tty:
            self._stream.write(self._line(0))
            self._stream.flush()
            threading.Thread(target=self._tick, args=(started,), daemon=True).start()
        else:
            print(f"compiling {self._label} ({self._size / MIB:.1f} MiB; first use, cached afterwards) …",
                  file=self._stream, flush=True)  # fmt: skip
        ok = False
        try:
            result = compile_()
            ok = True
            return result
        finally:
            self._done.set()
            took = time.monotonic() - started
            state = f"compiled in {took:.1f} s" if ok else f"compilation failed after {took:.1f} s"
            prefix = "\r" + self._line(took) + " — " if self._tty else f"{self._label}: "
            self._stream.write(prefix + state + "\n")
            self._stream.flush()


def component_kind(label: str, progress: TextIO | None = None) -> ArtifactKind:
    """The module cache's recipe for components, compiling with a progress display."""

    def compile_(engine: wasmtime.Engine, data: bytes) -> wc.Component:
        return CompileProgress(label, len(data), progress).run(lambda: wc.Component(engine, data))

    return ArtifactKind(compile_, wc.Component.deserialize)


# ---- answers ------------------------------------------------------------------------------------------


@dataclass
class _Request:
    """Lowered by wasmtime into the world's `request` record (fields are read by name)."""

    function: str
    args: list[str]
    workspace: str


_TRACEBACK_LAST = re.compile(r"^(\w+(?:\.\w+)*(?:Error|Exception|Exit|Interrupt|Warning)\b.*)$", re.M)
_PANIC = re.compile(r"panicked at [^\n]*:\n(.+)")
#: What CPython prints instead of a traceback when it cannot format one (out of memory, lost stderr).
_UNPRINTABLE = re.compile(r"^object type name: (\w+)$", re.M)


def _guest_reason(output: str) -> str | None:
    """What the guest said went wrong, from its stderr: a Python exception line or a runtime panic."""
    tail = output[-8192:]
    lines = [m.group(1).strip() for m in _TRACEBACK_LAST.finditer(tail)]
    python = [line for line in lines if line]
    if python:
        return f"the Python code raised {python[-1]}"
    unprintable = _UNPRINTABLE.findall(tail)
    if unprintable:
        return f"the Python code raised {unprintable[-1]}"
    panic = _PANIC.findall(tail)
    return f"the component's runtime failed: {panic[-1].strip()}" if panic else None


def _cause(message: str) -> str:
    """The last line of wasmtime's error text (which starts with a backtrace)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


#: How a refused file operation reads in a guest (WASI errno names and Python's OSError texts).
_REFUSED = re.compile(
    r"No such file or directory|Permission denied|Operation not permitted|Read-only file system|"
    r"Not capable|Errno (?:2|13|44|63|69|76)\b"
)


def capability_hint(caps: Capabilities, message: str) -> str:
    """`message` plus which grant is missing, when it reads like a file operation the sandbox refused."""
    if not _REFUSED.search(message):
        return message
    if caps.fs is FsAccess.NONE:
        return (
            f'{message} (this plugin has fs = "none", so it sees no files; grant '
            'capabilities = { fs = "read" } in hielements.toml to let it read the workspace)'
        )
    if caps.fs is FsAccess.READ:
        return (
            f'{message} (this plugin has fs = "read": the workspace only, read-only; '
            'fs = "write" allows writing, workspace_only = false files outside it)'
        )
    return message


def _field(record: Any, name: str) -> Any:
    return getattr(record, name, None)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _size(value: Any) -> int:
    """Bytes of text in a lifted answer (what max_output_mb bounds)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    if isinstance(value, wc.Variant):
        return _size(value.payload)
    if isinstance(value, wc.Record):
        return sum(_size(v) for v in vars(value).values())
    return 8


@dataclass(frozen=True)
class _Loaded:
    component: wc.Component
    info: dict[str, Any]
    note: str


class ComponentLibrary(SandboxedPlugin["_Loaded"]):
    """A component plugin. Thread-safe: every call gets its own store and instance."""

    kind = "wasm"

    def __init__(
        self,
        config: WasmLibraryConfig,
        workspace: str,
        module_cache: ModuleCache | None = None,
        engine: ComponentEngine | None = None,
        *,
        prefetch: bool = True,
        progress: TextIO | None = None,
        protected: tuple[str, ...] = (),
    ) -> None:
        """As `WasmLibrary`: `prefetch` loads in the background now; `protected` paths no
        `capabilities.write` directory may expose."""
        super().__init__(config.name)
        self._init_sandboxed(config, workspace, module_cache, protected)
        self._engine = engine
        self._progress = progress
        if prefetch:
            self.prefetch()

    @property
    def label(self) -> str:
        return f"WASM component '{self.name}' ({self.config.path})"

    # ---- loading --------------------------------------------------------------------------------------

    def interface(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(exports as (name, "component func"), import names), for `plugins inspect`."""
        ty = self._ensure_loaded().component.type
        engine = self._engine_now().engine
        return [(name, "component func") for name in ty.exports(engine)], list(ty.imports(engine))

    def load_note(self) -> str:
        """Load, and say where the compiled component came from (compiled, or the module cache)."""
        return self._ensure_loaded().note

    def _prefetch(self) -> None:
        # Reading, verifying and deserializing a cached CPython component takes tens of ms of native
        # work; started at registry build it overlaps the run's planning (see WasmLibrary._prefetch).
        try:
            self._ensure_loaded()
        except Exception:  # the first real use raises and reports the same error
            pass

    def _engine_now(self) -> ComponentEngine:
        if self._engine is None:
            self._engine = shared_component_engine()
        return self._engine

    def _load(self) -> _Loaded:
        data = read_wasm(self.config.path, self.label)
        self._digest = hashlib.sha256(data).hexdigest()
        if not is_component(data[:8]):
            what = (
                "a core WebAssembly module"
                if data[6:8] == _CORE_LAYER and data[:4] == _MAGIC
                else "not WebAssembly"
            )
            raise LibraryError(
                "E618",
                f'{self.label}: hielements.toml says type = "component" but the file is {what}; '
                "drop the type (a core module is detected) or rebuild it as a component",
            )
        engine = self._engine_now()
        cache = self._cache or default_module_cache()
        try:
            component, facts, note = cache.load_artifact(
                engine, data, self.config.path, self._facts, component_kind(self.label, self._progress)
            )
        except wasmtime.WasmtimeError as exc:
            raise LibraryError(
                "E601",
                f"{self.label} is not a valid WebAssembly component ({_cause(str(exc))}); rebuild the plugin",
            ) from None
        problems = facts.get("problems")
        if isinstance(problems, list) and problems:
            code = "E602" if any(str(p).startswith("imports ") for p in problems) else "E603"
            raise LibraryError(
                code, f"{self.label} does not implement the {WORLD} world: " + "; ".join(map(str, problems))
            )
        version = facts.get("abi_version")
        if version != ABI_VERSION:
            raise LibraryError(
                "E604",
                f"{self.label}: abi-version() returned {version}; this host supports {ABI_VERSION} — rebuild "
                "the plugin against a matching SDK",
            )
        info = facts.get("info")
        return _Loaded(component, info if isinstance(info, dict) else {}, note)

    def _facts(self, component: wc.Component) -> dict[str, Any]:
        """The world check, abi-version() and describe(), once per compiled component (kept in the cache
        entry: they depend only on the component's bytes, and asking costs an instance of CPython)."""
        engine = self._engine_now()
        ty = component.type
        problems = [
            f"imports {name}, which no plugin may use (only wasi:* and {WORLD}/types)"
            for name in ty.imports(engine.engine)
            if not name.startswith(_ALLOWED_IMPORTS)
        ]
        exports = ty.exports(engine.engine)
        problems += [f"does not export `{name}`" for name in EXPORTS if name not in exports]
        if problems:
            return {"problems": problems}
        loaded = _Loaded(component, {}, "")
        version = self._with_instance(
            loaded,
            "abi-version",
            None,
            lambda store, inst: self._func(store, inst, "abi-version")(store),
            True,
        )
        info = self._with_instance(
            loaded, "describe", None, lambda store, inst: self._func(store, inst, "describe")(store), True
        )
        return {"abi_version": version, "info": _info_json(info)}

    # ---- one fresh instance -----------------------------------------------------------------------------

    def _func(self, store: wasmtime.Store, inst: wc.Instance, name: str) -> wc.Func:
        func = inst.get_func(store, name)
        if func is None:
            raise LibraryError("E603", f"{self.label} does not export `{name}`")
        return func

    def _with_instance(
        self,
        loaded: _Loaded,
        function: str,
        capture: OutputCapture | None,
        body: Callable[[wasmtime.Store, wc.Instance], T],
        load_phase: bool = False,
    ) -> T:
        engine = self._engine_now()
        caps = Capabilities() if load_phase else self.config.capabilities
        wasi = sandbox_config(caps, self.workspace, () if load_phase else self._writable_dirs())
        # Load-phase instances print nowhere visible, but still into a buffer (a reason for a failure).
        sink = capture if capture is not None else OutputCapture()
        wasi.stdout_custom = sink.write
        wasi.stderr_custom = sink.write
        store = wasmtime.Store(engine.engine)
        engine.slots.acquire()
        engine.ticker.enter()
        try:
            store.set_wasi(wasi)
            store.set_limits(memory_size=self._memory_limit)
            store.set_epoch_deadline(engine.ticker.deadline_ticks(self.config.timeout_ms))
            inst = engine.component_linker.instantiate(store, loaded.component)
            return body(store, inst)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise self._trap_error(exc, sink.text(), function, load_phase) from None
        except (TypeError, ValueError, AttributeError) as exc:
            # Lowering the request failed: the export's parameter types are not the world's.
            raise LibraryError(
                "E603",
                f"{self.label}, function '{function}': `{function}` does not have the {WORLD} type ({exc})",
            ) from None
        finally:
            engine.ticker.exit()
            engine.slots.release()
            store.close()

    def _trap_error(self, exc: Exception, output: str, function: str, load_phase: bool) -> LibraryError:
        where = f"{self.label}, function '{function}'"
        message = str(exc)
        cause = _cause(message)
        if isinstance(exc, wasmtime.ExitTrap):
            return LibraryError(
                "E605" if load_phase else "E610", f"{where}: the plugin exited with status {exc.code}"
            )
        if cause.endswith("wasm trap: interrupt") or "wasm trap: interrupt" in message:
            return LibraryError("E611", f"{where}: timed out after {self.config.timeout_ms} ms (timeout_ms)")
        guest = _guest_reason(output)
        if (guest and "MemoryError" in guest) or ("memory" in cause.lower() and "limit" in cause.lower()):
            return LibraryError(
                "E612",
                f"{where}: memory limit of {self.config.max_memory_mb} MiB reached (max_memory_mb); "
                f"{guest or cause}",
            )
        if "stack overflow" in cause or "call stack exhausted" in cause:
            return LibraryError("E610", f"{where}: wasm stack overflow (too deep recursion)")
        reason = guest or f"trapped: {cause}"
        if "wasm trap" not in cause and guest is None:
            reason = f"failed: {cause}"
        return LibraryError("E605" if load_phase else "E610", f"{where}: {reason}")

    # ---- calls --------------------------------------------------------------------------------------------

    def _exchange(self, export: str, function: str, args: list[Value], ctx: CallContext) -> Any:
        loaded = self._ensure_loaded()
        if self._note_pending:
            self._note_pending = False
            ctx.notes.append(f"{self.name}: {loaded.note}")
        request = _Request(
            function,
            [json.dumps(encode_value(a), ensure_ascii=False, separators=(",", ":")) for a in args],
            self.workspace,
        )
        capture = OutputCapture()
        try:
            answer = self._with_instance(
                loaded, function, capture, lambda store, inst: self._func(store, inst, export)(store, request)
            )
        finally:
            ctx.record_output(capture.text())
        where = f"{self.label}, function '{function}'"
        if _size(answer) > self._output_limit:
            raise LibraryError("E614", f"{where}: answer exceeds max_output_mb = {self.config.max_output_mb}")
        for dep in _strings(_field(answer, "deps")):
            ctx.record_dep(dep)
        return answer

    def _outcome(self, answer: Any, field: str, function: str) -> tuple[str, Any]:
        outcome = _field(answer, field)
        if not isinstance(outcome, wc.Variant):
            raise LibraryError(
                "E615", f"{self.label}, function '{function}': answer has no `{field}` variant ({answer!r})"
            )
        return outcome.tag, outcome.payload

    def _guarded(self, export: str, function: str, args: list[Value], ctx: CallContext) -> Any:
        """One exchange under the library's failure breaker, with long error messages capped."""
        try:
            return self.breaker.guard(
                f"'{self.name}.{function}'", lambda: self._exchange(export, function, args, ctx)
            )
        except LibraryError as exc:
            raise cap_error(exc, self.config.max_message_kb) from None

    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value:
        tag, payload = self._outcome(self._guarded("call", function, args, ctx), "value", function)
        if tag == "error":
            raise cap_error(
                LibraryError("E616", capability_hint(self.config.capabilities, str(payload))),
                self.config.max_message_kb,
            )
        try:
            return decode_bounded(decode_value, parse_json(str(payload)))
        except ValueError as exc:
            snippet = str(payload)[:200]
            raise LibraryError(
                "E615",
                f"{self.label}, function '{function}': value is not a JSON-encoded value ({exc}); it was: {snippet}",
            ) from None

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        tag, payload = self._outcome(self._guarded("check", function, args, ctx), "verdict", function)
        if tag == "error":
            payload = capability_hint(self.config.capabilities, str(payload))
        verdict = {"pass": {"Pass": None}, "fail": {"Fail": payload}, "error": {"Error": payload}}.get(tag)
        result = decode_check_result(verdict if verdict is not None else {"Error": f"unknown verdict {tag!r}"})
        return cap_message(result, self.config.max_message_kb)

    # ---- description, identity ------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any] | None:
        info = self._ensure_loaded().info
        return {
            "name": info.get("name", self.name),
            "version": info.get("version", ""),
            "functions": [f["name"] for f in info.get("functions", [])],
            "checks": [f["name"] for f in info.get("checks", [])],
        }

    def documentation(self) -> LibraryDoc:
        fallback = f"WASM component: {self.config.path}"
        try:
            info = self._ensure_loaded().info
        except LibraryError:
            return LibraryDoc(self.name, fallback, "")
        return doc_from_json(info, self.name, fallback)

    def identity(self) -> str:
        try:
            digest = self._digest or hashlib.sha256(read_wasm(self.config.path, self.label)).hexdigest()
        except LibraryError:
            digest = "unreadable"
        return f"component:{digest}:{sandbox_settings(self.config)}"

    def identity_files(self) -> tuple[str, ...]:
        return (self.config.path,)

    def purity(self) -> Purity:
        return sandbox_purity(self.config.capabilities)



def _function_json(doc: Any) -> dict[str, Any]:
    return {
        "name": str(_field(doc, "name") or ""),
        "description": str(_field(doc, "description") or ""),
        "parameters": [
            {
                "name": str(_field(p, "name") or ""),
                "type": str(_field(p, "ty") or ""),
                "description": str(_field(p, "description") or ""),
            }
            for p in _field(doc, "params") or []
        ],
        "return_type": str(_field(doc, "returns") or ""),
        "example": str(_field(doc, "example") or ""),
    }


def _info_json(info: Any) -> dict[str, Any]:
    """describe()'s record as the external protocol's `library.doc` JSON (what the cache stores)."""
    return {
        "name": str(_field(info, "name") or ""),
        "version": str(_field(info, "version") or ""),
        "description": str(_field(info, "description") or ""),
        "functions": [_function_json(f) for f in _field(info, "selectors") or []],
        "checks": [_function_json(f) for f in _field(info, "checks") or []],
    }
