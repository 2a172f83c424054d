"""The C SDK's memory layout and allocator, with real plugins built by `plugins build`: correctness of the
replacement malloc family, no memory growth for a call that does no work, clean NULL at the memory limit,
and a stack overflow that traps instead of corrupting data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import wasmtime

from hie_tasks.config import Capabilities, FsAccess
from hie_tasks.libraries.base import CallContext
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult
from hie_tasks.plugins_dev.build import STACK_SIZE, BuildError, build_plugin

if TYPE_CHECKING:
    from conftest import MakeLib

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def _build(src_dir: Path, out: Path) -> Path:
    try:
        build_plugin(str(src_dir), str(out))
    except BuildError as exc:
        pytest.skip(f"cannot build C plugins here: {exc}")
    return out


@pytest.fixture(scope="session")
def allocprobe_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("allocprobe")
    shutil.copy(HERE / "allocprobe.c", src / "allocprobe.c")
    return _build(src, src / "allocprobe.wasm")


@pytest.fixture(scope="session")
def sample_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(ROOT / "plugins" / "examples" / "sample", tmp_path_factory.mktemp("sample") / "sample.wasm")


@pytest.mark.parametrize("check", ["churn", "doubling"])
def test_allocator_keeps_every_block_intact(
    make_lib: MakeLib, allocprobe_wasm: Path, ctx: CallContext, check: str
) -> None:
    assert make_lib(allocprobe_wasm).check(check, [], ctx) == CheckResult.passed()


def test_malloc_answers_null_at_the_memory_limit(make_lib: MakeLib, allocprobe_wasm: Path, ctx: CallContext) -> None:
    result = make_lib(allocprobe_wasm, max_memory_mb=8).check("exhaust", [], ctx)
    # Everything below the 8 MiB limit minus the module's own pages was handed out before NULL.
    assert result.message is not None and result.message.startswith("malloc returned NULL after ")
    assert 5 <= int(result.message.split()[-2]) < 8


def test_stack_overflow_traps_and_the_next_call_is_fine(
    make_lib: MakeLib, allocprobe_wasm: Path, ctx: CallContext
) -> None:
    lib = make_lib(allocprobe_wasm)
    with pytest.raises(LibraryError) as err:
        lib.check("overflow", [], ctx)
    assert err.value.code == "E610" and "'overflow'" in err.value.message
    assert lib.check("always_pass", [], ctx) == CheckResult.passed()


def _pages_during_check(path: Path, workspace: Path) -> tuple[int, int]:
    """Memory pages (64 KiB) at instantiation and after a full always_pass exchange, with fs = "read"."""
    engine = wasmtime.Engine()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.preopen_dir(str(workspace), str(workspace), False)
    store.set_wasi(wasi)
    exports = linker.instantiate(store, wasmtime.Module.from_file(engine, str(path))).exports(store)
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.Memory)
    before = memory.size(store)

    def call(name: str, *args: int) -> int:
        func = exports[name]
        assert isinstance(func, wasmtime.Func)
        result = func(store, *args)
        return result if isinstance(result, int) else 0

    call("_initialize")
    request = json.dumps({"function": "always_pass", "args": [], "workspace": str(workspace)}).encode()
    ptr = call("alloc", len(request))
    memory.write(store, request, ptr)
    packed = call("library_check", ptr, len(request))
    answer = memory.read(store, packed >> 32, (packed >> 32) + (packed & 0xFFFF_FFFF))
    assert json.loads(answer) == {"Pass": None}
    call("dealloc", ptr, len(request))
    call("dealloc", packed >> 32, packed & 0xFFFF_FFFF)
    return before, memory.size(store)


def test_a_check_that_does_no_work_does_not_grow_memory(sample_wasm: Path, workspace: Path) -> None:
    # libc's allocator grew memory by a page per size class (5 per call here); each grown page is a grow,
    # page faults and a reset for the host on every call.
    before, after = _pages_during_check(sample_wasm, workspace)
    assert after == before
    # The stack is STACK_SIZE, not zig's 16 MiB: stack, data and heap share the first pages.
    assert before * 65536 <= STACK_SIZE + 3 * 65536


def test_sample_plugin_still_reads_the_workspace(make_lib: MakeLib, sample_wasm: Path, workspace: Path) -> None:
    # The allocator also serves wasi-libc's own allocations (preopen table, opendir, strdup).
    (workspace / "src" / "deep" / "er").mkdir(parents=True)
    for i in range(40):
        (workspace / "src" / "deep" / "er" / f"f{i:02}.txt").write_text("x")
    lib = make_lib(sample_wasm, Capabilities(fs=FsAccess.READ))
    ctx = CallContext(str(workspace))
    scope = lib.call("simple_selector", ["src"], ctx)
    assert [Path(p).name for p in scope.paths] == [f"f{i:02}.txt" for i in range(40)]  # type: ignore[union-attr]
    assert lib.check("file_count_check", [scope, 40], ctx) == CheckResult.passed()
    failed = lib.check("file_count_check", [scope, 41], ctx)
    assert failed.message == "Expected at least 41 files, found 40"
