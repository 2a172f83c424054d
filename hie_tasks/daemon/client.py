"""What `hie-tasks run` does before anything else: ask a live daemon, or return None to run standalone.

This runs on every `run`, before argparse and before any of the engine is imported, so it reads the
command line itself, only far enough to find the daemon: the spec and `-w`. Options whose runs the
daemon never keeps warm (`--no-cache`, `--refresh`, `--filter`, `--limit`, `-h`, anything unknown) go
standalone without a connection; every other option travels as the raw argument list and the daemon
parses it with the real parser. Nothing is printed until the daemon's whole answer has arrived, so a
daemon that dies mid-request leaves nothing behind and the standalone run starts from a clean slate.
"""

from __future__ import annotations

import os
import sys

from hie_tasks.daemon import protocol

# `typing` costs milliseconds to import on every run; mypy treats this name as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

RUN_COMMANDS = frozenset({"run", "check"})
DEFAULT_SPEC = "hielements.hie"
#: Options taking a value, and flags, that a warm run serves.
_VALUED = frozenset({"-w", "--workspace", "-f", "--format", "-j", "--jobs", "-o", "--output", "--cache-dir",
                     "--module-cache"})
_FLAGS = frozenset({"-v", "--verbose", "--dry-run"})
#: How long to wait for a daemon to accept the connection (it accepts immediately when alive).
CONNECT_TIMEOUT = 0.5


def _resolve_spec(positional: str | None) -> str | None:
    """The spec `run` would use (cli.common.resolve_spec), or None where it would report an error."""
    if positional:
        return positional
    if os.path.exists(DEFAULT_SPEC):
        return DEFAULT_SPEC
    try:
        found = [name for name in os.listdir(".") if name.endswith(".hie") and not name.startswith(".")]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


def target(argv: Sequence[str]) -> tuple[str, str] | None:
    """(workspace, spec) of a `run` command line the daemon may serve, else None."""
    if not argv or argv[0] not in RUN_COMMANDS:
        return None
    positional: str | None = None
    workspace: str | None = None
    items = list(argv[1:])
    i = 0
    while i < len(items):
        item = items[i]
        name, eq, value = item.partition("=") if item.startswith("--") else (item, "", "")
        if name in _VALUED:
            if not eq:
                i += 1
                if i >= len(items):
                    return None
                value = items[i]
            if name in ("-w", "--workspace"):
                workspace = value
        elif item in _FLAGS:
            pass
        elif item.startswith("-") or positional is not None:
            return None  # an option the daemon does not serve, `--`, or a second positional (an error)
        else:
            positional = item
        i += 1
    spec = _resolve_spec(positional)
    if spec is None:
        return None
    if workspace:
        root = workspace
    elif os.path.isdir(spec):
        root = spec
    else:
        root = os.path.dirname(spec) or "."
    return os.path.abspath(root), os.path.abspath(spec)


def terminal_facts(stream: Any) -> dict[str, Any]:
    """What output to `stream` depends on: a terminal or not, its encoding and size (the run memo keys by
    them too)."""
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    facts: dict[str, Any] = {"tty": tty, "encoding": getattr(stream, "encoding", None) or "utf-8"}
    if tty:
        try:
            size = os.get_terminal_size(stream.fileno())
            facts["size"] = [size.columns, size.lines]
        except (OSError, ValueError, AttributeError):
            pass
    return facts


def request(workspace: str, spec: str, kind: str, extra: dict[str, Any] | None = None,
            timeout: float | None = None) -> dict[str, Any] | None:
    """One request/answer with the daemon for (workspace, spec); None when there is no usable daemon.
    A raw payload that came with the answer is in its `payload` field, as bytes."""
    try:
        sock = protocol.connect(protocol.socket_path(workspace, spec), CONNECT_TIMEOUT)
    except (OSError, protocol.ProtocolError):
        return None
    try:
        sock.settimeout(timeout)
        protocol.send_message(sock, {**protocol.hello(workspace, spec, kind), **(extra or {})})
        answer = protocol.recv_message(sock)
        answer["payload"] = protocol.recv_payload(sock, answer)
    except (OSError, protocol.ProtocolError):
        return None
    finally:
        sock.close()
    return answer if protocol.answer_matches(answer) else None


def serve_run(argv: Sequence[str]) -> int | None:
    """Serve `hie-tasks run …` through a live daemon: its exit code, or None to run standalone."""
    if os.environ.get(protocol.DAEMON_ENV, "1") == "0":
        return None
    found = target(argv)
    if found is None:
        return None
    workspace, spec = found
    try:
        answer = request(workspace, spec, "run", {
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "stdout": terminal_facts(sys.stdout),
            "stderr": terminal_facts(sys.stderr),
        })
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    if answer is None or answer.get("status") != "ok":
        return None
    exit_code, chunks, payload = answer.get("exit"), answer.get("chunks"), answer.get("payload")
    if not isinstance(exit_code, int) or not isinstance(chunks, list) or not isinstance(payload, (bytes, bytearray)):
        return None
    # Already encoded by the daemon in each stream's own encoding: the bytes go out as they are.
    streams = {1: sys.stdout, 2: sys.stderr}
    view = memoryview(payload)
    at = 0
    for fd, size in chunks:
        stream = streams[fd]
        stream.flush()
        stream.buffer.write(view[at:at + size])
        stream.buffer.flush()
        at += size
    return exit_code
