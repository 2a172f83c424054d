"""`WasmLibrary`: a `.wasm` plugin served as a hie-tasks Library, one fresh sandboxed instance per call."""

from __future__ import annotations

import _thread
import atexit
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import wasmtime

from hie_tasks.config import Capabilities, FsAccess, WasmLibraryConfig
from hie_tasks.libraries.base import CallContext, FunctionDoc, Library, LibraryDoc, ParamDoc, Purity
from hie_tasks.libraries.jsonrpc import decode_bounded, parse_json
from hie_tasks.libraries.limits import FailureBreaker, cap_error, cap_message, run_deadline
from hie_tasks.libraries.wasm import abi
from hie_tasks.libraries.wasm.compiler import CompileLimits
from hie_tasks.libraries.wasm.engine import WasmEngine, shared_engine
from hie_tasks.libraries.wasm.fastcall import CallTrap, FreshInstance, PreparedModule
from hie_tasks.libraries.wasm.modcache import CachedModule, FactsFn, ModuleCache, default_module_cache
from hie_tasks.libraries.wasm.sandbox import OutputCapture, sandbox_config, writable_dirs
from hie_tasks.model.codec import decode_check_result, decode_value, dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Value

MIB = 1024 * 1024
_U32 = 0xFFFF_FFFF
_SNIPPET = 200
T = TypeVar("T")

_ALLOC = abi.EXPORT_ALLOC.encode()
_DEALLOC = abi.EXPORT_DEALLOC.encode()
_INITIALIZE = abi.EXPORT_INITIALIZE.encode()
_ABI_VERSION = abi.EXPORT_ABI_VERSION.encode()


def _snippet(data: bytes) -> str:
    text = data[:_SNIPPET].decode("utf-8", errors="replace")
    return text + ("…" if len(data) > _SNIPPET else "")


def _trap_summary(message: str) -> str:
    """The cause line of a wasmtime trap message (which starts with a backtrace header)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown trap"


def capabilities_json(caps: Capabilities) -> dict[str, Any]:
    env: bool | list[str] = list(caps.env_access) if isinstance(caps.env_access, tuple) else caps.env_access
    out: dict[str, Any] = {"fs": caps.fs.value, "workspace_only": caps.workspace_only, "env_access": env}
    if caps.write:
        out["write"] = list(caps.write)
    return out


def granted_env_digest(caps: Capabilities) -> str | None:
    """A digest of the values of the environment variables a plugin is granted (all of them for
    env_access = true), or None when it is granted none. Part of the library identity, so a check that
    read $HOME reruns when $HOME changes; hashed, because identities end up in the result store."""
    env = caps.env_access
    if env is False:
        return None
    granted = dict(os.environ) if env is True else {name: os.environ.get(name) for name in env}
    return hashlib.sha256(dumps_canonical(granted).encode("utf-8", "surrogatepass")).hexdigest()


def sandbox_settings(config: WasmLibraryConfig) -> str:
    """Canonical JSON of what, besides the code, changes a WASM library's answers (part of its identity)."""
    settings: dict[str, Any] = {
        "capabilities": capabilities_json(config.capabilities),
        "timeout_ms": config.timeout_ms,
        "max_memory_mb": config.max_memory_mb,
        "max_output_mb": config.max_output_mb,
    }
    env = granted_env_digest(config.capabilities)
    if env is not None:
        settings["env"] = env
    return dumps_canonical(settings)


def sandbox_purity(caps: Capabilities) -> Purity:
    """Purity follows the grants: writing or the whole environment is impure, no files and no env pure."""
    if caps.fs is FsAccess.WRITE or caps.env_access is True:
        return Purity.IMPURE
    if caps.fs is FsAccess.NONE and caps.env_access is False:
        return Purity.PURE
    return Purity.READS_WORKSPACE


def read_wasm(path: str, label: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise LibraryError(
            "E600", f"{label}: cannot read {path}: {exc.strerror or exc}; check `path` in hielements.toml"
        ) from None


#: Every binary WebAssembly module (and component) starts with these four bytes.
WASM_MAGIC = b"\0asm"


def compile_module(
    engine: WasmEngine, cache: ModuleCache, data: bytes, path: str, label: str, facts: FactsFn | None = None,
    limits: CompileLimits | None = None,
) -> CachedModule:
    # wasmtime takes bytes that are not a binary module for the text format, so a truncated download or a
    # C source named .wasm got the WAT parser's "expected '('": check the header and say what the file is.
    if not data.startswith(WASM_MAGIC) and not path.endswith(".wat"):
        shown = repr(data[:8]) if data else "nothing (the file is empty)"
        raise LibraryError(
            "E601", f"{label}: {path} is not a WebAssembly module: it does not start with the \\0asm header "
                    f"(it starts with {shown}); rebuild it with `hie-tasks plugins build`, or fix `path`"
        )
    try:
        if facts is None:
            module, note = cache.get_or_compile(engine, data, path, limits)
            return CachedModule(module, {}, note)
        return cache.load(engine, data, path, facts, limits)
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid module"
        raise LibraryError(
            "E601", f"{label}: {path} is not a valid WebAssembly module ({first}); rebuild the plugin"
        ) from None


def _do_nothing(_inst: FreshInstance) -> None:
    return None


#: Prefetches still running; the process waits for them at exit, because the interpreter must not tear
#: down wasmtime objects (engine, modules) while a background thread is inside wasmtime with them.
_running_prefetches: set[threading.Event] = set()
_prefetch_lock = threading.Lock()


def _start_prefetch(work: Callable[[], None]) -> threading.Event:
    done = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            with _prefetch_lock:
                _running_prefetches.discard(done)
            done.set()

    with _prefetch_lock:
        _running_prefetches.add(done)
    # Not threading.Thread.start(): it blocks until the new thread runs (0.2 ms idle, ms when busy).
    _thread.start_new_thread(run, ())
    return done


@atexit.register
def _wait_for_prefetches() -> None:
    with _prefetch_lock:
        pending = list(_running_prefetches)
    for done in pending:
        done.wait()


def _can_print(shape: abi.ModuleShape) -> bool:
    return any(m == abi.WASI_MODULE and n == "fd_write" for m, n, _ in shape.imports)


@dataclass
class _Loaded:
    prepared: PreparedModule
    shape: abi.ModuleShape
    note: str
    #: whether the module imports fd_write at all (if not, skip output capture)
    can_print: bool


LoadedT = TypeVar("LoadedT")


class SandboxedPlugin(Library, Generic[LoadedT]):
    """What core-module and component plugins share: their grants (`capabilities.write` resolved once), the
    failure breaker, and loading — once, remembering a failure, in the background once a plan imports them.
    `LoadedT` is what a successful load gives (a linked module, a component)."""

    config: WasmLibraryConfig
    workspace: str

    def _init_sandboxed(
        self, config: WasmLibraryConfig, workspace: str, module_cache: ModuleCache | None, protected: tuple[str, ...]
    ) -> None:
        self.config = config
        self.workspace = os.path.abspath(workspace)
        self._cache = module_cache
        self._load_error: LibraryError | None = None
        self._load_lock = threading.Lock()
        self._note_pending = True
        self._digest: str | None = None
        self._memory_limit = config.max_memory_mb * MIB
        self._output_limit = config.max_output_mb * MIB
        self._protected = (*protected, config.path)
        self.breaker = FailureBreaker(config.name, config.max_consecutive_failures)
        self._writable: tuple[tuple[str, str], ...] | None = None
        self._prefetched: threading.Event | None = None
        self._loaded: LoadedT | None = None

    @property
    def label(self) -> str:
        raise NotImplementedError

    def _load(self) -> LoadedT:
        raise NotImplementedError

    def _prefetch(self) -> None:
        raise NotImplementedError

    @property
    def load_error(self) -> LibraryError | None:
        """The load failure, if loading was attempted and failed (report it once per library)."""
        return self._load_error

    def load(self) -> None:
        """Read, compile (or fetch from the module cache), link and validate the plugin.

        Raises the same LibraryError on every attempt after a failure; the interpreter reports it once.
        """
        self._ensure_loaded()

    def _ensure_loaded(self) -> LoadedT:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._load_lock:
            if self._loaded is None:
                if self._load_error is not None:
                    raise self._load_error
                try:
                    self._loaded = self._load()
                except LibraryError as exc:
                    self._load_error = exc
                    raise
            return self._loaded

    def close(self) -> None:
        # Instances never outlive a call; the compiled artifact stays in the module cache for the run.
        if self._prefetched is not None:
            self._prefetched.wait()
        self._loaded = None
        self._note_pending = True

    def prefetch(self) -> None:
        """Start loading in the background (once). The registry does not: only libraries a plan uses are
        prefetched (`Registry.prefetch`), so an unused plugin in hielements.toml is never compiled."""
        with self._load_lock:
            if self._prefetched is None and self._loaded is None:
                self._prefetched = _start_prefetch(self._prefetch)

    def _writable_dirs(self) -> tuple[tuple[str, str], ...]:
        # Resolved once per library and run: a realpath per directory per call would cost more than the call.
        if self._writable is None:
            guarded = (*self._protected, (self._cache or default_module_cache()).root)
            self._writable = writable_dirs(self.config.capabilities, self.workspace, guarded, self.label)
        return self._writable


class WasmLibrary(SandboxedPlugin["_Loaded"]):
    """A WASM plugin. Thread-safe: every call gets its own store and instance."""

    kind = "wasm"

    def __init__(
        self,
        config: WasmLibraryConfig,
        workspace: str,
        module_cache: ModuleCache | None = None,
        engine: WasmEngine | None = None,
        *,
        prefetch: bool = True,
        protected: tuple[str, ...] = (),
    ) -> None:
        """`prefetch` starts loading in the background right away (see `_prefetch`). `protected`: paths
        no `capabilities.write` directory may expose (the stores, every configured plugin)."""
        super().__init__(config.name)
        self._init_sandboxed(config, workspace, module_cache, protected)
        self._engine = engine
        self._bytes: bytes | None = None
        if prefetch:
            self.prefetch()

    # ---- loading ------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return f"WASM library '{self.name}' ({self.config.path})"

    def _wasm_bytes(self) -> bytes:
        if self._bytes is None:
            data = read_wasm(self.config.path, self.label)
            # Digest first: checks on other threads take a set `_bytes` to mean `_digest` is ready too, and
            # hashing releases the GIL (an empty digest in identity() once made verdicts unreplayable).
            self._digest = hashlib.sha256(data).hexdigest()
            self._bytes = data
        return self._bytes

    def _prefetch(self) -> None:
        """Load, then run one throwaway instance, off the caller's thread.

        A run's first WASM call otherwise pays, in sequence, for the engine (pooling reservations, WASI
        linker: ≈1 ms), the module (read, verify, deserialize: 0.3–1 ms) and the first instance of the
        process (wasmtime's memory-image setup and cold code paths, the epoch ticker's thread: ≈0.4 ms).
        Almost all of it is native code that releases the GIL, so started when the registry is built it
        runs on another core while the run evaluates scopes and fingerprints checks. A call that arrives
        earlier simply waits for the load lock, so nothing is done twice and errors stay the caller's:
        a load failure is kept in `_load_error` and raised by the first real use, a failing throwaway
        instance is ignored because the real call reports the same failure with its own function name.
        """
        try:
            loaded = self._ensure_loaded()
            self._with_instance(loaded, "(prefetch)", None, _do_nothing, load_phase=True)
        except Exception:  # see the docstring: the caller's first use reports it
            pass

    def _load(self) -> _Loaded:
        engine = self._engine or shared_engine()
        data = self._wasm_bytes()
        found = compile_module(
            engine, self._cache or default_module_cache(), data, self.config.path, self.label, self._facts(engine),
            CompileLimits(self.config.compile_timeout_ms, self.config.max_compile_memory_mb),
        )
        shape = abi.ModuleShape.from_json(found.facts.get("shape")) or abi.analyze(found.module)
        self._check_shape(shape)
        loaded = _Loaded(self._prepare(engine, found.module), shape, found.note, _can_print(shape))
        version = found.facts.get("abi_version")
        if shape.has_abi_version and not isinstance(version, int):
            version = self._abi_version(loaded)
        if shape.has_abi_version and version != abi.ABI_VERSION:
            raise LibraryError(
                "E604",
                f"{self.label}: hielements_abi_version() returned {version}; this host supports ABI "
                f"{abi.ABI_VERSION} — rebuild the plugin against a matching SDK",
            )
        return loaded

    def _facts(self, engine: WasmEngine) -> FactsFn:
        """What loading learns from the module itself, kept with the compiled module in the module cache.

        A cache hit then needs no import/export walk and no instance just to ask hielements_abi_version():
        both are functions of the module's bytes alone (the version is asked of a fresh instance without
        capabilities), so they cannot differ between runs of the same cached module.
        """

        def facts(module: wasmtime.Module) -> dict[str, Any]:
            shape = abi.analyze(module)
            out: dict[str, Any] = {"shape": shape.to_json()}
            if shape.ok and shape.has_abi_version:
                loaded = _Loaded(self._prepare(engine, module), shape, "", _can_print(shape))
                out["abi_version"] = self._abi_version(loaded)
            return out

        return facts

    def _check_shape(self, shape: abi.ModuleShape) -> None:
        if shape.problems:
            code = "E602" if any(p.startswith("imports ") for p in shape.problems) else "E603"
            raise LibraryError(code, f"{self.label} does not satisfy the plugin ABI: " + "; ".join(shape.problems))

    def _prepare(self, engine: WasmEngine, module: wasmtime.Module) -> PreparedModule:
        try:
            return PreparedModule(engine, module)
        except wasmtime.WasmtimeError as exc:
            raise LibraryError("E602", f"{self.label}: cannot link imports: {exc}") from None

    def _abi_version(self, loaded: _Loaded) -> int:
        return self._with_instance(
            loaded,
            abi.EXPORT_ABI_VERSION,
            None,
            lambda inst: inst.call_i32(inst.func(_ABI_VERSION)),
            load_phase=True,
        )

    # ---- one fresh instance -------------------------------------------------------------------------

    def _with_instance(
        self,
        loaded: _Loaded,
        function: str,
        capture: OutputCapture | None,
        body: Callable[[FreshInstance], T],
        load_phase: bool = False,
    ) -> T:
        engine = loaded.prepared.wasm_engine
        caps = Capabilities() if load_phase else self.config.capabilities
        wasi = sandbox_config(caps, self.workspace, () if load_phase else self._writable_dirs())
        sink = capture.write if capture is not None and loaded.can_print else None
        engine.slots.acquire()
        engine.ticker.enter()
        inst: FreshInstance | None = None
        try:
            inst = FreshInstance(
                loaded.prepared, wasi, self._memory_limit,
                engine.ticker.deadline_ticks(run_deadline.clip_ms(self.config.timeout_ms)), sink,
            )
            if loaded.shape.has_initialize:
                inst.call0(inst.func(_INITIALIZE))
            return body(inst)
        except CallTrap as trap:
            raise self._trap_error(trap, inst, function, load_phase) from None
        finally:
            if inst is not None:
                inst.close()
            engine.ticker.exit()
            engine.slots.release()

    def _trap_error(self, trap: CallTrap, inst: FreshInstance | None, function: str, load_phase: bool) -> LibraryError:
        where = f"{self.label}, function '{function}'"
        if trap.trap_code is wasmtime.TrapCode.INTERRUPT:
            return LibraryError("E611", f"{where}: timed out after {self.config.timeout_ms} ms (timeout_ms)")
        near_limit = inst is None and "memory" in trap.reason.lower() and "limit" in trap.reason.lower()
        if inst is not None:
            # A trap with memory (nearly) at the cap is almost always a failed allocation turned into a trap
            # (malloc → NULL → abort); plugins grow in steps of their own choosing, hence the 10% margin.
            near_limit = inst.memory_size() > self._memory_limit * 0.9
        if near_limit:
            return LibraryError(
                "E612",
                f"{where}: memory limit of {self.config.max_memory_mb} MiB reached (max_memory_mb); "
                f"trap: {trap.reason}",
            )
        if trap.trap_code is wasmtime.TrapCode.STACK_OVERFLOW:
            reason = "wasm stack overflow (too deep recursion)"
        elif trap.exit_code is not None:
            reason = f"the plugin exited with status {trap.exit_code} (proc_exit)"
        else:
            reason = f"trapped: {_trap_summary(trap.reason)}"
        return LibraryError("E605" if load_phase else "E610", f"{where}: {reason}")

    def _read_answer(self, inst: FreshInstance, ptr: int, length: int, function: str) -> Any:
        where = f"{self.label}, function '{function}'"
        if length > self._output_limit:
            raise LibraryError(
                "E614",
                f"{where}: answer of {length} bytes exceeds max_output_mb = {self.config.max_output_mb}",
            )
        raw = inst.read(ptr, length)
        if raw is None:
            raise LibraryError(
                "E613",
                f"{where}: answer (ptr={ptr}, len={length}) lies outside the plugin's memory "
                f"({inst.memory_size()} bytes)",
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LibraryError("E615", f"{where}: answer is not valid UTF-8 (byte {exc.start})") from None
        try:
            # Strict, as for external plugins: NaN/Infinity are not JSON, and a hostile depth is E508.
            return parse_json(text)
        except ValueError as exc:
            if "nested too deeply" in str(exc):
                raise LibraryError("E508", "Cannot convert JSON to Value: nested too deeply") from None
            raise LibraryError(
                "E615", f"{where}: answer is not valid JSON ({exc}); answer was: {_snippet(raw)}"
            ) from None

    def _exchange(self, export: str, function: str, args: list[Value], ctx: CallContext) -> Any:
        loaded = self._ensure_loaded()
        if self._note_pending:
            self._note_pending = False
            ctx.notes.append(f"{self.name}: {loaded.note}")
        style = loaded.shape.call_style if export == abi.EXPORT_CALL else loaded.shape.check_style
        if style is None:
            raise LibraryError(
                "E617",
                f"{self.label} does not export '{export}', so '{self.name}.{function}' cannot be used as "
                f"a {'selector' if export == abi.EXPORT_CALL else 'check'}",
            )
        request = json.dumps(
            {"function": function, "args": [encode_value(a) for a in args], "workspace": self.workspace},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        entry = export.encode()

        def exchange(inst: FreshInstance) -> Any:
            ptr = inst.call_i32(inst.func(_ALLOC), len(request)) & _U32
            if not inst.write(ptr, request):
                raise LibraryError(
                    "E612",
                    f"{self.label}, function '{function}': alloc({len(request)}) returned {ptr}, which does "
                    "not fit the request in memory (allocation failed?)",
                )
            answer_ptr, answer_len = inst.call_ptr_len(inst.func(entry), style, (ptr, len(request)))
            answer = self._read_answer(inst, answer_ptr, answer_len, function)
            if loaded.shape.has_dealloc:
                dealloc = inst.func(_DEALLOC)
                inst.call_void(dealloc, ptr, len(request))
                inst.call_void(dealloc, answer_ptr, answer_len)
            return answer

        capture = OutputCapture()
        try:
            answer = self._with_instance(loaded, function, capture, exchange)
        finally:
            ctx.record_output(capture.text())
        if isinstance(answer, dict) and "deps" in answer:
            deps = answer.pop("deps")
            if isinstance(deps, list):
                for dep in deps:
                    if isinstance(dep, str):
                        ctx.record_dep(dep)
        return answer

    # ---- Library ------------------------------------------------------------------------------------

    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value:
        answer = self._guarded(abi.EXPORT_CALL, function, args, ctx)
        if isinstance(answer, dict) and "Error" in answer:
            message = answer["Error"]
            text = message if isinstance(message, str) else json.dumps(message)
            raise cap_error(LibraryError("E616", text), self.config.max_message_kb)
        return decode_bounded(decode_value, answer)

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        result = decode_bounded(decode_check_result, self._guarded(abi.EXPORT_CHECK, function, args, ctx))
        return cap_message(result, self.config.max_message_kb)

    def _guarded(self, export: str, function: str, args: list[Value], ctx: CallContext) -> Any:
        try:
            return self.breaker.guard(
                f"'{self.name}.{function}'", lambda: self._exchange(export, function, args, ctx)
            )
        except LibraryError as exc:
            raise cap_error(exc, self.config.max_message_kb) from None

    def _getter(self, loaded: _Loaded, export: str, style: abi.ReturnStyle) -> Any:
        entry = export.encode()

        def get(inst: FreshInstance) -> Any:
            ptr, length = inst.call_ptr_len(inst.func(entry), style)
            return self._read_answer(inst, ptr, length, export)

        return self._with_instance(loaded, export, None, get, load_phase=True)

    def metadata(self) -> dict[str, Any] | None:
        """`library_metadata()`'s JSON, or None when the plugin does not export it."""
        loaded = self._ensure_loaded()
        if loaded.shape.metadata_style is None:
            return None
        data = self._getter(loaded, abi.EXPORT_METADATA, loaded.shape.metadata_style)
        return data if isinstance(data, dict) else None

    def documentation(self) -> LibraryDoc:
        fallback = LibraryDoc(self.name, f"WASM library: {self.config.path}", "")
        try:
            loaded = self._ensure_loaded()
            if loaded.shape.doc_style is not None:
                doc = self._getter(loaded, abi.EXPORT_DOC, loaded.shape.doc_style)
                if isinstance(doc, dict):
                    return doc_from_json(doc, self.name, fallback.description)
            meta = self.metadata()
        except LibraryError:
            return fallback
        if meta is None:
            return fallback
        return LibraryDoc(
            name=str(meta.get("name") or self.name),
            description=fallback.description,
            version=str(meta.get("version") or ""),
            functions=tuple(FunctionDoc(str(n), "") for n in meta.get("functions") or [] if isinstance(n, str)),
            checks=tuple(FunctionDoc(str(n), "") for n in meta.get("checks") or [] if isinstance(n, str)),
        )

    def identity(self) -> str:
        try:
            self._wasm_bytes()
            digest = self._digest or ""
        except LibraryError:
            digest = "unreadable"
        return f"wasm:{digest}:{sandbox_settings(self.config)}"

    def identity_files(self) -> tuple[str, ...]:
        return (self.config.path,)

    def purity(self) -> Purity:
        return sandbox_purity(self.config.capabilities)



def _function_docs(items: Any) -> tuple[FunctionDoc, ...]:
    docs: list[FunctionDoc] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        params = tuple(
            ParamDoc(
                str(p.get("name", "")),
                str(p.get("type", p.get("param_type", ""))),
                str(p.get("description", "")),
            )
            for p in item.get("parameters") or []
            if isinstance(p, dict)
        )
        docs.append(
            FunctionDoc(
                name=str(item.get("name", "")),
                description=str(item.get("description", "")),
                parameters=params,
                return_type=str(item.get("return_type", "")),
                example=str(item.get("example", "")),
            )
        )
    return tuple(docs)


def doc_from_json(doc: dict[str, Any], name: str, description: str) -> LibraryDoc:
    """A LibraryDoc from the external protocol's `library.doc` shape (parameters keyed `type`)."""
    return LibraryDoc(
        name=str(doc.get("name") or name),
        description=str(doc.get("description") or description),
        version=str(doc.get("version") or ""),
        functions=_function_docs(doc.get("functions")),
        checks=_function_docs(doc.get("checks")),
    )
