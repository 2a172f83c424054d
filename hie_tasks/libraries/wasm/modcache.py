"""Compiled-module cache: serialized wasmtime modules on disk, so a run deserializes (≈0.1 ms) instead of
compiling (tens of ms per plugin).

Layout under the root: `<key>.cwasm` (the serialized module) and `<key>.json` (metadata: key, size,
sha256 of the serialized bytes, source wasm digest, source path, created). The `.cwasm` file's mtime is
the entry's last use (touched on every hit: one utime, no rewrite). The key is sha256 over the wasm
digest, the wasmtime version and the engine settings that change generated code, so a wasmtime upgrade
or a settings change simply misses. Serialized bytes are verified against the recorded digest before
`Module.deserialize` — deserializing trusts its input (it is native code), so a corrupted or tampered file
must never reach it.

Authentication. A digest only proves the file is what its sidecar says; an attacker who can write the cache
writes both. So the sidecar also holds an HMAC (`hie_tasks.secret`, a per-user key outside the cache) over the
entry's key, the source wasm digest, the serialized bytes' digest and the stored facts: an entry copied under
another key, one whose sidecar names another module, or forged bytes fail it and are deleted and recompiled
(one warning per run) — never deserialized.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import platformdirs
import wasmtime

import hie_tasks.secret as secret
from hie_tasks.libraries.wasm.compiler import CompileLimits, compile_module
from hie_tasks.libraries.wasm.engine import WasmEngine

ENV_CACHE_DIR = "HIE_TASKS_MODULE_CACHE"
_DATA = ".cwasm"
_META = ".json"


def default_cache_root() -> str:
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return env
    return os.path.join(platformdirs.user_cache_dir("hie-tasks"), "modules")


@functools.cache
def _wasmtime_version() -> str:
    """Identifies the wasmtime build: the native library's path, size and mtime.

    Not importlib.metadata.version(): that parses package metadata and cost ≈2 ms, twice the whole
    first-call budget; not Path.glob either (≈0.35 ms, mostly compiling the pattern). A reinstall or
    upgrade changes the library file, so the key still changes."""
    lib = os.path.join(os.path.dirname(wasmtime.__file__), f"{sys.platform}-{platform.machine()}")
    try:
        name = next(n for n in sorted(os.listdir(lib)) if "wasmtime" in n)
        found = os.path.join(lib, name)
        st = os.stat(found)
        return f"{found}:{st.st_size}:{int(st.st_mtime)}"
    except (OSError, StopIteration):
        return "unknown"


@dataclass(frozen=True)
class EntryInfo:
    key: str
    size: int
    source_digest: str
    source_path: str
    created: float
    last_use: float

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "source_digest": self.source_digest,
            "source_path": self.source_path,
            "created": self.created,
            "last_use": self.last_use,
        }


_MAC_PURPOSE = "module-cache"


def entry_mac(key: str, source_digest: str, blob_sha256: str, facts: object) -> str:
    """The MAC a sidecar carries; shared with other module kinds (components) that use this cache."""
    return secret.mac(_MAC_PURPOSE, key, source_digest, blob_sha256, json.dumps(facts, sort_keys=True))


def entry_problem(meta: object, key: str, source_digest: str, blob: bytes) -> str | None:
    """Why a cache entry must not be deserialized, or None when it is authentic and intact.

    Checks, in order: the sidecar names this key and this source module, the bytes match its digest, and its
    MAC verifies under our secret (so neither half can be swapped or forged by someone without the key)."""
    if not isinstance(meta, dict):
        return "cached module metadata is damaged"
    blob_sha = hashlib.sha256(blob).hexdigest()
    if meta.get("key") != key or meta.get("source_digest") != source_digest:
        return "cached module belongs to another module (key or source digest mismatch)"
    if blob_sha != meta.get("sha256"):
        return "cached module failed its integrity check"
    if not secret.verify(meta.get("mac"), _MAC_PURPOSE, key, source_digest, blob_sha,
                         json.dumps(meta.get("facts"), sort_keys=True)):
        return "cached module failed authentication (not written by this user's hie-tasks, or another secret)"
    return None


def _atomic_write(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


#: Derives JSON-able facts from a freshly compiled module (the WASM library's ABI shape); they are stored
#: in the entry's metadata so a cache hit skips the derivation (walking a module's imports and exports
#: through wasmtime-py's public types took 0.4–2 ms, the largest part of a cached load).
FactsFn = Callable[[wasmtime.Module], dict[str, Any]]


@dataclass(frozen=True)
class CachedModule:
    module: wasmtime.Module
    #: what `facts` returned for this module — on a hit, read back from the entry's metadata
    facts: dict[str, Any]
    #: where the module came from, for verbose output / `explain`
    note: str


def _no_facts(_module: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ArtifactKind:
    """How to compile and deserialize one kind of artifact: core modules here, components in
    `component.py`. Entries of both kinds share the cache, its integrity checks and its maintenance."""

    compile: Callable[[wasmtime.Engine, bytes], Any]
    deserialize: Callable[[wasmtime.Engine, bytes], Any]


MODULE_KIND = ArtifactKind(wasmtime.Module, wasmtime.Module.deserialize)


class ModuleCache:
    """Disk cache of compiled modules plus an in-process map, so a run compiles each module at most once."""

    def __init__(self, root: str | None = None) -> None:
        self.root = root if root is not None else default_cache_root()
        self._memory: dict[str, tuple[Any, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock_rejected = threading.Lock()
        self._disk_ok: bool | None = None
        #: entries rejected (deleted and recompiled) since the last take_warnings()
        self._rejected: list[str] = []

    # ---- lookup -------------------------------------------------------------------------------------

    def key_for(self, engine: WasmEngine, wasm_digest: str) -> str:
        material = "\0".join([wasm_digest, _wasmtime_version(), engine.settings, platform.machine()])
        return hashlib.sha256(material.encode()).hexdigest()

    def _paths(self, key: str) -> tuple[str, str]:
        base = os.path.join(self.root, key)
        return base + _DATA, base + _META

    def _writable(self) -> bool:
        if self._disk_ok is None:
            try:
                os.makedirs(self.root, exist_ok=True)
                self._disk_ok = os.access(self.root, os.W_OK | os.X_OK)
            except OSError:
                self._disk_ok = False
        return self._disk_ok

    def get_or_compile(
        self, engine: WasmEngine, wasm_bytes: bytes | bytearray, source_path: str,
        limits: CompileLimits | None = None,
    ) -> tuple[wasmtime.Module, str]:
        """The compiled module and a note saying where it came from (for verbose output / `explain`).

        Raises wasmtime.WasmtimeError when the bytes are not a valid module.
        """
        found = self.load(engine, wasm_bytes, source_path, _no_facts, limits)
        return found.module, found.note

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def load(
        self, engine: WasmEngine, wasm_bytes: bytes | bytearray, source_path: str, facts: FactsFn,
        limits: CompileLimits | None = None,
    ) -> CachedModule:
        """Like get_or_compile, plus `facts(module)` — computed once per entry, then read from the cache.

        Exceptions from `facts` propagate and nothing about them is cached (a broken plugin is
        re-examined next time). Raises wasmtime.WasmtimeError when the bytes are not a valid module, and
        LibraryError E607 when a bounded compilation (`limits`) runs out of time or memory.

        One lock per key: loading one module never waits for another module's compilation.
        """
        module, known, note = self.load_artifact(engine, wasm_bytes, source_path, facts, MODULE_KIND, limits)
        return CachedModule(module, known, note)

    def load_artifact(
        self,
        engine: WasmEngine,
        wasm_bytes: bytes | bytearray,
        source_path: str,
        facts: Callable[[Any], dict[str, Any]],
        kind: ArtifactKind,
        limits: CompileLimits | None = None,
    ) -> tuple[Any, dict[str, Any], str]:
        """`load` for any ArtifactKind: (the compiled artifact, its facts, the note)."""
        digest = hashlib.sha256(wasm_bytes).hexdigest()
        key = self.key_for(engine, digest)
        with self._key_lock(key):
            with self._lock:
                cached = self._memory.get(key)
            if cached is not None:
                module, known = cached
                note = "module reused (already loaded in this run)"
            else:
                module, known, note = self._load_or_compile(
                    engine, key, digest, wasm_bytes, source_path, kind, limits
                )
            if not known:
                known = facts(module)
                if known:
                    self._record_facts(key, known)
            with self._lock:
                self._memory[key] = (module, known)
            return module, known, note

    def _record_facts(self, key: str, facts: dict[str, Any]) -> None:
        """Add facts to an entry written without them (by get_or_compile, or an older hie-tasks)."""
        data_path, meta_path = self._paths(key)
        if not self._writable() or not os.path.exists(data_path):
            return
        try:
            with open(meta_path, "rb") as f:
                meta = json.loads(f.read())
            # Only re-sign a sidecar we signed: its MAC covers the bytes' digest, which load() checks.
            if meta.get("key") != key or not secret.verify(
                meta.get("mac"), _MAC_PURPOSE, key, str(meta.get("source_digest")), str(meta.get("sha256")),
                json.dumps(meta.get("facts"), sort_keys=True),
            ):
                return
            meta["facts"] = facts
            meta["mac"] = entry_mac(key, meta["source_digest"], meta["sha256"], facts)
            _atomic_write(meta_path, json.dumps(meta, sort_keys=True).encode())
        except (OSError, ValueError):
            # Facts are an optimisation; without them the next run derives them again.
            pass

    def _load_or_compile(
        self,
        engine: WasmEngine,
        key: str,
        digest: str,
        wasm_bytes: bytes | bytearray,
        source_path: str,
        kind: ArtifactKind = MODULE_KIND,
        limits: CompileLimits | None = None,
    ) -> tuple[Any, dict[str, Any] | None, str]:
        data_path, meta_path = self._paths(key)
        problem = ""
        try:
            with open(meta_path, "rb") as f:
                meta = json.loads(f.read())
            with open(data_path, "rb") as f:
                blob = f.read()
            problem = entry_problem(meta, key, digest, blob) or ""
            if not problem:
                module = kind.deserialize(engine.engine, blob)
                with contextlib.suppress(OSError):
                    os.utime(data_path)
                facts = meta.get("facts")
                return module, facts if isinstance(facts, dict) else None, f"module loaded from cache ({data_path})"
        except (FileNotFoundError, NotADirectoryError):
            pass
        except (OSError, ValueError) as exc:
            problem = f"cached module unreadable ({exc})"
        except wasmtime.WasmtimeError as exc:
            problem = f"cached module could not be deserialized ({exc})"
        if problem:
            self._remove(key)
            with self._lock_rejected:
                self._rejected.append(f"{source_path}: {problem}")

        started = time.perf_counter()
        if kind is MODULE_KIND:
            module = compile_module(engine, wasm_bytes, source_path, limits)
        else:
            # Components compile in-process: their bound is the time a first build takes, shown with progress.
            module = kind.compile(engine.engine, bytes(wasm_bytes))
        took = (time.perf_counter() - started) * 1000
        note = f"module compiled in {took:.1f} ms"
        if problem:
            note = f"{problem}; deleted and recompiled; {note}"
        if self._writable():
            try:
                blob = bytes(module.serialize())
                blob_sha = hashlib.sha256(blob).hexdigest()
                _atomic_write(data_path, blob)
                meta = {
                    "key": key,
                    "size": len(blob),
                    "sha256": blob_sha,
                    "mac": entry_mac(key, digest, blob_sha, None),
                    "source_digest": digest,
                    "source_path": os.path.abspath(source_path),
                    "created": time.time(),
                    "wasmtime": _wasmtime_version(),
                }
                _atomic_write(meta_path, json.dumps(meta, sort_keys=True).encode())
                note += ", cached"
            except OSError as exc:
                self._disk_ok = False
                note += f" (cache dir {self.root} not writable: {exc}; kept in memory)"
        else:
            note += f" (cache dir {self.root} not writable; kept in memory)"
        return module, None, note

    def take_warnings(self) -> list[str]:
        """One warning summarising the entries rejected since the last call (none when all were good)."""
        with self._lock_rejected:
            rejected, self._rejected = self._rejected, []
        if not rejected:
            return []
        return [
            f"warning: {len(rejected)} compiled-module cache entr{'y' if len(rejected) == 1 else 'ies'} in "
            f"{self.root} did not verify and {'was' if len(rejected) == 1 else 'were'} recompiled "
            f"(first: {rejected[0]}); a cache restored from elsewhere is only trusted with the same "
            f"${secret.ENV_SECRET}"
        ]

    # ---- maintenance --------------------------------------------------------------------------------

    def _remove(self, key: str) -> bool:
        removed = False
        for path in self._paths(key):
            try:
                os.unlink(path)
                removed = True
            except OSError:
                # Already gone, or the cache dir is unusable; either way nothing to remove.
                pass
        return removed

    def info(self) -> list[EntryInfo]:
        """Every complete entry, most recently used first."""
        entries: list[EntryInfo] = []
        try:
            names = os.listdir(self.root)
        except OSError:
            return entries
        for name in names:
            if not name.endswith(_META) or name.startswith("."):
                continue
            key = name[: -len(_META)]
            data_path, meta_path = self._paths(key)
            try:
                with open(meta_path, encoding="utf-8") as f:
                    meta = json.load(f)
                st = os.stat(data_path)
            except (OSError, ValueError):
                continue
            entries.append(
                EntryInfo(
                    key=key,
                    size=st.st_size,
                    source_digest=str(meta.get("source_digest", "")),
                    source_path=str(meta.get("source_path", "")),
                    created=float(meta.get("created", st.st_mtime)),
                    last_use=st.st_mtime,
                )
            )
        entries.sort(key=lambda e: e.last_use, reverse=True)
        return entries

    def _orphans(self) -> list[str]:
        """Leftovers that are not part of a complete entry (interrupted writes, lone halves)."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        keys = {e.key for e in self.info()}
        return [
            os.path.join(self.root, n)
            for n in names
            if (n.endswith(_DATA) or n.endswith(_META) or n.startswith(".tmp-"))
            and os.path.splitext(n)[0] not in keys
        ]

    def clean(self) -> int:
        """Delete every entry; returns how many entries were removed."""
        count = sum(1 for e in self.info() if self._remove(e.key))
        for path in self._orphans():
            with contextlib.suppress(OSError):
                os.unlink(path)
        with self._lock:
            self._memory.clear()
        return count

    def prune(self, max_age_days: float | None = None, max_total_mb: float | None = None) -> int:
        """Delete entries unused for longer than `max_age_days`, then least recently used ones until the
        total is at most `max_total_mb`. Returns how many entries were removed."""
        entries = self.info()
        removed = 0
        keep: list[EntryInfo] = []
        now = time.time()
        for entry in entries:
            if max_age_days is not None and now - entry.last_use > max_age_days * 86400:
                removed += self._remove(entry.key)
            else:
                keep.append(entry)
        if max_total_mb is not None:
            budget = max_total_mb * 1024 * 1024
            total = sum(e.size for e in keep)
            for entry in reversed(keep):  # oldest first
                if total <= budget:
                    break
                removed += self._remove(entry.key)
                total -= entry.size
        return removed


_default: ModuleCache | None = None
_default_lock = threading.Lock()


def default_module_cache() -> ModuleCache:
    """The process-wide cache used when a WasmLibrary is given none."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModuleCache()
        return _default
