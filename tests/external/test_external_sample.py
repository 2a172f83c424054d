"""The sample plugin through a real subprocess: verdicts, values, docs, identity, deps, lifetime."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hie_tasks.config import ExternalLibraryConfig
from hie_tasks.libraries.base import CallContext, Purity
from hie_tasks.libraries.external import ExternalLibrary
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, ScopeKind, Status

from .conftest import SAMPLE, MakeLib  # type: ignore[import-not-found]


def test_selector_and_checks_give_upstream_verdicts(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib(script=SAMPLE, name="sample")
    ctx = CallContext(str(workspace))
    scope = lib.call("simple_selector", ["src"], ctx)
    assert scope == Scope(
        ScopeKind.folder("src"),
        tuple(str(workspace / p) for p in ("src/a.py", "src/b.py", "src/pkg/c.py")),
        True,
    )
    assert lib.check("file_count_check", [scope, 3], ctx) == CheckResult.passed()
    assert lib.check("file_count_check", [scope, 4], ctx) == CheckResult.failed("Expected at least 4 files, found 3")
    # A Float count is sent tagged as Float; the plugin truncates it like upstream libraries do.
    assert lib.check("file_count_check", [scope, 2.5], ctx).ok
    assert lib.check("always_pass", [], ctx) == CheckResult.passed()
    assert lib.check("always_fail", [], ctx) == CheckResult.failed("This check always fails")


def test_one_process_serves_the_whole_run(make_lib: MakeLib, workspace: Path, assert_gone: Callable[[int], None]) -> None:
    lib = make_lib(script=SAMPLE)
    assert not lib.pid  # lazy: nothing runs before the first call
    ctx = CallContext(str(workspace))
    lib.check("always_pass", [], ctx)
    pid = lib.pid
    assert pid is not None
    for _ in range(5):
        lib.check("always_pass", [], ctx)
    assert lib.pid == pid
    lib.close()
    assert_gone(pid)
    # A closed library starts again on demand.
    assert lib.check("always_pass", [], ctx).ok
    assert lib.pid not in (None, pid)


def test_json_rpc_error_object_becomes_library_error_with_its_code(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib(script=SAMPLE)
    with pytest.raises(LibraryError) as err:
        lib.check("no_such_check", [], CallContext(str(workspace)))
    assert err.value.code == "E-32601"
    assert err.value.message == "Unknown function: no_such_check"
    pid = lib.pid
    assert pid is not None  # an error object is a valid answer: the process stays
    assert lib.check("always_pass", [], CallContext(str(workspace))).ok
    assert lib.pid == pid


def test_plugin_runs_in_the_callers_directory_like_upstream(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Changed with #11: upstream starts plugins in the caller's working directory (its documented setup is
    # `args = ["examples/plugins/sample_plugin.py"]` with `-w examples`, run from the repository root).
    root = tmp_path / "repo"
    (root / "examples" / "plugins").mkdir(parents=True)
    shutil.copy(SAMPLE, root / "examples" / "plugins" / "plugin.py")
    monkeypatch.chdir(root)
    config = ExternalLibraryConfig("rel", sys.executable, ("examples/plugins/plugin.py",))
    lib = ExternalLibrary(config, str(workspace))
    try:
        assert lib.check("always_fail", [], CallContext(str(workspace))) == CheckResult.failed("This check always fails")
    finally:
        lib.close()


def test_concurrent_callers_are_serialised(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib(script=SAMPLE)
    results: list[Status] = []
    errors: list[BaseException] = []

    def worker(count: int) -> None:
        try:
            for i in range(20):
                scope = lib.call("simple_selector", ["src"], CallContext(str(workspace)))
                results.append(lib.check("file_count_check", [scope, count + i % 2], CallContext(str(workspace))).status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (3, 3, 3, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert results.count(Status.PASS) == 40 and results.count(Status.FAIL) == 40


def test_documentation_comes_from_a_separate_process(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib(script=SAMPLE, name="sample")
    lib.check("always_pass", [], CallContext(str(workspace)))
    pid = lib.pid
    doc = lib.documentation()
    assert lib.pid == pid  # the run's process was not used nor disturbed
    assert (doc.name, doc.description, doc.version) == ("sample", "Sample external plugin", "1.0.0")
    assert [f.name for f in doc.functions] == ["simple_selector"]
    assert [c.name for c in doc.checks] == ["file_count_check", "always_pass", "always_fail"]
    params = doc.checks[0].parameters
    assert [(p.name, p.param_type) for p in params] == [("scope", "Scope"), ("n", "integer")]


def test_documentation_falls_back_when_the_plugin_has_none(make_lib: MakeLib) -> None:
    lib = make_lib("crash", name="nodoc")
    doc = lib.documentation()
    assert doc.name == "nodoc"
    assert doc.description == f"External library: {sys.executable}"
    assert doc.functions == () and doc.checks == ()


def test_identity_changes_when_the_plugin_script_changes(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)  # relative args name files in the caller's directory
    script = workspace / "plugin.py"
    shutil.copy(SAMPLE, script)
    config = ExternalLibraryConfig("p", sys.executable, ("plugin.py",))
    before = ExternalLibrary(config, str(workspace)).identity()
    assert before == ExternalLibrary(config, str(workspace)).identity()
    script.write_text(script.read_text() + "\n# edited\n")
    assert ExternalLibrary(config, str(workspace)).identity() != before
    assert ExternalLibrary(config, str(workspace)).purity() is Purity.READS_WORKSPACE


def test_stderr_is_attributed_to_the_call_and_deps_are_recorded(make_lib: MakeLib, workspace: Path) -> None:
    lib = make_lib("chatty", name="talk")
    ctx = CallContext(str(workspace))
    assert lib.check("bad", [], ctx).ok
    assert ctx.output == ["[talk] working on it", "[talk] still working"]
    assert ctx.deps == {str(workspace / "data" / "config.json"), "/abs/elsewhere.txt"}
    quiet = CallContext(str(workspace))
    lib.check("ok", [], quiet)
    assert quiet.output == []


def test_blank_lines_are_skipped_and_a_final_unterminated_answer_is_read(
    make_lib: MakeLib, workspace: Path, assert_gone: Callable[[int], None]
) -> None:
    ctx = CallContext(str(workspace))
    assert make_lib("blank_lines").check("bad", [], ctx) == CheckResult.failed("after blank lines")
    last = make_lib("unterminated_exit")
    assert last.check("bad", [], ctx) == CheckResult.failed("last words")
    assert not last.pid  # it closed its output: the next call needs a new process
    assert_gone(int(ctx.output[-1].split()[-1]))


def test_no_plugin_survives_an_interpreter_exit_without_close(tmp_path: Path, assert_gone: Callable[[int], None]) -> None:
    # The atexit backstop: a run that forgets close() (or dies of an exception) leaves nothing behind.
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from hie_tasks.config import ExternalLibraryConfig
            from hie_tasks.libraries.base import CallContext
            from hie_tasks.libraries.external import ExternalLibrary
            lib = ExternalLibrary(ExternalLibraryConfig("p", sys.executable, ({str(SAMPLE)!r},)), {str(tmp_path)!r})
            lib.check("always_pass", [], CallContext({str(tmp_path)!r}))
            print(lib.pid, flush=True)
            raise SystemExit(0)
            """
        )
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=repo, env={"PYTHONPATH": str(repo)}
    )
    assert out.returncode == 0, out.stderr
    assert_gone(int(out.stdout.strip()))
