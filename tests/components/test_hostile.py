"""Hostile and broken components end as Error verdicts for that one call; the next call is unaffected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.component import ComponentLibrary
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Status
from tests.cli.conftest import run_cli
from tests.components.conftest import MakeComponent, needs_componentize

pytestmark = needs_componentize


def _error(lib: ComponentLibrary, fn: str) -> LibraryError:
    with pytest.raises(LibraryError) as info:
        lib.check(fn, [], CallContext(lib.workspace))
    # the run goes on: the same library answers the next call normally
    assert lib.check("ok", [], CallContext(lib.workspace)).status is Status.PASS
    return info.value


def test_endless_loop_times_out(make_component: MakeComponent, probe_wasm: Path) -> None:
    err = _error(make_component(probe_wasm, timeout_ms=300), "loop")
    assert err.code == "E611" and "timed out after 300 ms (timeout_ms)" in err.message
    assert "function 'loop'" in err.message and "probe" in err.message


def test_memory_bomb_hits_the_cap(make_component: MakeComponent, probe_wasm: Path) -> None:
    err = _error(make_component(probe_wasm, max_memory_mb=96), "bomb")
    assert err.code == "E612" and "memory limit of 96 MiB reached (max_memory_mb)" in err.message


def test_uncaught_exception_names_it(make_component: MakeComponent, probe_wasm: Path) -> None:
    lib = make_component(probe_wasm)
    ctx = CallContext(lib.workspace)
    with pytest.raises(LibraryError) as info:
        lib.check("raise", [], ctx)
    assert info.value.code == "E610"
    assert "the Python code raised ValueError: boom from the probe" in info.value.message
    # the traceback is kept under the check
    assert "Traceback" in "".join(ctx.output) and "probe.py" in "".join(ctx.output)


def test_wrong_return_shape(make_component: MakeComponent, probe_wasm: Path) -> None:
    err = _error(make_component(probe_wasm), "shape")
    assert err.code == "E610" and "'str' object has no attribute" in err.message


def test_value_that_is_not_json(make_component: MakeComponent, probe_wasm: Path) -> None:
    lib = make_component(probe_wasm)
    with pytest.raises(LibraryError) as info:
        lib.call("badjson", [], CallContext(lib.workspace))
    assert info.value.code == "E615" and "{not json" in info.value.message


def test_exit_is_an_error(make_component: MakeComponent, probe_wasm: Path) -> None:
    err = _error(make_component(probe_wasm), "exit")
    assert err.code == "E610"


def test_output_is_captured_and_deps_recorded(make_component: MakeComponent, probe_wasm: Path) -> None:
    lib = make_component(probe_wasm)
    ctx = CallContext(lib.workspace)
    result = lib.check("print", [], ctx)
    assert result.status is Status.FAIL and result.message == "printed"
    text = "".join(ctx.output)
    assert "to stdout from the probe" in text and "to stderr from the probe" in text
    assert ctx.deps == {lib.workspace + "/dep.txt"}


def test_every_call_gets_a_fresh_instance(make_component: MakeComponent, probe_wasm: Path) -> None:
    lib = make_component(probe_wasm)
    messages = [lib.check("global", [], CallContext(lib.workspace)).message for _ in range(3)]
    assert messages == ["call number 1"] * 3


HOSTILE_SPEC = """\
import probe

element hostile:
    check probe.loop()
    check probe.bomb()
    check probe.raise()
    check probe.shape()
    check probe.ok()
"""


def test_a_run_with_hostile_checks_reports_errors_and_continues(tmp_path: Path, probe_wasm: Path) -> None:
    (tmp_path / "spec.hie").write_text(HOSTILE_SPEC)
    (tmp_path / "hielements.toml").write_text(
        # The breaker would disable the library after 3 failures in a row (tested below); not here.
        f'[libraries.probe]\npath = "{probe_wasm}"\ntimeout_ms = 500\nmax_memory_mb = 96\n'
        "max_consecutive_failures = 10\n"
    )
    r = run_cli("run", str(tmp_path / "spec.hie"), "-f", "json", "--no-cache")
    assert r.code == 1, r.err
    got = [(x["check"], x["status"]) for x in json.loads(r.out)["results"]]
    assert got == [
        ("probe.loop()", "error"),
        ("probe.bomb()", "error"),
        ("probe.raise()", "error"),
        ("probe.shape()", "error"),
        ("probe.ok()", "pass"),
    ]


def test_a_component_failing_three_times_in_a_row_is_disabled(tmp_path: Path, probe_wasm: Path) -> None:
    (tmp_path / "spec.hie").write_text(
        "import probe\nelement hostile:\n" + "    check probe.loop()\n" * 3 + "    check probe.ok()\n"
    )
    (tmp_path / "hielements.toml").write_text(
        f'[libraries.probe]\npath = "{probe_wasm}"\ntimeout_ms = 300\nmax_memory_mb = 96\n'
    )
    r = run_cli("run", str(tmp_path / "spec.hie"), "-f", "json", "--no-cache", "-j", "1")
    results = json.loads(r.out)["results"]
    assert [x["status"] for x in results] == ["error"] * 4
    assert all("timed out" in x["message"] for x in results[:3])
    assert "disabled after 3 consecutive timeouts" in results[3]["message"]
