"""Module cache behaviour, the fast path against the public API, and the request/answer protocol."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import wasmtime
import wat_plugins as W

from hie_tasks.libraries.base import CallContext
from hie_tasks.libraries.wasm import abi
from hie_tasks.libraries.wasm.abi import ReturnStyle
from hie_tasks.libraries.wasm.engine import shared_engine
from hie_tasks.libraries.wasm.fastcall import FreshInstance, PreparedModule
from hie_tasks.libraries.wasm.modcache import ModuleCache
from hie_tasks.model.errors import LibraryError
from hie_tasks.model.values import CheckResult, Scope, ScopeKind

if TYPE_CHECKING:
    # Only a type: importing `conftest` by name at run time finds whichever test directory's
    # conftest is first on sys.path when several test directories run together.
    from conftest import MakeLib

GOOD = W.answer('{"Fail": "nope", "deps": ["/ws/dep.txt"]}')


def test_cache_hit_tamper_and_recompile(tmp_path: Path) -> None:
    engine = shared_engine()
    wasm = wasmtime.wat2wasm(GOOD)
    first, note = ModuleCache(str(tmp_path / "c")).get_or_compile(engine, wasm, "p.wasm")
    assert "compiled" in note and "cached" in note
    fresh = ModuleCache(str(tmp_path / "c"))
    _, note = fresh.get_or_compile(engine, wasm, "p.wasm")
    assert "loaded from cache" in note
    assert "already loaded" in fresh.get_or_compile(engine, wasm, "p.wasm")[1]
    [entry] = fresh.info()
    assert entry.source_path == os.path.abspath("p.wasm") and entry.size > 0
    blob = tmp_path / "c" / f"{entry.key}.cwasm"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    module, note = ModuleCache(str(tmp_path / "c")).get_or_compile(engine, wasm, "p.wasm")
    assert "integrity" in note and "recompiled" in note
    assert [e.key for e in ModuleCache(str(tmp_path / "c")).info()] == [entry.key]
    assert {e.name for e in module.exports} == {e.name for e in first.exports}


def test_tampered_cache_still_gives_right_verdict(make_lib: MakeLib, ctx: CallContext, cache: ModuleCache) -> None:
    assert make_lib(GOOD).check("f", [], ctx) == CheckResult.failed("nope")
    [entry] = cache.info()
    blob = Path(cache.root) / f"{entry.key}.cwasm"
    blob.write_bytes(blob.read_bytes()[:-64] + b"\x00" * 64)
    lib = make_lib(GOOD, module_cache=ModuleCache(cache.root))
    ctx2 = CallContext(ctx.workspace)
    assert lib.check("f", [], ctx2) == CheckResult.failed("nope")
    assert any("integrity" in n for n in ctx2.notes)


def test_unwritable_cache_dir_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    module, note = ModuleCache(str(blocker / "sub")).get_or_compile(shared_engine(), wasmtime.wat2wasm(GOOD), "p")
    assert "kept in memory" in note and module.exports


def test_prune_and_clean(tmp_path: Path) -> None:
    engine = shared_engine()
    cache = ModuleCache(str(tmp_path / "c"))
    for i in range(3):
        cache.get_or_compile(engine, wasmtime.wat2wasm(W.answer(f'"pass{i}"')), f"p{i}")
    entries = cache.info()
    old = Path(cache.root) / f"{entries[-1].key}.cwasm"
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    assert cache.prune(max_age_days=7) == 1
    assert len(cache.info()) == 2
    assert cache.prune(max_total_mb=entries[0].size * 1.5 / 1024 / 1024) == 1
    assert cache.clean() == 1 and cache.info() == []


def test_request_shape_and_output_capture(make_lib: MakeLib, ctx: CallContext, workspace: Path) -> None:
    scope = Scope(ScopeKind.folder("src"), (str(workspace / "src/a.py"),), True)
    assert make_lib(W.PRINT_REQUEST).check("exists", [scope, "a.py", 3], ctx) == CheckResult.passed()
    [printed] = ctx.output
    assert json.loads(printed) == {
        "function": "exists",
        "args": [
            {"Scope": {"kind": {"Folder": "src"}, "paths": [str(workspace / "src/a.py")], "resolved": True}},
            {"String": "a.py"},
            {"Int": 3},
        ],
        "workspace": str(workspace),
    }


def test_check_deps_and_multivalue(make_lib: MakeLib, ctx: CallContext) -> None:
    assert make_lib(GOOD).check("f", [], ctx) == CheckResult.failed("nope")
    assert ctx.deps == {"/ws/dep.txt"}
    assert make_lib(W.MULTI_VALUE).check("f", [], ctx) == CheckResult.failed("multi")


def test_call_error_and_missing_entry(make_lib: MakeLib, ctx: CallContext) -> None:
    with pytest.raises(LibraryError) as info:
        make_lib(W.answer('{"Error": "bad arg"}')).call("f", [], ctx)
    assert (info.value.code, info.value.message) == ("E616", "bad arg")
    with pytest.raises(LibraryError) as missing:
        make_lib(W.MULTI_VALUE).call("f", [], ctx)
    assert missing.value.code == "E617" and "selector" in missing.value.message


def test_documentation_sources(make_lib: MakeLib) -> None:
    doc_json = json.dumps({"name": "d", "description": "Docs", "version": "2.0", "checks": [
        {"name": "c", "description": "a check", "parameters": [{"name": "s", "type": "Scope", "description": "x"}],
         "return_type": "CheckResult", "example": "d.c(s)"}]})
    n = len(doc_json)
    getter = f'(data (i32.const 1024) "{W._escape(doc_json)}") (func (export "library_doc") (result i64) (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {n})))'
    doc = make_lib(W.answer('"pass"', getter)).documentation()
    assert doc.version == "2.0" and doc.checks[0].parameters[0].param_type == "Scope"
    meta_json = json.dumps({"name": "m", "version": "0.3", "functions": ["f"], "checks": ["c"]})
    getter = f'(data (i32.const 1024) "{W._escape(meta_json)}") (func (export "library_metadata") (result i64) (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {len(meta_json)})))'
    doc = make_lib(W.answer('"pass"', getter)).documentation()
    assert (doc.name, doc.version, [f.name for f in doc.functions]) == ("m", "0.3", ["f"])
    plain = make_lib(W.answer('"pass"'))
    assert plain.documentation().description == f"WASM library: {plain.config.path}"


def test_fast_path_matches_public_api(make_lib: MakeLib, ctx: CallContext) -> None:
    """The private-bindings path must answer exactly what the public wasmtime API answers."""
    lib = make_lib(W.ECHO)
    request = json.dumps({"function": "f", "args": [{"String": "é"}], "workspace": ctx.workspace},
                         ensure_ascii=False, separators=(",", ":")).encode()
    engine = shared_engine()
    module = wasmtime.Module(engine.engine, Path(lib.config.path).read_bytes())
    store = wasmtime.Store(engine.engine)
    store.set_epoch_deadline(10_000)
    store.set_wasi(wasmtime.WasiConfig())
    exports = engine.linker.instantiate(store, module).exports(store)
    alloc, check, memory = exports["alloc"], exports["library_check"], exports["memory"]
    assert isinstance(alloc, wasmtime.Func) and isinstance(check, wasmtime.Func)
    assert isinstance(memory, wasmtime.Memory)
    ptr = alloc(store, len(request))
    memory.write(store, request, ptr)
    packed = check(store, ptr, len(request)) & 0xFFFF_FFFF_FFFF_FFFF
    public = bytes(memory.read(store, packed >> 32, (packed >> 32) + (packed & 0xFFFF_FFFF)))

    with FreshInstance(PreparedModule(engine, module), wasmtime.WasiConfig(), 1 << 26, 10_000) as inst:
        fptr = inst.call_i32(inst.func(b"alloc"), len(request))
        assert fptr == ptr and inst.write(fptr, request)
        a, n = inst.call_ptr_len(inst.func(b"library_check"), ReturnStyle.PACKED, (fptr, len(request)))
        assert inst.read(a, n) == public == request


def _facts(cache: ModuleCache) -> dict[str, object]:
    [entry] = cache.info()
    meta = json.loads((Path(cache.root) / f"{entry.key}.json").read_text())
    facts = meta["facts"]
    assert isinstance(facts, dict)
    return facts


def test_load_facts_are_cached_and_equal_a_fresh_analysis(make_lib: MakeLib, ctx: CallContext, cache: ModuleCache) -> None:
    versioned = W.answer('{"Pass": null}', '(func (export "hielements_abi_version") (result i32) (i32.const 1))')
    assert make_lib(versioned).check("f", [], ctx) == CheckResult.passed()
    facts = _facts(cache)
    assert facts["abi_version"] == 1
    module = wasmtime.Module(shared_engine().engine, wasmtime.wat2wasm(versioned))
    assert abi.ModuleShape.from_json(facts["shape"]) == abi.analyze(module)
    # A cache hit in a new process (a new ModuleCache) takes the shape from the facts and still answers.
    lib = make_lib(versioned, module_cache=ModuleCache(cache.root))
    assert lib.check("f", [], CallContext(ctx.workspace)) == CheckResult.passed()


def test_cached_facts_keep_a_bad_abi_version_an_error(make_lib: MakeLib, cache: ModuleCache) -> None:
    for fresh in (cache, ModuleCache(cache.root)):
        lib = make_lib(W.BAD_ABI_VERSION, module_cache=fresh)
        with pytest.raises(LibraryError) as info:
            lib.load()
        assert info.value.code == "E604" and "returned 7" in info.value.message
    assert _facts(cache)["abi_version"] == 7


def test_unusable_cached_facts_are_derived_again(make_lib: MakeLib, ctx: CallContext, cache: ModuleCache) -> None:
    assert make_lib(GOOD).check("f", [], ctx) == CheckResult.failed("nope")
    [entry] = cache.info()
    meta_path = Path(cache.root) / f"{entry.key}.json"
    meta = json.loads(meta_path.read_text())
    meta["facts"] = {"shape": {"format": 999}}
    meta_path.write_text(json.dumps(meta))
    lib = make_lib(GOOD, module_cache=ModuleCache(cache.root))
    assert lib.check("f", [], CallContext(ctx.workspace)) == CheckResult.failed("nope")


def test_prefetch_loads_in_the_background_and_the_first_use_reuses_it(
    make_lib: MakeLib, ctx: CallContext, cache: ModuleCache
) -> None:
    lib = make_lib(GOOD)
    assert lib._prefetched is not None and lib._prefetched.wait(30)
    # Loaded (and stored in the module cache) before anything asked for it.
    assert lib._loaded is not None and len(cache.info()) == 1
    assert lib.check("f", [], ctx) == CheckResult.failed("nope")
    assert len(ctx.notes) == 1 and ctx.notes[0].startswith("plug: module compiled in ")


def test_a_load_error_found_by_prefetch_is_raised_by_the_first_use(make_lib: MakeLib, ctx: CallContext) -> None:
    lib = make_lib(W.UNKNOWN_IMPORT)
    assert lib._prefetched is not None and lib._prefetched.wait(30)
    assert lib.load_error is not None and lib.load_error.code == "E602"
    with pytest.raises(LibraryError) as info:
        lib.check("f", [], ctx)
    assert info.value is lib.load_error and "env.sneaky" in info.value.message


def test_swapped_cache_entries_recompile_with_one_warning(tmp_path: Path, workspace: Path) -> None:
    """The attack: copy module B's cached artifact and sidecar under module A's key (and back)."""
    from hie_tasks.config import WasmLibraryConfig
    from hie_tasks.libraries.wasm.library import WasmLibrary

    root = str(tmp_path / "c")
    paths = {}
    for name, answer in (("a", '{"Fail": "from A"}'), ("b", '{"Pass": null}')):
        paths[name] = tmp_path / f"{name}.wasm"
        paths[name].write_bytes(wasmtime.wat2wasm(W.answer(answer)))

    def verdicts(cache: ModuleCache) -> list[CheckResult]:
        out = []
        for name in ("a", "b"):
            lib = WasmLibrary(WasmLibraryConfig(name, str(paths[name])), str(workspace), cache, prefetch=False)
            out.append(lib.check("f", [], CallContext(str(workspace))))
        return out

    expected = [CheckResult.failed("from A"), CheckResult.passed()]
    assert verdicts(ModuleCache(root)) == expected
    by_source = {e.source_path: e.key for e in ModuleCache(root).info()}
    ka, kb = by_source[str(paths["a"])], by_source[str(paths["b"])]
    base = Path(root)
    for ext in (".cwasm", ".json"):
        a, b = base / f"{ka}{ext}", base / f"{kb}{ext}"
        da, db = a.read_bytes(), b.read_bytes()
        a.write_bytes(db)
        b.write_bytes(da)
    cache = ModuleCache(root)
    assert verdicts(cache) == expected
    [warning] = cache.take_warnings()
    assert "2 compiled-module cache entries" in warning and "recompiled" in warning
    assert cache.take_warnings() == []
    # Recompiled entries are signed again: the next run trusts them without a warning.
    fresh = ModuleCache(root)
    assert verdicts(fresh) == expected and fresh.take_warnings() == []


def test_cache_entry_from_another_secret_is_not_deserialized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = shared_engine()
    wasm = wasmtime.wat2wasm(GOOD)
    ModuleCache(str(tmp_path / "c")).get_or_compile(engine, wasm, "p.wasm")
    monkeypatch.setenv("HIE_TASKS_SECRET", "someone else")
    cache = ModuleCache(str(tmp_path / "c"))
    _, note = cache.get_or_compile(engine, wasm, "p.wasm")
    assert "failed authentication" in note and "recompiled" in note
    assert len(cache.take_warnings()) == 1
