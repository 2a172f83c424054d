"""The one hook between a run and the remote cache: flags, then `attach` puts a `RemoteCache` behind the session.

grpcio and protobuf are imported only here, only when a remote cache is configured. Without them, an
explicit `--remote-cache` is an error naming the extra to install; a cache configured by the environment or
`hielements.toml` is a warning (a developer without the extra can still run the checks).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from hie_tasks.incremental.store import StoredSelector, StoredVerdict
from hie_tasks.remote.settings import INSTALL_HINT, MODES, RemoteSettings, RemoteSettingsError, resolve

if TYPE_CHECKING:
    from hie_tasks.config import CacheConfig
    from hie_tasks.incremental.session import IncrementalSession
    from hie_tasks.remote.cache import RemoteCache

__all__ = ["RemoteSettingsError", "add_arguments", "attach"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--remote-cache", metavar="URL",
                   help="shared verdict cache, grpc://HOST:PORT or grpcs://HOST:PORT, or off "
                        "(default: $HIE_TASKS_REMOTE_CACHE, then [cache] remote in hielements.toml)")
    p.add_argument("--remote-instance", metavar="NAME", help="REAPI instance name (default: $HIE_TASKS_REMOTE_INSTANCE)")
    p.add_argument("--remote-mode", choices=MODES,
                   help="read-write, read-only or off (default: read-write when $CI is set, else read-only)")


def attach(session: IncrementalSession, workspace: str, config: CacheConfig, args: argparse.Namespace,
           warn: Callable[[str], None]) -> LazyRemote | None:
    """Resolve the settings and put the remote cache behind `session`. Raises RemoteSettingsError for a
    setting the user must fix (the caller exits with its message)."""
    if not session.enabled:
        return None
    url = getattr(args, "remote_cache", None)
    settings = resolve(workspace, config, url=url,
                       instance=getattr(args, "remote_instance", None), mode=getattr(args, "remote_mode", None))
    if settings is None:
        return None
    hint = f"the remote cache needs grpcio and protobuf; install them: {INSTALL_HINT}"
    if url is not None:
        # Asked for on the command line: find out now, and fail with the fix rather than warn mid-run.
        try:
            _import_cache()
        except _ImportFailed as exc:
            raise RemoteSettingsError(f"{hint} ({exc})") from None
    elif _missing() is not None:
        warn(f"{hint}; running without the remote cache ({settings.origin} names one)")
        return None
    lazy = LazyRemote(settings, warn)
    session.remote = lazy
    return lazy


class _ImportFailed(Exception):
    pass


def _missing() -> str | None:
    """The first of grpc / google.protobuf that is not installed (cheap: no import)."""
    import importlib.util

    for name in ("grpc", "google.protobuf"):
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except ImportError:
            return name
    return None


def _import_cache() -> type[RemoteCache]:
    try:
        from hie_tasks.remote.cache import RemoteCache
    except Exception as exc:
        # Missing, or a protobuf runtime older than the generated code (its VersionError is no ImportError).
        if not isinstance(exc, ImportError) and type(exc).__name__ != "VersionError":
            raise
        raise _ImportFailed(str(exc)) from None
    return RemoteCache


class LazyRemote:
    """The remote cache, created (and grpc imported, ~0.15 s) only when the run first needs it: a run the
    local store answers entirely never pays for it."""

    def __init__(self, settings: RemoteSettings, warn: Callable[[str], None]) -> None:
        self.settings = settings
        self._warn = warn
        self.cache: RemoteCache | None = None

        self._broken = False

    def _get(self) -> RemoteCache | None:
        if self.cache is None and not self._broken:
            try:
                self.cache = _import_cache()(self.settings, self._warn)
            except _ImportFailed as exc:
                self._broken = True
                self._warn(f"the remote cache needs grpcio and protobuf ({exc}); install them: {INSTALL_HINT}; "
                           f"running without the remote cache ({self.settings.origin} names one)")
        return self.cache

    def fetch(self, wanted: list[tuple[str, str]]) -> dict[str, StoredVerdict]:
        cache = self._get()
        return cache.fetch(wanted) if cache is not None else {}

    def expect(self, wanted: list[tuple[str, str]]) -> None:
        cache = self._get()
        if cache is not None:
            cache.expect(wanted)

    def offer(self, storage_key: str, verdict: StoredVerdict) -> None:
        cache = self._get()
        if cache is not None:
            cache.offer(storage_key, verdict)

    def fetch_selector(self, key: str) -> StoredSelector | None:
        cache = self._get()
        return cache.fetch_selector(key) if cache is not None else None

    def offer_selector(self, key: str, row: StoredSelector) -> None:
        cache = self._get()
        if cache is not None:
            cache.offer_selector(key, row)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
