"""The Python SDK's dispatch, run by the host's CPython: the same code that runs inside a component
(only `WitWorld`'s conversion to WIT records needs the componentize-py bindings, tested through builds).

No `from __future__ import annotations` here: the SDK reads the annotations of functions defined inside
the tests, which must evaluate against the fixture-loaded module."""


import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SDK = Path(__file__).resolve().parents[2] / "plugins" / "sdk" / "python" / "hielements.py"


@pytest.fixture
def sdk() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hielements_sdk_under_test", SDK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _req(fn: str, *args: Any) -> dict[str, Any]:
    return {"function": fn, "args": list(args), "workspace": "/ws"}


def test_typed_arguments_verdicts_and_messages(sdk: Any) -> None:
    plugin = sdk.Plugin("lib")

    @plugin.check
    def at_least(scope: sdk.Scope, n: int, label: str = "") -> Any:
        return sdk.Pass() if len(scope.paths) >= n else sdk.Fail(f"{label}: {len(scope.paths)} < {n}")

    scope = {"Scope": {"kind": {"Folder": "src"}, "paths": ["/ws/src/a"], "resolved": True}}
    assert plugin.run_check(_req("at_least", scope, {"Int": 1}, {"String": "x"}))[0] == sdk.Pass()
    assert plugin.run_check(_req("at_least", scope, {"Float": 2.9}, "y"))[0] == sdk.Fail("y: 1 < 2")
    assert plugin.run_check(_req("at_least", {"String": "src"}, 1, "z"))[0] == sdk.Error(
        "at_least requires a scope as first argument"
    )
    assert plugin.run_check(_req("at_least", scope, {"String": "3"}, "z"))[0] == sdk.Error(
        "at_least requires a number as second argument"
    )
    assert plugin.run_check(_req("nope"))[0] == sdk.Error("Unknown check function: lib.nope")


def test_exceptions_and_wrong_results_become_errors(sdk: Any, capsys: pytest.CaptureFixture[str]) -> None:
    plugin = sdk.Plugin("lib")

    @plugin.check
    def explode() -> Any:
        raise KeyError("missing")

    @plugin.check
    def refuse() -> Any:
        raise sdk.PluginError("not today")

    @plugin.check
    def odd() -> Any:
        return 42

    assert plugin.run_check(_req("explode"))[0] == sdk.Error("lib.explode raised KeyError: 'missing'")
    assert "Traceback" in capsys.readouterr().err
    assert plugin.run_check(_req("refuse"))[0] == sdk.Error("not today")
    assert plugin.run_check(_req("odd"))[0] == sdk.Error("lib.odd returned int, not Pass(), Fail(...) or Error(...)")


def test_selectors_context_and_deps(sdk: Any, tmp_path: Path) -> None:
    plugin = sdk.Plugin("lib")
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "b.txt").write_text("b")
    (tmp_path / "src" / "sub" / "a.txt").write_text("a")
    (tmp_path / "src" / "link").symlink_to(tmp_path / "src" / "b.txt")
    (tmp_path / "conf.ini").write_text("x=1")

    @plugin.selector
    def files(ctx: sdk.Context, path: str) -> Any:
        ctx.read_text("conf.ini")
        ctx.depend("maybe.ini")
        return sdk.Scope.folder(path, ctx.walk_files(path))

    value, deps = plugin.call({"function": "files", "args": [{"String": "src"}], "workspace": str(tmp_path)})
    assert sdk.encode(value) == {
        "Scope": {
            "kind": {"Folder": "src"},
            "paths": [str(tmp_path / "src" / "b.txt"), str(tmp_path / "src" / "sub" / "a.txt")],
            "resolved": True,
        }
    }
    assert deps == [str(tmp_path / "conf.ini"), str(tmp_path / "maybe.ini")]
    assert plugin.call(_req("nope"))[0] == sdk.Error("Unknown function: lib.nope")
    info = plugin.describe()
    assert info["selectors"][0]["params"] == [{"name": "path", "ty": "String", "description": ""}]
