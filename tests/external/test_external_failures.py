"""Hostile plugins: every failure is a LibraryError with the right code, nothing hangs, nothing survives."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.config import ExternalLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.external import MAX_CALL_OUTPUT_BYTES, ExternalLibrary
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult

from .conftest import MakeLib, group_members, pid_alive  # type: ignore[import-not-found]

AssertGone = Callable[[int], None]


def _fail(lib: ExternalLibrary, ctx: CallContext, function: str = "bad") -> tuple[LibraryError, int, float]:
    """Trigger a failure; return the error, the pid of the process that failed and the seconds it took."""
    lib.check("ok", [], ctx)  # start the process first so its pid is known
    pid = lib.pid
    assert pid is not None
    start = time.monotonic()
    with pytest.raises(LibraryError) as err:
        lib.check(function, [], ctx)
    return err.value, pid, time.monotonic() - start


@pytest.mark.parametrize(
    ("mode", "code", "pattern"),
    [
        ("crash", "E505", r"exited with status 1.*\[plug\] about to crash.*RuntimeError: plugin blew up"),
        ("garbage", "E506", r"^Failed to parse response: .+\. Response was: hello, this is not json$"),
        ("wrong_id", "E506", r"^Failed to parse response: response id 999 does not match request id 2\. Response was: \{"),
        ("error_object", "E-32000", r"^the plugin refuses$"),
        ("empty_result", "E507", r"^External process returned empty result$"),
    ],
)
def test_misbehaviour_is_a_library_error_and_the_next_call_recovers(
    make_lib: MakeLib, workspace: Path, assert_gone: AssertGone, mode: str, code: str, pattern: str
) -> None:
    lib = make_lib(mode, timeout_ms=5000)
    ctx = CallContext(str(workspace))
    error, pid, took = _fail(lib, ctx)
    assert error.code == code
    assert re.search(pattern, error.message, re.S), error.message
    assert took < 4
    if code in ("E-32000", "E507"):
        assert lib.pid == pid  # a well-formed answer keeps the process
    else:
        assert_gone(pid)  # the stream is out of step: the process is killed...
    assert lib.check("ok", [], ctx).ok  # ...and the next call gets a working one
    assert lib.pid is not None


def test_crash_output_reaches_the_call_context(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib("crash")
    ctx = CallContext(str(workspace))
    _fail(lib, ctx)
    assert ctx.output[0] == "[plug] about to crash"
    assert ctx.output[-1] == "[plug] RuntimeError: plugin blew up"


def test_hang_times_out_and_kills_the_whole_process_group(
    make_lib: MakeLib, workspace: Path, assert_gone: AssertGone
) -> None:
    lib = make_lib("hang", name="slow", timeout_ms=400)
    ctx = CallContext(str(workspace))
    error, pid, took = _fail(lib, ctx)
    assert error.code == "E520"
    assert "'slow'" in error.message and "'slow.bad'" in error.message and "400 ms" in error.message
    assert 0.35 < took < 3
    grandchild = int(next(line for line in ctx.output if "grandchild" in line).split()[-1])
    assert_gone(pid)
    assert grandchild not in group_members(pid)
    assert lib.check("ok", [], ctx).ok


def test_early_exit_reports_status_and_stderr_and_respawns(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib("exit_early", name="quitter")
    ctx = CallContext(str(workspace))
    for _ in range(2):  # each call starts a fresh process, which exits again
        with pytest.raises(LibraryError) as err:
            lib.check("ok", [], ctx)
        assert err.value.code == "E505"
        assert "exited with status 3" in err.value.message
        assert "[quitter] giving up early" in err.value.message
        assert lib.pid is None
    assert ctx.output == ["[quitter] giving up early"] * 2


def test_oversized_response_is_refused(make_lib: MakeLib, workspace: Path, assert_gone: AssertGone) -> None:
    lib = make_lib("huge_line", max_output_mb=1)
    error, pid, _ = _fail(lib, CallContext(str(workspace)))
    assert error.code == "E521"
    assert "larger than 1 MiB" in error.message and "max_output_mb" in error.message
    assert_gone(pid)


def test_stderr_flood_neither_blocks_nor_bloats_the_report(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib("flood_stderr", timeout_ms=20000)
    ctx = CallContext(str(workspace))
    assert lib.check("bad", [], ctx).ok  # 5 MB of stderr, far beyond a pipe buffer, then the answer
    assert sum(len(line) for line in ctx.output) <= MAX_CALL_OUTPUT_BYTES + 200
    assert all(line.startswith("[plug] ") for line in ctx.output)
    assert re.fullmatch(r"\[plug\] … \d+ more stderr lines not shown", ctx.output[-1])


def test_interrupt_during_a_call_kills_the_plugin(make_lib: MakeLib, workspace: Path, assert_gone: AssertGone) -> None:
    class InterruptingContext(CallContext):
        def record_output(self, text: str) -> None:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while the plugin was talking

    lib = make_lib("chatty")
    lib.check("ok", [], CallContext(str(workspace)))
    pid = lib.pid
    assert pid is not None
    with pytest.raises(KeyboardInterrupt):
        lib.check("bad", [], InterruptingContext(str(workspace)))
    assert_gone(pid)


def test_spawn_failures_are_e500(workspace: Path) -> None:
    missing = ExternalLibrary(ExternalLibraryConfig("gone", str(workspace / "no" / "such-plugin")), str(workspace))
    with pytest.raises(LibraryError) as err:
        missing.check("x", [], CallContext(str(workspace)))
    assert err.value.code == "E500"
    assert "Failed to start external library 'gone'" in err.value.message and "no/such-plugin" in err.value.message

    not_on_path = ExternalLibrary(ExternalLibraryConfig("bare", "hie-tasks-no-such-program"), str(workspace))
    with pytest.raises(LibraryError) as err:
        not_on_path.call("x", [], CallContext(str(workspace)))
    assert err.value.code == "E500" and "not found on PATH" in err.value.message


def test_stale_extra_answer_never_answers_the_next_request(make_lib: MakeLib, workspace: Path) -> None:
    """The plugin answers `bad` twice; the second line must be discarded, not read as `nope`'s answer."""
    lib = make_lib("double_answer")
    ctx = CallContext(str(workspace))
    assert lib.check("bad", [], ctx) == CheckResult.failed("first answer")
    pid = lib.pid
    assert lib.check("nope", [], ctx) == CheckResult.failed("nope")
    assert lib.check("ok", [], ctx).ok
    assert lib.pid == pid  # the stream stayed in step: no respawn


def test_setsid_grandchild_does_not_outlive_the_plugin(
    make_lib: MakeLib, workspace: Path, assert_gone: AssertGone
) -> None:
    lib = make_lib("setsid_grandchild", timeout_ms=1500)
    ctx = CallContext(str(workspace))
    error, pid, _ = _fail(lib, ctx)
    assert error.code == "E520"
    grandchild = int(next(line for line in ctx.output if "grandchild" in line).split()[-1])
    assert_gone(pid)
    deadline = time.monotonic() + 5
    while pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pid_alive(grandchild), "a setsid grandchild outlived its plugin"
