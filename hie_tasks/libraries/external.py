"""External process plugins: a library served by a long-lived program speaking JSON-RPC 2.0 over stdio.

The process is started lazily on the first call or check, in the caller's working directory (as upstream), and
serves every request of the run one at a time; when it fails in a way that leaves the stream out of step it is
killed and the next call starts a fresh one. Framing, deadlines and process hygiene live in `jsonrpc.py`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import Any, TypeVar

from hie_tasks.config import ExternalLibraryConfig
from hie_tasks.libraries.base import CallContext, FunctionDoc, Library, LibraryDoc, ParamDoc, Purity
from hie_tasks.libraries.jsonrpc import MIB, PluginProcess, decode_bounded
from hie_tasks.libraries.limits import FailureBreaker, cap_error, cap_message, run_deadline
from hie_tasks.model.codec import decode_check_result, decode_value, dumps_canonical, encode_value
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Value

_T = TypeVar("_T")

#: stderr forwarded into one call's CallContext; the rest is summarised, so a chatty plugin cannot bloat reports
MAX_CALL_OUTPUT_BYTES = 256 * 1024


def _sha256_file(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class _OutputSink:
    """Forwards a call's stderr lines into its CallContext, up to a byte budget."""

    def __init__(self, ctx: CallContext | None, label: str) -> None:
        self.ctx = ctx
        self.label = label
        self.used = 0
        self.dropped = 0

    def __call__(self, line: str) -> None:
        if self.ctx is None:
            return
        if self.used + len(line) > MAX_CALL_OUTPUT_BYTES:
            self.dropped += 1
            return
        self.used += len(line) + 1
        self.ctx.record_output(line)

    def finish(self) -> None:
        if self.ctx is not None and self.dropped:
            self.ctx.record_output(f"[{self.label}] … {self.dropped} more stderr lines not shown")


class ExternalLibrary(Library):
    kind = "external"

    def __init__(self, config: ExternalLibraryConfig, workspace: str) -> None:
        super().__init__(config.name)
        self.config = config
        self.workspace = os.path.abspath(workspace)
        # Upstream starts plugins in the caller's working directory, not the workspace: its documented
        # `args = ["examples/plugins/sample_plugin.py"]` with `-w examples`, run from the repository root.
        # Relative `args` are therefore relative to where the command runs; captured once, at load.
        self.cwd = os.getcwd()
        self._process: PluginProcess | None = None
        #: bumped by close(); see _request
        self._generation = 0
        self._identity: str | None = None
        self._identity_paths: tuple[str, ...] = ()
        self.breaker = FailureBreaker(config.name, config.max_consecutive_failures)

    # -- process --------------------------------------------------------------------------------------------

    def _program(self) -> str | None:
        """The executable's path: bare names are looked up on PATH now, at spawn time (as the shell would)."""
        program = self.config.executable
        if os.path.isabs(program):
            return program
        return shutil.which(program)

    def _spawn(self) -> PluginProcess:
        program = self._program()
        if program is None:
            raise LibraryError(
                "E500",
                f"Failed to start external library '{self.name}': program '{self.config.executable}' "
                "was not found on PATH",
            )
        return PluginProcess(
            self.name, [program, *self.config.args], self.cwd, self.config.max_output_mb * MIB
        )

    @property
    def pid(self) -> int | None:
        """The running plugin's process id (None before the first call or after a failure)."""
        return self._process.pid if self._process is not None and self._process.alive else None

    def _request(self, method: str, params: Any, subject: str, ctx: CallContext | None) -> dict[str, Any]:
        sink = _OutputSink(ctx, self.name)
        generation = self._generation
        with self.lock:
            if self._process is None or not self._process.alive:
                self._shut_down_since(generation, subject)
                self._process = self._spawn()
            process = self._process
            # close() bumps the generation *before* it takes the process, so checking after the process is
            # published means that either close() saw this process (and stops it) or this request sees close().
            if generation != self._generation:
                if self._process is process:
                    self._process = None
                process.kill()
                self._shut_down_since(generation, subject)
            try:
                response = process.request(
                    method, params, run_deadline.clip_ms(self.config.timeout_ms) / 1000, subject, sink
                )
            finally:
                sink.finish()
                if not process.alive:
                    self._process = None
        return response

    def _shut_down_since(self, generation: int, subject: str) -> None:
        """Raise when close() ran after this request began (an interrupted run): a request queued before the
        shutdown must not start a new process. Requests made after close() start afresh."""
        if generation != self._generation:
            raise LibraryError("E500", f"External library '{self.name}' was shut down before {subject} ran")

    def _invoke(self, method: str, function: str, args: list[Value], ctx: CallContext) -> Any:
        subject = f"'{self.name}.{function}'"
        params = {"function": function, "args": [encode_value(a) for a in args], "workspace": self.workspace}
        try:
            response = self.breaker.guard(subject, lambda: self._request(method, params, subject, ctx))
            result = _result_of(response)
        except LibraryError as exc:
            raise cap_error(exc, self.config.max_message_kb) from None
        for holder in (response, result):
            if isinstance(holder, dict):
                self._record_deps(holder.get("deps"), ctx)
        return result

    def _record_deps(self, deps: Any, ctx: CallContext) -> None:
        # A depfile, as in make: workspace files the plugin read beyond its Scope arguments.
        if isinstance(deps, list):
            for dep in deps:
                if isinstance(dep, str) and dep:
                    ctx.record_dep(os.path.normpath(os.path.join(self.workspace, dep)))

    # -- Library --------------------------------------------------------------------------------------------

    def call(self, function: str, args: list[Value], ctx: CallContext) -> Value:
        return decode_bounded(decode_value, self._invoke("library.call", function, args, ctx))

    def check(self, function: str, args: list[Value], ctx: CallContext) -> CheckResult:
        result = decode_bounded(decode_check_result, self._invoke("library.check", function, args, ctx))
        return cap_message(result, self.config.max_message_kb)

    def documentation(self) -> LibraryDoc:
        """`library.doc` on a fresh process of its own (as upstream does), else a minimal fallback."""
        fallback = LibraryDoc(self.name, f"External library: {self.config.executable}", "unknown")
        try:
            process = self._spawn()
        except LibraryError:
            return fallback
        try:
            response = process.request("library.doc", {}, self.config.timeout_ms / 1000, f"'{self.name}' documentation")
            doc = _parse_doc(self.name, _result_of(response))
        except LibraryError:
            return fallback
        finally:
            process.close()
        return doc if doc is not None else fallback

    def metadata(self) -> dict[str, Any] | None:
        """`library.metadata` (`{name, version, functions, checks}`), None when the plugin does not answer it;
        used to resolve a spec's calls. Asked on the process the run's calls then use, so it costs a
        round-trip, not a process start."""
        try:
            result = _result_of(self._request("library.metadata", {}, f"'{self.name}' metadata", None))
        except LibraryError:
            return None
        return result if isinstance(result, dict) else None

    def identity(self) -> str:
        if self._identity is None:
            program = self._program()
            digests: dict[str, str | None] = {}
            if program is not None:
                digests[program] = _sha256_file(program)
            for arg in self.config.args:
                # Editing a plugin script named in args must invalidate cached verdicts like editing the binary.
                candidate = os.path.join(self.cwd, arg)
                if os.path.isfile(candidate):
                    digests[os.path.normpath(candidate)] = _sha256_file(candidate)
            self._identity_paths = tuple(os.path.abspath(p) for p in digests)
            self._identity = "external:" + dumps_canonical(
                {"program": program or self.config.executable, "args": list(self.config.args), "files": digests}
            )
        return self._identity

    def identity_files(self) -> tuple[str, ...]:
        self.identity()
        return self._identity_paths

    def identity_absent(self) -> tuple[str, ...]:
        """A bare program name found on PATH: the same name in every PATH directory searched before it must
        still name nothing, or the next spawn would run another program."""
        program = self.config.executable
        if os.path.isabs(program) or os.sep in program:
            return ()
        found = self._program()
        out: list[str] = []
        for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
            candidate = os.path.join(directory or ".", program)
            if found is not None and os.path.abspath(candidate) == os.path.abspath(found):
                break
            out.append(os.path.abspath(candidate))
        return tuple(out)

    def purity(self) -> Purity:
        return Purity.READS_WORKSPACE

    def close(self) -> None:
        # Not under self.lock: after Ctrl-C or SIGTERM a worker thread may still hold it, blocked on this very
        # process, and stopping the process is what unblocks that thread.
        self._generation += 1
        process, self._process = self._process, None
        if process is None:
            return
        if self.lock.acquire(blocking=False):
            try:
                process.close()
            finally:
                self.lock.release()
        else:
            # A request is in flight on this process (an interrupted run): kill it, and the requesting
            # thread, seeing end of output, reaps it and closes the pipes.
            process.signal_kill()


def _result_of(response: dict[str, Any]) -> Any:
    error = response.get("error")
    if error is not None:
        if isinstance(error, dict) and isinstance(error.get("code"), int) and not isinstance(error.get("code"), bool):
            message = error.get("message")
            raise LibraryError(f"E{error['code']}", message if isinstance(message, str) else str(message))
        raise LibraryError("E506", f"Failed to parse response: malformed error object. Response was: {error}")
    # `"result": null` counts as empty, as upstream's Option<Value> reads it.
    result = response.get("result")
    if result is None:
        raise LibraryError("E507", "External process returned empty result")
    return result


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _function_docs(items: Any) -> tuple[FunctionDoc, ...]:
    docs: list[FunctionDoc] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        params = []
        for raw in item.get("parameters") or []:
            if isinstance(raw, dict):
                # The protocol says `type`; accept the internal `param_type` spelling too.
                kind = raw.get("type", raw.get("param_type"))
                params.append(ParamDoc(_text(raw, "name"), kind if isinstance(kind, str) else "", _text(raw, "description")))
        docs.append(
            FunctionDoc(
                _text(item, "name"), _text(item, "description"), tuple(params), _text(item, "return_type"), _text(item, "example")
            )
        )
    return tuple(docs)


def _parse_doc(name: str, data: Any) -> LibraryDoc | None:
    if not isinstance(data, dict):
        return None
    # Keep the configured name: it is what specs call, whatever the plugin calls itself.
    return LibraryDoc(
        name,
        _text(data, "description"),
        _text(data, "version"),
        _function_docs(data.get("functions")),
        _function_docs(data.get("checks")),
    )
