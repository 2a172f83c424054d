"""Hostile and broken plugins end as clean LibraryErrors naming the plugin, and the next call still works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import wat_plugins as W

from hie_tasks.libraries.base import CallContext
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import Status

if TYPE_CHECKING:
    # Only a type: importing `conftest` by name at run time finds whichever test directory's
    # conftest is first on sys.path when several test directories run together.
    from conftest import MakeLib

GOOD = W.answer('{"Pass": null}')


def _fails(make_lib: MakeLib, wat: str, ctx: CallContext, code: str, pattern: str, **limits: int) -> None:
    lib = make_lib(wat, **limits)
    with pytest.raises(LibraryError) as info:
        lib.check("probe", [], ctx)
    assert info.value.code == code, info.value
    assert "plug" in info.value.message and "probe" in info.value.message
    assert re.search(pattern, info.value.message), info.value.message
    # The host is unharmed: a good plugin answers right after.
    assert make_lib(GOOD).check("probe", [], ctx).status is Status.PASS


@pytest.mark.parametrize(
    ("wat", "code", "pattern", "limits"),
    [
        (W.INFINITE_LOOP, "E611", r"timed out after 200 ms", {"timeout_ms": 200}),
        (W.MEMORY_BOMB, "E612", r"memory limit of 16 MiB", {"max_memory_mb": 16}),
        (W.DEEP_RECURSION, "E610", r"stack overflow", {}),
        (W.UNREACHABLE, "E610", r"trapped: .*unreachable", {}),
        (W.OUT_OF_BOUNDS, "E613", r"outside the plugin's memory", {}),
        (W.ONE_GIB, "E614", r"1073741824 bytes exceeds max_output_mb = 16", {}),
        (W.INVALID_UTF8, "E615", r"not valid UTF-8", {}),
        (W.INVALID_JSON, "E615", r"not valid JSON.*\{not json", {}),
    ],
    ids=["timeout", "memory-bomb", "recursion", "unreachable", "out-of-bounds", "1GiB", "utf8", "json"],
)
def test_call_failures_are_clean(
    make_lib: MakeLib, ctx: CallContext, wat: str, code: str, pattern: str, limits: dict[str, int]
) -> None:
    _fails(make_lib, wat, ctx, code, pattern, **limits)


def test_timeout_leaves_same_library_usable(make_lib: MakeLib, ctx: CallContext) -> None:
    # The same library keeps answering after a timeout (fresh instance per call): a plugin that loops
    # only for the function named "spin".
    lib = make_lib(W.INFINITE_LOOP, timeout_ms=100)
    for _ in range(2):
        with pytest.raises(LibraryError, match="timed out"):
            lib.check("x", [], ctx)


@pytest.mark.parametrize(
    ("wat", "code", "pattern"),
    [
        (W.MISSING_ALLOC, "E603", r"missing required export 'alloc'"),
        (W.UNKNOWN_IMPORT, "E602", r"imports 'env\.sneaky'"),
        (W.UNKNOWN_WASI_FN, "E602", r"no_such_call"),
        (W.WRONG_SIGNATURE, "E603", r"'library_check' has type \(i32\) -> i32"),
        (W.BAD_ABI_VERSION, "E604", r"returned 7"),
    ],
    ids=["missing-alloc", "unknown-import", "unknown-wasi-fn", "wrong-signature", "abi-version"],
)
def test_load_errors(make_lib: MakeLib, ctx: CallContext, wat: str, code: str, pattern: str) -> None:
    lib = make_lib(wat)
    with pytest.raises(LibraryError) as info:
        lib.load()
    assert info.value.code == code
    assert re.search(pattern, info.value.message), info.value.message
    assert lib.config.path in info.value.message
    # Reported once: later uses raise the very same error object without re-loading.
    with pytest.raises(LibraryError) as again:
        lib.check("x", [], ctx)
    assert again.value is info.value
    assert lib.load_error is info.value


def test_truncated_and_missing_wasm(make_lib: MakeLib, tmp_path: Path) -> None:
    import wasmtime

    good = wasmtime.wat2wasm(GOOD)
    truncated = tmp_path / "truncated.wasm"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(LibraryError) as info:
        make_lib(truncated).load()
    assert info.value.code == "E601" and str(truncated) in info.value.message
    with pytest.raises(LibraryError) as missing:
        make_lib(tmp_path / "nope.wasm").load()
    assert missing.value.code == "E600" and "nope.wasm" in missing.value.message
