"""Capabilities from `hielements.toml` → the WASI configuration of one instance, and output capture.

wasmtime-py 50 exposes read-only preopens as `preopen_dir(host, guest, fs_mutable=False)` (the C API's
`wasi_config_preopen_dir(config, host, guest, fs_mutable)`): directory and file permissions both drop to
read, so opening for write, creating, renaming or unlinking inside fails with EPERM/EACCES in the guest.
Escapes (absolute paths outside the preopens, `..`, symlinks pointing out) are refused by wasmtime's
capability-based filesystem layer; tests/wasm prove each row.

Write access (`capabilities.write`): the workspace (and `/` with workspace_only = false) is preopened
read-only, then each listed directory is preopened writable at its own guest path. wasi-libc resolves a path
against the preopen with the longest matching prefix, so `ws/out/x` opens in the writable `out` and anything
else in the read-only workspace; `ws/out/../hielements.toml` stays relative to `out` and is refused as an
escape. `writable_dirs` re-checks the configured list against the real filesystem (a symlinked `out -> .git`
is refused) and against the protected places the host knows (the stores, every configured `.wasm`).
Limit: a hard link inside a write directory to a file elsewhere is the same file, and WASI cannot tell;
README "Security" says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import wasmtime

from hie_tasks.config import CONFIG_FILE, PROTECTED_DIRS, Capabilities, FsAccess
from hie_tasks.model.errors import LibraryError

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


def _inside(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def writable_dirs(
    caps: Capabilities, workspace: str, protected: Iterable[str], label: str
) -> tuple[tuple[str, str], ...]:
    """(host real path, guest path) of each `write` directory, created when missing.

    Raises LibraryError E606 when a directory resolves outside the workspace or would contain, or lie inside,
    a protected path: hielements.toml, `.git/`, `.hie-cache/`, and whatever the caller adds (the result
    store, the module cache, every configured plugin)."""
    if caps.fs is not FsAccess.WRITE or not caps.write:
        return ()
    root = os.path.abspath(workspace)
    real_root = os.path.realpath(root)
    guarded = [os.path.join(real_root, CONFIG_FILE), *(os.path.join(real_root, d) for d in PROTECTED_DIRS)]
    guarded += [os.path.realpath(p) for p in protected]
    out: list[tuple[str, str]] = []
    for rel in caps.write:
        guest = os.path.normpath(os.path.join(root, rel))
        problem = None
        try:
            if not _inside(os.path.realpath(guest), real_root):
                problem = f"resolves to {os.path.realpath(guest)}, outside the workspace (a symlink?)"
            else:
                os.makedirs(guest, exist_ok=True)
        except OSError as exc:
            problem = f"cannot be created: {exc.strerror or exc}"
        host = os.path.realpath(guest)
        for path in guarded:
            if problem is None and (_inside(path, host) or _inside(host, path)):
                problem = f"would make {path} writable"
        if problem is not None:
            raise LibraryError(
                "E606",
                f"{label}: capabilities.write entry '{rel}' {problem}; point it at a directory the plugin owns",
            )
        out.append((host, guest))
    return tuple(out)


def sandbox_config(
    caps: Capabilities, workspace: str, writable: Sequence[tuple[str, str]] = ()
) -> wasmtime.WasiConfig:
    """A fresh WasiConfig granting exactly `caps` (WASI configs are consumed by the store using them).

    The workspace is never writable as a whole: only the `writable` directories (from `writable_dirs`)."""
    wasi = wasmtime.WasiConfig()
    if caps.fs is not FsAccess.NONE:
        root = os.path.abspath(workspace)
        # Same path inside and outside, so Scope paths handed to the plugin open unchanged.
        wasi.preopen_dir(root, root, False)
        if not caps.workspace_only:
            wasi.preopen_dir("/", "/", False)
        for host, guest in writable:
            wasi.preopen_dir(host, guest, True)
    env = caps.env_access
    if env is True:
        wasi.inherit_env()
    elif env:
        wasi.env = [(name, os.environ[name]) for name in env if name in os.environ]
    # env False: leave the environment empty (the WasiConfig default). stdout/stderr are attached by
    # fastcall.FreshInstance (see OutputCapture).
    return wasi
