"""The capability table, row by row, for components: the same grants as core modules (sandbox.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hie_tasks.config import Capabilities, FsAccess
from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm.component import ComponentLibrary
from hie_tasks.model.errors import LibraryError
from tests.components.conftest import MakeComponent, needs_componentize

pytestmark = needs_componentize

READ = Capabilities(fs=FsAccess.READ)


def _call(lib: ComponentLibrary, fn: str, *args: str) -> str:
    value = lib.call(fn, list(args), CallContext(lib.workspace))
    assert isinstance(value, str)
    return value


def _refused(lib: ComponentLibrary, fn: str, *args: str) -> str:
    with pytest.raises(LibraryError) as info:
        _call(lib, fn, *args)
    return info.value.message


def test_no_fs_reading_the_workspace_fails_and_names_the_capability(
    make_component: MakeComponent, probe_wasm: Path, workspace: Path
) -> None:
    lib = make_component(probe_wasm)
    message = _refused(lib, "read", str(workspace / "src" / "inside.txt"))
    assert "No such file or directory" in message
    assert 'fs = "none"' in message and 'capabilities = { fs = "read" }' in message
    assert "Error" in _refused(lib, "list", "/")


def test_read_sees_the_workspace_only(make_component: MakeComponent, probe_wasm: Path, workspace: Path) -> None:
    lib = make_component(probe_wasm, READ)
    assert _call(lib, "read", str(workspace / "src" / "inside.txt")) == "inside content\n"
    assert json.loads(_call(lib, "list", str(workspace / "src"))) == ["inside.txt"]
    # outside the workspace: a sibling file, through "..", and through a symlink inside the workspace
    outside = workspace.parent / "outside.txt"
    (workspace / "escape").symlink_to(outside)
    for path in (str(outside), str(workspace / ".." / "outside.txt"), str(workspace / "escape"), "/etc/passwd"):
        assert "Error" in _refused(lib, "read", path), path
    # read-only: no writing inside either
    message = _refused(lib, "write", str(workspace / "src" / "new.txt"))
    assert 'fs = "read"' in message
    assert not (workspace / "src" / "new.txt").exists()


def test_write_grant_writes_only_in_the_listed_directories(
    make_component: MakeComponent, probe_wasm: Path, workspace: Path
) -> None:
    lib = make_component(probe_wasm, Capabilities(fs=FsAccess.WRITE, write=("src",)))
    assert _call(lib, "write", str(workspace / "src" / "new.txt")) == "wrote"
    assert (workspace / "src" / "new.txt").read_text() == "written by the probe\n"
    # The rest of the workspace stays read-only, hielements.toml included.
    _refused(lib, "write", str(workspace / "hielements.toml"))
    assert not (workspace / "hielements.toml").exists()
    _refused(lib, "write", str(workspace.parent / "outside-new.txt"))
    assert not (workspace.parent / "outside-new.txt").exists()


def test_workspace_only_false_exposes_the_machine(
    make_component: MakeComponent, probe_wasm: Path, workspace: Path
) -> None:
    lib = make_component(probe_wasm, Capabilities(fs=FsAccess.READ, workspace_only=False))
    assert _call(lib, "read", str(workspace.parent / "outside.txt")) == "outside content\n"


def test_environment_rows(
    make_component: MakeComponent, probe_wasm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIE_PROBE_SECRET", "s3cret")
    monkeypatch.setenv("HIE_PROBE_OTHER", "other")
    assert json.loads(_call(make_component(probe_wasm), "env")) == {}
    granted = make_component(probe_wasm, Capabilities(env_access=("HIE_PROBE_OTHER", "HIE_PROBE_UNSET")))
    assert json.loads(_call(granted, "env")) == {"HIE_PROBE_OTHER": "other"}
    everything = json.loads(_call(make_component(probe_wasm, Capabilities(env_access=True)), "env"))
    assert everything["HIE_PROBE_SECRET"] == "s3cret" and everything["PATH"] == os.environ["PATH"]


def test_no_network_module(make_component: MakeComponent, probe_wasm: Path) -> None:
    # componentize-py's CPython has no socket module, and the WASI context grants no network anyway.
    assert "No module named 'socket'" in _refused(make_component(probe_wasm, Capabilities(env_access=True)), "socket")
