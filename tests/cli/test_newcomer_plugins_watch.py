"""Issue 13: `plugins new`/`build` as a newcomer meets them, load errors named once, unreadable external
answers explained, and watch's state after a broken edit."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.cli.conftest import REPO, run_cli


def test_plugins_new_example_config_matches_the_folder(tmp_path: Path) -> None:
    r = run_cli("plugins", "new", "myplug", "--lang", "c", "-d", "plugs/extra", cwd=tmp_path)
    assert r.code == 0, r.err
    example = (tmp_path / "plugs" / "extra" / "myplug" / "hielements.toml.example").read_text()
    assert 'path = "plugs/extra/myplug/build/myplug.wasm"' in example
    readme = (tmp_path / "plugs" / "extra" / "myplug" / "README.md").read_text()
    guide = re.search(r"The guide is `([^`]+)`", readme)
    assert guide is not None and Path(guide.group(1)).is_file()
    assert "hielements.toml.example" in r.out


def test_plugins_new_in_an_installed_layout_links_the_shipped_guide(tmp_path: Path) -> None:
    """An installed copy has no checkout: the guide ships as data-files beside the templates."""
    share = tmp_path / "prefix" / "share" / "hie-tasks"
    shutil.copytree(REPO / "plugins" / "templates", share / "plugins" / "templates")
    shutil.copytree(REPO / "plugins" / "sdk", share / "plugins" / "sdk")
    (share / "docs").mkdir()
    shutil.copy(REPO / "docs" / "wasm-plugins.md", share / "docs" / "wasm-plugins.md")
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"share/hie-tasks/docs" = ["docs/wasm-plugins.md"]' in pyproject
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIE_TASKS_PLUGINS_DIR": str(share / "plugins")}
    proc = subprocess.run([sys.executable, "-m", "hie_tasks", "plugins", "new", "p", "--lang", "zig"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"`{share / 'docs' / 'wasm-plugins.md'}`" in (tmp_path / "p" / "README.md").read_text()


def test_first_build_says_zig_builds_its_libc(tmp_path: Path) -> None:
    pytest.importorskip("ziglang")
    run_cli("plugins", "new", "first", "--lang", "c", cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "xdg")}

    def build() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hie_tasks", "plugins", "build", "first", "-o", "out.wasm"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)

    first = build()
    assert first.returncode == 0, first.stderr
    assert "zig builds its wasm32-wasi C library once" in first.stderr
    (tmp_path / "out.wasm").unlink()
    again = build()
    assert again.returncode == 0 and "C library" not in again.stderr


@pytest.mark.parametrize("content", [b"int main(void) { return 0; }\n", b""])
def test_not_webassembly_is_reported_once_at_load(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "p.wasm").write_bytes(content)
    (tmp_path / "hielements.toml").write_text('[libraries.p]\npath = "p.wasm"\n')
    (tmp_path / "a.hie").write_text("import p\nelement e:\n    check p.one('x')\n    check p.two('y')\n")
    r = run_cli("run", "a.hie", "--no-cache", cwd=tmp_path)
    assert r.code == 1
    assert r.out.count("is not a WebAssembly module") == 1
    assert "p.wasm" in r.out and "\\0asm header" in r.out and "expected '('" not in r.out
    assert r.out.count("plugin 'p' did not load") == 2
    data = json.loads(run_cli("run", "a.hie", "-f", "json", "--no-cache", cwd=tmp_path).out)
    assert [d["code"] for d in data["diagnostics"]] == ["E601"]
    assert data["diagnostics"][0]["file"].endswith("hielements.toml")


def test_external_plugin_printing_garbage(tmp_path: Path) -> None:
    (tmp_path / "plug.py").write_text(
        "import sys\nsys.stderr.write('ImportError: no module named shop\\n')\nprint('hello')\nsys.exit(3)\n")
    (tmp_path / "hielements.toml").write_text(f'[libraries.plug]\nexecutable = "{sys.executable}"\nargs = ["plug.py"]\n')
    (tmp_path / "a.hie").write_text("import plug\nelement e:\n    check plug.a('x')\n")
    message = json.loads(run_cli("run", "a.hie", "-f", "json", cwd=tmp_path).out)["results"][0]["message"]
    assert "External library 'plug'" in message
    assert "exited with status 3" in message
    assert "ImportError: no module named shop" in message
    assert "Failed to parse response" in message and "hello" in message


class Lines:
    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for(self, text: str, after: int = 0) -> int:
        with self._cond:
            assert self._cond.wait_for(lambda: any(text in line for line in self.lines[after:]), 60), self.lines
            return next(i for i in range(after, len(self.lines)) if text in self.lines[i])


def test_watch_after_a_broken_edit(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    spec = tmp_path / "hielements.hie"
    spec.write_text("element app:\n    check files.exists(files.folder_selector('.'), 'a.py')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "hie_tasks", "watch", str(spec), "--debounce-ms", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = Lines(proc.stdout)
        first = lines.wait_for("[cycle 0]")
        assert re.match(r"^\[\d\d:\d\d:\d\d\] \[cycle 0\] initial run", lines.lines[first])
        lines.wait_for("1 check: 1 passing", first)
        time.sleep(0.3)
        spec.write_text("element app:\n    check files.exists(files.folder_selector('.'), 'a.py'\n")
        end = lines.wait_for("spec broken", first)
        assert lines.lines[end] == "✗ spec broken: 1 error above; the previous plan is still in force (fix the file to re-plan)"
        assert lines.lines[end - 1].startswith("previous plan: 1 check: 1 passing")
        start = max(i for i in range(end) if "[cycle " in lines.lines[i])
        assert re.match(r"^\[\d\d:\d\d:\d\d\] \[cycle 1\] changed: hielements.hie", lines.lines[start])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
