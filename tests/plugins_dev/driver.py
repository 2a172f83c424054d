"""A minimal ABI-1 host over wasmtime's public API, so the example plugins can be tested on their own.

It does what the contract says a host does (fresh store and instance per call, WASI with the workspace
preopened read-only at its real path, `_initialize`, `alloc`, write the request, call, unpack
`(ptr << 32) | len`) and nothing more: no caching, limits or error shaping — those belong to the real host.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime

_ENGINE = wasmtime.Engine()


@dataclass
class Answer:
    """One decoded answer plus the plugin's captured stdout/stderr."""

    json: Any
    raw: bytes
    stdout: str
    stderr: str


class Driver:
    def __init__(self, wasm: str | Path, workspace: str | Path, *, fs: str = "read") -> None:
        self.module = wasmtime.Module.from_file(_ENGINE, str(wasm))
        self.workspace = str(Path(workspace).resolve())
        self.fs = fs

    def _instance(self, outdir: Path) -> tuple[wasmtime.Store, wasmtime.Instance]:
        store = wasmtime.Store(_ENGINE)
        wasi = wasmtime.WasiConfig()
        wasi.stdout_file = str(outdir / "stdout")
        wasi.stderr_file = str(outdir / "stderr")
        if self.fs != "none":
            wasi.preopen_dir(self.workspace, self.workspace, fs_mutable=self.fs == "write")
        store.set_wasi(wasi)
        linker = wasmtime.Linker(_ENGINE)
        linker.define_wasi()
        instance = linker.instantiate(store, self.module)
        init = instance.exports(store).get("_initialize")
        if init is not None:
            init(store)
        return store, instance

    def _run(self, export: str, request: bytes | None) -> Answer:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            store, instance = self._instance(out)
            exports = instance.exports(store)
            memory = exports["memory"]
            if request is None:
                packed = exports[export](store)
            else:
                ptr = exports["alloc"](store, len(request))
                memory.write(store, request, ptr)
                packed = exports[export](store, ptr, len(request))
            packed &= (1 << 64) - 1
            rptr, rlen = packed >> 32, packed & 0xFFFFFFFF
            raw = bytes(memory.read(store, rptr, rptr + rlen))
            return Answer(
                json.loads(raw.decode("utf-8")),
                raw,
                (out / "stdout").read_text(errors="replace"),
                (out / "stderr").read_text(errors="replace"),
            )

    def request(self, export: str, function: str, args: list[Any]) -> Answer:
        body = {"function": function, "args": args, "workspace": self.workspace}
        return self._run(export, json.dumps(body).encode())

    def call(self, function: str, *args: Any) -> Any:
        return self.request("library_call", function, list(args)).json

    def check(self, function: str, *args: Any) -> Any:
        return self.request("library_check", function, list(args)).json

    def raw(self, export: str, request: bytes) -> Answer:
        return self._run(export, request)

    def metadata(self) -> Any:
        return self._run("library_metadata", None).json

    def doc(self) -> Any:
        return self._run("library_doc", None).json

    def abi_version(self) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            store, instance = self._instance(Path(tmp))
            version: int = instance.exports(store)["hielements_abi_version"](store)
            return version


def S(text: str) -> dict[str, str]:
    return {"String": text}


def I(n: int) -> dict[str, int]:  # noqa: E743
    return {"Int": n}


def scope(kind: str, text: str, paths: list[str]) -> dict[str, Any]:
    return {"Scope": {"kind": {kind: text}, "paths": paths, "resolved": True}}
