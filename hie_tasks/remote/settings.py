"""Where the remote cache is and how to talk to it: `--remote-*` flags, `$HIE_TASKS_REMOTE_*`, `[cache]`.

Precedence: a flag, then the environment, then `[cache]` in hielements.toml. Secrets (the bearer token, extra
headers, the signing key) come from the environment only, never from a file in the repository: `[cache]` may
name *which* variable holds the token (`token_env`), not the token.

Mode: `read-write`, `read-only` or `off`. Unset, it is `read-write` when `$CI` is set (and not "false"/"0")
and `read-only` otherwise, so developers' laptops read the fleet's verdicts without writing their own.
This module needs neither grpcio nor protobuf.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hie_tasks.config import CacheConfig

URL_ENV = "HIE_TASKS_REMOTE_CACHE"
INSTANCE_ENV = "HIE_TASKS_REMOTE_INSTANCE"
MODE_ENV = "HIE_TASKS_REMOTE_MODE"
TOKEN_ENV = "HIE_TASKS_REMOTE_TOKEN"
HEADERS_ENV = "HIE_TASKS_REMOTE_HEADERS"
SECRET_ENV = "HIE_TASKS_REMOTE_SECRET"
MODES = ("read-write", "read-only", "off")
SCHEMES = ("grpc://", "grpcs://")
INSTALL_HINT = "pip install 'hie-tasks[remote]'  (installs grpcio and protobuf)"


class RemoteSettingsError(Exception):
    """A remote-cache setting the user must fix; the message names it and says what is allowed."""


@dataclass(frozen=True)
class RemoteSettings:
    #: "HOST:PORT", without the scheme
    target: str
    tls: bool
    instance: str = ""
    mode: str = "read-only"
    headers: tuple[tuple[str, str], ...] = ()
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    #: the HMAC key for signing and verifying entries (None: entries are neither signed nor verified)
    secret: bytes | None = None
    timeout_s: float = 10.0
    #: where the URL came from, for messages ("--remote-cache", "$HIE_TASKS_REMOTE_CACHE", "hielements.toml")
    origin: str = ""
    url: str = field(default="", compare=False)

    @property
    def writes(self) -> bool:
        return self.mode == "read-write"


def ci_default_mode(env: Mapping[str, str]) -> str:
    ci = env.get("CI", "").strip().lower()
    return "read-write" if ci and ci not in ("0", "false", "no") else "read-only"


def parse_url(url: str, origin: str) -> tuple[str, bool]:
    for scheme in SCHEMES:
        if url.startswith(scheme):
            target = url[len(scheme):].rstrip("/")
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                break
            return target, scheme == "grpcs://"
    raise RemoteSettingsError(
        f"{origin}: remote cache URL {url!r} is not grpc://HOST:PORT or grpcs://HOST:PORT "
        "(e.g. grpc://127.0.0.1:50051)"
    )


def parse_headers(text: str) -> tuple[tuple[str, str], ...]:
    """`$HIE_TASKS_REMOTE_HEADERS`: `name=value` pairs separated by commas or newlines."""
    out: list[tuple[str, str]] = []
    for item in text.replace("\n", ",").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RemoteSettingsError(f"${HEADERS_ENV}: {item.strip()!r} is not name=value")
        out.append((name.strip().lower(), value.strip()))
    return tuple(out)


def resolve(workspace: str, config: CacheConfig | None, *, url: str | None = None, instance: str | None = None,
            mode: str | None = None, env: Mapping[str, str] | None = None) -> RemoteSettings | None:
    """The settings in force, or None when no remote cache is configured or the mode is `off`."""
    e = os.environ if env is None else env
    cfg = config or CacheConfig()
    if url is not None:
        chosen, origin = url, "--remote-cache"
    elif e.get(URL_ENV):
        chosen, origin = e[URL_ENV], f"${URL_ENV}"
    elif cfg.remote:
        chosen, origin = cfg.remote, "hielements.toml [cache] remote"
    else:
        return None
    if chosen == "off":
        return None
    picked = mode or e.get(MODE_ENV) or cfg.mode or ci_default_mode(e)
    if picked not in MODES:
        raise RemoteSettingsError(f"remote cache mode {picked!r} is not one of {', '.join(MODES)}")
    if picked == "off":
        return None
    target, tls = parse_url(chosen, origin)
    headers = list(parse_headers(e.get(HEADERS_ENV, "")))
    token = e.get(cfg.token_env or TOKEN_ENV)
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    secret = e.get(SECRET_ENV)

    def path(p: str | None) -> str | None:
        return os.path.normpath(os.path.join(workspace, os.path.expanduser(p))) if p else None

    return RemoteSettings(
        target=target, tls=tls, instance=instance if instance is not None else e.get(INSTANCE_ENV, cfg.instance),
        mode=picked, headers=tuple(headers), ca_file=path(cfg.ca_file), cert_file=path(cfg.cert_file),
        key_file=path(cfg.key_file), secret=secret.encode() if secret else None,
        timeout_s=cfg.timeout_ms / 1000, origin=origin, url=chosen,
    )
