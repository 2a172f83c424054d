"""The daemon's socket: bind it privately, answer one request per connection, and the daemon process itself.

The socket thread only accepts, checks and dispatches; a run request takes the watcher's lock, so it never
overlaps a cycle of the watch loop (which runs in the main thread, exactly as `hie-tasks watch` runs it).
`hie-tasks watch` attaches the same server to its own watcher: while it watches, `run` is answered by it.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

from hie_tasks.daemon import protocol
from hie_tasks.daemon.serving import RunService
from hie_tasks.engine.project import DEFAULT_RESULT_CACHE, Project, ProjectOptions
from hie_tasks.version import __version__
from hie_tasks.watch.cycle import CycleReport
from hie_tasks.watch.loop import Watcher

#: How often the accept loop looks at its stop flag.
_ACCEPT_POLL_S = 0.25


class AlreadyServed(Exception):
    """Another live daemon (or watch) answers on this socket."""


def barrier_directory(project: Project) -> str:
    """Where barrier files go: a directory of ours inside the watched workspace (the result store when it
    is there, else the workspace's `.hie-cache`)."""
    store = project.result_cache_dir()
    workspace = project.workspace
    if store.startswith(workspace.rstrip(os.sep) + os.sep):
        return store
    return os.path.join(workspace, DEFAULT_RESULT_CACHE)


class DaemonServer:
    def __init__(self, watcher: Watcher, socket_file: str | None = None, *,
                 on_stop: Any = None) -> None:
        project = watcher.runner.project
        self.watcher = watcher
        self.workspace = os.path.realpath(project.workspace)
        self.spec = os.path.realpath(project.spec_path)
        self.socket_file = socket_file or protocol.socket_path(self.workspace, self.spec)
        self.service = RunService(watcher)
        self.started = time.time()
        self._on_stop = on_stop
        self._sock: socket.socket | None = None
        self._inode: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def check_free(self) -> None:
        """AlreadyServed when a live daemon answers on our socket; a dead one's socket is removed."""
        protocol.ensure_private_dir(os.path.dirname(self.socket_file))
        if os.path.lexists(self.socket_file):
            try:
                protocol.connect(self.socket_file, 1.0).close()
            except OSError:
                os.unlink(self.socket_file)  # left behind by a daemon that died
            else:
                raise AlreadyServed(self.socket_file)

    def bind(self) -> None:
        """Create the socket (0600, in a 0700 directory of ours); AlreadyServed when a live daemon has it."""
        self.check_free()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(self.socket_file)
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_file, 0o600)
        sock.listen(16)
        sock.settimeout(_ACCEPT_POLL_S)
        self._sock = sock
        self._inode = os.stat(self.socket_file).st_ino

    def start_serving(self) -> None:
        """`start`, telling the watch's output instead of raising when the socket cannot be bound."""
        try:
            self.start()
        except (AlreadyServed, protocol.ProtocolError, OSError) as exc:
            self.watcher.sink.message(f"`run` is not answered by this watch: {exc}")

    def start(self) -> None:
        self.bind()
        self._thread = threading.Thread(target=self._accept_loop, name="hie-daemon", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        # Only our own socket: a newer daemon may have replaced it.
        with contextlib.suppress(OSError):
            if os.stat(self.socket_file).st_ino == self._inode:
                os.unlink(self.socket_file)

    # ------------------------------------------------------------------ requests

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            try:
                self._serve(conn)
            except Exception:  # a broken client must never end the daemon
                pass
            finally:
                conn.close()

    def _serve(self, conn: _socket.socket) -> None:
        conn.settimeout(30.0)
        protocol.check_peer(conn)
        message = protocol.recv_message(conn)
        conn.settimeout(None)
        answer = self.answer(message)
        if answer.get("status") != "ok" or message.get("kind") != "run":
            self.watcher.sink.message(f"{answer.get('status')} request ({message.get('kind')}): "
                                      f"{answer.get('reason', '')}".rstrip(": "))
        payload = answer.pop("payload", None)
        protocol.send_message(conn, {"protocol": protocol.PROTOCOL, "version": __version__, **answer}, payload)

    def answer(self, message: dict[str, Any]) -> dict[str, Any]:
        if (message.get("protocol"), message.get("version"), message.get("package")) != (
                protocol.PROTOCOL, __version__, protocol.package_dir()):
            return {"status": "stale", "reason": "another hie-tasks version or installation"}
        if (message.get("workspace"), message.get("spec")) != (self.workspace, self.spec):
            return {"status": "stale", "reason": "another workspace or spec"}
        kind = message.get("kind")
        if kind == "status":
            return {"status": "ok", **self.status()}
        if kind == "stop":
            self._stop.set()
            if self._on_stop is not None:
                self._on_stop()
            return {"status": "ok", "pid": os.getpid()}
        if kind == "run":
            return self.service.handle(message)
        return {"status": "declined", "reason": f"unknown request {kind!r}"}

    def status(self) -> dict[str, Any]:
        runner = self.watcher.runner
        report = runner.last_report
        return {
            "pid": os.getpid(),
            "workspace": self.workspace,
            "spec": self.spec,
            "socket": self.socket_file,
            "uptime_s": round(time.time() - self.started, 1),
            "cycles": self.watcher.cycles,
            "checks": report.totals.total if report is not None else None,
            "served": self.service.served,
            "declined": self.service.declined,
            "last_declined": self.service.last_declined,
            "healthy": not runner.broken and runner.last_error is None,
        }


class LogSink:
    """The daemon's cycles, one line each, on its log (stderr)."""

    def message(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)

    def cycle(self, report: CycleReport) -> None:
        ran = len(report.reran)
        what = "initial run" if report.initial else f"{len(report.changed)} changed"
        extra = " (events lost)" if report.events_lost else ""
        extra += f" error: {report.error}" if report.error else ""
        self.message(f"cycle {report.number}: {what}, {ran} reran, {report.duration_ms:.0f} ms{extra}")


def prepare(watcher: Watcher) -> None:
    """What a watcher needs before `start` to serve requests: its barrier directory."""
    directory = barrier_directory(watcher.runner.project)
    os.makedirs(directory, exist_ok=True)
    watcher.file_watcher.use_barriers(directory)


def attach(watcher: Watcher, sink: Any) -> DaemonServer | None:
    """`watch` serving the daemon's role: prepare `watcher` (before its start) to answer `run`; None, with a
    message, when another daemon already serves this workspace or the socket directory is not private."""
    server = DaemonServer(watcher)
    try:
        server.check_free()
    except AlreadyServed:
        sink.message("a daemon already answers `run` here; this watch does not")
        return None
    except (protocol.ProtocolError, OSError) as exc:
        sink.message(f"`run` is not answered by this watch: {exc}")
        return None
    prepare(watcher)
    return server


def run_daemon(spec_path: str, options: ProjectOptions) -> int:
    """The daemon process (`hie-tasks daemon serve`): watch and serve until stopped or signalled."""
    # A request passes through three threads (socket, inotify reader, watchdog's dispatcher) to see its
    # barrier; with the default 5 ms GIL switch interval each hand-off can cost that much.
    sys.setswitchinterval(0.0005)
    watcher = Watcher(lambda: Project(spec_path, options), LogSink())
    server = DaemonServer(watcher, on_stop=watcher.stop)

    def stop(signum: int, frame: FrameType | None) -> None:
        watcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        try:
            server.check_free()
            prepare(watcher)
            watcher.start()
            server.start()
        except AlreadyServed:
            print(f"another daemon already serves {server.workspace}", file=sys.stderr)
            return 1
        except (protocol.ProtocolError, OSError) as exc:
            print(f"cannot serve: {exc}", file=sys.stderr)
            return 2
        watcher.sink.message(f"serving {server.workspace} on {server.socket_file} (pid {os.getpid()})")
        # Lazily: a cycle runs when a request comes, so the store changes only as standalone runs would
        # change it, and an idle daemon costs nothing but the kernel's inotify bookkeeping.
        watcher.wait_stopped()
    finally:
        server.close()
        watcher.close()
    watcher.sink.message("stopped")
    return 0
