"""The one hook between a run and the remote cache: flags, then `attach` puts a `RemoteCache` behind the session.

grpcio and protobuf are imported only here, only when a remote cache is configured. Without them, an
explicit `--remote-cache` is an error naming the extra to install; a cache configured by the environment or
`hielements.toml` is a warning (a developer without the extra can still run the checks).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from hie_tasks.remote.settings import INSTALL_HINT, MODES, RemoteSettingsError, resolve

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
           warn: Callable[[str], None]) -> RemoteCache | None:
    """Resolve the settings and put the remote cache behind `session`. Raises RemoteSettingsError for a
    setting the user must fix (the caller exits with its message)."""
    if not session.enabled:
        return None
    url = getattr(args, "remote_cache", None)
    settings = resolve(workspace, config, url=url,
                       instance=getattr(args, "remote_instance", None), mode=getattr(args, "remote_mode", None))
    if settings is None:
        return None
    try:
        from hie_tasks.remote.cache import RemoteCache
    except Exception as exc:
        # Missing, or a protobuf runtime older than the generated code (its VersionError is no ImportError).
        if not isinstance(exc, ImportError) and type(exc).__name__ != "VersionError":
            raise
        text = f"the remote cache needs grpcio and protobuf ({exc}); install them: {INSTALL_HINT}"
        if url is not None:
            raise RemoteSettingsError(text) from None
        warn(f"{text}; running without the remote cache ({settings.origin})")
        return None
    cache = RemoteCache(settings, warn)
    session.remote = cache
    return cache
