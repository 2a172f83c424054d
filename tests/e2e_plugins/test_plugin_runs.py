"""Whole runs through the real CLI with external and WASM plugins configured in hielements.toml."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.config.test_config import WASM_ABI_BLOCK
from tests.e2e_plugins.conftest import PLUGINS_PY

SAMPLE_SPEC = """\
import files
import sample

element app:
    scope src = sample.simple_selector('src')
    scope docs = files.folder_selector('docs')
    check sample.file_count_check(src, 2)
    check sample.file_count_check(src, 10)
    check sample.always_pass()
    check sample.always_fail()
    check files.exists(docs, 'index.md')
    element nested:
        check sample.file_count_check(sample.simple_selector('docs'), 1)
"""

EXTERNAL_TOML = f"""\
[libraries.sample]
executable = "{sys.executable}"
args = ["{PLUGINS_PY / 'sample_plugin.py'}"]
"""


def wasm_toml(path: Path) -> str:
    return f'[libraries.sample]\npath = "{path}"\ncapabilities = {{ fs = "read" }}\n'


def sample_workspace(root: Path, toml: str) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    for name in ("a.py", "b.py", "pkg/c.py"):
        (root / "src" / name).write_text("x = 1\n")
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# docs\n")
    (root / "spec.hie").write_text(SAMPLE_SPEC)
    (root / "hielements.toml").write_text(toml)
    return root


def results(ws: Path, *extra: str) -> tuple[int, list[tuple[str, str, str, str | None]]]:
    r = run_cli("run", str(ws / "spec.hie"), "-f", "json", "--no-cache", "--module-cache", str(ws / ".mc"), *extra)
    assert r.out, r.err
    data = json.loads(r.out)
    return r.code, [(x["element"], x["check"], x["status"], x["message"]) for x in data["results"]]


def test_external_and_wasm_sample_give_identical_verdicts(tmp_path: Path, wasm_plugins: dict[str, Path]) -> None:
    external = sample_workspace(tmp_path / "external", EXTERNAL_TOML)
    wasm = sample_workspace(tmp_path / "wasm", wasm_toml(wasm_plugins["sample"]))
    code_e, got_e = results(external)
    code_w, got_w = results(wasm)
    assert code_e == code_w == 1
    assert got_e == got_w
    assert [status for _e, _c, status, _m in got_w] == ["pass", "fail", "pass", "fail", "pass", "pass"]
    assert got_w[3][3] == "This check always fails"


def test_wasm_sample_without_fs_grant_cannot_see_the_workspace(tmp_path: Path, wasm_plugins: dict[str, Path]) -> None:
    ws = sample_workspace(tmp_path, f'[libraries.sample]\npath = "{wasm_plugins["sample"]}"\n')
    _code, got = results(ws)
    # fs = "none" (the default): the selector finds nothing, so the count checks fail instead of passing
    assert got[0][2] == "fail" and got[2][2] == "pass"


def test_doc_includes_plugin_documentation(tmp_path: Path, wasm_plugins: dict[str, Path]) -> None:
    for name, toml in (("ext", EXTERNAL_TOML), ("wasm", wasm_toml(wasm_plugins["sample"]))):
        ws = sample_workspace(tmp_path / name, toml)
        r = run_cli("doc", "-f", "json", "-w", str(ws))
        assert r.code == 0, r.err
        sample = next(lib for lib in json.loads(r.out)["libraries"] if lib["name"] == "sample")
        checks = {c["name"] for c in sample["checks"]}
        assert {"file_count_check", "always_pass", "always_fail"} <= checks, (name, sample)




def test_seed_configuration_block_runs_a_plugin_built_from_plugins(tmp_path: Path, wasm_plugins: dict[str, Path]) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "mylib.wasm").write_bytes(wasm_plugins["dockerfile"].read_bytes())
    (tmp_path / "hielements.toml").write_text(WASM_ABI_BLOCK)  # verbatim; names plugins/mylib.wasm
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12-slim@sha256:" + "a" * 64 + "\n"
        "EXPOSE 8080\n"
        "HEALTHCHECK CMD curl -f http://localhost:8080/ || exit 1\n"
        "USER app\n"
        'ENTRYPOINT ["python", "-m", "shop"]\n'
    )
    (tmp_path / "spec.hie").write_text(
        "element service:\n"
        "    scope image = files.file_selector('Dockerfile')\n"
        "    check mylib.exposes_port(image, 8080)\n"
        "    check mylib.has_healthcheck(image)\n"
        "    check mylib.base_image_pinned(image)\n"
        "    check mylib.entry_point(image, 'shop')\n"
        "    check mylib.no_root_user(image)\n"
    )
    r = run_cli("run", str(tmp_path / "spec.hie"), "--module-cache", str(tmp_path / ".mc"))
    assert r.code == 0, r.out + r.err
    assert "Summary: 5 total, 5 passed, 0 failed, 0 errors" in r.out
    (tmp_path / "Dockerfile").write_text("FROM python:latest\nEXPOSE 8080\n")
    r = run_cli("run", str(tmp_path / "spec.hie"), "-f", "json", "--module-cache", str(tmp_path / ".mc"))
    status = {x["check"]: x["status"] for x in json.loads(r.out)["results"]}
    assert status["mylib.exposes_port(image, 8080)"] == "pass"
    assert status["mylib.base_image_pinned(image)"] == "fail"
    assert status["mylib.has_healthcheck(image)"] == "fail"


def _plugin_processes(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(pid))
    return found


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            children.append(int(entry))
    return children


def test_hostile_external_plugins_become_error_verdicts(tmp_path: Path) -> None:
    hostile = PLUGINS_PY / "hostile_plugin.py"
    marker = f"hostile-{os.getpid()}-{time.time_ns()}"
    libs = ""
    for mode in ("crash", "hang", "garbage", "exit_early", "wrong_id"):
        libs += (
            f'[libraries.{mode}]\nexecutable = "{sys.executable}"\n'
            f'args = ["{hostile}", "{mode}", "{marker}"]\ntimeout_ms = 1500\n\n'
        )
    (tmp_path / "hielements.toml").write_text(libs)
    (tmp_path / "README.md").write_text("x")
    checks = "".join(f"    check {mode}.bad()\n" for mode in ("crash", "hang", "garbage", "exit_early", "wrong_id"))
    (tmp_path / "spec.hie").write_text(
        "element e:\n    scope root = files.folder_selector('.')\n" + checks + "    check files.exists(root, 'README.md')\n"
    )
    started = time.monotonic()
    r = run_cli("run", str(tmp_path / "spec.hie"), "-f", "json", "-j", "1")
    elapsed = time.monotonic() - started
    data = json.loads(r.out)
    statuses = [x["status"] for x in data["results"]]
    assert statuses == ["error"] * 5 + ["pass"], data["results"]
    messages = [x["message"] for x in data["results"][:5]]
    assert all(m for m in messages)
    assert "hang" in messages[1] and "bad" in messages[1]
    assert elapsed < 30
    assert r.code == 1
    assert _plugin_processes(marker) == []


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_sigterm_stops_the_run_and_its_plugin_processes(tmp_path: Path, jobs: str) -> None:
    import signal
    import subprocess

    from tests.cli.conftest import REPO

    marker = f"sigterm-{os.getpid()}-{time.time_ns()}"
    (tmp_path / "hielements.toml").write_text(
        f'[libraries.slow]\nexecutable = "{sys.executable}"\n'
        f'args = ["{PLUGINS_PY / "hostile_plugin.py"}", "hang", "{marker}"]\ntimeout_ms = 60000\n'
    )
    (tmp_path / "spec.hie").write_text("element e:\n" + "    check slow.bad()\n" * 3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hie_tasks", "run", str(tmp_path / "spec.hie"), "--no-cache", "-j", jobs],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # Signal once a request is in flight: the "hang" plugin starts a grandchild when it receives one.
    deadline = time.monotonic() + 30
    while not any(_children_of(pid) for pid in _plugin_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _plugin_processes(marker), "the plugin never started"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM
    deadline = time.monotonic() + 5
    while _plugin_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _plugin_processes(marker) == []
