"""Capabilities from `hielements.toml` → the WASI configuration of one instance, and output capture.

wasmtime-py 50 exposes read-only preopens as `preopen_dir(host, guest, fs_mutable=False)` (the C API's
`wasi_config_preopen_dir(config, host, guest, fs_mutable)`): directory and file permissions both drop to
read, so opening for write, creating, renaming or unlinking inside fails with EPERM/EACCES in the guest.
Escapes (absolute paths outside the preopens, `..`, symlinks pointing out) are refused by wasmtime's
capability-based filesystem layer; tests/wasm prove each row.
"""

from __future__ import annotations

import os

import wasmtime

from hie_tasks.config import Capabilities, FsAccess

#: Bytes of plugin stdout+stderr kept per call; the rest is dropped and a marker added.
OUTPUT_LIMIT = 64 * 1024


class OutputCapture:
    """Collects what a plugin writes to stdout/stderr through WASI custom-output callbacks.

    Fed by a WASI custom-output callback, not temp files: files cost 26 µs per instance (open+truncate
    two files, then stat/read them even when the plugin printed nothing). Plugins that do not import
    `fd_write` cannot print, and get no capture at all.
    """

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self.truncated = False

    def write(self, data: bytes) -> int:
        room = self._limit - self._size
        if room > 0:
            kept = data[:room]
            self._chunks.append(kept)
            self._size += len(kept)
        if len(data) > max(room, 0):
            self.truncated = True
        # Claim everything was written so the plugin does not retry or fail on a full "pipe".
        return len(data)

    def text(self) -> str:
        if not self._chunks:
            return ""
        text = b"".join(self._chunks).decode("utf-8", errors="replace")
        return text + ("\n… [plugin output truncated]" if self.truncated else "")


def sandbox_config(caps: Capabilities, workspace: str) -> wasmtime.WasiConfig:
    """A fresh WasiConfig granting exactly `caps` (WASI configs are consumed by the store using them)."""
    wasi = wasmtime.WasiConfig()
    if caps.fs is not FsAccess.NONE:
        mutable = caps.fs is FsAccess.WRITE
        root = os.path.abspath(workspace)
        # Same path inside and outside, so Scope paths handed to the plugin open unchanged.
        wasi.preopen_dir(root, root, mutable)
        if not caps.workspace_only:
            wasi.preopen_dir("/", "/", mutable)
    env = caps.env_access
    if env is True:
        wasi.inherit_env()
    elif env:
        wasi.env = [(name, os.environ[name]) for name in env if name in os.environ]
    # env False: leave the environment empty (the WasiConfig default). stdout/stderr are attached by
    # fastcall.FreshInstance (see OutputCapture).
    return wasi
