"""Issue 13, mistakes caught before running: every call resolved against the library catalogs, empty
scopes warned about (W010) in every format, missing file-access grants named."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.cli.conftest import run_cli

TYPOS = (
    "import files\n"
    "element app:\n"
    "    scope a = files.folder_selectr('src')\n"      # line 3: unknown selector
    "    scope b = filez.folder_selector('src')\n"     # line 4: unknown library
    "    check files.exists(a, 'x.py')\n"              # line 5: fine (a is a scope name)
    "    check files.exist(b, 'x.py')\n"               # line 6: unknown check
    "    check files.exists(b)\n"                      # line 7: arity
    "    check files.max_size('src', 10)\n"            # line 8: a string where a Scope goes
    "    check files.folder_selector('src')\n"         # line 9: a selector used as a check
)


def test_validate_reports_every_typo_with_suggestions(tmp_path: Path) -> None:
    (tmp_path / "app.hie").write_text(TYPOS)
    (tmp_path / "src").mkdir()
    before = set(tmp_path.rglob("*"))
    r = run_cli("validate", "app.hie", "-f", "json", cwd=tmp_path)
    assert r.code == 1
    errors = json.loads(r.out)["errors"]
    got = [(e["code"], e["line"]) for e in errors]
    assert got == [("E231", 3), ("E230", 4), ("E231", 6), ("E232", 7), ("E233", 8), ("E231", 9)]
    messages = [e["message"] for e in errors]
    assert "did you mean `folder_selector`?" in messages[0]
    assert "did you mean `files`?" in messages[1]
    assert "did you mean `exists`?" in messages[2]
    assert "takes 2 arguments, got 1" in messages[3]
    assert "must be a Scope, got a string" in messages[4]
    assert "is a selector, not a check" in messages[5]
    assert not any("Undefined identifier" in m for m in messages)  # no cascade from the broken scopes
    assert set(tmp_path.rglob("*")) == before
    human = run_cli("validate", "app.hie", cwd=tmp_path)
    assert human.code == 1 and "6 errors" in human.out


def test_run_refuses_before_running(tmp_path: Path) -> None:
    (tmp_path / "app.hie").write_text(TYPOS)
    r = run_cli("run", "app.hie", cwd=tmp_path)
    assert r.code == 1
    assert "error[E231]" in r.err and "no checks were run" in r.err
    assert "FAIL" not in r.out and "ERROR" not in r.out
    assert not (tmp_path / ".hie-cache").exists()


def test_upstream_dropin_warns_and_keeps_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "app.hie").write_text(TYPOS)
    r = run_cli("check", "app.hie", "-f", "json", cwd=tmp_path, tool="hielements")
    assert r.code == 0  # upstream's `check` accepts the file
    data = json.loads(r.out)
    assert data["errors"] == []
    assert [w["code"] for w in data["warnings"]] == ["W231", "W230", "W231", "W232", "W233", "W231"]
    run = run_cli("run", "app.hie", "-f", "json", cwd=tmp_path, tool="hielements")
    assert run.code == 1 and json.loads(run.out)["summary"]["errors"] >= 1  # runs, as upstream does


def test_external_plugin_metadata_resolves_names(tmp_path: Path) -> None:
    plugin = tmp_path / "plug.py"
    plugin.write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    m = req['method']\n"
        "    if m == 'library.metadata':\n"
        "        res = {'name': 'myplug', 'version': '1', 'functions': ['pick'], 'checks': ['verify']}\n"
        "        print(json.dumps({'jsonrpc': '2.0', 'id': req['id'], 'result': res}), flush=True)\n"
        "    else:\n"
        "        print(json.dumps({'jsonrpc': '2.0', 'id': req['id'], 'error': {'code': -32601, 'message': 'no'}}), flush=True)\n"
    )
    (tmp_path / "hielements.toml").write_text(
        f'[libraries.myplug]\nexecutable = "{sys.executable}"\nargs = ["plug.py"]\n')
    (tmp_path / "app.hie").write_text(
        "import myplug\nelement app:\n    scope s = myplug.pik('x')\n    check myplug.verify(s)\n    check myplug.verfy(s)\n")
    r = run_cli("validate", "app.hie", "-f", "json", cwd=tmp_path)
    assert r.code == 1, r.err
    errors = json.loads(r.out)["errors"]
    assert [(e["code"], e["line"]) for e in errors] == [("E231", 3), ("E231", 5)]
    assert "did you mean `pick`?" in errors[0]["message"] and "did you mean `verify`?" in errors[1]["message"]


EMPTY = (
    "import files\nimport python\n"
    "element app:\n"
    "    scope api = files.folder_selector('src/apii')\n"
    "    check python.no_import(api, 'shop.db')\n"
    "    check files.exists(api, 'x.py')\n"
)


def test_empty_scope_warns_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "src" / "api").mkdir(parents=True)
    (tmp_path / "app.hie").write_text(EMPTY)
    human = run_cli("run", "app.hie", "--no-cache", cwd=tmp_path)
    assert "warning[W010]: scope `api` selects no files: files.folder_selector('src/apii') (line 4)" in human.out
    assert "python.no_import(api, 'shop.db') (line 5)" in human.out
    data = json.loads(run_cli("run", "app.hie", "-f", "json", "--no-cache", cwd=tmp_path).out)
    w010 = [d for d in data["diagnostics"] if d["code"] == "W010"]
    assert len(w010) == 1 and w010[0]["line"] == 4 and w010[0]["severity"] == "warning"
    gh = run_cli("run", "app.hie", "-f", "github", "--no-cache", cwd=tmp_path).out
    assert any(line.startswith("::warning file=app.hie,line=4,") and "W010" in line for line in gh.splitlines())
    run_cli("run", "app.hie", "-f", "junit", "-o", str(tmp_path / "r.xml"), "--no-cache", cwd=tmp_path)
    outs = [e.text or "" for e in ET.parse(tmp_path / "r.xml").getroot().iter("system-out")]
    assert any("warning[W010]" in text for text in outs)
    # a scope with files: no warning
    (tmp_path / "app.hie").write_text(EMPTY.replace("src/apii", "src/api").replace("'x.py'", "'y'"))
    (tmp_path / "src" / "api" / "y").write_text("")
    assert "W010" not in run_cli("run", "app.hie", "--no-cache", cwd=tmp_path).out


def test_run_asks_an_external_plugin_for_its_catalog_once(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    (tmp_path / "plug.py").write_text(
        "import json, sys\n"
        f"LOG = {str(log)!r}\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    open(LOG, 'a').write(req['method'] + '\\n')\n"
        "    if req['method'] == 'library.metadata':\n"
        "        res = {'name': 'plug', 'version': '1', 'functions': [], 'checks': ['ok']}\n"
        "    else:\n"
        "        res = {'Pass': None}\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': req['id'], 'result': res}), flush=True)\n"
    )
    (tmp_path / "hielements.toml").write_text(f'[libraries.plug]\nexecutable = "{sys.executable}"\nargs = ["plug.py"]\n')
    (tmp_path / "app.hie").write_text("import plug\nelement e:\n    check plug.ok('x')\n")
    assert run_cli("run", "app.hie", cwd=tmp_path).code == 0
    assert run_cli("run", "app.hie", cwd=tmp_path).code == 0  # replayed: no process at all
    assert log.read_text().splitlines() == ["library.metadata", "library.check"]
    (tmp_path / "app.hie").write_text("import plug\nelement e:\n    check plug.okk('x')\n")
    r = run_cli("run", "app.hie", cwd=tmp_path)
    assert r.code == 1 and "did you mean `ok`?" in r.err
    assert log.read_text().count("library.metadata") == 1  # the remembered catalog answered
