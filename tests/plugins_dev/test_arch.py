"""The arch plugin: layering over a small package on disk, and over hie-tasks' own model package."""

from __future__ import annotations

from pathlib import Path

from driver import Driver, I, S, scope

REPO = Path(__file__).resolve().parents[2]


def layered(ws: Path) -> list[str]:
    files = {
        "app/__init__.py": '"""App."""\nfrom . import core\n',
        "app/core/__init__.py": '"""Core."""\n',
        "app/core/model.py": '"""Model."""\nimport os, app.core.util as u\nfrom ..ui import view  # not allowed\n',
        "app/core/util.py": '"""Util."""\ndef f():\n    from app.ui.view import (\n        x,\n    )\n',
        "app/ui/view.py": '# comment\n"""View."""\nfrom app.core import model\n"""\nimport app.ui.secret\n"""\n',
        "app/ui/nodoc.py": "import sys\n",
    }
    for rel, text in files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    return sorted(str(ws / rel) for rel in files)


def test_imports_only_lists_offenders(built: dict[str, Path], tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    paths = layered(ws)
    core = scope("Folder", "app/core", [p for p in paths if "/core/" in p])
    d = Driver(built["arch"], ws)
    allowed = {"List": [S("app"), S("app.core")]}
    assert d.check("imports_only", core, allowed)["Fail"] == (
        "2 import(s) of app outside the allowed prefixes:\n  app/core/model.py:3 app.ui\n  app/core/util.py:3 app.ui.view"
    )
    everything = scope("Folder", "app", paths)
    assert (
        d.check("imports_only", everything, {"List": [S("app"), S("app.core"), S("app.ui")]})["Pass"] is None
    )


def test_max_lines_and_docstrings(built: dict[str, Path], tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    s = scope("Folder", "app", layered(ws))
    d = Driver(built["arch"], ws)
    assert d.check("max_lines", s, I(6))["Pass"] is None
    assert (
        d.check("max_lines", s, I(4))["Fail"]
        == "2 file(s) longer than 4 lines:\n  app/core/util.py: 5 lines\n  app/ui/view.py: 6 lines"
    )
    assert (
        d.check("has_module_docstring", s)["Fail"]
        == "Python modules without a module docstring:\n  app/ui/nodoc.py"
    )


def test_on_hie_tasks_own_model_layer(built: dict[str, Path]) -> None:
    model = sorted(str(p) for p in (REPO / "hie_tasks" / "model").glob("*.py"))
    d = Driver(built["arch"], REPO)
    answer = d.check(
        "imports_only",
        scope("Folder", "hie_tasks/model", model),
        {"List": [S("hie_tasks"), S("hie_tasks.model")]},
    )
    assert answer["Pass"] is None and answer["deps"] == model
