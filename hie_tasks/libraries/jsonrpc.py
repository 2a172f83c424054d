"""One plugin process speaking line-delimited JSON-RPC 2.0 over its stdin and stdout.

This module owns the process and the framing (spawn, one request line out, one response line back, deadlines,
size limits, stderr capture, shutdown); `external.py` owns what the messages mean.

Design notes:
- One selector loop per request writes the request, reads stdout and drains stderr. Draining stderr in the same
  loop (instead of a reader thread) means every stderr line the plugin wrote before its answer is attributed
  to that call deterministically, and a plugin that logs a lot while we are still writing a large request
  cannot deadlock us. Between requests nobody reads stderr; a plugin that logs more than a pipe buffer while
  idle simply waits until the next request (or is killed at shutdown).
- Every failure that may leave the stream out of step (timeout, oversized or unparsable line, wrong id, EOF)
  kills the process; the owner starts a fresh one for the next call.
- The plugin runs in its own session / process group, so a kill reaches the grandchildren it spawned and a
  Ctrl-C in the terminal does not hit it before we clean up. The leader is never reaped before the group is
  killed (we poll with WNOWAIT), so its pid cannot be recycled under our `killpg`.
- An `atexit` hook kills whatever is still alive as a backstop for exceptions that skipped `close()`.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hie_tasks.libraries.reaper import kill_tree, new_tree_env
from hie_tasks.model.errors import LibraryError

MIB = 1024 * 1024
#: how long a plugin that sent an unreadable answer gets to exit before it counts as still running
_UNREADABLE_EXIT_WAIT_S = 0.25
#: how much of a plugin's stderr an unreadable-answer message quotes
_STDERR_SHOWN = 300
#: stderr lines kept per process for error messages (the "last stderr lines" of a crash)
STDERR_TAIL_LINES = 20
#: a stderr "line" longer than this is cut, so one runaway line cannot fill memory
MAX_STDERR_LINE = 4096
#: how much of a bad response line is quoted back in E506 messages
_QUOTE = 200
_CHUNK = 65536
_DRAIN_READS = 64
#: how long to wait for a plugin that closed stdout to finish exiting before reporting its status
_EXIT_GRACE_S = 1.0
_POSIX = os.name == "posix"

StderrSink = Callable[[str], None]
T = TypeVar("T")

_live: set[PluginProcess] = set()
_live_lock = threading.Lock()


def _kill_all_live() -> None:
    with _live_lock:
        remaining = list(_live)
    for proc in remaining:
        proc.kill()


atexit.register(_kill_all_live)


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and upstream's serde) does not.
    raise ValueError(f"invalid JSON constant {name}")


def parse_json(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, and a hostile nesting depth is a ValueError, not a RecursionError."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def decode_bounded(decode: Callable[[Any], T], data: Any) -> T:
    """`decode(data)`, with a hostile nesting depth reported as E508 instead of a RecursionError."""
    try:
        return decode(data)
    except RecursionError:
        raise LibraryError("E508", "Cannot convert JSON to Value: nested too deeply") from None


class PluginProcess:
    """A running plugin. Not thread-safe: the owner serialises requests."""

    def __init__(self, label: str, argv: list[str], cwd: str, max_response_bytes: int) -> None:
        self.label = label
        self.max_response_bytes = max_response_bytes
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._next_id = 1
        self._expect = 0
        self._out = bytearray()
        self._err = bytearray()
        self._exited = False
        self._reaped = False
        self._token, env = new_tree_env()
        try:
            self._proc = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                start_new_session=_POSIX,
                close_fds=True,
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            target = getattr(exc, "filename", None) or argv[0]
            raise LibraryError(
                "E500", f"Failed to start external library '{label}': {reason}: {target}"
            ) from None
        with _live_lock:
            _live.add(self)
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._stdin = self._proc.stdin
        self._stdout_fd = self._proc.stdout.fileno()
        self._stderr_fd: int | None = self._proc.stderr.fileno()
        for fd in (self._stdin.fileno(), self._stdout_fd, self._stderr_fd):
            os.set_blocking(fd, False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return not self._exited and not self._reaped

    # -- requests -----------------------------------------------------------------------------------------------

    def request(
        self, method: str, params: Any, timeout_s: float, subject: str, on_stderr: StderrSink | None = None
    ) -> dict[str, Any]:
        """Send one request; return the response object whose id matched. `subject` names the call in messages.

        Raises LibraryError (E503/E505/E506/E520/E521); after any of those the process has been killed.
        A JSON-RPC error object is returned like any response: the stream is still in step.
        """
        req_id = self._next_id
        self._next_id += 1
        try:
            payload = json.dumps(
                {"jsonrpc": "2.0", "method": method, "params": params, "id": req_id},
                ensure_ascii=False,
                allow_nan=False,
            )
        except (TypeError, ValueError) as exc:
            raise LibraryError("E503", f"Cannot encode the request for {subject}: {exc}") from None
        # Whatever arrived after the previous answer was not asked for: never let it answer this request.
        self._out.clear()
        self._expect = req_id
        try:
            line = self._exchange((payload + "\n").encode("utf-8"), timeout_s, subject, on_stderr)
            if self._exited:
                # It answered and then closed its output: reap it (and anything it left behind) now.
                self.kill()
            try:
                return self._response(line, req_id)
            except LibraryError as exc:
                raise self._unreadable_answer(exc, subject, on_stderr) from None
        except BaseException:
            # Whatever went wrong (including Ctrl-C), the stream is no longer trustworthy.
            self.kill()
            raise

    def _unreadable_answer(self, exc: LibraryError, subject: str, on_stderr: StderrSink | None) -> LibraryError:
        """A plugin that printed something other than a JSON-RPC answer (a stray `print`, a crash banner) and
        usually exited: keep the parse message, and add who it was, how it ended and what it said on stderr."""
        if self._reaped or "does not match request id" in exc.message:
            return exc  # a stale or foreign answer from a live plugin is another story
        # Only a plugin that ended is explained here; one still running is stopped by the caller as before.
        exited = self._wait_exit(_UNREADABLE_EXIT_WAIT_S)
        if not exited:
            return exc
        while self._stderr_fd is not None and select.select([self._stderr_fd], [], [], 0)[0]:
            if not self._read_stderr(on_stderr):
                break
        if self._err:
            self._emit_stderr(bytes(self._err), on_stderr)
            self._err.clear()
        status = self._finish_exit()
        said = "\n".join(self.stderr_tail)
        stderr = f"; its stderr began: {_quote(said[:_STDERR_SHOWN])}" if said else "; it wrote nothing on stderr"
        # Upstream's message first (scripts match on it), then who answered, how it ended and what it said.
        return LibraryError(
            exc.code, f"{exc.message}\nExternal library '{self.label}' gave this unreadable answer for {subject}"
                      f"{status}{stderr}",
        )

    def _exchange(self, payload: bytes, timeout_s: float, subject: str, on_stderr: StderrSink | None) -> str:
        deadline = time.monotonic() + timeout_s
        pending = memoryview(payload)
        stdin_fd = self._stdin.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(stdin_fd, selectors.EVENT_WRITE)
            sel.register(self._stdout_fd, selectors.EVENT_READ)
            if self._stderr_fd is not None:
                sel.register(self._stderr_fd, selectors.EVENT_READ)
            while True:
                line = self._take_line(subject)
                if line is not None and self._stale(line):
                    continue
                if line is not None:
                    self._drain_stderr(on_stderr)
                    return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LibraryError(
                        "E520",
                        f"External library '{self.label}' did not answer {subject} within "
                        f"{round(timeout_s * 1000)} ms "
                        "(timeout_ms in hielements.toml); the plugin process was stopped",
                    )
                for key, _ in sel.select(remaining):
                    if key.fd == stdin_fd:
                        pending = self._write_some(pending, subject)
                        if not pending:
                            sel.unregister(stdin_fd)
                    elif key.fd == self._stdout_fd:
                        if not self._read_into(self._out, self._stdout_fd, subject):
                            return self._at_eof(subject, on_stderr)
                    elif not self._read_stderr(on_stderr):
                        sel.unregister(key.fd)

    def _stale(self, line: str) -> bool:
        """A reply to an earlier request (the plugin answered one request twice): discarded. Any other id
        than the one expected still fails in `_response`."""
        if '"id"' not in line:
            return False
        try:
            data = parse_json(line)
        except ValueError:
            return False
        got = data.get("id") if isinstance(data, dict) else None
        return isinstance(got, int) and not isinstance(got, bool) and got < self._expect

    def _write_some(self, pending: memoryview, subject: str) -> memoryview:
        try:
            written = os.write(self._stdin.fileno(), pending[:_CHUNK])
        except BlockingIOError:
            return pending
        except OSError as exc:
            status = self._finish_exit()
            raise LibraryError(
                "E503",
                f"Failed to write request to external library '{self.label}' for {subject}: {exc.strerror or exc}"
                f"{status}{self._tail_text()}",
            ) from None
        return pending[written:]

    def _read_into(self, buffer: bytearray, fd: int, subject: str) -> bool:
        """Append what is available; False at EOF."""
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return True
        except OSError as exc:
            raise LibraryError(
                "E505", f"Failed to read response from external library '{self.label}' for {subject}: {exc}"
            ) from None
        buffer.extend(chunk)
        return bool(chunk)

    def _take_line(self, subject: str) -> str | None:
        """The next non-blank line of stdout, without its newline, or None if no whole line is buffered."""
        while True:
            end = self._out.find(b"\n")
            if (end if end >= 0 else len(self._out)) > self.max_response_bytes:
                raise self._too_large(subject)
            if end < 0:
                return None
            raw = bytes(self._out[:end])
            del self._out[: end + 1]
            if raw.strip():
                return raw.decode("utf-8", errors="replace")

    def _too_large(self, subject: str) -> LibraryError:
        return LibraryError(
            "E521",
            f"External library '{self.label}' sent a response larger than {self.max_response_bytes // MIB} MiB "
            f"for {subject} (max_output_mb in hielements.toml); the plugin process was stopped",
        )

    def _at_eof(self, subject: str, on_stderr: StderrSink | None) -> str:
        self._exited = True
        # Let the plugin finish writing its last words; they explain the crash.
        grace = time.monotonic() + _EXIT_GRACE_S
        while self._stderr_fd is not None and time.monotonic() < grace:
            ready = select.select([self._stderr_fd], [], [], max(0.0, grace - time.monotonic()))[0]
            if not ready or not self._read_stderr(on_stderr):
                break
        if self._err:
            self._emit_stderr(bytes(self._err), on_stderr)
            self._err.clear()
        if len(self._out) > self.max_response_bytes:
            raise self._too_large(subject)
        if self._out.strip():
            # Upstream reads a final unterminated line at EOF as the answer; keep that working.
            line = self._out.decode("utf-8", errors="replace")
            self._out.clear()
            return line
        status = self._finish_exit()
        raise LibraryError(
            "E505",
            f"Failed to read response from external library '{self.label}' for {subject}: "
            f"the plugin closed its output before answering{status}{self._tail_text()}",
        )

    def _response(self, line: str, req_id: int) -> dict[str, Any]:
        try:
            data = parse_json(line)
        except ValueError as exc:
            raise LibraryError("E506", f"Failed to parse response: {exc}. Response was: {_quote(line)}") from None
        if not isinstance(data, dict) or ("result" not in data and "error" not in data and "id" not in data):
            raise LibraryError(
                "E506", f"Failed to parse response: not a JSON-RPC response object. Response was: {_quote(line)}"
            )
        got = data.get("id")
        if isinstance(got, bool) or got != req_id:
            raise LibraryError(
                "E506",
                f"Failed to parse response: response id {json.dumps(got)} does not match request id {req_id}. "
                f"Response was: {_quote(line)}",
            )
        return data

    # -- stderr -------------------------------------------------------------------------------------------------

    def _read_stderr(self, on_stderr: StderrSink | None) -> bool:
        """Read what stderr has and emit whole lines; False (and stop watching it) at EOF."""
        assert self._stderr_fd is not None
        try:
            chunk = os.read(self._stderr_fd, _CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            self._stderr_fd = None
            return False
        self._err.extend(chunk)
        while True:
            end = self._err.find(b"\n")
            if end < 0:
                break
            self._emit_stderr(bytes(self._err[:end]), on_stderr)
            del self._err[: end + 1]
        if len(self._err) > MAX_STDERR_LINE:
            # A runaway line without newline: show its start, drop the rest of this chunk.
            self._emit_stderr(bytes(self._err), on_stderr)
            self._err.clear()
        return True

    def _drain_stderr(self, on_stderr: StderrSink | None) -> None:
        # Lines written before the answer are already in the pipe; read them without waiting for more.
        # Bounded, so a plugin that keeps logging after answering cannot hold the call open.
        for _ in range(_DRAIN_READS):
            if self._stderr_fd is None or not select.select([self._stderr_fd], [], [], 0)[0]:
                return
            if not self._read_stderr(on_stderr):
                return

    def _emit_stderr(self, raw: bytes, on_stderr: StderrSink | None) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if len(text) > MAX_STDERR_LINE:
            text = text[:MAX_STDERR_LINE] + f"… [{len(text) - MAX_STDERR_LINE} more characters]"
        line = f"[{self.label}] {text}"
        self.stderr_tail.append(line)
        if on_stderr is not None:
            on_stderr(line)

    def _tail_text(self) -> str:
        if not self.stderr_tail:
            return ""
        return ". Last stderr lines:\n" + "\n".join("  " + line for line in self.stderr_tail)

    # -- exit ---------------------------------------------------------------------------------------------------

    def _exited_unreaped(self) -> bool:
        """True once the leader has exited, without reaping it (its pid must stay reserved for killpg)."""
        if not _POSIX:
            return self._proc.poll() is not None
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _wait_exit(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        pause = 0.0005
        while not self._exited_unreaped():
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
        return True

    def _finish_exit(self) -> str:
        """Wait briefly for the plugin to exit, then kill and reap it; describe its exit status for messages."""
        self._exited = True
        exited = self._wait_exit(_EXIT_GRACE_S)
        self.kill()
        code = self._proc.returncode
        if not exited or code is None:
            return " (the plugin did not exit and was killed)"
        if code < 0:
            try:
                return f" (the plugin was killed by signal {signal.Signals(-code).name})"
            except ValueError:
                return f" (the plugin was killed by signal {-code})"
        return f" (the plugin exited with status {code})"

    def signal_kill(self) -> None:
        """Only send SIGKILL to the plugin's process group, for another thread than the one using the process.

        That thread may be blocked reading the plugin's output: closing the pipes under it would leave it
        waiting on a closed descriptor, whereas a killed plugin makes it see end of output and clean up."""
        if self._reaped:
            return
        if _POSIX:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(OSError):
                self._proc.kill()

    def kill(self) -> None:
        """Kill the plugin and everything in its process group, and reap it. Idempotent."""
        if self._reaped:
            return
        self._exited = True
        self.signal_kill()
        if _POSIX:
            # Descendants that left the process group (setsid) carry the tree's token: kill and reap them too.
            kill_tree(self._token, self.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            # A SIGKILLed process dies promptly unless stuck in the kernel; never hang the run on it.
            self._proc.wait(timeout=5)
        self._reaped = True
        for stream in (self._stdin, self._proc.stdout, self._proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with _live_lock:
            _live.discard(self)

    def close(self, grace_s: float = 0.1) -> None:
        """Orderly shutdown: close stdin so the plugin can exit by itself, wait `grace_s`, then kill and reap."""
        if self._reaped:
            return
        with contextlib.suppress(OSError):
            self._stdin.close()
        self._wait_exit(grace_s)
        self.kill()
