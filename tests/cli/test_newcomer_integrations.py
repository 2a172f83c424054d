"""Issue 13, integrations that must work as written: the README's first commands on a PEP 668 Python,
the nox one-liner in a fresh project, pre-commit's default spec."""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, run_cli

README = (REPO / "README.md").read_text()


def readme_commands() -> list[str]:
    block = README.split("\n\n")[1]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("    ")]


def test_readme_commands_avoid_the_system_python() -> None:
    first, second = readme_commands()
    for command in (first, second):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install nox && .venv/bin/nox -s ")
    assert first.endswith("-s hielements") and second.endswith("-s tests")
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert second in [line.strip() for line in ci], "CI must run exactly the README's test command"
    assert "pip install nox && nox" not in "\n".join(line for line in ci if not line.startswith("#"))


MANAGED = glob.glob("/usr/lib/python3*/EXTERNALLY-MANAGED")


@pytest.mark.skipif(not MANAGED or not os.path.exists("/usr/bin/python3"), reason="no PEP 668 system Python here")
def test_readme_setup_works_on_an_externally_managed_python(tmp_path: Path) -> None:
    """The README's setup step on Debian's own python3: system pip refuses, the venv's pip installs."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_USER")}
    env["PATH"] = "/usr/bin:/bin"
    refused = subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "nox"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=120)
    if refused.returncode == 0 or "externally-managed-environment" not in refused.stdout + refused.stderr:
        pytest.skip("the system Python's pip is not refusing installs here")
    setup = readme_commands()[1].split(" && .venv/bin/nox")[0]
    done = subprocess.run(["/bin/sh", "-c", setup.replace("python3", "/usr/bin/python3", 1)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "ensurepip" in done.stdout + done.stderr:
        pytest.skip("python3-venv is not installed")
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([str(tmp_path / ".venv" / "bin" / "nox"), "--version"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60)
    assert version.returncode == 0
    assert not list(Path("/usr/lib").glob("python3*/site-packages/nox"))


def readme_noxfile() -> str:
    section = README.split("## nox, pre-commit", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_default_install_is_the_imported_copy() -> None:
    code = "import hie_tasks.nox as n; print(n.default_install())"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == repr((str(REPO),))  # a checkout on PYTHONPATH installs that checkout, not the index's


@pytest.mark.slow
def test_readme_nox_one_liner_in_a_fresh_project(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "noxfile.py").write_text(readme_noxfile())
    (project / "hielements.hie").write_text(
        "element shop:\n    scope root = files.folder_selector('.')\n    check files.exists(root, 'noxfile.py')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "nox", "-s", "hielements"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 and ("No matching distribution" in log or "Could not find a version" in log):
        pytest.skip("the package index cannot provide hie-tasks' dependencies here")
    assert proc.returncode == 0, log[-3000:]
    assert f"pip install {REPO}" in log  # the same hie-tasks nox imported
    assert "PASS shop :: files.exists(root, 'noxfile.py')" in log
    (project / "hielements.hie").write_text(
        "element shop:\n    scope root = files.folder_selector('.')\n    check files.exists(root, 'gone')\n")
    proc = subprocess.run([sys.executable, "-m", "nox", "-s", "hielements", "-R"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0 and "FAIL shop" in proc.stdout + proc.stderr


def hook_entry(hook_id: str) -> list[str]:
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    block = text.split(f"- id: {hook_id}\n", 1)[1].split("\n- id:", 1)[0]
    entry = re.search(r"^\s*entry:\s*(.+)$", block, re.M)
    assert entry is not None
    return shlex.split(entry.group(1))


def test_pre_commit_hook_default_and_args(tmp_path: Path) -> None:
    entry = hook_entry("hielements")
    assert entry[:2] == ["hie-tasks", "check"]
    (tmp_path / "hielements.hie").write_text("element main:\n    check files.exists(files.folder_selector('.'), 'x')\n")
    (tmp_path / "other.hie").write_text("element other:\n    check files.exists(files.folder_selector('.'), 'other.hie')\n")
    r = run_cli(*entry[1:], cwd=tmp_path)
    assert r.code == 1 and "FAIL main" in r.out and "other" not in r.out  # hielements.hie is the default
    (tmp_path / "hielements.hie").rename(tmp_path / "main.hie")
    r = run_cli(*entry[1:], cwd=tmp_path)
    assert r.code == 2 and "several .hie files" in r.err and "args: [FILE]" in r.err
    r = run_cli(*entry[1:], "other.hie", cwd=tmp_path)  # what `args: [other.hie]` runs
    assert r.code == 0 and "PASS other" in r.out
    assert "args: [" in (REPO / ".pre-commit-hooks.yaml").read_text() and "args: [specs/shop.hie]" in README
