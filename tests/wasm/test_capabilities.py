"""The capability table of wasm-abi.md §1, row by row, with a C plugin doing real WASI file/env access."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hie_tasks.config import Capabilities, FsAccess
from hie_tasks.libraries.base import CallContext, Purity
from hie_tasks.model.errors import LibraryError

if TYPE_CHECKING:
    # Only a type: importing `conftest` by name at run time finds whichever test directory's
    # conftest is first on sys.path when several test directories run together.
    from conftest import MakeLib

READ = Capabilities(fs=FsAccess.READ)
WRITE = Capabilities(fs=FsAccess.WRITE, write=("out",))


def _op(make_lib: MakeLib, probe: Path, caps: Capabilities, ctx: CallContext, op: str, arg: str) -> str:
    value = make_lib(probe, caps).call("op", [op, arg], ctx)
    assert isinstance(value, str)
    return value


def _denied(make_lib: MakeLib, probe: Path, caps: Capabilities, ctx: CallContext, op: str, arg: str) -> str:
    with pytest.raises(LibraryError) as info:
        make_lib(probe, caps).call("op", [op, arg], ctx)
    assert info.value.code == "E616"
    return info.value.message


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside.txt"
    secret.write_text("secret\n")
    return secret


def test_fs_none_sees_no_file(make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, ctx: CallContext) -> None:
    _denied(make_lib, capsprobe_wasm, Capabilities(), ctx, "read", str(workspace / "inside.txt"))


def test_fs_read_reads_workspace_at_host_path(
    make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, ctx: CallContext
) -> None:
    assert _op(make_lib, capsprobe_wasm, READ, ctx, "read", str(workspace / "inside.txt")) == "inside content"


def test_fs_read_refuses_writes(make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, ctx: CallContext) -> None:
    _denied(make_lib, capsprobe_wasm, READ, ctx, "write", str(workspace / "new.txt"))
    _denied(make_lib, capsprobe_wasm, READ, ctx, "write", str(workspace / "inside.txt"))
    assert not (workspace / "new.txt").exists()
    assert (workspace / "inside.txt").read_text() == "inside content\n"


def test_fs_write_writes_only_in_its_write_dirs(
    make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, ctx: CallContext
) -> None:
    """The attack: a write-capable plugin goes for the config, the store, git and a path outside its list."""
    (workspace / "hielements.toml").write_text("[libraries]\n")
    (workspace / ".hie-cache").mkdir()
    (workspace / ".hie-cache" / "results.sqlite").write_text("store")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("git")
    (workspace / "src").mkdir()
    targets = [
        workspace / "hielements.toml", workspace / ".hie-cache" / "results.sqlite",
        workspace / ".hie-cache" / "new.sqlite", workspace / ".git" / "config", workspace / ".git" / "hooks-new",
        workspace / "src" / "x.py", workspace / "new.txt", workspace / "inside.txt",
    ]
    before = {t: t.read_bytes() if t.exists() else None for t in targets}
    lib = make_lib(capsprobe_wasm, WRITE)
    for target in targets:
        with pytest.raises(LibraryError) as info:
            lib.call("op", ["write", str(target)], ctx)
        assert info.value.code == "E616", target
    with pytest.raises(LibraryError):
        lib.call("op", ["write", f"{workspace}/out/../hielements.toml"], ctx)
    assert {t: t.read_bytes() if t.exists() else None for t in targets} == before
    # Inside the list: written (the directory is created for the plugin when missing).
    assert lib.call("op", ["write", str(workspace / "out" / "report.txt")], ctx) == "ok"
    assert (workspace / "out" / "report.txt").read_text() == "written by plugin\n"
    assert lib.call("op", ["read", str(workspace / "inside.txt")], ctx) == "inside content"


def test_write_dir_resolving_into_a_protected_place_is_refused(
    make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, ctx: CallContext
) -> None:
    (workspace / ".git").mkdir()
    (workspace / "out").symlink_to(workspace / ".git")
    with pytest.raises(LibraryError) as info:
        make_lib(capsprobe_wasm, WRITE).call("op", ["write", str(workspace / "out" / "config")], ctx)
    assert info.value.code == "E606" and ".git" in info.value.message
    assert not (workspace / ".git" / "config").exists()
    plugins = Capabilities(fs=FsAccess.WRITE, write=("plugins",))
    (workspace / "plugins").mkdir()
    own = workspace / "plugins" / "probe.wasm"
    own.write_bytes(capsprobe_wasm.read_bytes())
    with pytest.raises(LibraryError) as info:
        make_lib(own, plugins).call("op", ["write", str(own)], ctx)
    assert info.value.code == "E606"
    assert own.read_bytes() == capsprobe_wasm.read_bytes()


def test_escapes_are_refused(
    make_lib: MakeLib, capsprobe_wasm: Path, workspace: Path, outside: Path, ctx: CallContext
) -> None:
    (workspace / "link.txt").symlink_to(outside)
    for path in (str(outside), f"{workspace}/../{outside.name}", str(workspace / "link.txt")):
        _denied(make_lib, capsprobe_wasm, READ, ctx, "read", path)
    _denied(make_lib, capsprobe_wasm, WRITE, ctx, "write", str(outside.parent / "escaped.txt"))
    assert not (outside.parent / "escaped.txt").exists()


def test_root_only_with_workspace_only_false(
    make_lib: MakeLib, capsprobe_wasm: Path, outside: Path, ctx: CallContext
) -> None:
    _denied(make_lib, capsprobe_wasm, READ, ctx, "list", "/")
    wide = Capabilities(fs=FsAccess.READ, workspace_only=False)
    assert _op(make_lib, capsprobe_wasm, wide, ctx, "list", "/") == "ok"
    assert _op(make_lib, capsprobe_wasm, wide, ctx, "read", str(outside)) == "secret"
    # Still read-only outside the workspace.
    _denied(make_lib, capsprobe_wasm, wide, ctx, "write", str(outside.parent / "x.txt"))


def test_env(make_lib: MakeLib, capsprobe_wasm: Path, ctx: CallContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIE_T_A", "alpha")
    monkeypatch.setenv("HIE_T_B", "beta")
    _denied(make_lib, capsprobe_wasm, Capabilities(), ctx, "env", "HIE_T_A")
    assert _op(make_lib, capsprobe_wasm, Capabilities(env_access=True), ctx, "env", "HIE_T_B") == "beta"
    listed = Capabilities(env_access=("HIE_T_A",))
    assert _op(make_lib, capsprobe_wasm, listed, ctx, "env", "HIE_T_A") == "alpha"
    _denied(make_lib, capsprobe_wasm, listed, ctx, "env", "HIE_T_B")


def test_output_captured(make_lib: MakeLib, capsprobe_wasm: Path, ctx: CallContext) -> None:
    assert _op(make_lib, capsprobe_wasm, Capabilities(), ctx, "print", "hello") == "printed"
    assert ctx.output == ["out:hello\nerr:hello\n"]


def test_purity(make_lib: MakeLib, capsprobe_wasm: Path) -> None:
    assert make_lib(capsprobe_wasm).purity() is Purity.PURE
    assert make_lib(capsprobe_wasm, READ).purity() is Purity.READS_WORKSPACE
    assert make_lib(capsprobe_wasm, Capabilities(env_access=("HOME",))).purity() is Purity.READS_WORKSPACE
    assert make_lib(capsprobe_wasm, WRITE).purity() is Purity.IMPURE
    assert make_lib(capsprobe_wasm, Capabilities(env_access=True)).purity() is Purity.IMPURE


def test_identity_tracks_bytes_and_caps(make_lib: MakeLib, capsprobe_wasm: Path, tmp_path: Path) -> None:
    base = make_lib(capsprobe_wasm).identity()
    assert base.startswith("wasm:") and base == make_lib(capsprobe_wasm).identity()
    assert make_lib(capsprobe_wasm, READ).identity() != base
    copy = tmp_path / "copy.wasm"
    copy.write_bytes(capsprobe_wasm.read_bytes() + b"\x00custom")
    assert make_lib(copy).identity() != base
    assert os.path.exists(capsprobe_wasm)


def test_granted_env_values_are_part_of_the_identity(
    make_lib: MakeLib, capsprobe_wasm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/one")
    monkeypatch.setenv("HIE_T_OTHER", "x")
    listed = Capabilities(env_access=("HOME",))
    first = make_lib(capsprobe_wasm, listed).identity()
    monkeypatch.setenv("HIE_T_OTHER", "y")  # not granted: no effect
    assert make_lib(capsprobe_wasm, listed).identity() == first
    monkeypatch.setenv("HOME", "/home/two")
    assert make_lib(capsprobe_wasm, listed).identity() != first
    assert "/home/two" not in make_lib(capsprobe_wasm, listed).identity()
    everything = make_lib(capsprobe_wasm, Capabilities(env_access=True)).identity()
    monkeypatch.setenv("HIE_T_OTHER", "z")
    assert make_lib(capsprobe_wasm, Capabilities(env_access=True)).identity() != everything
    none = make_lib(capsprobe_wasm).identity()
    monkeypatch.setenv("HOME", "/home/three")
    assert make_lib(capsprobe_wasm).identity() == none
