"""The daemon protocol: where the socket is, who may use it, how messages are framed, what identifies a daemon.

Imported by every `hie-tasks run` (through `client`), so it uses only modules that are already loaded at
interpreter start or cost microseconds: `_socket` rather than `socket` (which pulls in `selectors` and
`enum`), `wire` rather than `json` (which pulls in `re` and compiles patterns), `int.to_bytes` rather
than `struct`.
"""

from __future__ import annotations

import _socket
import os
import stat
import sys

from hie_tasks.daemon import wire
from hie_tasks.version import __version__

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

PROTOCOL = 1
#: Environment switch: `HIE_TASKS_DAEMON=0` makes `run` standalone without asking any daemon.
DAEMON_ENV = "HIE_TASKS_DAEMON"
#: A frame longer than this is refused (a 100k-check report is a few MB).
MAX_FRAME = 256 * 1024 * 1024

#: Environment variables that do not take part in a daemon's identity. The shell changes the first group
#: on every command; the second only decides how output looks, and the daemon applies the caller's values
#: to each request.
VOLATILE_ENV = frozenset({"_", "OLDPWD", "PWD", "SHLVL", DAEMON_ENV})
RENDER_ENV = frozenset({"COLUMNS", "LINES", "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE",
                        "TTY_INTERACTIVE"})


class ProtocolError(Exception):
    """The peer or the socket directory cannot be trusted or understood."""


def package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def identity_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k not in VOLATILE_ENV and k not in RENDER_ENV}


# ---------------------------------------------------------------------------------------------- locations


def runtime_dir() -> str:
    """The per-user directory holding daemon sockets (not created here)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg) and os.path.isdir(xdg):
        return os.path.join(xdg, "hie-tasks")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"hie-tasks-{os.getuid()}")


def check_private_dir(path: str) -> None:
    """Raise ProtocolError unless `path` is a real directory of ours that nobody else can enter."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise ProtocolError(f"{path}: {exc.strerror}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise ProtocolError(f"{path} is not a directory (a symlink or a file is never trusted)")
    if st.st_uid != os.getuid():
        raise ProtocolError(f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()})")
    if st.st_mode & 0o077:
        raise ProtocolError(f"{path} has mode {stat.S_IMODE(st.st_mode):o}; it must be 700")


def ensure_private_dir(path: str) -> None:
    """Create the runtime directory 0700 if needed, then insist it is private (ProtocolError if not)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ProtocolError(f"cannot create {path}: {exc.strerror}") from exc
    check_private_dir(path)


def _digest(text: str) -> str:
    try:  # the C implementation directly: `hashlib` costs milliseconds to import
        from _sha2 import sha256  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found, no-redef, unused-ignore]
        except ImportError:
            from hashlib import sha256
    return str(sha256(text.encode("utf-8", "surrogateescape")).hexdigest())


def daemon_key(workspace: str, spec: str) -> str:
    return _digest(os.path.realpath(workspace) + "\0" + os.path.realpath(spec))[:24]


def socket_path(workspace: str, spec: str, directory: str | None = None) -> str:
    return os.path.join(directory or runtime_dir(), daemon_key(workspace, spec) + ".sock")


def info_path(socket_file: str) -> str:
    """Where the daemon writes its pid and log (beside its socket)."""
    return socket_file[: -len(".sock")] + ".log"


# ---------------------------------------------------------------------------------------------- framing


def send_message(sock: _socket.socket, message: dict[str, Any], payload: bytes | None = None) -> None:
    """One message; `payload` (a run's output, megabytes for a big report) follows as a raw frame of its
    own, announced by the message's `payload` field, so it is never escaped into and out of JSON."""
    if payload is not None:
        message = {**message, "payload": len(payload)}
    data = wire.encode(message).encode("utf-8", "surrogateescape")
    if len(data) > MAX_FRAME or (payload is not None and len(payload) > MAX_FRAME):
        raise ProtocolError(f"a message over the limit of {MAX_FRAME} bytes")
    sock.sendall(len(data).to_bytes(4, "big") + data)
    if payload is not None:
        sock.sendall(len(payload).to_bytes(4, "big") + payload)


def recv_payload(sock: _socket.socket, message: dict[str, Any]) -> bytes | bytearray:
    """The raw frame a message announced (b"" when it announced none)."""
    if "payload" not in message:
        return b""
    size = int.from_bytes(_recv_exact(sock, 4), "big")
    if size != message["payload"] or size > MAX_FRAME:
        raise ProtocolError("the payload frame does not match its announcement")
    return _recv_exact(sock, size)


def _recv_exact(sock: _socket.socket, size: int) -> bytearray:
    # Received in place: a run's answer (1.4 MB at 10k files) is copied once, from the kernel, not once
    # per piece and again to join them.
    data = bytearray(size)
    view = memoryview(data)
    done = 0
    while done < size:
        got = sock.recv_into(view[done:])
        if not got:
            raise ProtocolError("the connection closed in the middle of a message")
        done += got
    return data


def recv_message(sock: _socket.socket) -> dict[str, Any]:
    size = int.from_bytes(_recv_exact(sock, 4), "big")
    if size > MAX_FRAME:
        raise ProtocolError(f"a message of {size} bytes is over the limit of {MAX_FRAME}")
    try:
        message = wire.decode(_recv_exact(sock, size).decode("utf-8", "surrogateescape"))
    except ValueError as exc:
        raise ProtocolError(f"not a JSON message: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def peer_uid(sock: _socket.socket) -> int | None:
    """The uid of the process at the other end (Linux SO_PEERCRED); None where the platform cannot say."""
    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None or not sys.platform.startswith("linux"):
        return None
    # struct ucred {pid_t pid; uid_t uid; gid_t gid;}: three native 32-bit integers
    cred = sock.getsockopt(_socket.SOL_SOCKET, option, 12)
    return int.from_bytes(cred[4:8], sys.byteorder)


def check_peer(sock: _socket.socket) -> None:
    uid = peer_uid(sock)
    if uid is not None and uid != os.getuid():
        raise ProtocolError(f"the peer runs as uid {uid}, not as you (uid {os.getuid()})")


def connect(path: str, timeout: float | None) -> _socket.socket:
    """A connection to the daemon socket at `path`, after checking its directory and its peer."""
    check_private_dir(os.path.dirname(path))
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        check_peer(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def hello(workspace: str, spec: str, kind: str) -> dict[str, Any]:
    """The handshake part of every request."""
    return {
        "protocol": PROTOCOL,
        "version": __version__,
        "package": package_dir(),
        "kind": kind,
        "workspace": os.path.realpath(workspace),
        "spec": os.path.realpath(spec),
    }


def answer_matches(answer: dict[str, Any]) -> bool:
    return answer.get("protocol") == PROTOCOL and answer.get("version") == __version__
