"""The example plugins through the project's own host (skipped until hie_tasks.libraries.wasm.library exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hie_tasks.config import Capabilities, FsAccess, WasmLibraryConfig
from hie_tasks.libraries.base import CallContext
from hie_tasks.model.values import CheckResult, Scope, ScopeKind

library = pytest.importorskip(
    "hie_tasks.libraries.wasm.library", reason="the WASM host is not in the tree yet"
)


def test_sample_and_dockerfile_through_wasm_library(built: dict[str, Path], tmp_path: Path) -> None:
    ws = tmp_path.resolve()
    (ws / "src").mkdir()
    (ws / "src" / "a.py").write_text("")
    (ws / "Dockerfile").write_text("FROM python:3.12\nUSER root\n")
    read = Capabilities(fs=FsAccess.READ)
    sample = library.WasmLibrary(WasmLibraryConfig("sample", str(built["sample"]), read), str(ws))
    docker = library.WasmLibrary(WasmLibraryConfig("docker", str(built["dockerfile"]), read), str(ws))
    try:
        ctx = CallContext(str(ws))
        src = sample.call("simple_selector", ["src"], ctx)
        assert isinstance(src, Scope) and src.paths == (str(ws / "src" / "a.py"),)
        assert sample.check("file_count_check", [src, 2], ctx) == CheckResult.failed(
            "Expected at least 2 files, found 1"
        )
        dockerfile = Scope(ScopeKind.file("Dockerfile"), (str(ws / "Dockerfile"),), True)
        ctx = CallContext(str(ws))
        verdict = docker.check("no_root_user", [dockerfile], ctx)
        assert verdict == CheckResult.failed("Dockerfile:2: USER root runs the container as root")
        assert str(ws / "Dockerfile") in ctx.deps
    finally:
        sample.close()
        docker.close()
