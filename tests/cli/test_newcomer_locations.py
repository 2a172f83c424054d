"""Issue 13: failures name their offending sources (`locations`) in every format, replayed verdicts too,
and a plugin without file access is told which grant is missing and where."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, run_cli

SPEC = (
    "import python\n"
    "element shop:\n"
    "    scope api = python.module_selector('api')\n"
    "    check python.no_import(api, 'shop.db')\n"
)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "api.py").write_text("import json\n\nfrom shop.db import connect\n")
    (tmp_path / "app.hie").write_text(SPEC)
    return tmp_path


def test_locations_in_every_format(shop: Path) -> None:
    human = run_cli("run", "app.hie", cwd=shop)
    assert human.code == 1
    lines = human.out.splitlines()
    at = lines.index("FAIL shop :: python.no_import(api, 'shop.db')")
    assert lines[at + 1] == "  --> Scope imports 'shop.db' but should not"  # upstream's text, unchanged
    assert lines[at + 2] == "      at shop/api.py:3"
    replay = run_cli("run", "app.hie", cwd=shop)  # replayed from the store: still located
    assert "(cached)" in replay.out and "      at shop/api.py:3" in replay.out
    result = json.loads(run_cli("run", "app.hie", "-f", "json", cwd=shop).out)["results"][0]
    assert result["message"] == "Scope imports 'shop.db' but should not"
    assert result["locations"] == [{"file": "shop/api.py", "line": 3}]
    gh = run_cli("run", "app.hie", "-f", "github", cwd=shop).out
    assert "::error file=shop/api.py,line=3,title=FAIL shop::" in gh and "(check at app.hie:4)" in gh
    run_cli("run", "app.hie", "-f", "junit", "-o", "r.xml", cwd=shop)
    failure = ET.parse(shop / "r.xml").getroot().find(".//failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == "Scope imports 'shop.db' but should not"
    assert "at shop/api.py:3" in failure.text


def test_passing_checks_carry_no_locations(shop: Path) -> None:
    (shop / "shop" / "api.py").write_text("import json\n")
    result = json.loads(run_cli("run", "app.hie", "-f", "json", cwd=shop).out)["results"][0]
    assert result["status"] == "pass" and result["locations"] == []


def test_external_plugin_locations(tmp_path: Path) -> None:
    (tmp_path / "plug.py").write_text(
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    req = json.loads(line)\n"
        "    res = {'result': 'fail', 'message': 'bad line', 'locations': [{'file': 'a.txt', 'line': 2}, 7]}\n"
        "    print(json.dumps({'jsonrpc': '2.0', 'id': req['id'], 'result': res}), flush=True)\n"
    )
    (tmp_path / "hielements.toml").write_text(f'[libraries.plug]\nexecutable = "{sys.executable}"\nargs = ["plug.py"]\n')
    (tmp_path / "app.hie").write_text("import plug\nelement e:\n    check plug.look('x')\n")
    result = json.loads(run_cli("run", "app.hie", "-f", "json", cwd=tmp_path).out)["results"][0]
    assert result["message"] == "bad line" and result["locations"] == [{"file": "a.txt", "line": 2}]


@pytest.fixture(scope="module")
def capsprobe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("probe") / "probe.wasm"
    cmd = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-s",
           str(REPO / "tests" / "wasm" / "capsprobe.c"), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip(f"zig cc unavailable: {proc.stderr[-300:]}")
    return out


def test_plugin_without_file_access_is_told_the_grant(tmp_path: Path, capsprobe: Path) -> None:
    (tmp_path / "hielements.toml").write_text(
        "# the probe lists directories\n"
        "[libraries.myplug]\n"
        f'path = "{capsprobe}"\n'
        'capabilities = { fs = "none" }\n'
    )
    (tmp_path / "app.hie").write_text(
        "import myplug\nelement e:\n"
        f"    scope s = myplug.look('list', '{tmp_path}')\n"
        "    check files.exists(files.folder_selector('.'), 'app.hie')\n")
    r = run_cli("run", "app.hie", "--no-cache", cwd=tmp_path)
    text = " ".join(r.out.split())
    assert "plugin 'myplug' has no file access; grant capabilities.fs = \"read\" in hielements.toml:4" in text
    granted = tmp_path / "hielements.toml"
    granted.write_text(granted.read_text().replace('fs = "none"', 'fs = "read"'))
    r = run_cli("run", "app.hie", "--no-cache", cwd=tmp_path)
    assert "has no file access" not in r.out and "Failed to evaluate scope" not in r.out
